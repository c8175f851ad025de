/// Request-Line and Status-Line (RFC 3261 §7.1, §7.2, §25.1).
///
/// The Request-Line is read strictly: `Method SP Request-URI SP SIP-Version`, single spaces, no
/// trailing whitespace, no <> around the URI. RFC 4475 §3.1.2.7-3.1.2.10 show why: a lenient
/// reading of a malformed line can route the request somewhere its sender never meant.
enum StartLine {
    struct Request {
        var method: SIPMethod
        /// A placeholder with an empty host when the Request-URI could not be read.
        var uri: SIPURI
        /// The first problem found after the method was read; the caller still reads the header
        /// fields so the error can carry them.
        var error: SIPParseError?
    }

    /// Throws only when not even a method can be read; later problems come back in `error`.
    static func request(_ p: Bytes, _ lo: Int, _ hi: Int) throws(SIPParseError) -> Request {
        var i = lo
        while i < hi && isTokenChar(p[i]) { i += 1 }
        let methodEnd = i
        guard methodEnd > lo, methodEnd < hi, p[methodEnd] == Byte.space else {
            throw SIPParseError("Malformed start line")
        }
        var line = Request(method: SIPMethod.from(p, lo, methodEnd), uri: SIPURI(host: ""), error: nil)
        do throws(SIPParseError) {
            line.uri = try requestURIAndVersion(p, methodEnd + 1, hi)
        } catch {
            line.error = error
        }
        return line
    }

    private static func requestURIAndVersion(_ p: Bytes, _ lo: Int, _ hi: Int) throws(SIPParseError) -> SIPURI {
        guard lo < hi, p[lo] != Byte.space else { throw SIPParseError("Extra spaces in Request-Line") }
        // The version is whatever follows the last space; the URI is everything between.
        var lastSpace = hi - 1
        while lastSpace >= lo && p[lastSpace] != Byte.space { lastSpace -= 1 }
        guard lastSpace >= lo else { throw SIPParseError("Malformed Request-Line") }
        if lastSpace == hi - 1 {
            let trimmed = trimTrailingWSP(p, lo, hi)
            if trimmed - lo >= 7 && equalsExactly(p, trimmed - 7, trimmed, "SIP/2.0") {
                throw SIPParseError("Trailing whitespace in Request-Line")
            }
            throw SIPParseError("Malformed Request-Line")
        }
        if p[lastSpace - 1] == Byte.space { throw SIPParseError("Extra spaces in Request-Line") }
        if firstIndex(of: Byte.space, in: p, lo, lastSpace) != nil || firstIndex(of: Byte.tab, in: p, lo, hi) != nil {
            throw SIPParseError("Whitespace in Request-URI")
        }
        try checkVersion(p, lastSpace + 1, hi)
        if p[lo] == Byte.lessThan { throw SIPParseError("Request-URI enclosed in <>") }
        let uri: SIPURI
        do throws(SIPParseError) {
            uri = try URIGrammar.parse(p, lo, lastSpace, build: true)
        } catch {
            throw SIPParseError("Invalid Request-URI")
        }
        // RFC 3261 §19.1.5: headers of a SIP URI are not allowed in a Request-URI.
        if uri.isSIP && !uri.headers.isEmpty { throw SIPParseError("Headers not allowed in Request-URI") }
        return uri
    }

    /// SIP-Version is "SIP/2.0" exactly (RFC 3261 §7.1 compares it case-insensitively, but
    /// nothing valid is written otherwise); another SIP/x.y is answered with 505.
    private static func checkVersion(_ p: Bytes, _ lo: Int, _ hi: Int) throws(SIPParseError) {
        if equalsIgnoringCase(p, lo, hi, "SIP/2.0") { return }
        if hi - lo > 4 && equalsIgnoringCase(p, lo, lo + 4, "SIP/") {
            throw SIPParseError("SIP version not supported", statusCode: 505)
        }
        throw SIPParseError("Malformed Request-Line")
    }

    /// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; the phrase may be empty
    /// (RFC 4475 §3.1.1.13) and may hold any UTF-8 (§3.1.1.12).
    static func status(_ p: Bytes, _ lo: Int, _ hi: Int) throws(SIPParseError) -> (Int, String) {
        guard let space = firstIndex(of: Byte.space, in: p, lo, hi) else {
            throw SIPParseError("Malformed Status-Line")
        }
        guard equalsIgnoringCase(p, lo, space, "SIP/2.0") else {
            throw SIPParseError("SIP version not supported", statusCode: 505)
        }
        let codeStart = space + 1
        var i = codeStart
        while i < hi && isDigit(p[i]) { i += 1 }
        guard i - codeStart == 3, case .value(let code) = parseDecimal(p, codeStart, i), (100...699).contains(code)
        else { throw SIPParseError("Invalid status code") }
        if i == hi { return (code, "") }
        guard p[i] == Byte.space else { throw SIPParseError("Invalid status code") }
        return (code, makeString(p, i + 1, hi))
    }
}
