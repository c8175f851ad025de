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
        try withUTF8Bytes(text) { (p: Octets) throws(SIPParseError) -> NameAddress in
            try parse(p, 0, p.count)
        }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> NameAddress {
        try parse(text[...])
    }

    /// Always the `<uri>` form, so URI parameters can never be mistaken for header parameters.
    public var description: String { writeString(count: byteCount) { write(to: &$0) } }

    var byteCount: Int {
        (displayName.map { Self.displayNameByteCount($0) + 1 } ?? 0) + uri.byteCount + 2 + parameters.byteCount
    }

    func write(to out: inout ByteWriter) {
        if let displayName {
            Self.writeDisplayName(displayName, to: &out)
            out.write(Octet.space)
        }
        out.write(Octet.lessThan)
        uri.write(to: &out)
        out.write(Octet.greaterThan)
        parameters.write(to: &out)
    }

    /// A display name goes out bare only when it is a token list (`*(token LWS)`); anything else is
    /// quoted, escaping what a quoted-string cannot hold as itself.
    private static func isTokenList(_ name: String) -> Bool {
        let u = name.utf8
        return !u.isEmpty && u.first != Octet.space && u.last != Octet.space
            && u.allSatisfy { isTokenChar($0) || $0 == Octet.space }
    }

    private static func needsEscape(_ c: UInt8) -> Bool {
        c == Octet.quote || c == Octet.backslash || (c < 0x20 && c != Octet.tab && c != Octet.cr && c != Octet.lf) || c == 0x7F
    }

    private static func displayNameByteCount(_ name: String) -> Int {
        if isTokenList(name) { return name.utf8.count }
        return name.utf8.reduce(2) { $0 + (needsEscape($1) ? 2 : 1) }
    }

    private static func writeDisplayName(_ name: String, to out: inout ByteWriter) {
        if isTokenList(name) {
            out.write(name)
            return
        }
        out.write(Octet.quote)
        for c in name.utf8 {
            if needsEscape(c) {
                out.write(Octet.backslash)
                out.write(c)
            } else {
                // quoted-pair cannot carry CR or LF; a space keeps the header on one line.
                out.write(c == Octet.cr || c == Octet.lf ? Octet.space : c)
            }
        }
        out.write(Octet.quote)
    }

    static func parse(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> NameAddress {
        build(p, try scan(p, lo, hi))
    }

    /// Where the parts of a name-addr or addr-spec lie; see `URIParts`.
    struct Parts {
        /// -1 when there is no display name; for a quoted one, the inside of the quotes.
        var displayLo = -1, displayHi = -1
        var displayQuoted = false
        var uri = URIParts()
        var parametersLo = 0, parametersHi = 0
    }

    /// A whole value, up to `hi`.
    static func scan(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> Parts {
        var parts = Parts()
        let end = try scan(p, lo, hi, stopAtComma: false, &parts)
        guard end == hi else { throw SIPParseError("Unexpected text after address") }
        return parts
    }

    /// One value of a list (Contact, Route, ...): stops at the ',' that ends it, or at `hi`, and
    /// returns where it stopped.
    static func scan(_ p: Octets, _ lo: Int, _ hi: Int, stopAtComma: Bool, _ parts: inout Parts) throws(SIPParseError) -> Int {
        var i = skipWSP(p, lo, hi)
        guard i < hi else { throw SIPParseError("Empty address") }

        if p[i] == Octet.quote {
            let close = try skipQuotedString(p, i, hi)
            (parts.displayLo, parts.displayHi, parts.displayQuoted) = (i + 1, close - 1, true)
            i = skipWSP(p, close, hi)
            guard i < hi, p[i] == Octet.lessThan else { throw SIPParseError("Display name without <URI>") }
        } else if p[i] != Octet.lessThan {
            // Either a token-list display name before '<', or an addr-spec.
            var j = i
            while j < hi && (isTokenChar(p[j]) || isWSP(p[j])) { j += 1 }
            guard j < hi && p[j] == Octet.lessThan else { return try scanAddrSpec(p, i, hi, stopAtComma, &parts) }
            (parts.displayLo, parts.displayHi) = (i, trimTrailingWSP(p, i, j))
            i = j
        }

        // name-addr: LAQUOT addr-spec RAQUOT, with no whitespace inside the brackets.
        guard let close = firstIndex(of: Octet.greaterThan, in: p, i + 1, hi) else {
            throw SIPParseError("Missing >")
        }
        try URIGrammar.scan(p, i + 1, close, into: &parts.uri)
        let end = try SIPParameters.scanHeaderParameters(p, close + 1, hi, stopAtComma: stopAtComma)
        (parts.parametersLo, parts.parametersHi) = (close + 1, trimTrailingWSP(p, close + 1, end))
        return end
    }

    private static func scanAddrSpec(_ p: Octets, _ lo: Int, _ hi: Int, _ stopAtComma: Bool,
                                     _ parts: inout Parts) throws(SIPParseError) -> Int {
        // RFC 3261 §20.10: in this form the URI ends at the first ';' (the rest are header
        // parameters), and a URI containing ',', '?' or ';' must be written in <>.
        var uriEnd = lo
        while uriEnd < hi {
            let c = p[uriEnd]
            if c == Octet.semicolon || isWSP(c) || (stopAtComma && c == Octet.comma) { break }
            if c == Octet.comma || c == Octet.question {
                throw SIPParseError("URI with headers or commas must be enclosed in <>")
            }
            uriEnd += 1
        }
        try URIGrammar.scan(p, lo, uriEnd, into: &parts.uri)
        let end = try SIPParameters.scanHeaderParameters(p, uriEnd, hi, stopAtComma: stopAtComma)
        (parts.parametersLo, parts.parametersHi) = (uriEnd, trimTrailingWSP(p, uriEnd, end))
        return end
    }

    static func build(_ p: Octets, _ parts: Parts) -> NameAddress {
        var displayName: String?
        if parts.displayLo >= 0 {
            displayName = parts.displayQuoted ? unescapeQuoted(p, parts.displayLo, parts.displayHi)
                                              : decodeString(p, parts.displayLo, parts.displayHi)
        }
        return NameAddress(displayName: displayName, uri: URIGrammar.build(p, parts.uri),
                           parameters: SIPParameters.buildHeaderParameters(p, parts.parametersLo, parts.parametersHi))
    }

    /// The inside of a quoted-string with its quoted-pairs resolved.
    static func unescapeQuoted(_ p: Octets, _ lo: Int, _ hi: Int) -> String {
        guard firstIndex(of: Octet.backslash, in: p, lo, hi) != nil else { return decodeString(p, lo, hi) }
        var out = [UInt8]()
        out.reserveCapacity(hi - lo)
        var i = lo
        while i < hi {
            if p[i] == Octet.backslash && i + 1 < hi { i += 1 }
            out.append(p[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
