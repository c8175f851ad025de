/// Request-Line and Status-Line (RFC 3261 §7.1, §7.2, §25.1).
///
/// The Request-Line is read strictly: `Method SP Request-URI SP SIP-Version`, single spaces, no
/// trailing whitespace, no <> around the URI. RFC 4475 §3.1.2.7-3.1.2.10 show why: a lenient
/// reading of a malformed line can route the request somewhere its sender never meant.
enum StartLine {
    /// Reads `Method SP Request-URI SP SIP-Version`. Throws only when not even a method can be
    /// read; a later problem comes back as `error`, with a placeholder URI (empty host) if the
    /// URI is what failed, so the caller can still read the header fields for a 400.
    static func request(_ p: Octets, _ lo: Int, _ hi: Int)
        throws(SIPParseError) -> (method: SIPMethod, uri: SIPURI, error: SIPParseError?)
    {
        var i = lo
        while i < hi && isTokenChar(p[i]) { i += 1 }
        let methodEnd = i
        guard methodEnd > lo, methodEnd < hi, p[methodEnd] == Octet.space else {
            throw SIPParseError("Malformed start line")
        }
        let method = SIPMethod.from(p, lo, methodEnd)
        do throws(SIPParseError) {
            return (method, try requestURIAndVersion(p, methodEnd + 1, hi), nil)
        } catch {
            return (method, SIPURI(knownScheme: "sip"), error)
        }
    }

    private static func requestURIAndVersion(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> SIPURI {
        // The usual line is read in one pass: the URI runs to the first space, and the rest is
        // exactly "SIP/2.0". Anything else goes to `uriEnd`, which finds out what is wrong.
        var i = lo
        while i < hi && p[i] != Octet.space && p[i] != Octet.tab { i += 1 }
        let end = i < hi && p[i] == Octet.space && equalsExactly(p, i + 1, hi, "SIP/2.0") ? i : try uriEnd(p, lo, hi)
        if p[lo] == Octet.lessThan { throw SIPParseError("Request-URI enclosed in <>") }
        let uri: SIPURI
        do throws(SIPParseError) {
            uri = try URIGrammar.parse(p, lo, end)
        } catch {
            throw SIPParseError("Invalid Request-URI")
        }
        // RFC 3261 §19.1.5: headers of a SIP URI are not allowed in a Request-URI.
        if uri.isSIP && !uri.headers.isEmpty { throw SIPParseError("Headers not allowed in Request-URI") }
        return uri
    }

    /// Where the Request-URI ends, for lines the fast path did not accept: says which rule of
    /// the Request-Line is broken, or accepts a version written in another case.
    private static func uriEnd(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> Int {
        guard lo < hi, !isWSP(p[lo]) else { throw SIPParseError("Extra spaces in Request-Line") }
        if isWSP(p[hi - 1]) {
            let trimmed = trimTrailingWSP(p, lo, hi)
            if trimmed - lo >= 7 && equalsIgnoringCase(p, trimmed - 7, trimmed, "SIP/2.0") {
                throw SIPParseError("Trailing whitespace in Request-Line")
            }
            throw SIPParseError("Malformed Request-Line")
        }
        // The version is whatever follows the last space; the URI is everything between.
        var lastSpace = hi - 1
        while lastSpace >= lo && !isWSP(p[lastSpace]) { lastSpace -= 1 }
        guard lastSpace >= lo, p[lastSpace] == Octet.space else { throw SIPParseError("Malformed Request-Line") }
        try checkVersion(p, lastSpace + 1, hi)
        if isWSP(p[lastSpace - 1]) { throw SIPParseError("Extra spaces in Request-Line") }
        for k in lo..<lastSpace where isWSP(p[k]) { throw SIPParseError("Whitespace in Request-URI") }
        return lastSpace
    }

    /// SIP-Version is "SIP/2.0" exactly (RFC 3261 §7.1 compares it case-insensitively, but
    /// nothing valid is written otherwise); another SIP/x.y is answered with 505.
    private static func checkVersion(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) {
        if equalsIgnoringCase(p, lo, hi, "SIP/2.0") { return }
        if hi - lo > 4 && equalsIgnoringCase(p, lo, lo + 4, "SIP/") {
            throw SIPParseError("SIP version not supported", statusCode: 505)
        }
        throw SIPParseError("Malformed Request-Line")
    }

    /// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; the phrase may be empty
    /// (RFC 4475 §3.1.1.13) and may hold any UTF-8 (§3.1.1.12).
    static func status(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> (Int, String) {
        guard let space = firstIndex(of: Octet.space, in: p, lo, hi) else {
            throw SIPParseError("Malformed Status-Line")
        }
        guard equalsIgnoringCase(p, lo, space, "SIP/2.0") else {
            throw SIPParseError("SIP version not supported", statusCode: 505)
        }
        let codeStart = space + 1
        var i = codeStart
        while i < hi && isASCIIDigit(p[i]) { i += 1 }
        guard i - codeStart == 3, case .value(let code) = parseDecimal(p, codeStart, i), (100...699).contains(code)
        else { throw SIPParseError("Invalid status code") }
        if i == hi { return (code, "") }
        guard p[i] == Octet.space else { throw SIPParseError("Invalid status code") }
        return (code, decodeString(p, i + 1, hi))
    }
}
