import NIOCore

/// Where the phone leg's RTP and RTCP go. The SDP names an address, but a
/// phone behind NAT sends from another one: with symmetric RTP (RFC 4961)
/// the leg latches to the source of the first packet and then sends there.
/// Once latched, packets from elsewhere are dropped, so a stranger cannot
/// take over the stream; the leg relatches only after the latched source
/// has been silent for `relatchAfter` seconds (the phone moved).
struct PhoneLeg {
    var symmetric: Bool
    var relatchAfter = 2.0
    private(set) var rtpTarget: SocketAddress?
    private(set) var rtcpTarget: SocketAddress?
    private var rtpLatch = Latch()
    private var rtcpLatch = Latch()
    var droppedForeign: Int { rtpLatch.dropped + rtcpLatch.dropped }

    private struct Latch {
        var latched = false
        var lastAt = 0.0
        var dropped = 0

        mutating func accept(from source: SocketAddress, now: Double, relatchAfter: Double,
                             target: inout SocketAddress?) -> Bool {
            if latched, target != source, now - lastAt < relatchAfter {
                dropped += 1
                return false
            }
            if target != source { target = source }
            latched = true
            lastAt = now
            return true
        }
    }

    init(symmetric: Bool) {
        self.symmetric = symmetric
    }

    /// The address from the phone's SDP (`rtcp` defaults to the next port).
    mutating func setRemote(rtp: SocketAddress, rtcp: SocketAddress?) {
        if !rtpLatch.latched { rtpTarget = rtp }
        if !rtcpLatch.latched { rtcpTarget = rtcp }
    }

    /// A different phone from now on (a transfer): its SDP address, taken
    /// as latched, so the phone before it, still sending until its BYE,
    /// is not taken back.
    mutating func replaceRemote(rtp: SocketAddress, rtcp: SocketAddress?, now: Double) {
        rtpTarget = rtp
        rtcpTarget = rtcp
        rtpLatch = Latch(latched: symmetric, lastAt: now)
        rtcpLatch = Latch(latched: symmetric && rtcp != nil, lastAt: now)
    }

    /// No phone on the network (the phone side is in the process).
    mutating func clearRemote() {
        rtpTarget = nil
        rtcpTarget = nil
        rtpLatch = Latch()
        rtcpLatch = Latch()
    }

    /// A packet on a phone socket nobody may send to now.
    mutating func countForeign() {
        rtpLatch.dropped += 1
    }

    /// Whether to take an RTP packet from `source`; latches when symmetric.
    mutating func acceptRTP(from source: SocketAddress, now: Double) -> Bool {
        guard symmetric else { return true }
        return rtpLatch.accept(from: source, now: now, relatchAfter: relatchAfter, target: &rtpTarget)
    }

    mutating func acceptRTCP(from source: SocketAddress, now: Double) -> Bool {
        guard symmetric else { return true }
        return rtcpLatch.accept(from: source, now: now, relatchAfter: relatchAfter, target: &rtcpTarget)
    }
}
