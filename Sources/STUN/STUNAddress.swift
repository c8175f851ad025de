// A transport address as MAPPED-ADDRESS and XOR-MAPPED-ADDRESS carry it (RFC 8489 §14.1, §14.2).
//
// Kept as raw network-order bytes rather than a socket type so this target stays free of NIO;
// the ICE layer converts from and to whatever its channel hands it, by text or by bytes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct STUNAddress: Sendable, Hashable, CustomStringConvertible {
    /// The family octet of the address attributes.
    public enum Family: UInt8, Sendable {
        case ipv4 = 0x01
        case ipv6 = 0x02
    }

    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public let addressBytes: [UInt8]
    public let port: UInt16

    public var family: Family { addressBytes.count == 4 ? .ipv4 : .ipv6 }

    /// Nil unless `addressBytes` has 4 or 16 bytes.
    public init?(addressBytes: [UInt8], port: UInt16) {
        guard addressBytes.count == 4 || addressBytes.count == 16 else { return nil }
        self.addressBytes = addressBytes
        self.port = port
    }

    /// From textual form, "192.0.2.1" or "2001:db8::1" (no brackets); nil if it is neither.
    public init?(_ text: String, port: UInt16) {
        var v4 = [UInt8](repeating: 0, count: 4)
        var v6 = [UInt8](repeating: 0, count: 16)
        if v4.withUnsafeMutableBytes({ inet_pton(AF_INET, text, $0.baseAddress) }) == 1 {
            self.init(addressBytes: v4, port: port)
        } else if v6.withUnsafeMutableBytes({ inet_pton(AF_INET6, text, $0.baseAddress) }) == 1 {
            self.init(addressBytes: v6, port: port)
        } else {
            return nil
        }
    }

    /// The address alone in its usual textual form (RFC 5952 for IPv6).
    public var addressText: String {
        var text = [CChar](repeating: 0, count: 64)
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let ok = addressBytes.withUnsafeBytes { source in
            text.withUnsafeMutableBufferPointer { inet_ntop(domain, source.baseAddress, $0.baseAddress, 64) != nil }
        }
        guard ok else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "192.0.2.1:32853" or "[2001:db8::1]:32853".
    public var description: String {
        family == .ipv4 ? "\(addressText):\(port)" : "[\(addressText)]:\(port)"
    }
}

// MARK: - Wire form

extension STUNAddress {
    /// The magic cookie in network order; XOR-MAPPED-ADDRESS mixes it into the port and address
    /// so that NATs rewriting addresses they find in payloads leave this one alone (§14.2).
    static let magicCookieBytes: [UInt8] = [0x21, 0x12, 0xA4, 0x42]

    /// MAPPED-ADDRESS value bytes: reserved octet, family, port, address.
    func encodeValue() -> [UInt8] {
        [0, family.rawValue, UInt8(port >> 8), UInt8(port & 0xFF)] + addressBytes
    }

    /// XOR-MAPPED-ADDRESS value bytes: the port is XORed with the cookie's top 16 bits, an IPv4
    /// address with the cookie, an IPv6 address with the cookie followed by the transaction ID.
    func encodeXORValue(transactionID: [UInt8]) -> [UInt8] {
        var value = encodeValue()
        STUNAddress.applyXOR(to: &value, transactionID: transactionID)
        return value
    }

    static func decodeValue(_ value: ArraySlice<UInt8>, type: UInt16) throws(STUNError) -> STUNAddress {
        guard value.count >= 4 else {
            throw .invalidAttributeLength(type: type, length: value.count, expected: "8 (IPv4) or 20 (IPv6)")
        }
        let base = value.startIndex
        let familyOctet = value[base + 1]
        guard let family = Family(rawValue: familyOctet) else {
            throw .unknownAddressFamily(type: type, family: familyOctet)
        }
        let expected = family == .ipv4 ? 8 : 20
        guard value.count == expected else {
            throw .invalidAttributeLength(type: type, length: value.count, expected: String(expected))
        }
        let port = UInt16(value[base + 2]) << 8 | UInt16(value[base + 3])
        // Length is 8 or 20 here, so the initializer cannot fail.
        return STUNAddress(addressBytes: Array(value[(base + 4)...]), port: port)!
    }

    static func decodeXORValue(_ value: ArraySlice<UInt8>, type: UInt16,
                               transactionID: [UInt8]) throws(STUNError) -> STUNAddress {
        var plain = Array(value)
        applyXOR(to: &plain, transactionID: transactionID)
        return try decodeValue(plain[...], type: type)
    }

    /// XOR is its own inverse, so one routine both hides and reveals. `value` is a whole
    /// address attribute value; bytes past the family-specific length are left alone.
    private static func applyXOR(to value: inout [UInt8], transactionID: [UInt8]) {
        let mask = magicCookieBytes + transactionID
        // Port: bytes 2...3 against the cookie's first two bytes. Address: bytes 4... against
        // the cookie and then the transaction ID.
        for i in 2..<min(value.count, 4) { value[i] ^= mask[i - 2] }
        guard value.count > 4 else { return }
        for i in 4..<min(value.count, 4 + mask.count) { value[i] ^= mask[i - 4] }
    }
}
