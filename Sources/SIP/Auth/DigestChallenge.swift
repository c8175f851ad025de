// A Digest challenge from WWW-Authenticate (401) or Proxy-Authenticate (407),
// RFC 3261 §22.4 / §25.1, RFC 7616 §3.3, RFC 8760.

public struct DigestChallenge: Sendable, Equatable, CustomStringConvertible {
    public var realm: String
    public var nonce: String
    public var opaque: String?
    /// MD5 when the challenge names none (RFC 7616 §3.3).
    public var algorithm: DigestAlgorithm
    /// The qop values offered that we implement, in the server's order.
    /// Empty means the server offered none: answer in the RFC 2069 form.
    public var qopOptions: [DigestQop]
    /// stale=true: the previous answer was right but its nonce expired, so
    /// retry with the new nonce without asking the user again.
    public var stale: Bool
    /// Protection space URIs, if the server listed them.
    public var domain: [String]
    /// RFC 7616 §3.4.4: send H(username:realm) instead of the username.
    public var userhash: Bool
    /// Parameters we do not interpret (charset, ...), names lowercased.
    public var otherParameters: [String: String]

    public init(realm: String, nonce: String, opaque: String? = nil,
                algorithm: DigestAlgorithm = .md5, qopOptions: [DigestQop] = [.auth],
                stale: Bool = false, domain: [String] = [], userhash: Bool = false,
                otherParameters: [String: String] = [:]) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithm = algorithm
        self.qopOptions = qopOptions
        self.stale = stale
        self.domain = domain
        self.userhash = userhash
        self.otherParameters = otherParameters
    }

    /// Parse one header value. If it holds several challenges, the first
    /// must be Digest; use `parseAll` to pick among them.
    public init(parsing headerValue: String) throws(DigestError) {
        let items = try DigestHeaderLexer.scan(headerValue)
        try self.init(item: items[0])
    }

    /// Every usable Digest challenge in a header value; other schemes and
    /// Digest challenges we cannot answer (unknown algorithm, only unknown
    /// qop values) are skipped, not fatal, so a stronger or weaker sibling
    /// can still be used.
    public static func parseAll(_ headerValue: String) -> [DigestChallenge] {
        guard let items = try? DigestHeaderLexer.scan(headerValue) else { return [] }
        return items.compactMap { try? DigestChallenge(item: $0) }
    }

    init(item: DigestSchemeItem) throws(DigestError) {
        guard item.scheme.lowercased() == "digest" else { throw .notDigestScheme(item.scheme) }
        // Lenient on duplicates: the first occurrence wins (value(_:)).
        guard let realm = item.value("realm") else { throw .missingParameter("realm") }
        guard let nonce = item.value("nonce"), !nonce.isEmpty else {
            throw .missingParameter("nonce")
        }
        self.realm = realm
        self.nonce = nonce
        opaque = item.value("opaque")
        if let token = item.value("algorithm") {
            algorithm = try DigestAlgorithm(token: token)
        } else {
            algorithm = .md5
        }

        // qop is a quoted comma list; tolerate spaces and case. A list
        // naming only values we lack (auth-conf, ...) makes the challenge
        // unanswerable; falling back to RFC 2069 would just fail again.
        qopOptions = []
        if let raw = item.value("qop") {
            let tokens = raw.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
            for token in tokens {
                if let q = DigestQop(token: token), !qopOptions.contains(q) { qopOptions.append(q) }
            }
            if !tokens.isEmpty && qopOptions.isEmpty { throw .unsupportedQop(raw) }
        }
        stale = item.value("stale")?.lowercased() == "true"
        userhash = item.value("userhash")?.lowercased() == "true"
        domain = item.value("domain").map {
            $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        } ?? []
        let known: Set<String> = ["realm", "nonce", "opaque", "algorithm", "qop", "stale",
                                  "domain", "userhash"]
        var others: [String: String] = [:]
        for p in item.params where !known.contains(p.name) && others[p.name] == nil {
            others[p.name] = p.value
        }
        otherParameters = others
    }

    /// The header value, as a server sends it.
    public func headerValue() throws(DigestError) -> String {
        var parts = ["realm=" + (try DigestHeaderWriter.quoted(realm, name: "realm")),
                     "nonce=" + (try DigestHeaderWriter.quoted(nonce, name: "nonce"))]
        if let opaque { parts.append("opaque=" + (try DigestHeaderWriter.quoted(opaque, name: "opaque"))) }
        parts.append("algorithm=" + algorithm.token)
        if !qopOptions.isEmpty {
            parts.append("qop=\"" + qopOptions.map(\.rawValue).joined(separator: ",") + "\"")
        }
        if !domain.isEmpty {
            parts.append("domain=" + (try DigestHeaderWriter.quoted(domain.joined(separator: " "), name: "domain")))
        }
        if stale { parts.append("stale=TRUE") }
        if userhash { parts.append("userhash=true") }
        return "Digest " + parts.joined(separator: ", ")
    }

    /// No secrets here, but the nonce is left out: it is noise in logs.
    public var description: String {
        var s = "Digest challenge realm \(DigestError.snippet(realm)), \(algorithm)"
        s += qopOptions.isEmpty ? ", no qop" : ", qop " + qopOptions.map(\.rawValue).joined(separator: ",")
        if stale { s += ", stale" }
        return s
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
