import Logging
import NIOConcurrencyHelpers
import NIOCore
import SDP

/// A relayed call's media on the network (`RelayMedia` behind an RTP/RTCP
/// port pair per leg), all on one event loop, so a packet is read, restamped
/// or transcoded and written without a thread hop.
///
/// Offer/answer for both legs lives here too, on the loop of the call that
/// owns the relay (`control`), synchronously: the caller's offer makes the
/// callee's (`calleeOffer`), the callee's answer makes the caller's
/// (`acceptCalleeAnswer`), and later offers on either leg are answered with
/// the codec agreed at the start (`answerReoffer`). What the media needs
/// from an agreement (the directions, the peers' addresses) is handed to its
/// loop in order (`EventLoop.execute`), so the call never waits for it.
public final class RelaySession: RelayTransport, @unchecked Sendable {
    /// The media's loop.
    public let eventLoop: any EventLoop
    /// The RTP port of each leg; RTCP is on the next one.
    public let callerPort: Int
    public let calleePort: Int

    /// Confined to `eventLoop`.
    let media: RelayMedia
    private var channels: [RelaySocket: any Channel] = [:]
    private var timer: RepeatedTask?
    private var endedReason: String?
    private var outgoing: ByteBuffer
    private let scratch: UnsafeMutableRawBufferPointer

    /// Offer/answer state, confined to the owning call's loop.
    private let control: NIOLoopBoundBox<Control>
    private let ssrcs: (caller: UInt32, callee: UInt32)
    private let configuration: MediaSessionConfiguration
    private let logger: Logger
    private let release: @Sendable () -> Void

    struct Control {
        var negotiation: RelayNegotiation?
        var agreed: (caller: RelayLegCodec, callee: RelayLegCodec)?
        /// The callee attempt `agreed` (or a late offer's callee) came from.
        var agreedAttempt = 0
        /// A caller without an offer (late offer, RFC 3261 §13.2.1): what the
        /// callee was offered, then the callee's side and our offer to the caller.
        var late: LateOffer?
        /// The o= line of each leg's descriptions (RFC 3264 §8).
        var versions: [LocalDescriptionVersion]
    }

    struct LateOffer {
        var allowed: [PhoneCodec]
        var callee: RelayLegCodec?
        var callerCodecs: [PhoneCodec] = []
    }

    init(eventLoop: any EventLoop, control controlLoop: any EventLoop, callerPort: Int, calleePort: Int,
         configuration: MediaSessionConfiguration, logger: Logger, release: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.callerPort = callerPort
        self.calleePort = calleePort
        self.configuration = configuration
        self.logger = logger
        self.release = release
        outgoing = ByteBufferAllocator().buffer(capacity: 2048)
        scratch = .allocate(byteCount: 2048, alignment: 8)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        media = RelayMedia(configuration: configuration, transport: Placeholder.shared)
        ssrcs = (media.ssrc(.caller), media.ssrc(.callee))
        let versions = [LocalDescriptionVersion(sessionID: UInt64(ssrcs.caller)),
                        LocalDescriptionVersion(sessionID: UInt64(ssrcs.callee))]
        control = NIOLoopBoundBox.makeBoxSendingValue(Control(versions: versions), eventLoop: controlLoop)
        media.rebind(transport: self)
    }

    deinit { scratch.deallocate() }

    func attach(_ channel: any Channel, as socket: RelaySocket) {
        eventLoop.preconditionInEventLoop()
        channels[socket] = channel
    }

    /// RTCP is all the relay times (no ICE, no DTLS): a tick a second, not
    /// the WebRTC session's ten, so an idle relayed call costs its loop little.
    func startTimer() {
        timer = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            media.tick(now: MediaSession.now())
        }
    }

    /// Runs `body` on the media's loop after everything handed over before it.
    private func onMedia(_ body: @escaping (RelayMedia) -> Void) {
        let box = UncheckedMediaWork(body)
        eventLoop.execute { [self] in
            guard endedReason == nil else { return }
            box.body(media)
        }
    }

    // MARK: offer/answer, on the owning call's loop

    /// Our offer to the callee for the caller's offer: the caller's codecs
    /// first (see `RelayNegotiation`), telephone-event, the caller's ptime.
    public func calleeOffer(callerOffer: SessionDescription, address: String,
                            allowed: [PhoneCodec]) throws -> SessionDescription {
        let remote = try PlainAudioDescription(callerOffer)
        let negotiation = try RelayNegotiation(callerOffer: remote, allowed: allowed)
        control.value.negotiation = negotiation
        return stamp(PlainAudioDescription(address: address, port: UInt16(calleePort),
                                           codecs: negotiation.calleeCodecs.map(\.sdp),
                                           telephoneEvents: [.telephoneEvent(payloadType: 101)],
                                           ptime: remote.ptime, direction: .sendrecv), side: .callee)
    }

    /// Makes one leg's descriptions continue a session its peer already
    /// knows (RFC 3264 §8: the same o= line, the version one up), for a
    /// dialog the relay takes over in the middle of a call.
    public func continueSession(_ side: RelaySide, sessionID: UInt64, after version: UInt64) {
        control.value.versions[side == .caller ? 0 : 1] = LocalDescriptionVersion(sessionID: sessionID,
                                                                                  firstVersion: version &+ 1)
    }

    /// Our offer to the callee for a caller that made none (late offer):
    /// every allowed codec; the callee's answer then decides what the
    /// caller is offered in the 200 (`acceptCalleeAnswer`).
    public func calleeOfferWithoutCallerOffer(address: String, allowed: [PhoneCodec]) throws -> SessionDescription {
        guard !allowed.isEmpty else { throw MediaError.negotiation("no codec to offer") }
        control.value.late = LateOffer(allowed: allowed)
        return stamp(PlainAudioDescription(address: address, port: UInt16(calleePort), codecs: allowed.map(\.sdp),
                                           telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: 20,
                                           direction: .sendrecv), side: .callee)
    }

    /// Takes the callee's answer (from a 183 or the 200: once), starts the
    /// relay, and returns our answer for the caller; for a caller without
    /// an offer, our offer to it instead (the callee's codec first, then
    /// those it transcodes to), whose answer comes to `acceptCallerAnswer`.
    public func acceptCalleeAnswer(_ answer: SessionDescription, address: String,
                                   attempt: Int = 0) throws -> SessionDescription {
        let remote = try PlainAudioDescription(answer)
        guard !remote.secure else { throw MediaError.negotiation("SRTP (RTP/SAVP) is not relayed") }
        let (rtp, rtcp) = try remote.socketAddresses()
        if var pending = control.value.late {
            if pending.callee == nil || control.value.agreedAttempt != attempt {
                control.value.agreedAttempt = attempt
                guard let callee = RelayNegotiation.calleeCodec(in: remote, offered: pending.allowed) else {
                    throw MediaError.negotiation("the callee's answer has none of the codecs it was offered")
                }
                pending.callee = callee
                pending.callerCodecs = [callee.codec] + pending.allowed.filter {
                    $0 != callee.codec && $0.sampleRate == callee.codec.sampleRate
                }
                control.value.late = pending
                let sends = Self.receives(remote)
                onMedia { media in
                    media.setRemote(.callee, rtp: rtp, rtcp: rtcp)
                    media.setSends(.callee, sends)
                }
            }
            return stamp(PlainAudioDescription(address: address, port: UInt16(callerPort),
                                               codecs: pending.callerCodecs.map(\.sdp),
                                               telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: 20,
                                               direction: .sendrecv), side: .caller)
        }
        guard let negotiation = control.value.negotiation else {
            throw MediaError.negotiation("the callee answered before it was offered")
        }
        let offer = negotiation.callerOffer
        // The same callee's SDP again (a 200 after its 183) changes nothing.
        if let agreed = control.value.agreed, control.value.agreedAttempt == attempt {
            return description(for: .caller, codec: agreed.caller, address: address, direction: offer.direction.reversed)
        }
        control.value.agreedAttempt = attempt
        guard let callee = RelayNegotiation.calleeCodec(in: remote, offered: negotiation.calleeCodecs),
              let caller = negotiation.callerCodec(for: callee.codec) else {
            throw MediaError.negotiation("the callee's answer has none of the codecs it was offered")
        }
        let (callerRTP, callerRTCP) = try offer.socketAddresses()
        let directions = try RelayMedia.directions(caller: caller, callee: callee, configuration: configuration,
                                                   ssrcs: ssrcs)
        control.value.agreed = (caller, callee)
        let (callerSends, calleeSends) = (Self.receives(offer), Self.receives(remote))
        onMedia { media in
            media.install(directions)
            media.setRemote(.caller, rtp: callerRTP, rtcp: callerRTCP)
            media.setRemote(.callee, rtp: rtp, rtcp: rtcp)
            media.setSends(.caller, callerSends)
            media.setSends(.callee, calleeSends)
        }
        return description(for: .caller, codec: caller, address: address, direction: offer.direction.reversed)
    }

    /// The caller's answer (in its ACK) to our offer in the 200 of a late
    /// offer: the relay starts with its codec and the callee's.
    public func acceptCallerAnswer(_ answer: SessionDescription) throws {
        let remote = try PlainAudioDescription(answer)
        guard !remote.secure else { throw MediaError.negotiation("SRTP (RTP/SAVP) is not relayed") }
        let (rtp, rtcp) = try remote.socketAddresses()
        guard let pending = control.value.late, let callee = pending.callee, control.value.agreed == nil else {
            throw MediaError.negotiation("no offer of ours awaits the caller's answer")
        }
        guard let caller = RelayNegotiation.calleeCodec(in: remote, offered: pending.callerCodecs) else {
            throw MediaError.negotiation("the caller's answer has none of the codecs it was offered")
        }
        let directions = try RelayMedia.directions(caller: caller, callee: callee, configuration: configuration,
                                                   ssrcs: ssrcs)
        control.value.agreed = (caller, callee)
        let sends = Self.receives(remote)
        onMedia { media in
            media.install(directions)
            media.setRemote(.caller, rtp: rtp, rtcp: rtcp)
            media.setSends(.caller, sends)
        }
    }

    /// A new offer from one leg inside the call (a re-INVITE or UPDATE:
    /// hold, resume, a new address): answered with the codec agreed at the
    /// start and the direction mirrored; the other leg hears nothing of it.
    public func answerReoffer(_ offer: SessionDescription, from side: RelaySide,
                              address: String) throws -> SessionDescription {
        let remote = try PlainAudioDescription(offer)
        guard !remote.secure else { throw MediaError.negotiation("SRTP (RTP/SAVP) is not relayed") }
        guard let agreed = control.value.agreed else { throw MediaError.negotiation("the relay was never negotiated") }
        var codec = side == .caller ? agreed.caller : agreed.callee
        guard let offered = remote.codecs.first(where: { PhoneCodec(name: $0.name) == codec.codec }) else {
            throw MediaError.negotiation("the new offer drops \(codec.codec.rawValue), the call's codec")
        }
        codec.payloadType = offered.payloadType
        let sends = Self.receives(remote)
        let rtp = sends ? try? SocketAddress(ipAddress: remote.address, port: Int(remote.port)) : nil
        let rtcp = rtp.map { rtp in
            (try? SocketAddress(ipAddress: remote.address, port: Int(remote.rtcpPort ?? remote.port + 1))) ?? rtp
        }
        onMedia { media in
            media.setSends(side, sends)
            if let rtp, let rtcp { media.setRemote(side, rtp: rtp, rtcp: rtcp) }
        }
        return description(for: side, codec: codec, address: address, direction: remote.direction.reversed)
    }

    /// What a leg agreed on, for a re-INVITE without SDP (a session refresh).
    public func currentDescription(_ side: RelaySide, address: String) throws -> SessionDescription {
        guard let agreed = control.value.agreed else { throw MediaError.negotiation("the relay was never negotiated") }
        return description(for: side, codec: side == .caller ? agreed.caller : agreed.callee, address: address,
                           direction: .sendrecv)
    }

    /// Ends the session (sockets closed, ports released); the future has
    /// the media's figures up to then, on the media's loop.
    public func close(reason: String = "closed") -> EventLoopFuture<MediaStatistics> {
        eventLoop.submit { [self] in
            var stats = media.statistics()
            stats.ended = endedReason
            end(reason)
            return stats
        }
    }

    // MARK: on the loop

    func received(_ buffer: ByteBuffer, from source: SocketAddress, on socket: RelaySocket) {
        guard endedReason == nil else { return }
        let length = min(buffer.readableBytes, scratch.count)
        buffer.withUnsafeReadableBytes { bytes in
            scratch.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        }
        media.receive(UnsafeRawBufferPointer(rebasing: scratch[0..<length]), from: source, on: socket,
                      now: MediaSession.now())
    }

    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: RelaySocket) {
        guard let channel = channels[socket] else { return }
        outgoing.clear()
        outgoing.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: outgoing), promise: nil)
    }

    private func end(_ reason: String) {
        guard endedReason == nil else { return }
        endedReason = reason
        logger.debug("relay media ended", metadata: ["reason": "\(reason)", "port": "\(callerPort)"])
        timer?.cancel()
        timer = nil
        for channel in channels.values { channel.close(promise: nil) }
        channels.removeAll()
        release()
    }

    // MARK: descriptions

    private func description(for side: RelaySide, codec: RelayLegCodec, address: String,
                             direction: SDPDirection) -> SessionDescription {
        var sdp = codec.codec.sdp
        sdp.payloadType = codec.payloadType
        return stamp(PlainAudioDescription(
            address: address, port: UInt16(side == .caller ? callerPort : calleePort), codecs: [sdp],
            telephoneEvents: codec.telephoneEvent.map { [.telephoneEvent(payloadType: $0)] } ?? [],
            ptime: codec.packetTime, direction: direction), side: side)
    }

    private func stamp(_ description: PlainAudioDescription, side: RelaySide) -> SessionDescription {
        let plain = description.sessionDescription(sessionID: 0, sessionVersion: 0)
        return control.value.versions[side == .caller ? 0 : 1].stamp(plain)
    }

    /// Whether a peer with this description may be sent RTP (RFC 3264 §5.1, §8.4).
    private static func receives(_ description: PlainAudioDescription) -> Bool {
        let held = description.address == "0.0.0.0" || description.address == "::"
        return !held && (description.direction == .sendrecv || description.direction == .recvonly)
    }

    private final class Placeholder: RelayTransport, Sendable {
        static let shared = Placeholder()
        func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: RelaySocket) {}
    }
}

/// Hands each datagram of one of a relay's sockets to it, on its loop.
final class RelayDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let session: RelaySession
    private let socket: RelaySocket

    init(session: RelaySession, socket: RelaySocket) {
        self.session = session
        self.socket = socket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        session.received(envelope.data, from: envelope.remoteAddress, on: socket)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

extension PlainAudioDescription {
    /// Where its RTP and RTCP go (RTCP on the next port unless `a=rtcp` says).
    func socketAddresses() throws -> (rtp: SocketAddress, rtcp: SocketAddress) {
        (try SocketAddress(ipAddress: address, port: Int(port)),
         try SocketAddress(ipAddress: address, port: Int(rtcpPort ?? port + 1)))
    }
}

/// Work for the media's loop, made on the call's: it captures only values
/// and the media it is given there.
private struct UncheckedMediaWork: @unchecked Sendable {
    let body: (RelayMedia) -> Void
    init(_ body: @escaping (RelayMedia) -> Void) { self.body = body }
}

extension MediaEngine {
    /// A relay's media: an RTP/RTCP pair for each leg, bound on one loop,
    /// timers running; made on that loop in one go (one hop there and back).
    public func makeRelaySession(controlledFrom control: any EventLoop) -> EventLoopFuture<RelaySession> {
        let loop = nextLoop()
        let ports = self.ports
        let configuration = self.configuration.session
        let logger = relayLogger
        return loop.flatSubmit {
            self.bindPairOnLoop(loop).flatMap { caller in
                self.bindPairOnLoop(loop).flatMapError { error in
                    caller.1.0.close(promise: nil)
                    caller.1.1.close(promise: nil)
                    ports.release(caller.0, pair: true)
                    return loop.makeFailedFuture(error)
                }.flatMapThrowing { callee in
                    let session = RelaySession(eventLoop: loop, control: control, callerPort: caller.0,
                                               calleePort: callee.0,
                                               configuration: configuration, logger: logger, release: {
                                                   ports.release(caller.0, pair: true)
                                                   ports.release(callee.0, pair: true)
                                               })
                    for (channel, socket) in [(caller.1.0, RelaySocket.rtp(.caller)), (caller.1.1, .rtcp(.caller)),
                                              (callee.1.0, .rtp(.callee)), (callee.1.1, .rtcp(.callee))] {
                        session.attach(channel, as: socket)
                        try channel.pipeline.syncOperations.addHandler(RelayDatagramHandler(session: session, socket: socket))
                    }
                    session.startTimer()
                    return session
                }
            }
        }.hop(to: control)
    }
}
