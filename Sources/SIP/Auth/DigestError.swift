// Errors of the digest code. Messages name the problem, never a password or
// a computed response, and quote peer-supplied text only in a short,
// printable form so a hostile header cannot flood or forge log lines.

public enum DigestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The header value uses another scheme (Basic, Bearer, ...).
    case notDigestScheme(String)
    /// A parameter the scheme requires (realm, nonce, ...) is absent or empty.
    case missingParameter(String)
    /// The same parameter appears twice where that would be ambiguous.
    case duplicateParameter(String)
    /// An algorithm token we do not implement.
    case unsupportedAlgorithm(String)
    /// qop offered or used, but none of the values is auth or auth-int.
    case unsupportedQop(String)
    /// Syntax error or an unusable value; the text says which.
    case malformed(String)

    public var description: String {
        switch self {
        case .notDigestScheme(let s):
            "The authentication scheme \(Self.snippet(s)) is not Digest."
        case .missingParameter(let p):
            "The digest parameter \(Self.snippet(p)) is missing or empty."
        case .duplicateParameter(let p):
            "The digest parameter \(Self.snippet(p)) appears more than once."
        case .unsupportedAlgorithm(let a):
            "The digest algorithm \(Self.snippet(a)) is not supported."
        case .unsupportedQop(let q):
            "None of the offered qop values \(Self.snippet(q)) is supported."
        case .malformed(let why):
            "The digest header is malformed: \(why)."
        }
    }

    /// At most 40 printable ASCII characters, quoted; anything else becomes '?'.
    static func snippet(_ s: String) -> String {
        var out = ""
        for (i, u) in s.unicodeScalars.enumerated() {
            if i == 40 { out += "..."; break }
            out.unicodeScalars.append((0x20...0x7e).contains(u.value) ? u : "?")
        }
        return "\"" + out + "\""
    }
}
