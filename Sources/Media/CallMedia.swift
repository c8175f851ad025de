import Codecs
import NIOCore
import STUN
import SecureMedia

/// The sockets of a call's media.
public enum MediaSocket: Sendable {
    case browser, phoneRTP, phoneRTCP
}

/// Where `CallMedia` writes datagrams: the session's NIO channels, or a
/// benchmark's sink.
public protocol MediaTransport: AnyObject {
    func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: MediaSocket)
}

/// A call's media without sockets or timers: the WebRTC leg, the phone leg
/// and the bridge, fed datagrams and clock ticks by its owner. The owner
/// (`MediaSession` on an event loop, or the benchmark) serialises all calls.
public final class CallMedia {
    public let iceUfrag: String
    public let icePassword: String
    public let dtls: DTLSContext
    public var certificate: DTLSCertificate { dtls.certificate }
    public let browserSSRC: UInt32
    public let phoneSSRC: UInt32
    public let cname: String
    public let configuration: MediaSessionConfiguration
    /// Called for each event (connected, DTMF); `failure` says why media stopped.
    public var onEvent: (MediaEvent) -> Void = { _ in }
    public private(set) var failure: String?

    private unowned(unsafe) var transport: any MediaTransport
    private var browser: BrowserLeg?
    private var phone: PhoneLeg
    private(set) var bridge: MediaBridge?
    private let browserRTCP: RTCPReporter
    private let phoneRTCP: RTCPReporter
    private var connectedReported = false
    private var lastRTCP = 0.0
    /// SDES-keyed SRTP on the phone leg (RFC 4568), once offer/answer agreed on keys.
    var phoneSRTP: PhoneSRTP?
    private var droppedUndecryptableFromPhone = 0

    /// - Parameter transport: kept unowned; it must outlive this object (it owns it).
    public init(dtls: DTLSContext, configuration: MediaSessionConfiguration, transport: any MediaTransport) {
        iceUfrag = Self.randomICECharacters(8)
        icePassword = Self.randomICECharacters(24)
        cname = Self.randomICECharacters(16)
        browserSSRC = UInt32.random(in: 1...UInt32.max)
        phoneSSRC = UInt32.random(in: 1...UInt32.max)
        self.dtls = dtls
        self.configuration = configuration
        self.transport = transport
        phone = PhoneLeg(symmetric: configuration.symmetricRTP)
        browserRTCP = RTCPReporter(cname: cname)
        phoneRTCP = RTCPReporter(cname: cname)
    }

    public var hasBridge: Bool { bridge != nil }

    /// Whether the phone may be sent RTP: false while our SDP toward it says
    /// recvonly or inactive, or it named 0.0.0.0 (a hold, RFC 3264 §8.4).
    /// Nothing goes to it then but RTCP; the browser side hears silence.
    public var sendsToPhone = true

    /// The browser holds the call (RFC 3264 §8.4 sendonly toward the
    /// phone): its audio is not relayed, the phone hears the gateway's hold
    /// music (`sendHoldMusic`) instead, and the phone's audio does not reach
    /// the browser. Resuming starts a new talkspurt toward the phone.
    public var browserHolds = false {
        didSet {
            guard oldValue != browserHolds, let bridge else { return }
            bridge.toPhone.resynchronize()
            bridge.toBrowser.resynchronize()
        }
    }

    /// The size and rate of one hold-music frame toward the phone, once the bridge runs.
    public var holdMusicFrame: (samples: Int, sampleRate: Int)? {
        bridge.map { ($0.toPhone.sinkFrameSamples, $0.configuration.phoneCodec.sampleRate) }
    }

    /// One frame of hold music (`holdMusicFrame`) toward the phone while the browser holds.
    public func sendHoldMusic(_ frame: UnsafeBufferPointer<Int16>, now: Double) {
        guard failure == nil, browserHolds, sendsToPhone, let bridge else { return }
        if let localPhone {
            return bridge.toPhone.sendLocalAudio(frame, now: now) { packet, count in
                localPhone(UnsafeRawBufferPointer(rebasing: packet[0..<count]))
            }
        }
        guard let target = phone.rtpTarget else { return }
        bridge.toPhone.sendLocalAudio(frame, now: now) { packet, count in
            sendToPhone(packet, length: count, to: target)
        }
    }

    /// RTP or RTCP toward the phone, protected first when the leg runs SRTP.
    private func sendToPhone(_ packet: UnsafeMutableRawBufferPointer, length: Int, to target: SocketAddress,
                             rtcp: Bool = false) {
        var length = length
        if let phoneSRTP {
            guard let protected = try? phoneSRTP.outbound.protect(packet, length: length, rtcp: rtcp) else { return }
            length = protected
        }
        transport.send(UnsafeRawBufferPointer(rebasing: packet[0..<length]), to: target, on: rtcp ? .phoneRTCP : .phoneRTP)
    }

    /// Decrypts a phone packet in place when the leg runs SRTP; nil when it does not verify.
    private func fromPhone(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool) -> Int? {
        guard let phoneSRTP else { return length }
        guard let plain = try? phoneSRTP.inbound.unprotect(buffer, length: length, rtcp: rtcp) else {
            droppedUndecryptableFromPhone += 1
            return nil
        }
        return plain
    }

    /// A phone side inside the process (the gateway's own media, or another
    /// session on this loop): what the bridge sends toward the phone goes to
    /// it instead of a socket, and it answers through `receiveFromLocalPhone`.
    /// While it is set the phone sockets carry nothing: no RTCP goes out,
    /// and whatever arrives on them is dropped.
    public var localPhone: ((UnsafeRawBufferPointer) -> Void)? {
        didSet { if localPhone != nil { phone.clearRemote() } }
    }

    /// Points the media at another transport (the owner, once it exists).
    public func rebind(transport: any MediaTransport) {
        self.transport = transport
    }

    public func startBrowserLeg(_ parameters: BrowserTransportParameters, now: Double) throws {
        var agent = IceLiteAgent(localUfrag: iceUfrag, localPassword: icePassword, remoteUfrag: parameters.remoteUfrag)
        agent.consentTimeout = configuration.consentTimeout
        let endpoint = try DTLSEndpoint(role: parameters.dtlsRole, context: dtls,
                                        remoteFingerprint: parameters.remoteFingerprint)
        browser = BrowserLeg(ice: agent, dtls: endpoint, now: now)
    }

    public func setPhoneRemote(rtp: SocketAddress, rtcp: SocketAddress) {
        phone.setRemote(rtp: rtp, rtcp: rtcp)
    }

    /// Another phone from now on (a transfer): RTP and RTCP go to it and
    /// only its packets are taken; both directions start a new talkspurt,
    /// so neither phone nor browser sees a jump in sequence or timestamp.
    public func replacePhoneRemote(rtp: SocketAddress, rtcp: SocketAddress?, now: Double) {
        phone.replaceRemote(rtp: rtp, rtcp: rtcp, now: now)
        bridge?.toPhone.resynchronize()
        bridge?.toBrowser.resynchronize()
    }

    public func installBridge(_ configuration: BridgeConfiguration) throws {
        bridge = try MediaBridge(configuration, browserSSRC: browserSSRC, phoneSSRC: phoneSSRC)
    }

    /// One datagram in `buffer` (`length` bytes, with room for SRTP's tag
    /// after it), from `source` on `socket`. Replies and relayed media go
    /// out through the transport before this returns.
    public func receive(_ buffer: UnsafeMutableRawBufferPointer, length: Int, from source: SocketAddress,
                        on socket: MediaSocket, now: Double) {
        guard failure == nil else { return }
        if socket != .browser, localPhone != nil { return phone.countForeign() }
        switch socket {
        case .browser: receivedFromBrowser(buffer, length: length, from: source, now: now)
        case .phoneRTP: receivedFromPhone(buffer, length: length, from: source, now: now)
        case .phoneRTCP:
            // Verified before latching, so an unkeyed stranger cannot take the leg over.
            guard let plain = fromPhone(buffer, length: length, rtcp: true) else { return }
            if phone.acceptRTCP(from: source, now: now) {
                phoneRTCP.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<plain]), now: now)
            }
        }
    }

    /// Sends a digit toward the phone as RFC 4733 events (begin, or end with
    /// its duration). False when the phone leg has no telephone-event or no
    /// target yet.
    @discardableResult
    public func signalDTMF(_ digit: Character, ended: Bool, milliseconds: Int, now: Double) -> Bool {
        guard failure == nil, sendsToPhone, let bridge, bridge.configuration.phoneTelephoneEvent != nil else { return false }
        if let localPhone {
            bridge.toPhone.signal(digit: digit, ended: ended, milliseconds: milliseconds, now: now) { packet, count in
                localPhone(UnsafeRawBufferPointer(rebasing: packet[0..<count]))
            }
            return true
        }
        guard let target = phone.rtpTarget else { return false }
        bridge.toPhone.signal(digit: digit, ended: ended, milliseconds: milliseconds, now: now) { packet, count in
            sendToPhone(packet, length: count, to: target)
        }
        return true
    }

    /// Timers: DTLS retransmission, ICE consent, RTCP reports.
    public func tick(now: Double) {
        guard failure == nil else { return }
        if let browser {
            browser.tick(now: now, connectTimeout: configuration.connectTimeout) { datagram, address in
                datagram.withUnsafeBytes { transport.send($0, to: address, on: .browser) }
            }
            checkBrowserState(browser)
        }
        if failure == nil, now - lastRTCP >= configuration.rtcpInterval {
            lastRTCP = now
            sendReports(now: now)
        }
    }

    private func receivedFromBrowser(_ buffer: UnsafeMutableRawBufferPointer, length: Int, from source: SocketAddress,
                                     now: Double) {
        guard let browser else { return }
        let result = browser.receive(buffer, length: length, from: source, now: now) { datagram, address in
            datagram.withUnsafeBytes { transport.send($0, to: address, on: .browser) }
        }
        checkBrowserState(browser)
        switch result {
        case .nothing:
            return
        case .rtcp(let plain):
            browserRTCP.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<plain]), now: now)
        case .rtp(let plain):
            guard sendsToPhone, !browserHolds, let bridge else { return }
            if let localPhone {
                let report = bridge.fromBrowser(UnsafeRawBufferPointer(rebasing: buffer[0..<plain]), now: now) { packet, count in
                    localPhone(UnsafeRawBufferPointer(rebasing: packet[0..<count]))
                }
                if let report { onEvent(.dtmf(report)) }
                return
            }
            guard let target = phone.rtpTarget else { return }
            let report = bridge.fromBrowser(UnsafeRawBufferPointer(rebasing: buffer[0..<plain]), now: now) { packet, count in
                sendToPhone(packet, length: count, to: target)
            }
            if let report { onEvent(.dtmf(report)) }
        }
    }

    /// A packet from the in-process phone side (see `localPhone`).
    public func receiveFromLocalPhone(_ packet: UnsafeRawBufferPointer, now: Double) {
        guard failure == nil, localPhone != nil else { return }
        bridgeFromPhone(packet, now: now)
    }

    private func receivedFromPhone(_ buffer: UnsafeMutableRawBufferPointer, length: Int, from source: SocketAddress,
                                   now: Double) {
        guard let plain = fromPhone(buffer, length: length, rtcp: false),
              phone.acceptRTP(from: source, now: now) else { return }
        bridgeFromPhone(UnsafeRawBufferPointer(rebasing: buffer[0..<plain]), now: now)
    }

    private func bridgeFromPhone(_ packet: UnsafeRawBufferPointer, now: Double) {
        guard !browserHolds, let bridge else { return }
        let report = bridge.fromPhone(packet, now: now) { packet, count in
            guard let browser, let target = browser.target,
                  let protected = browser.protect(packet, length: count) else { return }
            transport.send(UnsafeRawBufferPointer(rebasing: packet[0..<protected]), to: target, on: .browser)
        }
        if let report { onEvent(.dtmf(report)) }
    }

    private func checkBrowserState(_ browser: BrowserLeg) {
        switch browser.state {
        case .connected(let profile) where !connectedReported:
            connectedReported = true
            onEvent(.browserConnected(profile))
        case .failed(let reason):
            failure = reason
        default:
            break
        }
    }

    private func sendReports(now: Double) {
        guard let bridge else { return }
        if let browser, let target = browser.target, case .connected = browser.state {
            let length = browserRTCP.makeReport(sending: bridge.toBrowser.stream, receiving: bridge.toPhone, now: now)
            if let sent = browser.protect(browserRTCP.buffer, length: length, rtcp: true) {
                transport.send(UnsafeRawBufferPointer(rebasing: browserRTCP.buffer[0..<sent]), to: target, on: .browser)
            }
        }
        if let target = phone.rtcpTarget {
            let length = phoneRTCP.makeReport(sending: bridge.toPhone.stream, receiving: bridge.toBrowser, now: now)
            sendToPhone(phoneRTCP.buffer, length: length, to: target, rtcp: true)
        }
    }

    public func statistics() -> MediaStatistics {
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
            stats.browserCodec = bridge.configuration.browserCodec.name
            stats.phoneCodec = bridge.configuration.phoneCodec.rawValue
            stats.packetsFromBrowser = bridge.toPhone.reception.received
            stats.packetsFromPhone = bridge.toBrowser.reception.received
            stats.packetsToPhone = bridge.toPhone.stream.packetCount
            stats.packetsToBrowser = bridge.toBrowser.stream.packetCount
            stats.lostFromBrowser = bridge.toPhone.reception.cumulativeLost
            stats.lostFromPhone = bridge.toBrowser.reception.cumulativeLost
            stats.jitterFromBrowserMilliseconds = bridge.toPhone.jitterMilliseconds
            stats.jitterFromPhoneMilliseconds = bridge.toBrowser.jitterMilliseconds
            stats.concealedSamplesToPhone = bridge.toPhone.concealedSamples
            stats.concealedSamplesToBrowser = bridge.toBrowser.concealedSamples
        }
        stats.rtcpFromBrowser = browserRTCP.reportsReceived
        stats.rtcpToBrowser = browserRTCP.reportsSent
        stats.rtcpFromPhone = phoneRTCP.reportsReceived
        stats.rtcpToPhone = phoneRTCP.reportsSent
        stats.droppedForeignPhonePackets = phone.droppedForeign
        stats.droppedUndecryptable += droppedUndecryptableFromPhone
        stats.phoneSRTP = phoneSRTP.map { $0.keys.suite.rawValue }
        stats.phoneTarget = phone.rtpTarget.map { "\($0)" }
        return stats
    }

    /// ICE characters (RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/").
    static func randomICECharacters(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
