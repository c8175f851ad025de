import Codecs
import NIOCore
import RTP

/// The two legs of a call between two SIP peers (a trunk's call the
/// dialplan relays to another trunk): the caller's leg and the callee's.
public enum RelaySide: Sendable, Hashable {
    case caller, callee

    var other: RelaySide { self == .caller ? .callee : .caller }
}

/// A relay's two directions, made on one loop and handed whole to the
/// media's: nothing else holds them, so the hand-over is safe.
public struct RelayDirections: @unchecked Sendable {
    let toCallee: MediaDirection
    let toCaller: MediaDirection
}

/// The sockets of a relayed call's media: an RTP/RTCP pair per leg.
public enum RelaySocket: Sendable, Hashable {
    case rtp(RelaySide), rtcp(RelaySide)
}

/// A relayed call's media without sockets or timers: two plain RTP legs,
/// each latched to its peer (symmetric RTP, RFC 4961), and one
/// `MediaDirection` each way that restamps into the gateway's own stream
/// (so each peer sees one SSRC whatever happens on the other side) and
/// transcodes when the legs agreed on different codecs of one clock
/// (PCMU ⇄ PCMA). Telephone events cross as RFC 4733 events. The owner
/// (`RelaySession` on an event loop, or a test) serialises all calls.
public final class RelayMedia {
    public let configuration: MediaSessionConfiguration
    public let cname: String
    private unowned(unsafe) var transport: any RelayTransport
    private var legs: [Leg]
    private var directions: (toCallee: MediaDirection, toCaller: MediaDirection)?
    private var lastRTCP = 0.0

    struct Leg {
        let ssrc: UInt32
        var peer: PhoneLeg
        let rtcp: RTCPReporter
        /// Whether the peer may be sent RTP (not while it holds us, RFC 3264 §8.4).
        var sends = true
    }

    /// - Parameter transport: kept unowned; it must outlive this object (it owns it).
    public init(configuration: MediaSessionConfiguration, transport: any RelayTransport) {
        self.configuration = configuration
        self.transport = transport
        let cname = CallMedia.randomICECharacters(16)
        self.cname = cname
        legs = (0..<2).map { _ in
            Leg(ssrc: UInt32.random(in: 1...UInt32.max), peer: PhoneLeg(symmetric: configuration.symmetricRTP),
                rtcp: RTCPReporter(cname: cname)) }
    }

    public func rebind(transport: any RelayTransport) { self.transport = transport }

    /// The SSRC of the stream the gateway sends on `side`.
    public func ssrc(_ side: RelaySide) -> UInt32 { legs[index(side)].ssrc }
    public var isRelaying: Bool { directions != nil }

    /// Where `side`'s peer is, from its SDP.
    public func setRemote(_ side: RelaySide, rtp: SocketAddress, rtcp: SocketAddress) {
        legs[index(side)].peer.setRemote(rtp: rtp, rtcp: rtcp)
    }

    /// Whether `side`'s peer may be sent RTP (its SDP says it receives).
    public func setSends(_ side: RelaySide, _ sends: Bool) { legs[index(side)].sends = sends }

    /// Starts media between the legs with what each agreed on.
    public func install(caller: RelayLegCodec, callee: RelayLegCodec) throws {
        install(try Self.directions(caller: caller, callee: callee, configuration: configuration,
                                    ssrcs: (ssrc(.caller), ssrc(.callee))))
    }

    /// The two directions for what the legs agreed on, made apart from the
    /// media (on the loop that negotiates) and handed over by `install`.
    public static func directions(caller: RelayLegCodec, callee: RelayLegCodec,
                                  configuration: MediaSessionConfiguration,
                                  ssrcs: (caller: UInt32, callee: UInt32)) throws -> RelayDirections {
        guard caller.codec.sampleRate == callee.codec.sampleRate else {
            throw MediaError.negotiation("\(caller.codec.rawValue) cannot be relayed to \(callee.codec.rawValue)")
        }
        func direction(_ source: RelayLegCodec, _ sink: RelayLegCodec, ssrc: UInt32) throws -> MediaDirection {
            try MediaDirection(DirectionParameters(
                source: .leg(source.codec), sourcePayloadType: source.payloadType,
                sourceTelephoneEvent: source.telephoneEvent.map { ($0, 8000) },
                sink: .leg(sink.codec), sinkPayloadType: sink.payloadType,
                sinkTelephoneEvent: sink.telephoneEvent.map { ($0, 8000) },
                sinkPacketTime: sink.packetTime, sampleRate: sink.codec.sampleRate, opus: configuration.opus),
                ssrc: ssrc)
        }
        return RelayDirections(toCallee: try direction(caller, callee, ssrc: ssrcs.callee),
                               toCaller: try direction(callee, caller, ssrc: ssrcs.caller))
    }

    /// Starts media between the legs (a new agreement replaces the old).
    public func install(_ directions: RelayDirections) {
        self.directions = (directions.toCallee, directions.toCaller)
    }

    /// One datagram from `source` on `socket`; relayed media goes out
    /// through the transport before this returns.
    public func receive(_ buffer: UnsafeRawBufferPointer, from source: SocketAddress, on socket: RelaySocket,
                        now: Double) {
        switch socket {
        case .rtcp(let side):
            let leg = index(side)
            if legs[leg].peer.acceptRTCP(from: source, now: now) { legs[leg].rtcp.receive(buffer, now: now) }
        case .rtp(let side):
            guard legs[index(side)].peer.acceptRTP(from: source, now: now), let directions else { return }
            // Read in place: copying the sink's `Leg` would retain its parts per packet.
            let sink = side.other
            let sinkIndex = index(sink)
            guard legs[sinkIndex].sends, let target = legs[sinkIndex].peer.rtpTarget,
                  let (header, range) = try? RTPHeader.parse(buffer) else { return }
            let direction = sink == .callee ? directions.toCallee : directions.toCaller
            _ = direction.receive(header: header, payload: UnsafeRawBufferPointer(rebasing: buffer[range]), now: now) {
                packet, count in
                transport.send(UnsafeRawBufferPointer(rebasing: packet[0..<count]), to: target, on: .rtp(sink))
            }
        }
    }

    /// Timers: RTCP reports on both legs.
    public func tick(now: Double) {
        guard let directions, now - lastRTCP >= configuration.rtcpInterval else { return }
        lastRTCP = now
        for side in [RelaySide.caller, .callee] {
            let leg = legs[index(side)]
            guard let target = leg.peer.rtcpTarget else { continue }
            let (sending, receiving) = side == .caller
                ? (directions.toCaller, directions.toCallee) : (directions.toCallee, directions.toCaller)
            let length = leg.rtcp.makeReport(sending: sending.stream, receiving: receiving, now: now)
            transport.send(UnsafeRawBufferPointer(rebasing: leg.rtcp.buffer[0..<length]), to: target, on: .rtcp(side))
        }
    }

    /// Counters in the record's terms: "browser" is the caller's leg,
    /// "phone" the callee's.
    public func statistics() -> MediaStatistics {
        var stats = MediaStatistics()
        stats.browserState = "relay"
        if let directions {
            stats.passthrough = directions.toCallee.isPassthrough
            stats.browserCodec = directions.toCaller.parameters.sink.name
            stats.phoneCodec = directions.toCallee.parameters.sink.name
            stats.packetsFromBrowser = directions.toCallee.reception.received
            stats.packetsFromPhone = directions.toCaller.reception.received
            stats.packetsToPhone = directions.toCallee.stream.packetCount
            stats.packetsToBrowser = directions.toCaller.stream.packetCount
            stats.lostFromBrowser = directions.toCallee.reception.cumulativeLost
            stats.lostFromPhone = directions.toCaller.reception.cumulativeLost
            stats.jitterFromBrowserMilliseconds = directions.toCallee.jitterMilliseconds
            stats.jitterFromPhoneMilliseconds = directions.toCaller.jitterMilliseconds
        }
        stats.rtcpFromBrowser = legs[0].rtcp.reportsReceived
        stats.rtcpToBrowser = legs[0].rtcp.reportsSent
        stats.rtcpFromPhone = legs[1].rtcp.reportsReceived
        stats.rtcpToPhone = legs[1].rtcp.reportsSent
        stats.droppedForeignPhonePackets = legs[0].peer.droppedForeign + legs[1].peer.droppedForeign
        stats.phoneTarget = legs[1].peer.rtpTarget.map { "\($0)" }
        return stats
    }

    private func index(_ side: RelaySide) -> Int { side == .caller ? 0 : 1 }
}

/// What one leg of a relayed call agreed on.
public struct RelayLegCodec: Sendable, Equatable {
    public var codec: PhoneCodec
    public var payloadType: UInt8
    public var telephoneEvent: UInt8?
    public var packetTime: Int

    public init(codec: PhoneCodec, payloadType: UInt8, telephoneEvent: UInt8? = nil, packetTime: Int = 20) {
        self.codec = codec
        self.payloadType = payloadType
        self.telephoneEvent = telephoneEvent
        self.packetTime = min(max(packetTime, 10), 40) / 10 * 10
    }
}

/// Where `RelayMedia` writes datagrams.
public protocol RelayTransport: AnyObject {
    func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: RelaySocket)
}
