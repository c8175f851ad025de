/// The value of From, To, Contact, Route, Record-Route and similar headers:
/// `( name-addr / addr-spec ) *( SEMI generic-param )` (RFC 3261 §20.10, §25.1).
///
/// In the addr-spec form (no angle brackets) everything after the first ';' belongs to the header,
/// not to the URI, which is why a URI with parameters or headers must be written in `<>`.
public struct NameAddress: Hashable, Sendable, CustomStringConvertible {
    /// Unquoted and unescaped.
    public var displayName: String?
    public var uri: SIPURI
    /// Header parameters: tag, expires, q, ...
    public var parameters: SIPParameters

    public init(displayName: String? = nil, uri: SIPURI, parameters: SIPParameters = []) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    public var tag: String? { parameters.value("tag") }

    public static func parse(_ text: Substring) throws(SIPParseError) -> NameAddress {
        try withUTF8Bytes(text) { (p: Bytes) throws(SIPParseError) -> NameAddress in
            try parse(p, 0, p.count, build: true)
        }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> NameAddress {
        try parse(text[...])
    }

    /// Always the `<uri>` form, so URI parameters can never be mistaken for header parameters.
    public var description: String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func write(into out: inout [UInt8]) {
        if let displayName {
            writeDisplayName(displayName, into: &out)
            out.append(Byte.space)
        }
        out.append(Byte.lessThan)
        uri.write(into: &out)
        out.append(Byte.greaterThan)
        parameters.write(into: &out)
    }

    /// A display name goes out bare only when it is a token list (`*(token LWS)`); anything else is
    /// quoted, escaping the characters a quoted-string cannot hold as themselves.
    private func writeDisplayName(_ name: String, into out: inout [UInt8]) {
        let u = name.utf8
        let isTokenList = !u.isEmpty && u.first != Byte.space && u.last != Byte.space
            && u.allSatisfy { isTokenChar($0) || $0 == Byte.space }
        if isTokenList {
            appendUTF8(name, to: &out)
            return
        }
        out.append(Byte.quote)
        for c in u {
            switch c {
            case Byte.quote, Byte.backslash:
                out.append(Byte.backslash)
                out.append(c)
            case Byte.cr, Byte.lf:
                // quoted-pair cannot carry CR or LF; a space keeps the header on one line.
                out.append(Byte.space)
            case 0x00...0x08, 0x0B, 0x0C, 0x0E...0x1F, 0x7F:
                out.append(Byte.backslash)
                out.append(c)
            default:
                out.append(c)
            }
        }
        out.append(Byte.quote)
    }

    /// With `build` false the value is only checked (see `URIGrammar.parse`).
    static func parse(_ p: Bytes, _ lo: Int, _ hi: Int, build: Bool = true) throws(SIPParseError) -> NameAddress {
        var i = skipWSP(p, lo, hi)
        let end = trimTrailingWSP(p, i, hi)
        guard i < end else { throw SIPParseError("Empty address") }
        var displayName: String?

        if p[i] == Byte.quote {
            let close = try skipQuotedString(p, i, end)
            if build { displayName = unescapeQuoted(p, i + 1, close - 1) }
            i = skipWSP(p, close, end)
            guard i < end, p[i] == Byte.lessThan else { throw SIPParseError("Display name without <URI>") }
        } else if p[i] != Byte.lessThan {
            // Either a token-list display name before '<', or an addr-spec.
            var j = i
            while j < end && (isTokenChar(p[j]) || isWSP(p[j])) { j += 1 }
            if j < end && p[j] == Byte.lessThan {
                if build { displayName = makeString(p, i, trimTrailingWSP(p, i, j)) }
                i = j
            } else {
                return try parseAddrSpec(p, i, end, build: build)
            }
        }

        // name-addr: LAQUOT addr-spec RAQUOT, with no whitespace inside the brackets.
        guard let close = firstIndex(of: Byte.greaterThan, in: p, i + 1, end) else {
            throw SIPParseError("Missing >")
        }
        let uri = try URIGrammar.parse(p, i + 1, close, build: build)
        let parameters = try SIPParameters.parseHeaderParameters(p, close + 1, end, build: build)
        return NameAddress(displayName: displayName, uri: uri, parameters: parameters)
    }

    private static func parseAddrSpec(_ p: Bytes, _ lo: Int, _ hi: Int, build: Bool) throws(SIPParseError) -> NameAddress {
        let uriEnd = trimTrailingWSP(p, lo, firstIndex(of: Byte.semicolon, in: p, lo, hi) ?? hi)
        // RFC 3261 §20.10: a URI containing a comma, question mark or semicolon must be in <>.
        for k in lo..<uriEnd where p[k] == Byte.comma || p[k] == Byte.question {
            throw SIPParseError("URI with headers or commas must be enclosed in <>")
        }
        let uri = try URIGrammar.parse(p, lo, uriEnd, build: build)
        let parameters = try SIPParameters.parseHeaderParameters(p, uriEnd, hi, build: build)
        return NameAddress(uri: uri, parameters: parameters)
    }

    /// The inside of a quoted-string with its quoted-pairs resolved.
    static func unescapeQuoted(_ p: Bytes, _ lo: Int, _ hi: Int) -> String {
        guard firstIndex(of: Byte.backslash, in: p, lo, hi) != nil else { return makeString(p, lo, hi) }
        var out = [UInt8]()
        out.reserveCapacity(hi - lo)
        var i = lo
        while i < hi {
            if p[i] == Byte.backslash && i + 1 < hi { i += 1 }
            out.append(p[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
