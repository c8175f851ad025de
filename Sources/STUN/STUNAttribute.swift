// STUN attributes that an ICE-lite agent reads or writes (RFC 8489 §14, RFC 8445 §16.1).
//
// Anything else is kept raw, type and value, so a message can be inspected, logged and
// answered with 420 (Unknown Attribute) when a comprehension-required type is among them.

public enum STUNAttribute: Sendable, Hashable {
    case mappedAddress(STUNAddress)
    case xorMappedAddress(STUNAddress)
    /// For ICE "<receiver ufrag>:<sender ufrag>" (RFC 8445 §7.2.2).
    case username(String)
    /// The 20-byte HMAC-SHA1 as received; `serialize` computes its own and ignores this one.
    case messageIntegrity([UInt8])
    /// The CRC-32 value as received; `serialize` computes its own and ignores this one.
    case fingerprint(UInt32)
    case errorCode(STUNErrorCode)
    case priority(UInt32)
    case useCandidate
    /// 64-bit tie-breakers that settle role conflicts (RFC 8445 §7.3.1.1).
    case iceControlling(tieBreaker: UInt64)
    case iceControlled(tieBreaker: UInt64)
    case software(String)
    /// Any attribute this target does not interpret; the value is without padding.
    case unknown(type: UInt16, value: [UInt8])

    /// The attribute type codes, from the IANA STUN registry.
    public enum TypeCode {
        public static let mappedAddress: UInt16 = 0x0001
        public static let username: UInt16 = 0x0006
        public static let messageIntegrity: UInt16 = 0x0008
        public static let errorCode: UInt16 = 0x0009
        public static let unknownAttributes: UInt16 = 0x000A
        public static let xorMappedAddress: UInt16 = 0x0020
        public static let priority: UInt16 = 0x0024
        public static let useCandidate: UInt16 = 0x0025
        public static let software: UInt16 = 0x8022
        public static let fingerprint: UInt16 = 0x8028
        public static let iceControlled: UInt16 = 0x8029
        public static let iceControlling: UInt16 = 0x802A
    }

    /// The type code this attribute has on the wire.
    public var type: UInt16 {
        switch self {
        case .mappedAddress: return TypeCode.mappedAddress
        case .xorMappedAddress: return TypeCode.xorMappedAddress
        case .username: return TypeCode.username
        case .messageIntegrity: return TypeCode.messageIntegrity
        case .fingerprint: return TypeCode.fingerprint
        case .errorCode: return TypeCode.errorCode
        case .priority: return TypeCode.priority
        case .useCandidate: return TypeCode.useCandidate
        case .iceControlling: return TypeCode.iceControlling
        case .iceControlled: return TypeCode.iceControlled
        case .software: return TypeCode.software
        case .unknown(let type, _): return type
        }
    }

    /// Types 0x0000...0x7FFF are comprehension-required: an agent that does not understand
    /// one must reject the request (RFC 8489 §14).
    public static func isComprehensionRequired(_ type: UInt16) -> Bool { type < 0x8000 }

    /// The RFC's name for a type code, for log lines and error descriptions.
    public static func name(ofType type: UInt16) -> String {
        switch type {
        case TypeCode.mappedAddress: return "MAPPED-ADDRESS"
        case TypeCode.username: return "USERNAME"
        case TypeCode.messageIntegrity: return "MESSAGE-INTEGRITY"
        case TypeCode.errorCode: return "ERROR-CODE"
        case TypeCode.unknownAttributes: return "UNKNOWN-ATTRIBUTES"
        case TypeCode.xorMappedAddress: return "XOR-MAPPED-ADDRESS"
        case TypeCode.priority: return "PRIORITY"
        case TypeCode.useCandidate: return "USE-CANDIDATE"
        case TypeCode.software: return "SOFTWARE"
        case TypeCode.fingerprint: return "FINGERPRINT"
        case TypeCode.iceControlled: return "ICE-CONTROLLED"
        case TypeCode.iceControlling: return "ICE-CONTROLLING"
        default: return hex(type)
        }
    }
}

/// ERROR-CODE (RFC 8489 §14.8): the code is split into a class (hundreds digit) and a number
/// (the rest) on the wire, followed by a UTF-8 reason phrase.
public struct STUNErrorCode: Sendable, Hashable, CustomStringConvertible {
    /// 3...6
    public let errorClass: UInt8
    /// 0...99
    public let number: UInt8
    public var reason: String

    /// The code as a three-digit number, e.g. 401 or 487.
    public var code: Int { Int(errorClass) * 100 + Int(number) }

    /// Nil unless `code` is in 300...699, the range RFC 8489 defines.
    public init?(code: Int, reason: String) {
        guard (300...699).contains(code) else { return nil }
        self.errorClass = UInt8(code / 100)
        self.number = UInt8(code % 100)
        self.reason = reason
    }

    init(errorClass: UInt8, number: UInt8, reason: String) {
        self.errorClass = errorClass
        self.number = number
        self.reason = reason
    }

    public static let badRequest = STUNErrorCode(errorClass: 4, number: 0, reason: "Bad Request")
    public static let unauthenticated = STUNErrorCode(errorClass: 4, number: 1, reason: "Unauthenticated")
    public static let unknownAttribute = STUNErrorCode(errorClass: 4, number: 20, reason: "Unknown Attribute")
    /// ICE role conflict (RFC 8445 §7.3.1.1).
    public static let roleConflict = STUNErrorCode(errorClass: 4, number: 87, reason: "Role Conflict")
    public static let serverError = STUNErrorCode(errorClass: 5, number: 0, reason: "Server Error")

    public var description: String { "\(code) \(reason)" }
}
