// Why a byte string is not an acceptable STUN message (RFC 8489).
//
// Each case says what is wrong and where, so a dropped packet can be logged with a reason that
// points at the offending byte rather than a bare "parse failed".

public enum STUNError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the 20-byte header (RFC 8489 §5).
    case tooShort(count: Int)
    /// The two most significant bits of the message are not zero, so this is not STUN at all
    /// (RFC 8489 §5; RFC 7983 demultiplexes on the same bits).
    case notSTUN(firstByte: UInt8)
    /// The magic cookie is not 0x2112A442: either not STUN or the classic RFC 3489 STUN that
    /// this gateway does not speak.
    case badMagicCookie(UInt32)
    /// The message length field is not a multiple of 4 (attributes are 32-bit aligned).
    case lengthNotMultipleOfFour(Int)
    /// The message length field disagrees with the bytes that follow the header.
    case lengthMismatch(declared: Int, available: Int)
    /// An attribute header or value (with its padding) runs past the end of the message.
    case truncatedAttribute(type: UInt16, offset: Int, declaredLength: Int, available: Int)
    /// A fixed-size attribute has the wrong value length.
    case invalidAttributeLength(type: UInt16, length: Int, expected: String)
    /// MAPPED-ADDRESS or XOR-MAPPED-ADDRESS names a family other than IPv4 (1) or IPv6 (2).
    case unknownAddressFamily(type: UInt16, family: UInt8)
    /// USERNAME, SOFTWARE or an ERROR-CODE reason phrase is not valid UTF-8.
    case invalidUTF8(type: UInt16)
    /// ERROR-CODE's class is outside 3...6 or its number outside 0...99 (RFC 8489 §14.8).
    case invalidErrorCode(errorClass: UInt8, number: UInt8)
    /// Something follows FINGERPRINT, which must be the last attribute (RFC 8489 §14.7).
    case attributeAfterFingerprint(type: UInt16, offset: Int)

    public var description: String {
        switch self {
        case .tooShort(let count):
            return "STUN message too short: \(count) bytes, the header alone is 20"
        case .notSTUN(let firstByte):
            return "not a STUN message: first byte \(hex(firstByte)) has its top two bits set"
        case .badMagicCookie(let cookie):
            return "STUN magic cookie is \(hex(cookie)), expected 0x2112a442"
        case .lengthNotMultipleOfFour(let length):
            return "STUN message length \(length) is not a multiple of 4"
        case .lengthMismatch(let declared, let available):
            return "STUN message length says \(declared) bytes of attributes but \(available) follow the header"
        case .truncatedAttribute(let type, let offset, let declaredLength, let available):
            return "STUN attribute \(STUNAttribute.name(ofType: type)) at offset \(offset) declares \(declaredLength) bytes (padded to 4) but only \(available) remain"
        case .invalidAttributeLength(let type, let length, let expected):
            return "STUN attribute \(STUNAttribute.name(ofType: type)) has length \(length), expected \(expected)"
        case .unknownAddressFamily(let type, let family):
            return "STUN attribute \(STUNAttribute.name(ofType: type)) has unknown address family \(hex(family))"
        case .invalidUTF8(let type):
            return "STUN attribute \(STUNAttribute.name(ofType: type)) is not valid UTF-8"
        case .invalidErrorCode(let errorClass, let number):
            return "STUN ERROR-CODE class \(errorClass) number \(number) is out of range (class 3...6, number 0...99)"
        case .attributeAfterFingerprint(let type, let offset):
            return "STUN attribute \(STUNAttribute.name(ofType: type)) at offset \(offset) follows FINGERPRINT, which must be last"
        }
    }
}

func hex<T: BinaryInteger>(_ value: T) -> String {
    "0x" + String(value, radix: 16)
}
