// A STUN message (RFC 8489 §5) and its parser.
//
//     0                   1                   2                   3
//    |0 0|     STUN Message Type     |         Message Length        |
//    |                         Magic Cookie                          |
//    |                     Transaction ID (96 bits)                  |
//    |                         attributes...                         |
//
// The parser is strict about structure (a datagram that is not exactly one well-formed
// message is dropped) and lenient only where the RFC says to be: padding bytes and the
// reserved bits of ERROR-CODE are ignored.

public enum STUNMessageClass: UInt16, Sendable, Hashable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// A 12-bit STUN method; ICE uses only Binding.
public struct STUNMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16

    /// Methods are 12 bits on the wire; higher bits are dropped.
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }

    public static let binding = STUNMethod(rawValue: 0x001)

    public var description: String { self == .binding ? "Binding" : "method \(hex(rawValue))" }
}

public struct STUNMessage: Sendable, Hashable {
    public var messageClass: STUNMessageClass
    public var method: STUNMethod
    /// 12 bytes, chosen at random by the requester (see `randomTransactionID()`).
    public var transactionID: [UInt8]
    /// In wire order. After parsing this includes MESSAGE-INTEGRITY and FINGERPRINT if present;
    /// attributes that followed MESSAGE-INTEGRITY other than FINGERPRINT are dropped, because
    /// the RFC says to ignore them (§14.5): they are not covered by the integrity check.
    public var attributes: [STUNAttribute]

    public static let magicCookie: UInt32 = 0x2112_A442
    static let headerLength = 20

    public init(messageClass: STUNMessageClass, method: STUNMethod = .binding,
                transactionID: [UInt8], attributes: [STUNAttribute] = []) {
        self.messageClass = messageClass
        self.method = method
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// 96 bits from the system's cryptographically secure generator: RFC 8489 §5 wants
    /// transaction IDs that an off-path attacker cannot guess.
    public static func randomTransactionID() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// RFC 7983 demultiplexing: a first byte of 0...3 means STUN (DTLS is 20...63, RTP/RTCP
    /// 128...191 on the same port).
    public static func isSTUN(_ firstByte: UInt8) -> Bool { firstByte <= 3 }

    // MARK: - Message type field

    /// Class and method bits are interleaved: M11-M7, C1, M6-M4, C0, M3-M0 (§5).
    static func messageType(_ messageClass: STUNMessageClass, _ method: STUNMethod) -> UInt16 {
        let m = method.rawValue, c = messageClass.rawValue
        return (m & 0x0F80) << 2 | (m & 0x0070) << 1 | (m & 0x000F) | (c & 0b10) << 7 | (c & 0b01) << 4
    }

    static func split(messageType type: UInt16) -> (STUNMessageClass, STUNMethod) {
        let method = (type & 0x3E00) >> 2 | (type & 0x00E0) >> 1 | (type & 0x000F)
        let classBits = (type & 0x0100) >> 7 | (type & 0x0010) >> 4
        // Two bits always name one of the four classes.
        return (STUNMessageClass(rawValue: classBits)!, STUNMethod(rawValue: method))
    }

    // MARK: - Parsing

    public static func parse(_ bytes: [UInt8]) throws(STUNError) -> STUNMessage {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(STUNError) in try parse(buffer) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(STUNError) -> STUNMessage {
        guard bytes.count >= headerLength else { throw .tooShort(count: bytes.count) }
        guard bytes[0] & 0xC0 == 0 else { throw .notSTUN(firstByte: bytes[0]) }
        let type = readUInt16(bytes, at: 0)
        let length = Int(readUInt16(bytes, at: 2))
        let cookie = UInt32(readUInt16(bytes, at: 4)) << 16 | UInt32(readUInt16(bytes, at: 6))
        guard cookie == magicCookie else { throw .badMagicCookie(cookie) }
        guard length % 4 == 0 else { throw .lengthNotMultipleOfFour(length) }
        guard length == bytes.count - headerLength else {
            throw .lengthMismatch(declared: length, available: bytes.count - headerLength)
        }
        let transactionID = Array(UnsafeRawBufferPointer(rebasing: bytes[8..<20]))
        let (messageClass, method) = split(messageType: type)

        var attributes: [STUNAttribute] = []
        var offset = headerLength
        var sawIntegrity = false
        var sawFingerprint = false
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= 4 else {
                throw .truncatedAttribute(type: 0, offset: offset, declaredLength: 4, available: remaining)
            }
            let attributeType = readUInt16(bytes, at: offset)
            let valueLength = Int(readUInt16(bytes, at: offset + 2))
            let paddedLength = (valueLength + 3) & ~3
            guard paddedLength <= remaining - 4 else {
                throw .truncatedAttribute(type: attributeType, offset: offset,
                                          declaredLength: valueLength, available: remaining - 4)
            }
            if sawFingerprint {
                throw .attributeAfterFingerprint(type: attributeType, offset: offset)
            }
            let valueStart = offset + 4
            offset = valueStart + paddedLength
            let isFingerprint = attributeType == STUNAttribute.TypeCode.fingerprint
            sawFingerprint = sawFingerprint || isFingerprint
            if sawIntegrity && !isFingerprint { continue }
            let value = Array(UnsafeRawBufferPointer(rebasing: bytes[valueStart..<(valueStart + valueLength)]))
            let attribute = try STUNAttribute.decode(type: attributeType, value: value[...],
                                                     transactionID: transactionID)
            attributes.append(attribute)
            sawIntegrity = sawIntegrity || attributeType == STUNAttribute.TypeCode.messageIntegrity
        }
        return STUNMessage(messageClass: messageClass, method: method,
                           transactionID: transactionID, attributes: attributes)
    }

    static func readUInt16(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }
}
