import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SDP
import SecureMedia

/// One call's media on the network: `CallMedia` (WebRTC leg, phone leg,
/// bridge) behind a WebRTC UDP port and a phone RTP/RTCP port pair, all on
/// one event loop (`eventLoop`), so a packet is read, transcoded and
/// written without a thread hop. The public methods hop onto that loop.
public final class MediaSession: MediaTransport, @unchecked Sendable {
    public let eventLoop: any EventLoop
    public let browserPort: Int
    /// The phone leg's RTP port; RTCP is on the next one.
    public let phonePort: Int
    /// The address SDP announces for both legs.
    public let announcedAddress: String
    /// Events for the call: connected, DTMF, ended (the last one).
    public let events: AsyncStream<MediaEvent>

    /// Confined to `eventLoop`, except its `let`s.
    let media: CallMedia
    /// Offer/answer state of each leg (see MediaSession+Negotiation), on the loop.
    var browserNegotiated: NegotiatedBrowser?
    var phoneNegotiated: NegotiatedPhone?
    /// The o= line of every description the phone gets from this session
    /// (RFC 3264 §8): made on the caller's thread, so behind a lock.
    let phoneVersion: NIOLockedValueBox<LocalDescriptionVersion>
    /// The phone leg's SDES keys (RFC 4568): made and read on the caller's thread too.
    let phoneKeying = NIOLockedValueBox(PhoneKeying())

    public var iceUfrag: String { media.iceUfrag }
    public var icePassword: String { media.icePassword }
    public var certificate: DTLSCertificate { media.certificate }
    public var browserSSRC: UInt32 { media.browserSSRC }
    public var phoneSSRC: UInt32 { media.phoneSSRC }
    public var cname: String { media.cname }
    var configuration: MediaSessionConfiguration { media.configuration }

    private let eventSink: AsyncStream<MediaEvent>.Continuation
    private let logger: Logger
    private let release: @Sendable () -> Void
    private var channels: [MediaSocket: any Channel] = [:]
    private var endedReason: String?
    /// The session whose phone side this one's is (`join`), on the loop.
    weak var joined: MediaSession?
    private var timer: RepeatedTask?
    /// Plays `configuration.holdMusic` while the browser holds, on the loop.
    var holdMusicTask: RepeatedTask?
    private let scratch: UnsafeMutableRawBufferPointer
    private var outgoing: ByteBuffer

    init(eventLoop: any EventLoop, browserPort: Int, phonePort: Int, dtls: DTLSContext,
         announcedAddress: String, configuration: MediaSessionConfiguration, logger: Logger,
         release: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.browserPort = browserPort
        self.phonePort = phonePort
        self.announcedAddress = announcedAddress
        self.logger = logger
        self.release = release
        (events, eventSink) = AsyncStream.makeStream(of: MediaEvent.self)
        scratch = .allocate(byteCount: 2048, alignment: 8)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        outgoing = ByteBufferAllocator().buffer(capacity: 2048)
        media = CallMedia(dtls: dtls, configuration: configuration, transport: Placeholder.shared)
        phoneVersion = NIOLockedValueBox(LocalDescriptionVersion(sessionID: UInt64(media.phoneSSRC)))
        media.rebind(transport: self)
        media.onEvent = { [unowned self] event in
            if case .browserConnected(let profile) = event {
                logger.info("WebRTC leg connected", metadata: ["srtp": "\(profile)", "port": "\(browserPort)"])
            }
            eventSink.yield(event)
        }
    }

    deinit { scratch.deallocate() }

    func attach(_ channel: any Channel, as socket: MediaSocket) {
        eventLoop.preconditionInEventLoop()
        channels[socket] = channel
    }

    func startTimer() {
        timer = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
            media.tick(now: Self.now())
            checkFailure()
        }
    }

    // MARK: control, from any thread

    /// Plays digits toward the phone as RFC 4733 events, one after another
    /// with `milliseconds` each and 60 ms between them. False when the phone
    /// side negotiated no telephone-event.
    public func sendDTMF(_ digits: String, milliseconds: Int) async throws -> Bool {
        try await eventLoop.submit { [self] in
            guard media.hasBridge, media.bridge?.configuration.phoneTelephoneEvent != nil else { return false }
            var offset = 0
            for digit in digits {
                eventLoop.scheduleTask(in: .milliseconds(Int64(offset))) { [self] in
                    media.signalDTMF(digit, ended: false, milliseconds: 0, now: Self.now())
                }
                eventLoop.scheduleTask(in: .milliseconds(Int64(offset + milliseconds))) { [self] in
                    media.signalDTMF(digit, ended: true, milliseconds: milliseconds, now: Self.now())
                }
                offset += milliseconds + 60
            }
            return true
        }.get()
    }

    /// Starts the WebRTC leg: ICE-lite answers checks from now on, and DTLS
    /// runs in `dtlsRole` once a check has proven the path.
    public func startBrowserLeg(_ parameters: BrowserTransportParameters) async throws {
        try await eventLoop.submit { [self] in try media.startBrowserLeg(parameters, now: Self.now()) }.get()
    }

    /// The phone's RTP address from its SDP (RTCP defaults to the next port).
    public func setPhoneRemote(rtp: SocketAddress, rtcp: SocketAddress? = nil) async throws {
        let rtcpAddress = try rtcp ?? SocketAddress(ipAddress: rtp.ipAddress ?? "127.0.0.1", port: (rtp.port ?? 0) + 1)
        try await eventLoop.submit { [self] in media.setPhoneRemote(rtp: rtp, rtcp: rtcpAddress) }.get()
    }

    /// Starts media between the legs with the codecs both sides agreed on.
    public func startBridge(_ configuration: BridgeConfiguration) async throws {
        try await eventLoop.submit { [self] in try media.installBridge(configuration) }.get()
    }

    public func statistics() async throws -> MediaStatistics {
        try await eventLoop.submit { [self] in
            var stats = media.statistics()
            stats.ended = endedReason
            return stats
        }.get()
    }

    /// Ends the session: sockets closed, ports released, `ended` reported.
    public func close(reason: String = "closed") async {
        try? await eventLoop.submit { [self] in end(reason) }.get()
    }

    // MARK: on the loop

    func received(_ buffer: ByteBuffer, from source: SocketAddress, on socket: MediaSocket) {
        guard endedReason == nil else { return }
        let length = min(buffer.readableBytes, scratch.count - SRTPSession.maxOverhead)
        buffer.withUnsafeReadableBytes { bytes in
            scratch.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        }
        media.receive(scratch, length: length, from: source, on: socket, now: Self.now())
        checkFailure()
    }

    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: MediaSocket) {
        guard let channel = channels[socket] else { return }
        // One buffer, reused: once the kernel has the datagram nothing else
        // holds it, so clearing it does not copy (no allocation per packet).
        outgoing.clear()
        outgoing.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: outgoing), promise: nil)
    }

    private func checkFailure() {
        if let failure = media.failure { end(failure) }
    }

    func end(_ reason: String) {
        guard endedReason == nil else { return }
        endedReason = reason
        logger.info("media session ended", metadata: ["reason": "\(reason)", "port": "\(browserPort)"])
        unjoinOnLoop()
        timer?.cancel()
        timer = nil
        holdMusicTask?.cancel()
        holdMusicTask = nil
        for channel in channels.values { channel.close(promise: nil) }
        channels.removeAll()
        release()
        eventSink.yield(.ended(reason: reason))
        eventSink.finish()
    }

    static func now() -> Double {
        Double(NIODeadline.now().uptimeNanoseconds) / 1e9
    }

    /// Stands in until `self` can be handed to CallMedia (after init).
    private final class Placeholder: MediaTransport, Sendable {
        static let shared = Placeholder()
        func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: MediaSocket) {}
    }
}
