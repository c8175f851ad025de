import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Owns the SIP sockets: UDP listeners, TCP/TLS listeners and the stream
/// connections in both directions, reused for every message to the same
/// transport and address (RFC 3261 §18). Everything here runs on one event
/// loop; the class is confined to it, which is why it is `@unchecked Sendable`.
public final class SIPTransportLayer: SIPMessageTransport, @unchecked Sendable {
    public let eventLoop: any EventLoop
    let logger: Logger
    /// Largest message accepted on any transport.
    public var maxMessageSize = 65_536

    /// Parsed messages go here.
    public var onMessage: ((ReceivedMessage) -> Void)?
    /// Unparseable input goes here (a 400 may be built from `error.request`).
    public var onParseError: ((SIPParseError, SIPEndpoint) -> Void)?

    private var udpChannels: [Channel] = []
    private var listeners: [SIPTransport: Channel] = [:]
    private var connections: [SIPEndpoint: EventLoopFuture<Channel>] = [:]
    private var serverTLS: NIOSSLContext?
    private var clientTLSVerifying: NIOSSLContext?
    private var clientTLSInsecure: NIOSSLContext?
    private(set) public var parseErrors = 0

    public init(eventLoop: EventLoop, logger: Logger) {
        self.eventLoop = eventLoop
        self.logger = logger
    }

    // MARK: listeners

    /// Binds a UDP listener; returns the bound address (port 0 picks a free one).
    public func bindUDP(host: String, port: Int) -> EventLoopFuture<SocketAddress> {
        DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            // Datagrams default to 2 KiB reads, too small for SIP over UDP.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SIPDatagramHandler(layer: self))
                }
            }
            .bind(host: host, port: port)
            .map { channel in
                self.udpChannels.append(channel)
                return channel.localAddress!
            }
    }

    /// Binds a TCP or TLS listener. TLS needs `tls`, the server context.
    public func listen(_ transport: SIPTransport, host: String, port: Int,
                       tls: NIOSSLContext? = nil) -> EventLoopFuture<SocketAddress> {
        precondition(transport != .udp)
        if transport == .tls { serverTLS = tls }
        return ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if transport == .tls, let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try self.addStreamHandlers(channel, transport: transport)
                }
            }
            .bind(host: host, port: port)
            .map { channel in
                self.listeners[transport] = channel
                return channel.localAddress!
            }
    }

    /// The address a listener of this transport is bound to.
    public func localAddress(_ transport: SIPTransport) -> SocketAddress? {
        transport == .udp ? udpChannels.first?.localAddress : listeners[transport]?.localAddress
    }

    public var transports: [SIPTransport] {
        (udpChannels.isEmpty ? [] : [.udp]) + [.tcp, .tls].filter { listeners[$0] != nil }
    }

    /// Open stream connections (for tests counting leaks).
    public var connectionCount: Int { connections.count }

    // MARK: sending

    /// Sends serialized bytes. Stream transports reuse an open connection to
    /// the same address, inbound or outbound, or open one.
    public func send(_ bytes: ByteBuffer, to endpoint: SIPEndpoint) -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        switch endpoint.transport {
        case .udp:
            guard let channel = udpChannel(for: endpoint.address) else {
                return eventLoop.makeFailedFuture(SIPTransportError.noListener(.udp))
            }
            let envelope = AddressedEnvelope(remoteAddress: endpoint.address, data: bytes)
            return channel.writeAndFlush(envelope)
        case .tcp, .tls:
            return connection(to: endpoint).flatMap { $0.writeAndFlush(bytes) }
        }
    }

    public static func buffer(_ message: SIPMessage) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        message.serialize(into: &bytes)
        return ByteBuffer(bytes: bytes)
    }

    private func udpChannel(for address: SocketAddress) -> Channel? {
        let wantV6: Bool
        if case .v6 = address { wantV6 = true } else { wantV6 = false }
        return udpChannels.first { channel in
            if case .v6 = channel.localAddress { return wantV6 }
            return !wantV6
        } ?? udpChannels.first
    }

    private func connection(to endpoint: SIPEndpoint) -> EventLoopFuture<Channel> {
        if let existing = connections[endpoint] { return existing }
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = endpoint.transport == .tls ? try clientContext(verify: endpoint.verifyTLS) : nil
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let future = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        let name = endpoint.serverName.flatMap { $0.isIPAddressLiteral ? nil : $0 }
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tlsContext, serverHostname: name))
                    }
                    try self.addStreamHandlers(channel, transport: endpoint.transport, registered: true)
                }
            }
            .connect(to: endpoint.address)
        connections[endpoint] = future
        future.whenFailure { [weak self] error in
            self?.logger.warning("SIP connection to \(endpoint) failed: \(error)")
            self?.connections[endpoint] = nil
        }
        future.whenSuccess { [weak self] channel in
            channel.closeFuture.whenComplete { _ in self?.connections[endpoint] = nil }
        }
        return future
    }

    private func clientContext(verify: Bool) throws -> NIOSSLContext {
        if verify, let context = clientTLSVerifying { return context }
        if !verify, let context = clientTLSInsecure { return context }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if !verify { configuration.certificateVerification = .none }
        let context = try NIOSSLContext(configuration: configuration)
        if verify { clientTLSVerifying = context } else { clientTLSInsecure = context }
        return context
    }

    private func addStreamHandlers(_ channel: Channel, transport: SIPTransport, registered: Bool = false) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(ByteToMessageHandler(SIPStreamDecoder(maxMessageSize: maxMessageSize)))
        try sync.addHandler(SIPStreamHandler(layer: self, transport: transport, registered: registered))
    }

    /// Inbound connections are reusable for sending to the peer's address.
    func connectionOpened(_ channel: Channel, transport: SIPTransport) {
        guard let remote = channel.remoteAddress else { return }
        let endpoint = SIPEndpoint(transport: transport, address: remote)
        if connections[endpoint] == nil {
            connections[endpoint] = channel.eventLoop.makeSucceededFuture(channel)
        }
    }

    func connectionClosed(_ channel: Channel, transport: SIPTransport, remote: SocketAddress?) {
        guard let remote else { return }
        let endpoint = SIPEndpoint(transport: transport, address: remote)
        connections[endpoint] = nil
    }

    // MARK: receiving

    func receive(_ buffer: ByteBuffer, from endpoint: SIPEndpoint) {
        let result = buffer.withUnsafeReadableBytes { bytes -> Result<SIPMessage, SIPParseError> in
            do throws(SIPParseError) {
                return .success(try SIPParser.parse(bytes))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let message):
            onMessage?(ReceivedMessage(message: message, source: endpoint))
        case .failure(let error):
            parseErrors += 1
            logger.debug("unparseable SIP from \(endpoint): \(error.reason)")
            onParseError?(error, endpoint)
        }
    }

    // MARK: shutdown

    public func close() -> EventLoopFuture<Void> {
        let channels: [EventLoopFuture<Void>] =
            udpChannels.map { $0.close() }
            + listeners.values.map { $0.close() }
            + connections.values.map { future in
                future.flatMap { $0.close() }.recover { _ in }
            }
        udpChannels = []
        listeners = [:]
        return EventLoopFuture.andAllComplete(channels, on: eventLoop)
    }
}

public enum SIPTransportError: Error, CustomStringConvertible {
    case noListener(SIPTransport)
    case unresolvable(String)

    public var description: String {
        switch self {
        case .noListener(let transport): "no \(transport) listener to send from"
        case .unresolvable(let host): "cannot resolve '\(host)'"
        }
    }
}

extension String {
    var isIPAddressLiteral: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
