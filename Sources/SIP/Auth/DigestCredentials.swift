// Digest credentials from an Authorization or Proxy-Authorization value
// (RFC 3261 §22.4 / §25.1, RFC 7616 §3.4). Stricter than challenge parsing:
// this is attacker-facing input on the server, so ambiguity (duplicate
// parameters, qop without nc/cnonce) is an error rather than guessed at.

public struct DigestCredentials: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var realm: String
    public var nonce: String
    public var uri: String
    /// The hex response as sent. Not secret, but it permits an offline
    /// dictionary attack on the password, so `description` leaves it out.
    public var response: String
    public var algorithm: DigestAlgorithm
    public var cnonce: String?
    public var qop: DigestQop?
    /// The nonce count exactly as sent (8 hex digits); the response hashes
    /// this text, not its numeric value.
    public var nc: String?
    public var opaque: String?
    public var userhash: Bool

    public init(username: String, realm: String, nonce: String, uri: String, response: String,
                algorithm: DigestAlgorithm = .md5, cnonce: String? = nil, qop: DigestQop? = nil,
                nc: String? = nil, opaque: String? = nil, userhash: Bool = false) {
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        self.algorithm = algorithm
        self.cnonce = cnonce
        self.qop = qop
        self.nc = nc
        self.opaque = opaque
        self.userhash = userhash
    }

    public init(parsing headerValue: String) throws(DigestError) {
        let items = try DigestHeaderLexer.scan(headerValue)
        guard items.count == 1, let item = items.first else {
            throw .malformed("more than one scheme in a credentials value")
        }
        guard item.scheme.lowercased() == "digest" else { throw .notDigestScheme(item.scheme) }
        if let dup = item.firstDuplicate { throw .duplicateParameter(dup) }

        func required(_ name: String) throws(DigestError) -> String {
            guard let v = item.value(name), !v.isEmpty else { throw .missingParameter(name) }
            return v
        }
        username = try required("username")
        guard let realm = item.value("realm") else { throw .missingParameter("realm") }
        self.realm = realm
        nonce = try required("nonce")
        uri = try required("uri")
        response = try required("response")
        if let token = item.value("algorithm") {
            algorithm = try DigestAlgorithm(token: token)
        } else {
            algorithm = .md5
        }
        cnonce = item.value("cnonce")
        opaque = item.value("opaque")
        userhash = item.value("userhash")?.lowercased() == "true"

        if let q = item.value("qop") {
            guard let parsed = DigestQop(token: q) else { throw .unsupportedQop(q) }
            qop = parsed
        } else {
            qop = nil
        }
        nc = item.value("nc")
        if let nc {
            // 8LHEX per RFC 7616; accept upper case from sloppy peers.
            guard nc.utf8.count == 8, UInt32(nc, radix: 16) != nil else {
                throw .malformed("nc must be eight hex digits")
            }
        }
        // RFC 7616 §3.4: with qop, cnonce and nc are mandatory; -sess needs
        // the cnonce for HA1 even in the legacy form.
        if qop != nil {
            guard nc != nil else { throw .missingParameter("nc") }
            guard cnonce?.isEmpty == false else { throw .missingParameter("cnonce") }
        }
        if algorithm.isSession, cnonce?.isEmpty != false { throw .missingParameter("cnonce") }
    }

    /// The numeric nonce count, if sent.
    public var nonceCount: UInt32? { nc.flatMap { UInt32($0, radix: 16) } }

    public var description: String {
        var s = "Digest credentials user \(DigestError.snippet(username)) realm \(DigestError.snippet(realm))"
        s += " uri \(DigestError.snippet(uri)), \(algorithm)"
        if let qop { s += ", qop \(qop)" }
        if let nc { s += ", nc \(DigestError.snippet(nc))" }
        return s
    }
}
