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
        try withUTF8Bytes(text) { (p: Bytes) throws(SIPParseError) -> SIPURI in
            try URIGrammar.parse(p, 0, p.count)
        }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> SIPURI {
        try parse(text[...])
    }

    /// True for sip: and sips: URIs, the ones with user@host structure.
    public var isSIP: Bool { scheme == "sip" || scheme == "sips" }

    /// "host[:port]", with an IPv6 address in brackets.
    public var hostPort: String {
        var out: [UInt8] = []
        writeHostPort(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String {
        var out: [UInt8] = []
        out.reserveCapacity(48)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Convenience accessors for common URI parameters (RFC 3261 §19.1.1)

    /// The `transport` parameter, e.g. "tcp".
    public var transport: String? {
        get { parameters.value("transport") }
        set { if let newValue { parameters.set("transport", newValue) } else { parameters.remove("transport") } }
    }

    /// Whether the URI carries the `lr` flag of a loose router (RFC 3261 §16.12).
    public var isLooseRouter: Bool { parameters.contains("lr") }

    func writeHostPort(into out: inout [UInt8]) {
        // A colon can only be in the host if it is an IPv6 address, which needs its brackets back.
        let needsBrackets = host.utf8.contains(Byte.colon)
        if needsBrackets { out.append(Byte.leftBracket) }
        appendUTF8(host, to: &out)
        if needsBrackets { out.append(Byte.rightBracket) }
        if let port {
            out.append(Byte.colon)
            appendDecimal(port, to: &out)
        }
    }

    func write(into out: inout [UInt8]) {
        appendUTF8(scheme, to: &out)
        out.append(Byte.colon)
        switch scheme {
        case "sip", "sips":
            if let user {
                appendUTF8(user, to: &out)
                if let password {
                    out.append(Byte.colon)
                    appendUTF8(password, to: &out)
                }
                out.append(Byte.at)
            }
            writeHostPort(into: &out)
            parameters.write(into: &out)
            var separator = Byte.question
            for header in headers {
                out.append(separator)
                appendUTF8(header.name, to: &out)
                out.append(Byte.equals)
                appendUTF8(header.value, to: &out)
                separator = Byte.ampersand
            }
        case "tel":
            if let user { appendUTF8(user, to: &out) }
            parameters.write(into: &out)
        default:
            if let opaque { appendUTF8(opaque, to: &out) }
        }
    }
}
