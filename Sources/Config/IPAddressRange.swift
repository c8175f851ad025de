#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`),
/// or a single address (`192.0.2.7`, `::1`), for deciding who may send calls
/// in through a trunk.
///
/// Host bits after the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`),
/// as most routers and firewalls do.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case ipv4, ipv6
    }

    public let family: Family
    public let prefixLength: Int
    // The network address, masked, as a 128-bit number; IPv4 uses the low 32 bits.
    private let high: UInt64
    private let low: UInt64

    public init?(_ text: String) {
        var addressText = Substring(text)
        var prefix: Int?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            let digits = text[text.index(after: slash)...]
            // Only plain decimal: Int("+8") would accept a sign.
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(digits) else { return nil }
            prefix = value
        }
        guard let address = IPLiteral.parse(String(addressText)) else { return nil }
        let bits = address.family == .ipv4 ? 32 : 128
        let length = prefix ?? bits
        guard length <= bits else { return nil }
        let mask = IPLiteral.mask(family: address.family, prefixLength: length)
        self.family = address.family
        self.prefixLength = length
        self.high = address.high & mask.high
        self.low = address.low & mask.low
    }

    /// Whether the textual IP address lies in this range. IPv6 brackets and a
    /// zone (`%eth0`) are ignored; an IPv4-mapped IPv6 address (`::ffff:192.0.2.7`,
    /// as a dual-stack socket reports IPv4 peers) matches IPv4 ranges.
    /// Anything that is not an IP address is not contained.
    public func contains(_ address: String) -> Bool {
        var text = Substring(address)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let percent = text.firstIndex(of: "%") {
            guard text.index(after: percent) < text.endIndex else { return false }
            text = text[..<percent]
        }
        guard var parsed = IPLiteral.parse(String(text)) else { return false }
        if family == .ipv4, parsed.family == .ipv6, parsed.high == 0, parsed.low >> 32 == 0xffff {
            parsed = (.ipv4, 0, parsed.low & 0xffff_ffff)
        }
        guard parsed.family == family else { return false }
        let mask = IPLiteral.mask(family: family, prefixLength: prefixLength)
        return parsed.high & mask.high == high && parsed.low & mask.low == low
    }

    /// Canonical text: the network address, and `/prefix` unless it is a single address.
    public var description: String {
        let address = IPLiteral.format(family: family, high: high, low: low)
        let bits = family == .ipv4 ? 32 : 128
        return prefixLength == bits ? address : "\(address)/\(prefixLength)"
    }
}

/// Textual IP addresses to and from numbers, through the C library's
/// inet_pton/inet_ntop, which are strict (no shorthand like `10.1`).
enum IPLiteral {
    typealias Number = (family: IPAddressRange.Family, high: UInt64, low: UInt64)

    static func parse(_ text: String) -> Number? {
        // A NUL would end the C string early and let "1.2.3.4\0junk" through.
        guard !text.isEmpty, text.utf8.count <= 45, !text.utf8.contains(0) else { return nil }
        if text.contains(":") {
            var bytes = [UInt8](repeating: 0, count: 16)
            guard inet_pton(AF_INET6, text, &bytes) == 1 else { return nil }
            return (.ipv6, fold(bytes[0..<8]), fold(bytes[8..<16]))
        }
        var bytes = [UInt8](repeating: 0, count: 4)
        guard inet_pton(AF_INET, text, &bytes) == 1 else { return nil }
        return (.ipv4, 0, fold(bytes[0..<4]))
    }

    static func isAddress(_ text: String) -> Bool { parse(text) != nil }

    static func format(family: IPAddressRange.Family, high: UInt64, low: UInt64) -> String {
        var bytes: [UInt8]
        let af: Int32
        switch family {
        case .ipv4:
            af = AF_INET
            bytes = unfold(low, count: 4)
        case .ipv6:
            af = AF_INET6
            bytes = unfold(high, count: 8) + unfold(low, count: 8)
        }
        var buffer = [CChar](repeating: 0, count: 64)
        guard inet_ntop(af, &bytes, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        let utf8 = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: utf8, as: UTF8.self)
    }

    static func mask(family: IPAddressRange.Family, prefixLength: Int) -> (high: UInt64, low: UInt64) {
        switch family {
        case .ipv4:
            let mask32: UInt64 = prefixLength == 0 ? 0 : (0xffff_ffff << UInt64(32 - prefixLength)) & 0xffff_ffff
            return (0, mask32)
        case .ipv6:
            let high: UInt64 = prefixLength >= 64 ? ~0 : (prefixLength == 0 ? 0 : ~0 << UInt64(64 - prefixLength))
            let low: UInt64 = prefixLength <= 64 ? 0 : (prefixLength == 128 ? ~0 : ~0 << UInt64(128 - prefixLength))
            return (high, low)
        }
    }

    private static func fold(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func unfold(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (count - 1 - $0))) }
    }
}
