/// A SIP, SIPS or tel URI, or any other absoluteURI kept opaque (RFC 3261 §19.1, §25.1; RFC 3966).
///
/// Components are stored as written, escapes included, so that a URI re-serializes exactly and
/// comparisons that must see escapes (RFC 3261 §19.1.4) still can. `host` holds an IPv6 address
/// without its brackets (RFC 5118); `description` and `hostPort` put them back.
public struct SIPURI: Hashable, Sendable, CustomStringConvertible {
    /// One `name=value` pair of the URI's `?headers` part.
    public struct Header: Hashable, Sendable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Lowercased: "sip", "sips", "tel", or another absoluteURI scheme.
    public var scheme: String
    /// As written (escapes kept); for tel URIs, the number.
    public var user: String?
    public var password: String?
    /// Hostname, IPv4 address or IPv6 address without brackets; "" for tel and other schemes.
    public var host: String
    public var port: Int?
    public var parameters: SIPParameters
    public var headers: [Header]
    /// For schemes other than sip, sips and tel: everything after "scheme:".
    public var opaque: String?

    public init(scheme: String = "sip", user: String? = nil, host: String, port: Int? = nil,
                parameters: SIPParameters = []) {
        self.scheme = scheme.lowercased()
        self.user = user
        self.password = nil
        self.host = host
        self.port = port
        self.parameters = parameters
        self.headers = []
        self.opaque = nil
    }

    /// For the parser: the scheme is already lowercase.
    init(knownScheme: String) {
        scheme = knownScheme
        user = nil
        password = nil
        host = ""
        port = nil
        parameters = []
        headers = []
        opaque = nil
    }

    /// A URI of a scheme this layer does not interpret, e.g. `http:` or `urn:`.
    public init(scheme: String, opaque: String) {
        self.init(scheme: scheme, host: "")
        self.opaque = opaque
    }

    public static func parse(_ text: Substring) throws(SIPParseError) -> SIPURI {
        try withUTF8Bytes(text) { (p: Octets) throws(SIPParseError) -> SIPURI in
            try URIGrammar.parse(p, 0, p.count)
        }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> SIPURI {
        try parse(text[...])
    }

    /// True for sip: and sips: URIs, the ones with user@host structure.
    public var isSIP: Bool { scheme == "sip" || scheme == "sips" }

    /// "host[:port]", with an IPv6 address in brackets.
    public var hostPort: String { writeString(count: hostPortByteCount) { writeHostPort(to: &$0) } }

    public var description: String { writeString(count: byteCount) { write(to: &$0) } }

    // MARK: Convenience accessors for common URI parameters (RFC 3261 §19.1.1)

    /// The `transport` parameter, e.g. "tcp".
    public var transport: String? {
        get { parameters.value("transport") }
        set { if let newValue { parameters.set("transport", newValue) } else { parameters.remove("transport") } }
    }

    /// Whether the URI carries the `lr` flag of a loose router (RFC 3261 §16.12).
    public var isLooseRouter: Bool { parameters.contains("lr") }

    /// A colon can only be in the host if it is an IPv6 address, which needs its brackets back.
    private var hostIsIPv6: Bool {
        host.utf8.withContiguousStorageIfAvailable { firstIndex(of: Octet.colon, in: $0, 0, $0.count) != nil }
            ?? host.utf8.contains(Octet.colon)
    }

    var hostPortByteCount: Int {
        host.utf8.count + (hostIsIPv6 ? 2 : 0) + (port.map { 1 + decimalDigitCount($0) } ?? 0)
    }

    func writeHostPort(to out: inout ByteWriter) {
        let brackets = hostIsIPv6
        if brackets { out.write(Octet.leftBracket) }
        out.write(host)
        if brackets { out.write(Octet.rightBracket) }
        if let port {
            out.write(Octet.colon)
            out.writeDecimal(port)
        }
    }

    var byteCount: Int {
        var n = scheme.utf8.count + 1
        switch scheme {
        case "sip", "sips":
            if let user { n += user.utf8.count + 1 + (password.map { 1 + $0.utf8.count } ?? 0) }
            n += hostPortByteCount + parameters.byteCount
            for header in headers { n += 2 + header.name.utf8.count + header.value.utf8.count }
        case "tel":
            n += (user?.utf8.count ?? 0) + parameters.byteCount
        default:
            n += opaque?.utf8.count ?? 0
        }
        return n
    }

    func write(to out: inout ByteWriter) {
        out.write(scheme)
        out.write(Octet.colon)
        switch scheme {
        case "sip", "sips":
            if let user {
                out.write(user)
                if let password {
                    out.write(Octet.colon)
                    out.write(password)
                }
                out.write(Octet.at)
            }
            writeHostPort(to: &out)
            parameters.write(to: &out)
            var separator = Octet.question
            for header in headers {
                out.write(separator)
                out.write(header.name)
                out.write(Octet.equals)
                out.write(header.value)
                separator = Octet.ampersand
            }
        case "tel":
            if let user { out.write(user) }
            parameters.write(to: &out)
        default:
            if let opaque { out.write(opaque) }
        }
    }
}
