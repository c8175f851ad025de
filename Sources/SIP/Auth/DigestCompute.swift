// The digest arithmetic of RFC 7616 §3.4 (RFC 2617 §3.2.2 for MD5), shared by
// client and server so both sides hash exactly the same strings.

enum DigestCompute {
    /// H(a:b:c...) over the UTF-8 bytes of the parts.
    static func hash(_ algorithm: DigestAlgorithm, _ parts: String...) -> String {
        var bytes: [UInt8] = []
        for (i, part) in parts.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ":")) }
            bytes.append(contentsOf: part.utf8)
        }
        return DigestHash.hex(algorithm, bytes)
    }

    /// H(username:realm:password): what a user store may keep instead of
    /// the password. Depends only on the hash family, not on -sess.
    static func baseHA1(_ algorithm: DigestAlgorithm, username: String, realm: String,
                        password: String) -> String {
        hash(algorithm, username, realm, password)
    }

    /// -sess folds the nonces in once per session (RFC 7616 §3.4.2).
    static func ha1(_ algorithm: DigestAlgorithm, baseHA1: String, nonce: String,
                    cnonce: String) -> String {
        algorithm.isSession ? hash(algorithm, baseHA1, nonce, cnonce) : baseHA1
    }

    /// A2 = method:uri, plus H(body) for auth-int (RFC 7616 §3.4.3).
    static func ha2(_ algorithm: DigestAlgorithm, method: String, uri: String,
                    qop: DigestQop?, body: [UInt8]) -> String {
        if qop == .authInt {
            return hash(algorithm, method, uri, DigestHash.hex(algorithm, body))
        }
        return hash(algorithm, method, uri)
    }

    /// With qop: H(HA1:nonce:nc:cnonce:qop:HA2); without, the RFC 2069 form
    /// H(HA1:nonce:HA2) that old SIP peers still use.
    static func response(_ algorithm: DigestAlgorithm, ha1: String, nonce: String,
                         nc: String, cnonce: String, qop: DigestQop?, ha2: String) -> String {
        guard let qop else { return hash(algorithm, ha1, nonce, ha2) }
        return hash(algorithm, ha1, nonce, nc, cnonce, qop.rawValue, ha2)
    }

    /// Eight lowercase hex digits, as `nc` is written.
    static func ncString(_ count: UInt32) -> String {
        let digits = String(count, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Compare without an early exit, so timing does not reveal how many
    /// leading characters of a forged response were right. Lengths are not
    /// secret (they follow from the algorithm) and are compared first.
    static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    static func isLowerHex(_ s: String, count: Int) -> Bool {
        let u = s.utf8
        return u.count == count && u.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
        }
    }
}
