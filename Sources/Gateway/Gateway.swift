import Config
import Dialplan
import Logging
import Media
import NIOCore
import NIOPosix
import NIOSSL
import Records
import SIP
import Signaling

/// Tieline's running core: the SIP user agent bound to the configured
/// listeners, a registration per trunk that asks for one, the source policy
/// that keeps it from being an open relay, and the calls in progress.
public final class Gateway: @unchecked Sendable {
    public let config: TielineConfig
    public let userAgent: SIPUserAgent
    public let logger: Logger
    let policy: SourcePolicy
    public private(set) var registrations: [String: RegistrationClient] = [:]
    /// `routing.test_answer` calls and `tieline call`'s (Calls/TestCalls.swift).
    private var inbound: [ObjectIdentifier: TestAnswerCall] = [:]
    private var outbound: [ObjectIdentifier: OutboundCall] = [:]
    /// Calls with a browser leg (placed by a browser, or ringing one).
    private var browserCalls: [ObjectIdentifier: AnyObject] = [:]
    /// Media for calls with a browser leg. Without it (`tieline call`, the
    /// SIP-only tests) a call that needs media is refused with 503.
    public let media: MediaEngine?
    /// Logged-in browsers and the calls they place.
    private(set) var browsers: BrowserDirectory!
    /// Where call records go; opened by `start()`, nil when records are off.
    public private(set) var recordStore: (any CallRecordStore)?
    /// The Lua dialplan, compiled by `start()`.
    private(set) var dialplan: DialplanHost!
    public private(set) var statistics = Statistics()
    private let trimmer: MemoryTrimmer
    /// OPTIONS pings: which trunks `trunks()` leaves out now (SIP loop).
    private(set) var trunkHealth: TrunkHealth!

    public struct Statistics: Sendable, Equatable {
        public var inboundAnswered = 0
        public var inboundEnded = 0
        public var outboundAnswered = 0
        public var outboundFailed = 0
    }

    public init(config: TielineConfig, eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
                media: MediaEngine? = nil, logger: Logger = Logger(label: "tieline")) {
        self.config = config
        self.media = media
        self.logger = logger
        self.policy = SourcePolicy(config: config)
        let timers = SIPTimers(t1: TimeAmount(config.sip.timers.t1), t2: TimeAmount(config.sip.timers.t2),
                               t4: TimeAmount(config.sip.timers.t4))
        userAgent = SIPUserAgent(
            eventLoop: eventLoop,
            configuration: SIPUserAgentConfiguration(publicAddress: config.sip.publicAddress,
                                                     userAgent: config.sip.userAgent, timers: timers),
            logger: logger)
        var isIdle: () -> Bool = { false }
        trimmer = MemoryTrimmer(eventLoop: eventLoop, isIdle: { isIdle() })
        userAgent.authorize = { [policy] request, source in policy.authorize(request, source: source) }
        userAgent.onInvite = { [unowned self] invite in self.receiveInvite(invite) }
        isIdle = { [unowned self] in
            let counts = self.userAgent.counts
            return self.inbound.isEmpty && self.outbound.isEmpty && self.browserCalls.isEmpty
                && counts.clientTransactions == 0
                && counts.serverTransactions == 0 && counts.dialogs == 0
        }
        browsers = BrowserDirectory(gateway: self)
        trunkHealth = TrunkHealth(userAgent: userAgent, logger: logger) { [unowned self] in endpoint(for: $0) }
    }

    /// The trunks found down by their OPTIONS pings (tests, operations).
    public var downTrunks: Set<String> {
        get async { (try? await eventLoop.submit { self.trunkHealth.downTrunks }.get()) ?? [] }
    }

    /// Users with a logged-in browser connection.
    public var loggedInUsers: Set<String> { browsers.loggedInUsers }

    /// Logged-in connections of one user.
    public func connectionCount(of user: String) -> Int { browsers.connections(of: user).count }

    /// What the signaling server hands logins and calls to.
    public var signalingBackend: any SignalingBackend { browsers }

    public var eventLoop: EventLoop { userAgent.eventLoop }

    /// A listener as bound, with the port the OS chose for port 0.
    public struct BoundListener: Sendable, CustomStringConvertible {
        public var transport: SIPTransport
        public var address: SocketAddress
        public var description: String { "sip \(transport.uriParameter) \(address)" }
    }

    /// Binds every configured listener and starts the trunk registrations.
    public func start() async throws -> [BoundListener] {
        // The dialplan and the records come first: a call may arrive the
        // moment a listener is bound (a trunk retransmitting after a restart).
        let host = try DialplanHost(config: config, logger: logger)
        try await eventLoop.submit { self.dialplan = host }.get()
        if let store = try config.records.makeStore(logger: logger) {
            try await store.open()
            // Rows a killed or crashed earlier run left open are closed now.
            let unfinished = try await store.markUnfinishedEndedByRestart(instance: config.records.instanceName)
            if unfinished > 0 { logger.notice("\(unfinished) call records left unfinished by the last run marked ended by restart") }
            try await eventLoop.submit { self.recordStore = store }.get()
        }
        guard let sockets = userAgent.sockets else { throw GatewayError.configuration("the SIP user agent has no sockets") }
        var bound: [BoundListener] = []
        for listener in config.sip.listeners {
            let transport = SIPTransport(listener.transport)
            let address: SocketAddress
            switch transport {
            case .udp:
                address = try await sockets.bindUDP(host: listener.host, port: listener.port).get()
            case .tcp:
                address = try await sockets.listen(.tcp, host: listener.host, port: listener.port).get()
            case .tls:
                let context = try Self.serverTLSContext(listener)
                address = try await sockets.listen(.tls, host: listener.host, port: listener.port,
                                                               tls: context).get()
            }
            bound.append(BoundListener(transport: transport, address: address))
            logger.info("listening on \(transport.uriParameter) \(address)")
        }
        // Registrars are looked up before, off the loop.
        var registrars: [String: SIPEndpoint] = [:]
        for trunk in config.trunks where trunk.register {
            registrars[trunk.name] = try await endpoint(for: trunk).get()
        }
        try await eventLoop.submit { [registrars] in
            self.dialplan?.startWatching(on: self.eventLoop)
            self.startRegistrations(registrars)
            self.trimmer.start()
            self.trunkHealth.start(self.config.trunks)
        }.get()
        return bound
    }

    static func serverTLSContext(_ listener: SIPConfig.Listener) throws -> NIOSSLContext {
        guard let certificate = listener.certificate, let key = listener.privateKey else {
            throw GatewayError.configuration("tls listener \(listener.address) needs certificate and private_key")
        }
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try NIOSSLContext(configuration: configuration)
    }

    /// Unregisters, ends every call with BYE or CANCEL, closes the sockets.
    public func stop() async {
        trimmer.stop()
        try? await eventLoop.submit {
            self.dialplan?.stopWatching()
            self.trunkHealth.stop()
        }.get()
        let unregistrations = try? await eventLoop.submit { self.registrations.values.map { $0.stop() } }.get()
        for future in unregistrations ?? [] {
            _ = try? await future.get()
        }
        _ = try? await userAgent.shutdown().get()
        // Calls ending now (their browsers' connections closed with the web
        // server) write their records' ends before the store closes.
        for _ in 0..<50 {
            guard await activeCalls > 0 else { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        if let recordStore {
            try? await recordStore.flush()
            await recordStore.close()
        }
    }

    // MARK: trunks

    func endpoint(for trunk: TrunkConfig) -> EventLoopFuture<SIPEndpoint> {
        userAgent.resolver.resolve(host: trunk.address, port: trunk.port, transport: SIPTransport(trunk.transport),
                                   verifyTLS: trunk.verifyTLS, on: eventLoop)
    }

    private func startRegistrations(_ registrars: [String: SIPEndpoint]) {
        for trunk in config.trunks where trunk.register {
            guard let endpoint = registrars[trunk.name] else { continue }
            let aor = SIPURI(scheme: "sip", user: trunk.username ?? "tieline", host: trunk.fromDomain)
            let client = RegistrationClient(userAgent: userAgent, parameters: .init(
                registrar: endpoint, addressOfRecord: aor, registrarURI: SIPURI(host: trunk.fromDomain),
                credentials: trunk.credentials, expires: trunk.registerExpiresSeconds,
                contactUser: trunk.registrationContactUser))
            client.onStateChange = { [logger] state in
                logger.info("trunk \(trunk.name) registration: \(state)")
            }
            registrations[trunk.name] = client
            client.start()
        }
    }

    /// Calls in progress, for leak checks and metrics.
    public var activeCalls: Int {
        get async {
            (try? await eventLoop.submit { self.inbound.count + self.outbound.count + self.browserCalls.count }.get()) ?? 0
        }
    }

    public var counts: SIPUserAgent.Counts {
        get async { (try? await eventLoop.submit { self.userAgent.counts }.get()) ?? .init() }
    }

    public var currentStatistics: Statistics {
        get async { (try? await eventLoop.submit { self.statistics }.get()) ?? .init() }
    }

    // MARK: dialplan

    /// Compiles the dialplan file anew for calls that start from now on;
    /// throws the script's error, and the old one keeps serving.
    public func reloadDialplan() async throws {
        try await eventLoop.submit { () throws -> Void in
            guard let dialplan = self.dialplan else { throw GatewayError.configuration("the gateway is not started") }
            try dialplan.reload()
        }.get()
    }

    /// Successful dialplan loads so far (1 after start).
    public var dialplanGeneration: Int {
        get async { (try? await eventLoop.submit { self.dialplan?.generation ?? 0 }.get()) ?? 0 }
    }

    // MARK: calls

    private func receiveInvite(_ invite: IncomingInvite) {
        routeTrunkCall(invite, trunk: policy.trunk(for: invite.request, source: invite.source.ipAddress))
    }

    /// Answers without media and waits for BYE (`routing.test_answer`).
    func answerForTest(_ invite: IncomingInvite, trunk: TrunkConfig?) {
        let call = TestAnswerCall(gateway: self, invite: invite, trunk: trunk)
        inbound[ObjectIdentifier(call)] = call
        call.start()
    }

    func inboundEnded(_ call: TestAnswerCall, answered: Bool) {
        inbound[ObjectIdentifier(call)] = nil
        trimmer.activity += 1
        if answered { statistics.inboundEnded += 1 }
    }

    func inboundAnswered() { statistics.inboundAnswered += 1 }

    /// Places a call to a number through a configured trunk.
    public func call(trunk name: String, to number: String, callerID: String? = nil,
                     sdp: [UInt8]? = nil) async throws -> OutboundCall {
        guard let trunk = config.trunk(named: name) else { throw GatewayError.unknownTrunk(name) }
        let endpoint = try await endpoint(for: trunk).get()
        return try await eventLoop.submit {
            let call = OutboundCall(gateway: self, trunk: trunk, endpoint: endpoint, number: number,
                                    callerID: callerID, sdp: sdp)
            self.outbound[ObjectIdentifier(call)] = call
            call.start()
            return call
        }.get()
    }

    func outboundEnded(_ call: OutboundCall, failed: Bool) {
        outbound[ObjectIdentifier(call)] = nil
        trimmer.activity += 1
        if failed { statistics.outboundFailed += 1 }
    }

    func outboundAnswered() { statistics.outboundAnswered += 1 }

    func browserCallStarted(_ call: AnyObject) { browserCalls[ObjectIdentifier(call)] = call }

    func browserCallEnded(_ call: AnyObject) {
        browserCalls[ObjectIdentifier(call)] = nil
        trimmer.activity += 1
    }
}

public enum GatewayError: Error, CustomStringConvertible {
    case unknownTrunk(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .unknownTrunk(let name): "no trunk named '\(name)' in the configuration"
        case .configuration(let message): message
        }
    }
}

extension SIPTransport {
    init(_ kind: SIPTransportKind) {
        switch kind {
        case .udp: self = .udp
        case .tcp: self = .tcp
        case .tls: self = .tls
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
