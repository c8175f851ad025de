/// Where the parts of a URI lie in the bytes it was read from. Scanning fills this in without
/// building a single String, so validation can check a URI for free; `URIGrammar.build` turns it
/// into a `SIPURI` when the value is actually wanted.
struct URIParts {
    enum Kind { case sip, sips, tel, other }
    var kind: Kind = .other
    var schemeLo = 0, schemeHi = 0
    /// -1 when absent. For tel URIs `user` is the number.
    var userLo = -1, userHi = -1
    var passwordLo = -1, passwordHi = -1
    var hostLo = 0, hostHi = 0
    var port = -1
    /// The ";name=value..." text, first ';' included.
    var parametersLo = 0, parametersHi = 0
    /// The text after '?', when there is one.
    var headersLo = -1, headersHi = -1
    /// For other schemes: everything after "scheme:".
    var opaqueLo = 0, opaqueHi = 0

    var hasHeaders: Bool { headersLo >= 0 }
}

/// The URI grammar of RFC 3261 §25.1 (plus tel, RFC 3966) over bytes. Whitespace is never part of
/// a URI, so any byte outside the grammar, SP included, is an error rather than being dropped.
enum URIGrammar {
    static func parse(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> SIPURI {
        var parts = URIParts()
        try scan(p, lo, hi, into: &parts)
        return build(p, parts)
    }

    /// Fills in `parts` (which must be fresh); an inout rather than a result because the parts
    /// are large and scanning sits on every message's path.
    static func scan(_ p: Octets, _ lo: Int, _ hi: Int, into parts: inout URIParts) throws(SIPParseError) {
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        var i = lo
        guard i < hi, isASCIIAlpha(p[i]) else { throw SIPParseError("Invalid URI scheme") }
        while i < hi, isASCIIAlphanumeric(p[i]) || p[i] == 0x2B || p[i] == 0x2D || p[i] == 0x2E { i += 1 }
        guard i < hi, p[i] == Octet.colon else { throw SIPParseError("Invalid URI scheme") }
        parts.schemeLo = lo
        parts.schemeHi = i
        i += 1
        if equalsIgnoringCase(p, lo, parts.schemeHi, "sip") {
            parts.kind = .sip
            try scanSIP(p, i, hi, &parts)
        } else if equalsIgnoringCase(p, lo, parts.schemeHi, "sips") {
            parts.kind = .sips
            try scanSIP(p, i, hi, &parts)
        } else if equalsIgnoringCase(p, lo, parts.schemeHi, "tel") {
            parts.kind = .tel
            try scanTel(p, i, hi, &parts)
        } else {
            // Any other absoluteURI stays opaque, but must still be URI characters.
            guard i < hi else { throw SIPParseError("Empty URI") }
            for k in i..<hi {
                let c = p[k]
                if c < 0x21 || c > 0x7E || c == Octet.lessThan || c == Octet.greaterThan || c == Octet.quote {
                    throw SIPParseError("Invalid character in URI")
                }
            }
            parts.opaqueLo = i
            parts.opaqueHi = hi
        }
    }

    /// SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
    private static func scanSIP(_ p: Octets, _ start: Int, _ hi: Int, _ parts: inout URIParts) throws(SIPParseError) {
        var i = start
        // userinfo = user [ ":" password ] "@". The user part may itself hold ';' or '?'
        // (RFC 4475 §3.1.1.9), so only the '@' at the end tells a userinfo from a hostport:
        // read as if it were one, and start again at the host if no '@' comes.
        let userEnd = try scanEscaped(p, i, hi, isUserChar)
        if userEnd < hi && p[userEnd] == Octet.at {
            guard userEnd > i else { throw SIPParseError("Empty URI user") }
            (parts.userLo, parts.userHi) = (i, userEnd)
            i = userEnd + 1
        } else if userEnd < hi && p[userEnd] == Octet.colon {
            let passwordEnd = try scanEscaped(p, userEnd + 1, hi, isPasswordChar)
            if passwordEnd < hi && p[passwordEnd] == Octet.at {
                guard userEnd > i else { throw SIPParseError("Empty URI user") }
                (parts.userLo, parts.userHi) = (i, userEnd)
                (parts.passwordLo, parts.passwordHi) = (userEnd + 1, passwordEnd)
                i = passwordEnd + 1
            }
        }
        let host = try scanHostPort(p, i, hi, spaceAroundColon: false)
        parts.hostLo = host.lo
        parts.hostHi = host.hi
        parts.port = host.port
        parts.parametersLo = host.end
        i = try SIPParameters.scanURIParameters(p, host.end, hi)
        parts.parametersHi = i
        if i < hi && p[i] == Octet.question {
            parts.headersLo = i + 1
            repeat {
                i += 1
                let nameStart = i
                i = try scanEscaped(p, i, hi, isURIHeaderChar)
                guard i > nameStart, i < hi, p[i] == Octet.equals else { throw SIPParseError("Invalid URI header") }
                i = try scanEscaped(p, i + 1, hi, isURIHeaderChar)
            } while i < hi && p[i] == Octet.ampersand
            parts.headersHi = i
        }
        guard i == hi else { throw SIPParseError("Invalid character in URI") }
    }

    /// hostport = host [ ":" port ], host = hostname / IPv4address / IPv6reference; the host range
    /// excludes an IPv6 reference's brackets. Shared with Via's sent-by, where whitespace may
    /// surround the colon. Stops at the first byte that is not part of the hostport.
    static func scanHostPort(_ p: Octets, _ start: Int, _ hi: Int, spaceAroundColon: Bool)
        throws(SIPParseError) -> (lo: Int, hi: Int, port: Int, end: Int)
    {
        var i = start
        let hostLo: Int, hostHi: Int
        if i < hi && p[i] == Octet.leftBracket {
            guard let close = firstIndex(of: Octet.rightBracket, in: p, i + 1, hi) else {
                throw SIPParseError("Unterminated IPv6 reference")
            }
            try checkIPv6(p, i + 1, close)
            (hostLo, hostHi) = (i + 1, close)
            i = close + 1
        } else {
            while i < hi && isHostChar(p[i]) { i += 1 }
            guard i > start else { throw SIPParseError("Missing host") }
            (hostLo, hostHi) = (start, i)
        }
        var port = -1
        var j = spaceAroundColon ? skipWSP(p, i, hi) : i
        if j < hi && p[j] == Octet.colon {
            j = spaceAroundColon ? skipWSP(p, j + 1, hi) : j + 1
            let portStart = j
            while j < hi && isASCIIDigit(p[j]) { j += 1 }
            guard case .value(let n) = parseDecimal(p, portStart, j), n <= 65535 else {
                throw SIPParseError("Invalid port")
            }
            port = n
            i = j
        }
        return (hostLo, hostHi, port, i)
    }

    /// Accepts hex digits, ':' and '.' (for an embedded IPv4 address). Deliberately no stricter:
    /// RFC 5118 §4.10 asks parsers to tolerate the three-colon form RFC 3261's ABNF allowed.
    static func checkIPv6(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) {
        var colons = 0
        for k in lo..<hi {
            let c = p[k]
            if c == Octet.colon { colons += 1 }
            else if !(isASCIIHexDigit(c) || c == 0x2E) { throw SIPParseError("Invalid IPv6 reference") }
        }
        guard colons >= 2 else { throw SIPParseError("Invalid IPv6 reference") }
    }

    /// telephone-subscriber (RFC 3966), kept as written: the number runs up to the first ';'.
    private static func scanTel(_ p: Octets, _ start: Int, _ hi: Int, _ parts: inout URIParts) throws(SIPParseError) {
        var i = start
        while i < hi && p[i] != Octet.semicolon {
            let c = p[i]
            guard isParamChar(c) || c == 0x23 || c == Octet.percent else { throw SIPParseError("Invalid tel URI") }
            i += 1
        }
        guard i > start else { throw SIPParseError("Empty tel URI") }
        parts.userLo = start
        parts.userHi = i
        parts.parametersLo = i
        parts.parametersHi = try SIPParameters.scanURIParameters(p, i, hi)
        guard parts.parametersHi == hi else { throw SIPParseError("Invalid character in URI") }
    }

    /// Builds the value from scanned parts; the text is known to be well-formed.
    static func build(_ p: Octets, _ parts: URIParts) -> SIPURI {
        let scheme: String
        switch parts.kind {
        case .sip: scheme = "sip"
        case .sips: scheme = "sips"
        case .tel: scheme = "tel"
        case .other:
            var lower = [UInt8]()
            lower.reserveCapacity(parts.schemeHi - parts.schemeLo)
            for k in parts.schemeLo..<parts.schemeHi { lower.append(asciiLower(p[k])) }
            return SIPURI(scheme: String(decoding: lower, as: UTF8.self),
                          opaque: decodeString(p, parts.opaqueLo, parts.opaqueHi))
        }
        var uri = SIPURI(knownScheme: scheme)
        if parts.userLo >= 0 { uri.user = decodeString(p, parts.userLo, parts.userHi) }
        if parts.passwordLo >= 0 { uri.password = decodeString(p, parts.passwordLo, parts.passwordHi) }
        if parts.kind != .tel {
            uri.host = decodeString(p, parts.hostLo, parts.hostHi)
            if parts.port >= 0 { uri.port = parts.port }
        }
        if parts.parametersHi > parts.parametersLo {
            uri.parameters = SIPParameters.buildURIParameters(p, parts.parametersLo, parts.parametersHi)
        }
        if parts.hasHeaders {
            var i = parts.headersLo
            while i < parts.headersHi {
                let end = firstIndex(of: Octet.ampersand, in: p, i, parts.headersHi) ?? parts.headersHi
                let eq = firstIndex(of: Octet.equals, in: p, i, end) ?? end
                uri.headers.append(SIPURI.Header(name: decodeString(p, i, eq),
                                                 value: decodeString(p, min(eq + 1, end), end)))
                i = end + 1
            }
        }
        return uri
    }
}
