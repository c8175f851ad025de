// The candidate attribute of RFC 8839 §5.1:
//
//   candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
//                         connection-address SP port SP "typ" SP cand-type
//                         [SP "raddr" SP connection-address] [SP "rport" SP port]
//                         *(SP extension-att-name SP extension-att-value)

public struct ICECandidate: Sendable, Equatable {
    /// An extension name and value, e.g. Chromium's "generation 0" or "tcptype active".
    public struct Extension: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var foundation: String
    /// 1 for RTP, 2 for RTCP without rtcp-mux.
    public var component: Int
    /// "udp" or "tcp" (RFC 6544), case-insensitive.
    public var transport: String
    public var priority: UInt32
    /// An IP address, or an mDNS ".local" name that browsers use to hide host addresses.
    public var address: String
    public var port: UInt16
    /// "host", "srflx", "prflx" or "relay".
    public var type: String
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    public var extensions: [Extension]

    public init(foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32,
                address: String, port: UInt16, type: String = "host", relatedAddress: String? = nil,
                relatedPort: UInt16? = nil, extensions: [Extension] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    public var isUDP: Bool { transport.lowercased() == "udp" }

    /// Reads an a=candidate value. A leading "candidate:" is accepted too, as trickled candidates
    /// arrive that way from JavaScript's RTCIceCandidate.candidate.
    public init(parsing value: String) throws(SDPError) {
        try self.init(parsing: value, line: 0)
    }

    init(parsing value: String, line: Int) throws(SDPError) {
        let body = value.hasPrefix("candidate:") ? value.dropFirst("candidate:".count) : value[...]
        let parts = fields(body)
        func failure(_ why: String) -> SDPError {
            SDPError(line: line, reason: "candidate \(quoted(value)) \(why)")
        }
        guard parts.count >= 8, parts[6] == "typ" else {
            throw failure("lacks the six fields and \"typ <type>\" of RFC 8839 §5.1")
        }
        // foundation = 1*32 ice-char
        guard parts[0].utf8.count <= 32, parts[0].utf8.allSatisfy(isICEChar) else {
            throw failure("has a foundation that is not 1 to 32 ICE characters")
        }
        guard let component = decimal(parts[1], as: Int.self), (1...256).contains(component) else {
            throw failure("has component \(quoted(parts[1])), not 1 to 256")
        }
        guard let priority = decimal(parts[3], as: UInt32.self), priority > 0 else {
            throw failure("has priority \(quoted(parts[3])), not 1 to 2^32-1")
        }
        guard let port = decimal(parts[5], as: UInt16.self) else {
            throw failure("has port \(quoted(parts[5])), not 0 to 65535")
        }
        var extensions: [Extension] = []
        var relatedAddress: String?
        var relatedPort: UInt16?
        var rest = parts[8...]
        while let name = rest.popFirst() {
            guard let extensionValue = rest.popFirst() else { throw failure("ends with \(quoted(name)) and no value") }
            switch name {
            case "raddr":
                relatedAddress = String(extensionValue)
            case "rport":
                guard let parsed = decimal(extensionValue, as: UInt16.self) else {
                    throw failure("has rport \(quoted(extensionValue)), not 0 to 65535")
                }
                relatedPort = parsed
            default:
                extensions.append(Extension(name: String(name), value: String(extensionValue)))
            }
        }
        self.init(foundation: String(parts[0]), component: component, transport: String(parts[2]),
                  priority: priority, address: String(parts[4]), port: port, type: String(parts[7]),
                  relatedAddress: relatedAddress, relatedPort: relatedPort, extensions: extensions)
    }

    /// The a=candidate value (without "candidate:").
    public var attributeValue: String {
        var parts = [foundation, String(component), transport, String(priority), address, String(port), "typ", type]
        if let relatedAddress { parts += ["raddr", relatedAddress] }
        if let relatedPort { parts += ["rport", String(relatedPort)] }
        for item in extensions { parts += [item.name, item.value] }
        return parts.joined(separator: " ")
    }
}

/// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.1), the alphabet of foundations, ufrags and
/// passwords; notably without ":", which separates the two ufrags in a STUN USERNAME.
func isICEChar(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"): true
    default: false
    }
}
