import Codecs
import Logging
import NIOCore
import NIOPosix
import STUN
import SecureMedia

/// One call's media: a WebRTC leg on one UDP port, a phone leg on an RTP/RTCP
/// port pair, and the bridge between them. Everything runs on one event
/// loop (`eventLoop`), so a packet is read, transcoded and written without
/// a thread hop; the public methods hop onto that loop.
public final class MediaSession: @unchecked Sendable {
    enum Socket { case browser, phoneRTP, phoneRTCP }

    public let eventLoop: any EventLoop
    public let browserPort: Int
    /// The phone leg's RTP port; RTCP is on the next one.
    public let phonePort: Int
    /// ICE credentials of the WebRTC leg (RFC 8839 lengths: 8 and 24 characters).
    public let iceUfrag: String
    public let icePassword: String
    public let certificate: DTLSCertificate
    /// The address SDP announces for both legs.
    public let announcedAddress: String
    /// Events for the call: connected, DTMF, ended.
    public let events: AsyncStream<MediaEvent>
    /// SSRCs of the streams the gateway sends to the browser and to the phone.
    public let browserSSRC = UInt32.random(in: 1...UInt32.max)
    public let phoneSSRC = UInt32.random(in: 1...UInt32.max)
    /// Offer/answer state of each leg (see MediaSession+Negotiation).
    var browserNegotiated: NegotiatedBrowser?
    var phoneNegotiated: NegotiatedPhone?

    let configuration: MediaSessionConfiguration
    private let eventSink: AsyncStream<MediaEvent>.Continuation
    private let logger: Logger
    private let release: @Sendable () -> Void
    private var channels: [Socket: any Channel] = [:]
    private var browser: BrowserLeg?
    private var phone: PhoneLeg
    private(set) var bridge: MediaBridge?
    /// RTCP CNAME of the gateway's streams in this call (RFC 7022: random per call).
    public let cname: String
    private var browserRTCP: RTCPReporter
    private var phoneRTCP: RTCPReporter
    private var connectedReported = false
    private var endedReason: String?
    private var timer: RepeatedTask?
    private var lastRTCP = 0.0
    private let scratch: UnsafeMutableRawBufferPointer
    private var outgoing: ByteBuffer

    init(eventLoop: any EventLoop, browserPort: Int, phonePort: Int, certificate: DTLSCertificate,
         announcedAddress: String, configuration: MediaSessionConfiguration, logger: Logger, release: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.browserPort = browserPort
        self.phonePort = phonePort
        self.certificate = certificate
        self.announcedAddress = announcedAddress
        self.configuration = configuration
        self.logger = logger
        self.release = release
        iceUfrag = Self.randomICECharacters(8)
        icePassword = Self.randomICECharacters(24)
        phone = PhoneLeg(symmetric: configuration.symmetricRTP)
        let cname = Self.randomICECharacters(16)
        self.cname = cname
        browserRTCP = RTCPReporter(cname: cname)
        phoneRTCP = RTCPReporter(cname: cname)
        (events, eventSink) = AsyncStream.makeStream(of: MediaEvent.self)
        scratch = .allocate(byteCount: 2048, alignment: 8)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        outgoing = ByteBufferAllocator().buffer(capacity: 2048)
    }

    deinit { scratch.deallocate() }

    func attach(_ channel: any Channel, as socket: Socket) {
        eventLoop.preconditionInEventLoop()
        channels[socket] = channel
    }

    func startTimer() {
        timer = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
            tick()
        }
    }

    // MARK: control, from any thread

    /// Starts the WebRTC leg: ICE-lite answers checks from now on, and DTLS
    /// runs in `dtlsRole` once a check has proven the path.
    public func startBrowserLeg(_ parameters: BrowserTransportParameters) async throws {
        try await eventLoop.submit { [self] in
            var agent = IceLiteAgent(localUfrag: iceUfrag, localPassword: icePassword, remoteUfrag: parameters.remoteUfrag)
            agent.consentTimeout = configuration.consentTimeout
            let dtls = try DTLSEndpoint(role: parameters.dtlsRole, certificate: certificate,
                                        remoteFingerprint: parameters.remoteFingerprint,
                                        profiles: configuration.srtpProfiles)
            browser = BrowserLeg(ice: agent, dtls: dtls, now: Self.now())
        }.get()
    }

    /// The phone's RTP address from its SDP (RTCP defaults to the next port).
    public func setPhoneRemote(rtp: SocketAddress, rtcp: SocketAddress? = nil) async throws {
        let rtcpAddress = try rtcp ?? SocketAddress(ipAddress: rtp.ipAddress ?? "127.0.0.1", port: (rtp.port ?? 0) + 1)
        try await eventLoop.submit { [self] in
            phone.setRemote(rtp: rtp, rtcp: rtcpAddress)
        }.get()
    }

    /// Starts media between the legs with the codecs both sides agreed on.
    public func startBridge(_ configuration: BridgeConfiguration) async throws {
        try await eventLoop.submit { [self] in
            try installBridge(configuration)
        }.get()
    }

    func installBridge(_ configuration: BridgeConfiguration) throws {
        bridge = try MediaBridge(configuration, browserSSRC: browserSSRC, phoneSSRC: phoneSSRC)
    }

    public func statistics() async throws -> MediaStatistics {
        try await eventLoop.submit { [self] in snapshot() }.get()
    }

    /// Ends the session: sockets closed, ports released, `ended` reported.
    public func close(reason: String = "closed") async {
        try? await eventLoop.submit { [self] in end(reason) }.get()
    }

    // MARK: the media path, on the loop

    func received(_ buffer: ByteBuffer, from source: SocketAddress, on socket: Socket) {
        guard endedReason == nil else { return }
        let length = min(buffer.readableBytes, scratch.count - SRTPSession.maxOverhead)
        buffer.withUnsafeReadableBytes { bytes in
            scratch.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        }
        let now = Self.now()
        switch socket {
        case .browser: receivedFromBrowser(length: length, from: source, now: now)
        case .phoneRTP: receivedFromPhone(length: length, from: source, now: now)
        case .phoneRTCP:
            if phone.acceptRTCP(from: source, now: now) {
                _ = phoneRTCP.receive(UnsafeRawBufferPointer(rebasing: scratch[0..<length]), now: now)
            }
        }
    }

    private func receivedFromBrowser(length: Int, from source: SocketAddress, now: Double) {
        guard let browser else { return }
        let result = browser.receive(scratch, length: length, from: source, now: now) { datagram, address in
            send(datagram, to: address, on: .browser)
        }
        checkBrowserState(browser)
        switch result {
        case .nothing:
            return
        case .rtcp(let plain):
            _ = browserRTCP.receive(UnsafeRawBufferPointer(rebasing: scratch[0..<plain]), now: now)
        case .rtp(let plain):
            guard let bridge, let target = phone.rtpTarget else { return }
            let report = bridge.fromBrowser(UnsafeRawBufferPointer(rebasing: scratch[0..<plain]), now: now) { packet, count in
                send(UnsafeRawBufferPointer(rebasing: packet[0..<count]), to: target, on: .phoneRTP)
            }
            if let report { eventSink.yield(.dtmf(report)) }
        }
    }

    private func receivedFromPhone(length: Int, from source: SocketAddress, now: Double) {
        guard phone.acceptRTP(from: source, now: now), let bridge else { return }
        let report = bridge.fromPhone(UnsafeRawBufferPointer(rebasing: scratch[0..<length]), now: now) { packet, count in
            guard let browser, let target = browser.target,
                  let protected = browser.protect(packet, length: count) else { return }
            send(UnsafeRawBufferPointer(rebasing: packet[0..<protected]), to: target, on: .browser)
        }
        if let report { eventSink.yield(.dtmf(report)) }
    }

    private func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: Socket) {
        guard let channel = channels[socket] else { return }
        // One buffer, reused: once the kernel has the datagram nothing else
        // holds it, so clearing it does not copy (no allocation per packet).
        outgoing.clear()
        outgoing.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: outgoing), promise: nil)
    }

    private func send(_ bytes: [UInt8], to address: SocketAddress, on socket: Socket) {
        bytes.withUnsafeBytes { send($0, to: address, on: socket) }
    }

    private func checkBrowserState(_ browser: BrowserLeg) {
        switch browser.state {
        case .connected(let profile) where !connectedReported:
            connectedReported = true
            logger.info("WebRTC leg connected", metadata: ["srtp": "\(profile)", "port": "\(browserPort)"])
            eventSink.yield(.browserConnected(profile))
        case .failed(let reason):
            end(reason)
        default:
            break
        }
    }

    private func tick() {
        guard endedReason == nil else { return }
        let now = Self.now()
        if let browser {
            browser.tick(now: now, connectTimeout: configuration.connectTimeout) { datagram, address in
                send(datagram, to: address, on: .browser)
            }
            checkBrowserState(browser)
        }
        if endedReason == nil, now - lastRTCP >= configuration.rtcpInterval {
            lastRTCP = now
            sendReports(now: now)
        }
    }

    private func sendReports(now: Double) {
        guard let bridge else { return }
        if let browser, let target = browser.target, case .connected = browser.state {
            var report = browserRTCP.makeReport(sending: bridge.toBrowser.stream, receiving: bridge.toPhone, now: now)
            report.append(contentsOf: [UInt8](repeating: 0, count: SRTPSession.maxOverhead))
            let sent = report.withUnsafeMutableBytes { bytes -> Int? in
                browser.protect(bytes, length: bytes.count - SRTPSession.maxOverhead, rtcp: true)
            }
            if let sent { report.withUnsafeBytes { send(UnsafeRawBufferPointer(rebasing: $0[0..<sent]), to: target, on: .browser) } }
        }
        if let target = phone.rtcpTarget {
            let report = phoneRTCP.makeReport(sending: bridge.toPhone.stream, receiving: bridge.toBrowser, now: now)
            send(report, to: target, on: .phoneRTCP)
        }
    }

    func end(_ reason: String) {
        guard endedReason == nil else { return }
        endedReason = reason
        logger.info("media session ended", metadata: ["reason": "\(reason)", "port": "\(browserPort)"])
        timer?.cancel()
        timer = nil
        for channel in channels.values { channel.close(promise: nil) }
        channels.removeAll()
        release()
        eventSink.yield(.ended(reason: reason))
        eventSink.finish()
    }

    private func snapshot() -> MediaStatistics {
        var stats = MediaStatistics()
        if let browser {
            switch browser.state {
            case .checking: stats.browserState = "checking"
            case .handshaking: stats.browserState = "handshaking"
            case .connected(let profile):
                stats.browserState = "connected"
                stats.srtpProfile = profile
            case .failed(let reason): stats.browserState = "failed: \(reason)"
            }
            stats.droppedUnauthenticated = browser.droppedUnauthenticated
            stats.droppedUndecryptable = browser.droppedUndecryptable
        }
        if let bridge {
            stats.passthrough = bridge.configuration.isPassthrough
            stats.packetsFromBrowser = bridge.toPhone.reception.received
            stats.packetsFromPhone = bridge.toBrowser.reception.received
            stats.packetsToPhone = bridge.toPhone.stream.packetCount
            stats.packetsToBrowser = bridge.toBrowser.stream.packetCount
            stats.concealedSamplesToPhone = bridge.toPhone.concealedSamples
            stats.concealedSamplesToBrowser = bridge.toBrowser.concealedSamples
        }
        stats.rtcpFromBrowser = browserRTCP.reportsReceived
        stats.rtcpToBrowser = browserRTCP.reportsSent
        stats.rtcpFromPhone = phoneRTCP.reportsReceived
        stats.rtcpToPhone = phoneRTCP.reportsSent
        stats.droppedForeignPhonePackets = phone.droppedForeign
        stats.phoneTarget = phone.rtpTarget.map { "\($0)" }
        stats.ended = endedReason
        return stats
    }

    static func now() -> Double {
        Double(NIODeadline.now().uptimeNanoseconds) / 1e9
    }

    /// ICE characters (RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/").
    static func randomICECharacters(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
