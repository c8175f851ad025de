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
            if u.count >= 2, u.first == Byte.leftBracket, u.last == Byte.rightBracket {
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
    public var sentBy: String {
        var out: [UInt8] = []
        writeSentBy(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func setOrRemove(_ name: String, _ value: String?) {
        if let value { parameters.set(name, value) } else { parameters.remove(name) }
    }

    public static func parse(_ text: Substring) throws(SIPParseError) -> Via {
        try withUTF8Bytes(text) { (p: Bytes) throws(SIPParseError) -> Via in try parse(p, 0, p.count) }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> Via { try parse(text[...]) }

    public var description: String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func write(into out: inout [UInt8]) {
        appendUTF8("SIP/2.0/", to: &out)
        appendUTF8(transport, to: &out)
        out.append(Byte.space)
        writeSentBy(into: &out)
        parameters.write(into: &out)
    }

    private func writeSentBy(into out: inout [UInt8]) {
        SIPURI(host: host, port: port).writeHostPort(into: &out)
    }

    /// via-parm = sent-protocol LWS sent-by *( SEMI via-params ), where the '/' of sent-protocol
    /// and the ':' of sent-by may have whitespace around them (RFC 4475 §3.1.1.1 folds a Via
    /// across three lines).
    /// With `build` false the value is only checked (see `URIGrammar.parse`).
    static func parse(_ p: Bytes, _ lo: Int, _ hi: Int, build: Bool = true) throws(SIPParseError) -> Via {
        var i = skipWSP(p, lo, hi)
        let end = trimTrailingWSP(p, i, hi)

        func token() -> (Int, Int) {
            let s = i
            while i < end && isTokenChar(p[i]) { i += 1 }
            return (s, i)
        }
        func slash() throws(SIPParseError) {
            i = skipWSP(p, i, end)
            guard i < end, p[i] == Byte.slash else { throw SIPParseError("Invalid Via protocol") }
            i = skipWSP(p, i + 1, end)
        }

        let name = token()
        guard equalsIgnoringCase(p, name.0, name.1, "SIP") else { throw SIPParseError("Invalid Via protocol") }
        try slash()
        let version = token()
        guard equalsExactly(p, version.0, version.1, "2.0") else { throw SIPParseError("Invalid Via version") }
        try slash()
        let transport = token()
        guard transport.1 > transport.0 else { throw SIPParseError("Missing Via transport") }

        let afterTransport = i
        i = skipWSP(p, i, end)
        guard i > afterTransport else { throw SIPParseError("Missing space before Via sent-by") }
        let (host, port, afterHost) = try URIGrammar.scanHostPort(p, i, end, spaceBeforeColon: true, build: build)
        let parameters = try SIPParameters.parseHeaderParameters(p, afterHost, end, build: build)
        var via = Via(transport: "", host: host, port: port, parameters: parameters)
        if build { via.transport = transportName(p, transport.0, transport.1) }
        return via
    }
}

/// Transport names uppercased, reusing shared strings for the usual ones.
private func transportName(_ p: Bytes, _ lo: Int, _ hi: Int) -> String {
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

/// The CSeq header: a sequence number and the method it numbers (RFC 3261 §20.16).
public struct CSeq: Hashable, Sendable, CustomStringConvertible {
    public var sequence: UInt32
    public var method: SIPMethod

    public init(sequence: UInt32, method: SIPMethod) {
        self.sequence = sequence
        self.method = method
    }

    public var description: String { "\(sequence) \(method.rawValue)" }

    /// CSeq = 1*DIGIT LWS Method. A number above 2^32-1 is an error, never a wrap-around.
    public static func parse(_ text: Substring) throws(SIPParseError) -> CSeq {
        try withUTF8Bytes(text) { (p: Bytes) throws(SIPParseError) -> CSeq in try parse(p, 0, p.count) }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> CSeq { try parse(text[...]) }

    static func parse(_ p: Bytes, _ lo: Int, _ hi: Int) throws(SIPParseError) -> CSeq {
        var i = skipWSP(p, lo, hi)
        let end = trimTrailingWSP(p, i, hi)
        let digits = i
        while i < end && isDigit(p[i]) { i += 1 }
        let number: Int
        switch parseDecimal(p, digits, i) {
        case .value(let n) where n <= Int(UInt32.max): number = n
        case .value, .overflow: throw SIPParseError("CSeq number too large")
        case .invalid: throw SIPParseError("Invalid CSeq")
        }
        let methodStart = skipWSP(p, i, end)
        guard methodStart > i, methodStart < end else { throw SIPParseError("Invalid CSeq") }
        var j = methodStart
        while j < end && isTokenChar(p[j]) { j += 1 }
        guard j == end else { throw SIPParseError("Invalid CSeq method") }
        return CSeq(sequence: UInt32(truncatingIfNeeded: number), method: SIPMethod.from(p, methodStart, end))
    }
}

/// For accessors that cannot fail: runs `body` over a string's bytes.
@inline(__always)
func withUTF8BytesNonThrowing<R>(_ text: String, _ body: (Bytes) -> R) -> R {
    if let r = text.utf8.withContiguousStorageIfAvailable(body) { return r }
    return Array(text.utf8).withUnsafeBufferPointer(body)
}
