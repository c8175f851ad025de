// SDES: SRTP keys in the SDP itself (RFC 4568), as trunks that encrypt
// their media over TLS offer them. Only the value of the attribute lives
// here; choosing a suite and keying SRTP belong to the media layer.

/// a=crypto:<tag> <crypto-suite> inline:<key||salt in base64>[|lifetime][|MKI:length] [session params]
public struct SDPCrypto: Sendable, Equatable {
    /// The suites Tieline keys libsrtp with (RFC 4568 §6.2, RFC 7714 §12).
    public enum Suite: String, Sendable, CaseIterable {
        case aesCM128HMACSHA1_80 = "AES_CM_128_HMAC_SHA1_80"
        case aesCM128HMACSHA1_32 = "AES_CM_128_HMAC_SHA1_32"
        case aeadAES128GCM = "AEAD_AES_128_GCM"

        /// Master key plus master salt, in bytes.
        public var keyingLength: Int { self == .aeadAES128GCM ? 28 : 30 }
    }

    /// 1 to 999999999: how the answer names the offer's line it took (§9.1).
    public var tag: UInt32
    /// The suite as written; `suite` when it is one Tieline speaks.
    public var suiteName: String
    /// Master key followed by master salt.
    public var keyAndSalt: [UInt8]
    /// The key's lifetime in packets when given ("2^31" or a number).
    public var lifetime: UInt64?
    /// An MKI (value, length in bytes) when given; Tieline keys without one.
    public var mki: (value: UInt64, length: Int)?
    /// Session parameters (UNENCRYPTED_SRTP, KDR=..., ...), as written.
    public var sessionParameters: [String]

    public var suite: Suite? { Suite(rawValue: suiteName) }

    public init(tag: UInt32, suite: Suite, keyAndSalt: [UInt8]) {
        self.tag = tag
        self.suiteName = suite.rawValue
        self.keyAndSalt = keyAndSalt
        self.lifetime = nil
        self.mki = nil
        self.sessionParameters = []
    }

    public static func == (a: SDPCrypto, b: SDPCrypto) -> Bool {
        a.tag == b.tag && a.suiteName == b.suiteName && a.keyAndSalt == b.keyAndSalt && a.lifetime == b.lifetime
            && a.mki?.value == b.mki?.value && a.mki?.length == b.mki?.length
            && a.sessionParameters == b.sessionParameters
    }

    /// Whether Tieline can key SRTP from this line: a known suite, a key of
    /// its length, no MKI and no session parameter that changes the
    /// protection (an offer may list several lines; the answerer takes one).
    public var isUsable: Bool {
        guard let suite, keyAndSalt.count == suite.keyingLength, mki == nil else { return false }
        // libsrtp derives keys once (KDR=0); any other rate, or a session
        // parameter that turns protection off, is a line we do not take.
        return sessionParameters.allSatisfy { !($0.hasPrefix("KDR=") && $0 != "KDR=0") && !Self.protectionChanging.contains($0) }
    }

    static let protectionChanging: Set<String> = ["UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP"]

    public init(parsing value: String) throws(SDPError) {
        try self.init(parsing: value, line: 0)
    }

    init(parsing value: String, line: Int) throws(SDPError) {
        let parts = fields(value)
        func failure(_ why: String) -> SDPError { SDPError(line: line, reason: "crypto \(quoted(value)) \(why)") }
        guard parts.count >= 3 else { throw failure("is not \"<tag> <suite> inline:<key>\"") }
        guard parts[0].utf8.count <= 9, parts[0].allSatisfy(\.isASCIIDigit), let tag = UInt32(parts[0]), tag > 0 else {
            throw failure("has no tag of 1 to 9 digits")
        }
        let suiteName = String(parts[1])
        guard !suiteName.isEmpty, suiteName.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw failure("has no crypto suite")
        }
        // §9.1: several key parameters may follow, separated by ';'; the first is used.
        guard let keyParams = parts[2].split(separator: ";").first, keyParams.hasPrefix("inline:") else {
            throw failure("has no inline key")
        }
        let pieces = keyParams.dropFirst("inline:".count).split(separator: "|", omittingEmptySubsequences: false)
        guard let key = pieces.first, let decoded = Base64.decode(key), !decoded.isEmpty else {
            throw failure("has a key that is not base64")
        }
        var lifetime: UInt64?
        var mki: (UInt64, Int)?
        for piece in pieces.dropFirst() {
            if let colon = piece.firstIndex(of: ":") {
                guard let mkiValue = UInt64(piece[..<colon]), let length = Int(piece[piece.index(after: colon)...]),
                      (1...128).contains(length) else { throw failure("has a bad MKI \(quoted(piece))") }
                mki = (mkiValue, length)
            } else if piece.hasPrefix("2^") {
                guard let power = UInt64(piece.dropFirst(2)), power < 64 else { throw failure("has a bad lifetime") }
                lifetime = 1 << power
            } else {
                guard let packets = UInt64(piece) else { throw failure("has a bad lifetime \(quoted(piece))") }
                lifetime = packets
            }
        }
        self.tag = tag
        self.suiteName = suiteName
        self.keyAndSalt = decoded
        self.lifetime = lifetime
        self.mki = mki
        self.sessionParameters = parts.dropFirst(3).map(String.init)
    }

    /// The attribute value, e.g. "1 AES_CM_128_HMAC_SHA1_80 inline:...".
    public var text: String {
        var key = "inline:" + Base64.encode(keyAndSalt)
        if let lifetime {
            if lifetime.nonzeroBitCount == 1 { key += "|2^\(lifetime.trailingZeroBitCount)" } else { key += "|\(lifetime)" }
        }
        if let mki { key += "|\(mki.value):\(mki.length)" }
        return ([String(tag), suiteName, key] + sessionParameters).joined(separator: " ")
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// RFC 4648 base64, the alphabet RFC 4568 §6.1 uses for inline keys.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for anything but padded or unpadded base64.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }  // data after padding
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            values.append(value)
        }
        guard padding <= 2, values.count % 4 != 1, padding == 0 || (values.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append(values[i + 2] << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }
}
