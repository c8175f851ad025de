import RTP

/// One RTP stream the gateway sends on a leg: its own SSRC, sequence
/// numbers and timestamps, which stay continuous whatever happens on the
/// other leg (a new source, a gap, a DTMF event), plus the counts a sender
/// report needs.
struct RTPOutboundStream {
    let ssrc: UInt32
    let clockRate: Int
    private(set) var sequenceNumber: UInt16
    /// The timestamp of the next audio frame.
    private(set) var timestamp: UInt32
    /// Set after a gap or a new source: the next packet starts a talkspurt.
    var markerPending = true
    private(set) var packetCount: UInt32 = 0
    private(set) var octetCount: UInt32 = 0
    /// Timestamp and wall-clock time of the last packet sent (for SR).
    private(set) var lastSentTimestamp: UInt32 = 0
    private(set) var lastSentAt: Double = 0

    init<G: RandomNumberGenerator>(ssrc: UInt32, clockRate: Int, using generator: inout G) {
        self.clockRate = clockRate
        self.ssrc = ssrc
        sequenceNumber = UInt16.random(in: 0...UInt16.max, using: &generator)
        timestamp = UInt32.random(in: 0...UInt32.max, using: &generator)
    }

    /// The header of the next packet with timestamp `timestamp` (the
    /// current one unless given), consuming a sequence number.
    mutating func nextHeader(payloadType: UInt8, timestamp explicit: UInt32? = nil, marker: Bool? = nil) -> RTPHeader {
        let header = RTPHeader(marker: marker ?? markerPending, payloadType: payloadType,
                               sequenceNumber: sequenceNumber, timestamp: explicit ?? timestamp, ssrc: ssrc)
        sequenceNumber &+= 1
        if marker == nil { markerPending = false }
        return header
    }

    /// Moves the audio clock on by `units` (a frame sent or a frame's worth skipped).
    mutating func advance(by units: Int) {
        timestamp &+= UInt32(truncatingIfNeeded: units)
    }

    mutating func recordSent(payloadBytes: Int, timestamp sent: UInt32, now: Double) {
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: payloadBytes)
        lastSentTimestamp = sent
        lastSentAt = now
    }

    /// The RTP timestamp that corresponds to wall-clock `now` (RFC 3550 §6.4.1).
    func timestamp(at now: Double) -> UInt32 {
        guard packetCount > 0 else { return timestamp }
        let elapsed = Int((now - lastSentAt) * Double(clockRate))
        return lastSentTimestamp &+ UInt32(truncatingIfNeeded: elapsed)
    }
}

/// Where an arriving packet sits in its source's timeline: how the bridge
/// notices loss (to conceal it), reordering (to drop it) and a new source
/// or long silence (to resynchronise without a timestamp jump downstream).
struct InboundTimeline {
    enum Position: Equatable {
        /// The first packet, or a new SSRC: start afresh.
        case newSource
        /// Exactly where the previous one ended.
        case inOrder
        /// `units` of media went missing before this packet.
        case afterLoss(units: Int)
        /// Older than what was already played: too late to use.
        case late
    }

    private var ssrc: UInt32?
    private var expectedTimestamp: UInt32 = 0

    /// Classifies a packet that starts at `timestamp`; `duration` is its
    /// length in clock units (0 when unknown before decoding).
    mutating func place(ssrc packetSSRC: UInt32, timestamp: UInt32) -> Position {
        guard ssrc == packetSSRC else {
            ssrc = packetSSRC
            expectedTimestamp = timestamp
            return .newSource
        }
        let difference = Int32(bitPattern: timestamp &- expectedTimestamp)
        if difference < 0 { return .late }
        return difference == 0 ? .inOrder : .afterLoss(units: Int(difference))
    }

    /// Records that media up to `timestamp + duration` has been played.
    mutating func played(timestamp: UInt32, duration: Int) {
        expectedTimestamp = timestamp &+ UInt32(truncatingIfNeeded: duration)
    }
}
