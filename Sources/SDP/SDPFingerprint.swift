// The DTLS certificate fingerprint (RFC 8122 §5) and the DTLS role (RFC 4145 §4, RFC 5763 §5).

/// a=fingerprint:<hash-func> <XX:XX:...>
public struct SDPFingerprint: Sendable, Equatable {
    /// Lowercased: the names are case-insensitive (RFC 8122 §5) and OpenSSL speaks lowercase.
    public var hashFunction: String
    public var bytes: [UInt8]

    public init(hashFunction: String, bytes: [UInt8]) {
        self.hashFunction = hashFunction.lowercased()
        self.bytes = bytes
    }

    /// Digest lengths of the hash functions RFC 8122 §5 names; others are accepted at any length.
    static let digestLengths = ["md2": 16, "md5": 16, "sha-1": 20, "sha-224": 28, "sha-256": 32,
                                "sha-384": 48, "sha-512": 64]

    /// From an attribute value such as "sha-256 AB:CD:...". The hex digits may be either case.
    public init(parsing value: String) throws(SDPError) {
        try self.init(parsing: value, line: 0)
    }

    init(parsing value: String, line: Int) throws(SDPError) {
        let parts = fields(value)
        func failure(_ why: String) -> SDPError {
            SDPError(line: line, reason: "fingerprint \(quoted(value)) \(why)")
        }
        guard parts.count == 2 else { throw failure("is not \"<hash function> <hex pairs>\"") }
        var bytes: [UInt8] = []
        for pair in parts[1].split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.utf8.count == 2, pair.allSatisfy(\.isHexDigit), let byte = UInt8(pair, radix: 16) else {
                throw failure("has \(quoted(pair)) where a pair of hex digits belongs")
            }
            bytes.append(byte)
        }
        let hashFunction = parts[0].lowercased()
        if let length = Self.digestLengths[hashFunction], length != bytes.count {
            throw failure("has \(bytes.count) bytes, \(hashFunction) digests have \(length)")
        }
        self.init(hashFunction: hashFunction, bytes: bytes)
    }

    /// The attribute value: "sha-256 AB:CD:...", hex in uppercase as RFC 8122 §5 writes it.
    public var text: String {
        hashFunction + " " + bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}

/// a=setup: which side opens the DTLS connection. An offer says actpass (RFC 5763 §5); the answer
/// picks active or passive. holdconn puts the connection off (RFC 4145 §4).
public enum SDPSetup: String, Sendable, CaseIterable {
    case active, passive, actpass, holdconn

    /// The role an answerer takes to an offer with this one: active to an actpass offer (RFC 5763
    /// §5 recommends it) and to passive, passive to active; nil when the offer holds the connection.
    public var answer: SDPSetup? {
        switch self {
        case .actpass, .passive: .active
        case .active: .passive
        case .holdconn: nil
        }
    }
}
