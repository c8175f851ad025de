/// The SIP transports a listener or trunk can use.
///
/// Named `...Kind` so it does not collide with the SIP target's transport
/// implementations; it only says which one the configuration asks for.
public enum SIPTransportKind: String, Sendable, Hashable, CaseIterable {
    case udp, tcp, tls

    /// 5061 for TLS, 5060 otherwise (RFC 3261 section 19.1.2).
    public var defaultPort: Int { self == .tls ? 5061 : 5060 }
}

/// The SIP side of the gateway: where it listens and how it behaves.
public struct SIPConfig: Sendable, Equatable {
    public var listeners: [Listener]
    /// Host or IP address put in Via, Contact and the SIP side's SDP.
    public var publicAddress: String
    public var userAgent: String
    public var timers: Timers
    /// How long an outgoing call may ring before it is given up with 408.
    public var inviteTimeout: Duration

    public init(listeners: [Listener], publicAddress: String, userAgent: String,
                timers: Timers, inviteTimeout: Duration) {
        self.listeners = listeners
        self.publicAddress = publicAddress
        self.userAgent = userAgent
        self.timers = timers
        self.inviteTimeout = inviteTimeout
    }

    /// One socket the gateway accepts SIP on.
    public struct Listener: Sendable, Hashable {
        public var transport: SIPTransportKind
        /// IP address or host name to bind, without IPv6 brackets.
        public var host: String
        public var port: Int
        /// Absolute path of the PEM certificate (chain); TLS only.
        public var certificate: String?
        /// Absolute path of the PEM private key; TLS only.
        public var privateKey: String?

        public init(transport: SIPTransportKind, host: String, port: Int,
                    certificate: String? = nil, privateKey: String? = nil) {
            self.transport = transport
            self.host = host
            self.port = port
            self.certificate = certificate
            self.privateKey = privateKey
        }

        /// `host:port`, with brackets around an IPv6 host.
        public var address: String { HostSyntax.join(host: host, port: port) }

        /// True for 0.0.0.0 and ::, which bind every interface.
        public var isWildcard: Bool { host == "0.0.0.0" || host == "::" }
    }

    /// The RFC 3261 transaction timers (section 17.1.1.1 and table 4).
    public struct Timers: Sendable, Equatable {
        /// Round-trip estimate; retransmissions start here.
        public var t1: Duration
        /// Cap on the retransmission interval for non-INVITE requests and responses.
        public var t2: Duration
        /// How long the network may hold a message.
        public var t4: Duration

        public init(t1: Duration = .milliseconds(500), t2: Duration = .seconds(4),
                    t4: Duration = .seconds(5)) {
            self.t1 = t1
            self.t2 = t2
            self.t4 = t4
        }
    }
}
