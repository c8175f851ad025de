import Logging
import NIOCore
import NIOPosix
import SecureMedia

/// Makes media sessions: picks an event loop for each call (one loop per
/// core in the group), reserves its ports and binds its sockets. Owns the
/// DTLS certificate whose fingerprint every WebRTC leg announces.
public final class MediaEngine: Sendable {
    public struct Configuration: Sendable {
        /// Where media sockets bind.
        public var bindHost = "0.0.0.0"
        /// The address put in SDP (candidates and c= lines).
        public var announcedAddress = "127.0.0.1"
        public var portRange: ClosedRange<Int> = 20000...39999
        public var session = MediaSessionConfiguration()

        public init() {}
    }

    public let configuration: Configuration
    public let certificate: DTLSCertificate
    /// One DTLS context for every call: the certificate and SRTP profiles.
    public let dtls: DTLSContext
    public let ports: PortAllocator
    private let group: any EventLoopGroup
    private let logger: Logger
    /// `bindHost` as an address, parsed once: binding by name asks the
    /// resolver (getaddrinfo) for every socket of every call.
    private let bindAddress: SocketAddress?

    public init(configuration: Configuration = Configuration(), group: any EventLoopGroup,
                certificate: DTLSCertificate? = nil, logger: Logger = Logger(label: "tieline.media")) throws {
        self.configuration = configuration
        let certificate = try certificate ?? DTLSCertificate.generate()
        self.certificate = certificate
        dtls = try DTLSContext(certificate: certificate, profiles: configuration.session.srtpProfiles)
        ports = PortAllocator(range: configuration.portRange)
        self.group = group
        self.logger = logger
        bindAddress = try? SocketAddress(ipAddress: configuration.bindHost, port: 0)
    }

    /// A new session with its three sockets bound and its timers running,
    /// on `loop` (one of the group's, to join another session there) or on
    /// the group's next.
    public func makeSession(on loop: (any EventLoop)? = nil) async throws -> MediaSession {
        let loop = loop ?? group.next()
        let (browserPort, browserChannel) = try await bindFree(pair: false, on: loop)
        let phonePort: Int
        let phoneChannels: (any Channel, any Channel)
        do {
            (phonePort, phoneChannels) = try await bindPair(on: loop)
        } catch {
            try? await browserChannel.close()
            ports.release(browserPort, pair: false)
            throw error
        }
        let ports = self.ports
        let session = MediaSession(
            eventLoop: loop, browserPort: browserPort, phonePort: phonePort, dtls: dtls,
            announcedAddress: configuration.announcedAddress, configuration: configuration.session, logger: logger,
            release: {
                ports.release(browserPort, pair: false)
                ports.release(phonePort, pair: true)
            })
        try await loop.submit {
            for (channel, socket) in [(browserChannel, MediaSocket.browser),
                                      (phoneChannels.0, .phoneRTP), (phoneChannels.1, .phoneRTCP)] {
                session.attach(channel, as: socket)
                try channel.pipeline.syncOperations.addHandler(MediaDatagramHandler(session: session, socket: socket))
            }
            session.startTimer()
        }.get()
        return session
    }

    func nextLoop() -> any EventLoop { group.next() }
    var relayLogger: Logger { logger }

    private func bindFree(pair: Bool, on loop: any EventLoop) async throws -> (Int, any Channel) {
        for _ in 0..<64 {
            guard let port = ports.reserve(pair: pair) else { break }
            if let channel = try? await bind(port: port, on: loop) { return (port, channel) }
            ports.release(port, pair: pair)
        }
        throw MediaError.noFreePorts(configuration.portRange)
    }

    func bindPair(on loop: any EventLoop) async throws -> (Int, (any Channel, any Channel)) {
        for _ in 0..<64 {
            guard let port = ports.reserve(pair: true) else { break }
            if let rtp = try? await bind(port: port, on: loop) {
                if let rtcp = try? await bind(port: port + 1, on: loop) { return (port, (rtp, rtcp)) }
                try? await rtp.close()
            }
            ports.release(port, pair: true)
        }
        throw MediaError.noFreePorts(configuration.portRange)
    }

    /// A free RTP/RTCP pair bound from `loop` itself: chained futures, so
    /// binding costs no thread hop per socket (the relay's setup path).
    func bindPairOnLoop(_ loop: any EventLoop, attempts: Int = 64) -> EventLoopFuture<(Int, (any Channel, any Channel))> {
        loop.preconditionInEventLoop()
        guard attempts > 0, let port = ports.reserve(pair: true) else {
            return loop.makeFailedFuture(MediaError.noFreePorts(configuration.portRange))
        }
        return bindFuture(port: port, on: loop).flatMap { rtp in
            self.bindFuture(port: port + 1, on: loop).map { rtcp in (port, (rtp, rtcp)) }.flatMapError { error in
                rtp.close(promise: nil)
                return loop.makeFailedFuture(error)
            }
        }.flatMapError { _ in
            self.ports.release(port, pair: true)
            return self.bindPairOnLoop(loop, attempts: attempts - 1)
        }
    }

    private func bindFuture(port: Int, on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        let bootstrap = DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 0)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 2048))
        guard var address = bindAddress else { return bootstrap.bind(host: configuration.bindHost, port: port) }
        address.port = port
        return bootstrap.bind(to: address)
    }

    private func bind(port: Int, on loop: any EventLoop) async throws -> any Channel {
        try await bindFuture(port: port, on: loop).get()
    }
}

public enum MediaError: Error, CustomStringConvertible, Equatable {
    case noFreePorts(ClosedRange<Int>)
    case negotiation(String)

    public var description: String {
        switch self {
        case .noFreePorts(let range): "no free UDP ports in the media range \(range)"
        case .negotiation(let reason): "media negotiation failed: \(reason)"
        }
    }
}

/// Hands each datagram of one of a session's sockets to the session, on its loop.
final class MediaDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let session: MediaSession
    private let socket: MediaSocket

    init(session: MediaSession, socket: MediaSocket) {
        self.session = session
        self.socket = socket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        session.received(envelope.data, from: envelope.remoteAddress, on: socket)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like: a UDP socket carries on.
    }
}
