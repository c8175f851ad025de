// Attribute values to and from bytes (RFC 8489 §14; RFC 8445 §16.1 for the ICE ones).
//
// Only the value is handled here; the type-length header and the padding to 32 bits belong
// to the message, which is the one that knows where each attribute sits.

extension STUNAttribute {
    /// The value bytes, without padding. XOR-MAPPED-ADDRESS needs the transaction ID.
    func encodeValue(transactionID: [UInt8]) -> [UInt8] {
        switch self {
        case .mappedAddress(let address):
            return address.encodeValue()
        case .xorMappedAddress(let address):
            return address.encodeXORValue(transactionID: transactionID)
        case .username(let text), .software(let text):
            return Array(text.utf8)
        case .messageIntegrity(let mac):
            return mac
        case .fingerprint(let crc):
            return bigEndianBytes(crc)
        case .errorCode(let error):
            // Two reserved zero octets, then the class in the low 3 bits, then the number.
            return [0, 0, error.errorClass & 0x07, error.number] + Array(error.reason.utf8)
        case .priority(let priority):
            return bigEndianBytes(priority)
        case .useCandidate:
            return []
        case .iceControlling(let tieBreaker), .iceControlled(let tieBreaker):
            return bigEndianBytes(tieBreaker)
        case .unknown(_, let value):
            return value
        }
    }

    /// One attribute from its type code and unpadded value.
    static func decode(type: UInt16, value: ArraySlice<UInt8>,
                       transactionID: [UInt8]) throws(STUNError) -> STUNAttribute {
        switch type {
        case TypeCode.mappedAddress:
            return .mappedAddress(try STUNAddress.decodeValue(value, type: type))
        case TypeCode.xorMappedAddress:
            return .xorMappedAddress(try STUNAddress.decodeXORValue(value, type: type, transactionID: transactionID))
        case TypeCode.username:
            return .username(try utf8(value, type: type))
        case TypeCode.software:
            return .software(try utf8(value, type: type))
        case TypeCode.messageIntegrity:
            try expectLength(value, 20, type: type)
            return .messageIntegrity(Array(value))
        case TypeCode.fingerprint:
            try expectLength(value, 4, type: type)
            return .fingerprint(UInt32(bigEndianFrom: value))
        case TypeCode.errorCode:
            return .errorCode(try decodeErrorCode(value))
        case TypeCode.priority:
            try expectLength(value, 4, type: type)
            return .priority(UInt32(bigEndianFrom: value))
        case TypeCode.useCandidate:
            try expectLength(value, 0, type: type)
            return .useCandidate
        case TypeCode.iceControlling:
            try expectLength(value, 8, type: type)
            return .iceControlling(tieBreaker: UInt64(bigEndianFrom: value))
        case TypeCode.iceControlled:
            try expectLength(value, 8, type: type)
            return .iceControlled(tieBreaker: UInt64(bigEndianFrom: value))
        default:
            return .unknown(type: type, value: Array(value))
        }
    }

    private static func decodeErrorCode(_ value: ArraySlice<UInt8>) throws(STUNError) -> STUNErrorCode {
        let type = TypeCode.errorCode
        guard value.count >= 4 else {
            throw .invalidAttributeLength(type: type, length: value.count, expected: "at least 4")
        }
        let base = value.startIndex
        // The 21 reserved bits before the class are ignored on receipt (§14.8).
        let errorClass = value[base + 2] & 0x07
        let number = value[base + 3]
        guard (3...6).contains(errorClass), number < 100 else {
            throw .invalidErrorCode(errorClass: errorClass, number: number)
        }
        let reason = try utf8(value[(base + 4)...], type: type)
        return STUNErrorCode(errorClass: errorClass, number: number, reason: reason)
    }

    private static func utf8(_ value: ArraySlice<UInt8>, type: UInt16) throws(STUNError) -> String {
        guard let text = String(validating: value, as: UTF8.self) else { throw .invalidUTF8(type: type) }
        return text
    }

    private static func expectLength(_ value: ArraySlice<UInt8>, _ length: Int, type: UInt16) throws(STUNError) {
        guard value.count == length else {
            throw .invalidAttributeLength(type: type, length: value.count, expected: String(length))
        }
    }
}

// MARK: - Big-endian integers

func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}

extension FixedWidthInteger {
    /// Reads `bitWidth / 8` bytes; the caller has checked the slice is exactly that long.
    init(bigEndianFrom bytes: ArraySlice<UInt8>) {
        var value: Self = 0
        for byte in bytes.prefix(Self.bitWidth / 8) { value = value << 8 | Self(byte) }
        self = value
    }
}
