// Server side of SIP Digest: issue challenges and check answers.
//
// Nonces are stateless: timestamp + random + HMAC-SHA256(secret, timestamp,
// random, realm). The server keeps no table of issued nonces, so a flood of
// unauthenticated requests costs no memory, and any worker holding the same
// secret can verify. The price is that a captured answer can be replayed
// until its nonce expires (no nc tracking); keep the lifetime short, and
// rely on TLS where replay matters.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the server checks an answer against.
public enum DigestSecret: Sendable, CustomStringConvertible {
    case password(String)
    /// H(username:realm:password) for `algorithm`'s hash family, as a user
    /// store keeps it so it need not hold plain passwords.
    case ha1(String, algorithm: DigestAlgorithm)

    /// Precompute the `.ha1` form for storage.
    public static func hashed(username: String, realm: String, password: String,
                              algorithm: DigestAlgorithm) -> DigestSecret {
        .ha1(DigestCompute.baseHA1(algorithm.base, username: username, realm: realm, password: password),
             algorithm: algorithm.base)
    }

    public var description: String {
        switch self {
        case .password: "DigestSecret.password(<redacted>)"
        case .ha1(_, let algorithm): "DigestSecret.ha1(<redacted>, \(algorithm.base))"
        }
    }
}

public enum DigestVerification: Sendable, Equatable, CustomStringConvertible {
    case valid
    /// The answer is right but its nonce expired: challenge again with
    /// stale=true so the client retries without bothering the user.
    case stale
    case invalid(reason: String)

    public var description: String {
        switch self {
        case .valid: "valid"
        case .stale: "stale nonce"
        case .invalid(let reason): "invalid: \(reason)"
        }
    }
}

public struct DigestServer: Sendable, CustomStringConvertible {
    /// Seconds a nonce is accepted after issue.
    public var nonceLifetime: Int64
    /// Algorithms an answer may use. All by default; drop MD5 once every
    /// peer speaks RFC 8760.
    public var acceptedAlgorithms: Set<DigestAlgorithm>
    /// Refuse RFC 2069 answers (no qop) to challenges that offered qop.
    /// Our challenges always offer it, so a compliant client never omits it.
    public var requireQop: Bool

    private let secret: [UInt8]

    /// Nonces stamped later than now by more than this were issued before
    /// a clock step backwards; they are treated as expired.
    private static let futureSkew: Int64 = 60
    private static let macHexLength = 32  // 128-bit truncated HMAC
    private static let nonceLength = 16 + 16 + macHexLength

    /// - secret: HMAC key for nonces; share it between processes that must
    ///   accept each other's nonces. Random (256 bits) when nil or empty.
    public init(secret: [UInt8]? = nil, nonceLifetime: Int64 = 300) {
        if let secret, !secret.isEmpty {
            self.secret = secret
        } else {
            self.secret = DigestHash.randomBytes(32)
        }
        self.nonceLifetime = max(1, nonceLifetime)
        self.acceptedAlgorithms = Set(DigestAlgorithm.allCases)
        self.requireQop = true
    }

    /// Seconds since 1970, the clock nonces are stamped with.
    public static func unixTime() -> Int64 { Int64(time(nil)) }

    /// A WWW-Authenticate / Proxy-Authenticate value with a fresh nonce. To
    /// offer several algorithms (RFC 8760 §2.4), call once per algorithm,
    /// strongest first, and send each as its own header.
    public func challenge(realm: String, stale: Bool = false, algorithm: DigestAlgorithm = .md5,
                          qop: [DigestQop] = [.auth], now: Int64 = DigestServer.unixTime()) -> String {
        // The realm is ours, not a peer's, but strip control characters
        // anyway so the value can never break the header.
        let realm = DigestHeaderWriter.sanitized(realm)
        let challenge = DigestChallenge(realm: realm, nonce: makeNonce(realm: realm, now: now),
                                        algorithm: algorithm, qopOptions: qop, stale: stale)
        // Cannot throw: every field is sanitized or generated hex.
        return (try? challenge.headerValue()) ?? "Digest realm=\"\", nonce=\"\""
    }

    /// Check an Authorization value against a password.
    public func verify(authorization: String, method: String, password: String, body: [UInt8] = [],
                       now: Int64 = DigestServer.unixTime()) -> DigestVerification {
        let credentials: DigestCredentials
        do {
            credentials = try DigestCredentials(parsing: authorization)
        } catch {
            return .invalid(reason: error.description)
        }
        return verify(credentials: credentials, method: method, secret: .password(password),
                      body: body, now: now)
    }

    /// Check parsed credentials. Parse first when the username is needed to
    /// look up the secret.
    public func verify(credentials c: DigestCredentials, method: String, secret: DigestSecret,
                       body: [UInt8] = [], now: Int64 = DigestServer.unixTime()) -> DigestVerification {
        let algorithm = c.algorithm
        guard acceptedAlgorithms.contains(algorithm) else {
            return .invalid(reason: "algorithm \(algorithm) is not accepted")
        }
        guard !c.userhash else { return .invalid(reason: "userhash is not supported") }
        guard let issued = nonceTimestamp(c.nonce, realm: c.realm) else {
            return .invalid(reason: "the nonce was not issued by this server for this realm")
        }
        if c.qop == nil && requireQop { return .invalid(reason: "qop is required") }
        if (c.qop != nil || algorithm.isSession) && (c.cnonce ?? "").isEmpty {
            return .invalid(reason: "cnonce is missing")
        }
        if c.qop != nil && c.nc == nil { return .invalid(reason: "nc is missing") }

        // Clients should send lowercase hex, but compare case-insensitively.
        let sent = Array(c.response.utf8).map { (0x41...0x46).contains($0) ? $0 | 0x20 : $0 }
        guard DigestCompute.isLowerHex(String(decoding: sent, as: UTF8.self), count: algorithm.hexLength) else {
            return .invalid(reason: "the response is not a \(algorithm) hash")
        }

        let base: String
        switch secret {
        case .password(let password):
            base = DigestCompute.baseHA1(algorithm, username: c.username, realm: c.realm, password: password)
        case .ha1(let stored, let storedAlgorithm):
            guard storedAlgorithm.base == algorithm.base else {
                return .invalid(reason: "the stored HA1 is for \(storedAlgorithm.base), not \(algorithm)")
            }
            base = stored.lowercased()
        }
        let cnonce = c.cnonce ?? ""
        let ha1 = DigestCompute.ha1(algorithm, baseHA1: base, nonce: c.nonce, cnonce: cnonce)
        let ha2 = DigestCompute.ha2(algorithm, method: method, uri: c.uri, qop: c.qop, body: body)
        let expected = DigestCompute.response(algorithm, ha1: ha1, nonce: c.nonce, nc: c.nc ?? "",
                                              cnonce: cnonce, qop: c.qop, ha2: ha2)
        // A failed hash yields an empty string; the length check inside
        // constantTimeEqual then fails closed.
        guard DigestCompute.constantTimeEqual(Array(expected.utf8), sent) else {
            return .invalid(reason: "the response does not match")
        }
        let age = now - issued
        if age > nonceLifetime || age < -Self.futureSkew { return .stale }
        return .valid
    }

    public var description: String {
        "DigestServer(nonce lifetime \(nonceLifetime) s, secret <redacted>)"
    }

    // MARK: nonces

    /// 16 hex timestamp | 16 hex random | 32 hex HMAC. The random part keeps
    /// nonces issued in the same second distinct.
    private func makeNonce(realm: String, now: Int64) -> String {
        let stamp = Self.hex16(UInt64(bitPattern: now))
        let salt = DigestHash.randomHex(byteCount: 8)
        return stamp + salt + mac(stamp: stamp, salt: salt, realm: realm)
    }

    /// The issue time if `nonce` is one of ours for `realm`, else nil.
    private func nonceTimestamp(_ nonce: String, realm: String) -> Int64? {
        guard DigestCompute.isLowerHex(nonce, count: Self.nonceLength) else { return nil }
        let u = Array(nonce.utf8)
        let stamp = String(decoding: u[0..<16], as: UTF8.self)
        let salt = String(decoding: u[16..<32], as: UTF8.self)
        let expected = mac(stamp: stamp, salt: salt, realm: realm)
        guard DigestCompute.constantTimeEqual(Array(expected.utf8), u[32...]),
              let raw = UInt64(stamp, radix: 16) else { return nil }
        return Int64(bitPattern: raw)
    }

    /// The fields are fixed-width hex and the realm comes last, so the MAC
    /// input is unambiguous without separators.
    private func mac(stamp: String, salt: String, realm: String) -> String {
        let full = DigestHash.hmacSHA256(key: secret, data: Array((stamp + salt + realm).utf8))
        return DigestHash.hex(Array(full.prefix(Self.macHexLength / 2)))
    }

    private static func hex16(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
