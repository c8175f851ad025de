/// One via-parm: `SIP/2.0/transport sent-by *( ;via-params )` (RFC 3261 §20.42, §25.1).
public struct Via: Hashable, Sendable, CustomStringConvertible {
    /// Uppercased: UDP, TCP, TLS, SCTP, WS, WSS or an unknown token (RFC 4475 §3.1.1.10).
    public var transport: String
    /// sent-by host; an IPv6 address is stored without brackets.
    public var host: String
    public var port: Int?
    public var parameters: SIPParameters

    public init(transport: String, host: String, port: Int?, parameters: SIPParameters = []) {
        self.transport = transport.uppercased()
        self.host = host
        self.port = port
        self.parameters = parameters
    }

    /// The transaction identifier; RFC 3261 branches start with "z9hG4bK".
    public var branch: String? {
        get { parameters.value("branch") }
        set { setOrRemove("branch", newValue) }
    }

    /// The address the request actually came from (RFC 3261 §18.2.1). Brackets around an IPv6
    /// address are dropped on read: RFC 5118 §4.5 asks receivers to accept both spellings, and
    /// senders to write none.
    public var received: String? {
        get {
            guard let raw = parameters.value("received") else { return nil }
            let u = raw.utf8
            if u.count >= 2, u.first == Octet.leftBracket, u.last == Octet.rightBracket {
                return String(raw.dropFirst().dropLast())
            }
            return raw
        }
        set { setOrRemove("received", newValue) }
    }

    /// The value of `rport=N` (RFC 3581). Setting nil removes the parameter altogether; use
    /// `parameters.set("rport", nil)` to ask for symmetric response routing.
    public var rport: Int? {
        get {
            guard let raw = parameters.value("rport") else { return nil }
            return withUTF8BytesNonThrowing(raw) { p -> Int? in
                if case .value(let n) = parseDecimal(p, 0, p.count), n <= 65535 { return n }
                return nil
            }
        }
        set {
            if let newValue { parameters.set("rport", String(newValue)) } else { parameters.remove("rport") }
        }
    }

    /// rport present, with or without a value.
    public var hasRport: Bool { parameters.contains("rport") }

    public var maddr: String? { parameters.value("maddr") }

    /// "host[:port]" with IPv6 bracketed.
    public var sentBy: String { SIPURI(host: host, port: port).hostPort }

    private mutating func setOrRemove(_ name: String, _ value: String?) {
        if let value { parameters.set(name, value) } else { parameters.remove(name) }
    }

    public static func parse(_ text: Substring) throws(SIPParseError) -> Via {
        try withUTF8Bytes(text) { (p: Octets) throws(SIPParseError) -> Via in try parse(p, 0, p.count) }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> Via { try parse(text[...]) }

    public var description: String {
        let sentBy = SIPURI(host: host, port: port)
        let count = 8 + transport.utf8.count + 1 + sentBy.hostPortByteCount + parameters.byteCount
        return writeString(count: count) { out in
            out.write("SIP/2.0/" as StaticString)
            out.write(transport)
            out.write(Octet.space)
            sentBy.writeHostPort(to: &out)
            parameters.write(to: &out)
        }
    }

    static func parse(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> Via {
        build(p, try scan(p, lo, hi))
    }

    /// Where the parts of a via-parm lie; see `URIParts`.
    struct Parts {
        var transportLo = 0, transportHi = 0
        var hostLo = 0, hostHi = 0
        var port = -1
        var parametersLo = 0, parametersHi = 0
    }

    /// A whole via-parm, up to `hi`.
    static func scan(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> Parts {
        var parts = Parts()
        let end = try scan(p, lo, hi, stopAtComma: false, &parts)
        guard end == hi else { throw SIPParseError("Unexpected text after Via") }
        return parts
    }

    /// via-parm = sent-protocol LWS sent-by *( SEMI via-params ), where the '/' of sent-protocol
    /// and the ':' of sent-by may have whitespace around them (RFC 4475 §3.1.1.1 folds a Via
    /// across three lines). With `stopAtComma`, stops at the ',' before the next via-parm.
    static func scan(_ p: Octets, _ lo: Int, _ hi: Int, stopAtComma: Bool, _ parts: inout Parts) throws(SIPParseError) -> Int {
        var i = skipWSP(p, lo, hi)
        let nameStart = i
        while i < hi && isTokenChar(p[i]) { i += 1 }
        guard equalsIgnoringCase(p, nameStart, i, "SIP") else { throw SIPParseError("Invalid Via protocol") }
        i = try skipSlash(p, i, hi)
        let versionStart = i
        while i < hi && isTokenChar(p[i]) { i += 1 }
        guard equalsExactly(p, versionStart, i, "2.0") else { throw SIPParseError("Invalid Via version") }
        i = try skipSlash(p, i, hi)
        parts.transportLo = i
        while i < hi && isTokenChar(p[i]) { i += 1 }
        parts.transportHi = i
        guard i > parts.transportLo else { throw SIPParseError("Missing Via transport") }

        let afterTransport = i
        i = skipWSP(p, i, hi)
        guard i > afterTransport else { throw SIPParseError("Missing space before Via sent-by") }
        let host = try URIGrammar.scanHostPort(p, i, hi, spaceAroundColon: true)
        (parts.hostLo, parts.hostHi, parts.port) = (host.lo, host.hi, host.port)
        let end = try SIPParameters.scanHeaderParameters(p, host.end, hi, stopAtComma: stopAtComma)
        (parts.parametersLo, parts.parametersHi) = (host.end, trimTrailingWSP(p, host.end, end))
        return end
    }

    /// SLASH = SWS "/" SWS
    private static func skipSlash(_ p: Octets, _ i: Int, _ end: Int) throws(SIPParseError) -> Int {
        let j = skipWSP(p, i, end)
        guard j < end, p[j] == Octet.slash else { throw SIPParseError("Invalid Via protocol") }
        return skipWSP(p, j + 1, end)
    }

    static func build(_ p: Octets, _ parts: Parts) -> Via {
        var via = Via(transport: "", host: decodeString(p, parts.hostLo, parts.hostHi),
                      port: parts.port >= 0 ? parts.port : nil,
                      parameters: SIPParameters.buildHeaderParameters(p, parts.parametersLo, parts.parametersHi))
        via.transport = transportName(p, parts.transportLo, parts.transportHi)
        return via
    }
}

/// Transport names uppercased, reusing shared strings for the usual ones.
private func transportName(_ p: Octets, _ lo: Int, _ hi: Int) -> String {
    if equalsIgnoringCase(p, lo, hi, "UDP") { return "UDP" }
    if equalsIgnoringCase(p, lo, hi, "TCP") { return "TCP" }
    if equalsIgnoringCase(p, lo, hi, "TLS") { return "TLS" }
    if equalsIgnoringCase(p, lo, hi, "WSS") { return "WSS" }
    if equalsIgnoringCase(p, lo, hi, "WS") { return "WS" }
    var upper = [UInt8]()
    upper.reserveCapacity(hi - lo)
    for k in lo..<hi { upper.append(asciiUpper(p[k])) }
    return String(decoding: upper, as: UTF8.self)
}
