// Client side of SIP Digest: answer a 401/407 challenge with an
// Authorization / Proxy-Authorization value (RFC 3261 §22.2–22.3, RFC 7616).
//
// A value type: the only state is the nonce-count per (realm, nonce), which
// must rise each time a nonce is reused (RFC 7616 §3.4) so the server can
// spot replays. Keep one DigestClient per registration or dialog and
// `mutating` calls make the count advance.

public struct DigestClient: Sendable, CustomStringConvertible {
    /// Nonces seen, oldest first. Servers hand out a fresh nonce on each
    /// challenge, so a long-lived client would otherwise grow without bound;
    /// a nonce that fell off the list would simply start again at 1.
    private var counts: [(key: String, count: UInt32)] = []
    private static let rememberedNonces = 16

    public init() {}

    /// The last nonce-count used for this nonce, 0 if never used.
    public func nonceCount(realm: String, nonce: String) -> UInt32 {
        counts.first(where: { $0.key == Self.key(realm, nonce) })?.count ?? 0
    }

    /// Build the header value answering `challenge`.
    ///
    /// - `uri`: the Request-URI of the request being authorized.
    /// - `body`: only hashed when auth-int is the qop used.
    /// - `cnonce`: fixed in tests; random (128 bits) when nil.
    public mutating func authorization(for challenge: DigestChallenge, method: String, uri: String,
                                       username: String, password: String, body: [UInt8] = [],
                                       cnonce: String? = nil) throws(DigestError) -> String {
        guard !method.isEmpty, method.utf8.allSatisfy(DigestHeaderLexer.isTokenChar) else {
            throw .malformed("the method is not a token")
        }
        guard !uri.isEmpty else { throw .missingParameter("uri") }
        guard !challenge.nonce.isEmpty else { throw .missingParameter("nonce") }

        let algorithm = challenge.algorithm
        // auth is preferred: auth-int needs the exact body bytes on both ends
        // and breaks as soon as anything in the path rewrites the body.
        let qop: DigestQop? = challenge.qopOptions.contains(.auth) ? .auth : challenge.qopOptions.first
        let usesCnonce = qop != nil || algorithm.isSession
        let clientNonce = cnonce ?? DigestHash.randomHex(byteCount: 16)
        if usesCnonce && clientNonce.isEmpty { throw .missingParameter("cnonce") }

        var nc = ""
        if qop != nil { nc = DigestCompute.ncString(try nextCount(challenge.realm, challenge.nonce)) }

        // RFC 7616 §3.4.4: with userhash the username field carries
        // H(username:realm), and the password hash still uses the real name.
        let sentUsername = challenge.userhash
            ? DigestCompute.hash(algorithm, username, challenge.realm) : username

        let base = DigestCompute.baseHA1(algorithm, username: username, realm: challenge.realm,
                                         password: password)
        let ha1 = DigestCompute.ha1(algorithm, baseHA1: base, nonce: challenge.nonce, cnonce: clientNonce)
        let ha2 = DigestCompute.ha2(algorithm, method: method, uri: uri, qop: qop, body: body)
        let response = DigestCompute.response(algorithm, ha1: ha1, nonce: challenge.nonce, nc: nc,
                                              cnonce: clientNonce, qop: qop, ha2: ha2)

        let q = DigestHeaderWriter.quoted
        var parts = [
            "username=" + (try q(sentUsername, "username")),
            "realm=" + (try q(challenge.realm, "realm")),
            "nonce=" + (try q(challenge.nonce, "nonce")),
            "uri=" + (try q(uri, "uri")),
            "response=\"\(response)\"",
            // Always named, even for MD5: RFC 3261's own examples do, and a
            // few servers insist on it.
            "algorithm=" + algorithm.token,
        ]
        if usesCnonce { parts.append("cnonce=" + (try q(clientNonce, "cnonce"))) }
        if let qop {
            parts.append("qop=" + qop.rawValue)
            parts.append("nc=" + nc)
        }
        if let opaque = challenge.opaque { parts.append("opaque=" + (try q(opaque, "opaque"))) }
        if challenge.userhash { parts.append("userhash=true") }
        return "Digest " + parts.joined(separator: ", ")
    }

    /// Pick the challenge to answer when a response carries several (RFC
    /// 8760 §2.4: a server may offer SHA-256 and MD5 side by side). The
    /// strongest hash wins; ties keep the server's order. Challenges for
    /// different realms (a proxy and a UAS) each need their own answer, so
    /// group by realm before calling this.
    public static func choose(_ challenges: [DigestChallenge]) -> DigestChallenge? {
        var best: DigestChallenge?
        for c in challenges where c.algorithm.strength > (best?.algorithm.strength ?? 0) {
            best = c
        }
        return best
    }

    public var description: String { "DigestClient(\(counts.count) nonces)" }

    private mutating func nextCount(_ realm: String, _ nonce: String) throws(DigestError) -> UInt32 {
        let key = Self.key(realm, nonce)
        if let i = counts.firstIndex(where: { $0.key == key }) {
            guard counts[i].count < UInt32.max else { throw .malformed("the nonce count is exhausted") }
            counts[i].count += 1
            // Move to the back: recently used nonces are the ones to keep.
            let entry = counts.remove(at: i)
            counts.append(entry)
            return entry.count
        }
        counts.append((key, 1))
        if counts.count > Self.rememberedNonces { counts.removeFirst() }
        return 1
    }

    private static func key(_ realm: String, _ nonce: String) -> String { realm + "\u{0}" + nonce }
}
