// Digest algorithms: RFC 2617 (MD5), RFC 7616 (SHA-256, SHA-512-256 and the
// -sess forms), adopted for SIP by RFC 8760.

public enum DigestAlgorithm: String, Sendable, CaseIterable, CustomStringConvertible {
    case md5 = "MD5"
    case md5Sess = "MD5-sess"
    case sha256 = "SHA-256"
    case sha256Sess = "SHA-256-sess"
    case sha512_256 = "SHA-512-256"
    case sha512_256Sess = "SHA-512-256-sess"

    /// The token as it is written in headers.
    public var token: String { rawValue }
    public var description: String { rawValue }

    /// Tokens are matched case-insensitively: peers write "md5", "MD5-Sess".
    public init(token: String) throws(DigestError) {
        let lowered = token.lowercased()
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else {
            throw .unsupportedAlgorithm(token)
        }
        self = match
    }

    /// The -sess forms hash the nonce and cnonce into HA1 (RFC 7616 §3.4.2).
    public var isSession: Bool {
        switch self {
        case .md5Sess, .sha256Sess, .sha512_256Sess: true
        case .md5, .sha256, .sha512_256: false
        }
    }

    /// The same hash without -sess; a stored HA1 belongs to this family.
    public var base: DigestAlgorithm {
        switch self {
        case .md5, .md5Sess: .md5
        case .sha256, .sha256Sess: .sha256
        case .sha512_256, .sha512_256Sess: .sha512_256
        }
    }

    /// Length of a hex hash of this algorithm; responses of any other length
    /// are rejected before comparing.
    var hexLength: Int { base == .md5 ? 32 : 64 }

    /// Preference when several challenges are offered: RFC 8760 §2.4 asks
    /// for the strongest, MD5 last. SHA-512-256 over SHA-256 by hash width.
    var strength: Int {
        switch base {
        case .sha512_256: 3
        case .sha256: 2
        default: 1
        }
    }
}

/// Quality of protection (RFC 7616 §3.3). auth-int also covers the body.
public enum DigestQop: String, Sendable, CaseIterable, CustomStringConvertible {
    case auth = "auth"
    case authInt = "auth-int"

    public var description: String { rawValue }

    init?(token: String) {
        switch token.lowercased() {
        case "auth": self = .auth
        case "auth-int": self = .authInt
        default: return nil
        }
    }
}
