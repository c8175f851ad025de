// Reception statistics for one source (RFC 3550 A.1, A.3, A.8).
//
// A plain value updated once per packet: integers only, nothing on the heap,
// so it can live inside a leg's state on the event loop.

public struct RTPReceptionStatistics: Sendable, Equatable {
    /// Accept a jump forward of up to this many packets as loss (A.1 MAX_DROPOUT).
    public static let maximumDropout: UInt16 = 3000
    /// Treat a step back of up to this many as reordering (A.1 MAX_MISORDER).
    public static let maximumMisorder: UInt16 = 100
    static let sequenceModulus: UInt32 = 1 << 16

    /// Sequential packets needed before a new source counts (A.1 MIN_SEQUENTIAL).
    public let minimumSequential: Int

    private var started = false
    private var maxSeq: UInt16 = 0
    /// Sequence number wraps, shifted left by 16 as in A.1.
    private var cycles: UInt32 = 0
    private var baseSeq: UInt32 = 0
    /// The sequence number after a suspiciously large jump; seeing it next
    /// means the source restarted rather than a stray packet arrived.
    /// Starts outside 0...65535 so no packet can match it.
    private var badSeq: UInt32 = RTPReceptionStatistics.sequenceModulus + 1
    private var probation = 0
    /// Valid packets received.
    public private(set) var received: UInt32 = 0
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    /// Relative transit time of the previous valid packet (A.8).
    private var transit: UInt32 = 0
    private var hasTransit = false
    /// Interarrival jitter times 16, the A.8 fixed-point form that avoids
    /// rounding drift: J += |D| - J/16, without floating point.
    private var scaledJitter: UInt32 = 0

    public init(minimumSequential: Int = 2) {
        self.minimumSequential = max(1, minimumSequential)
    }

    /// Records one packet. `arrival` is the arrival time in the source's RTP
    /// clock units (any origin; only differences matter). Returns whether the
    /// packet is valid: false while a new source is on probation and for a
    /// packet after a jump too large to be loss, which the caller may drop.
    @discardableResult
    public mutating func record(sequenceNumber seq: UInt16, timestamp: UInt32, arrival: UInt32) -> Bool {
        guard updateSequence(seq) else { return false }
        // A.8: D(i-1, i) is the change in relative transit time.
        let packetTransit = arrival &- timestamp
        if hasTransit {
            let d = Int32(bitPattern: packetTransit &- transit).magnitude
            scaledJitter = scaledJitter &+ d &- ((scaledJitter &+ 8) >> 4)
        }
        transit = packetTransit
        hasTransit = true
        return true
    }

    /// A.1 update_seq.
    private mutating func updateSequence(_ seq: UInt16) -> Bool {
        if !started {
            started = true
            initSequence(seq)
            maxSeq = seq &- 1
            probation = minimumSequential
        }
        let delta = seq &- maxSeq
        if probation > 0 {
            // A new source counts only after MIN_SEQUENTIAL packets in a row.
            if seq == maxSeq &+ 1 {
                probation -= 1
                maxSeq = seq
                if probation == 0 {
                    initSequence(seq)
                    received &+= 1
                    return true
                }
            } else {
                probation = minimumSequential - 1
                maxSeq = seq
            }
            return false
        } else if delta < Self.maximumDropout {
            // In order, with a permissible gap; a smaller number means a wrap.
            if seq < maxSeq { cycles &+= Self.sequenceModulus }
            maxSeq = seq
        } else if UInt32(delta) <= Self.sequenceModulus - UInt32(Self.maximumMisorder) {
            // A very large jump: believe it only if the next packet follows it.
            if UInt32(seq) == badSeq {
                initSequence(seq)
            } else {
                badSeq = (UInt32(seq) + 1) & (Self.sequenceModulus - 1)
                return false
            }
        }
        // Otherwise a duplicate or reordered packet: counted, no state change.
        received &+= 1
        return true
    }

    /// A.1 init_seq.
    private mutating func initSequence(_ seq: UInt16) {
        baseSeq = UInt32(seq)
        maxSeq = seq
        badSeq = Self.sequenceModulus + 1
        cycles = 0
        received = 0
        receivedPrior = 0
        expectedPrior = 0
    }

    /// The highest sequence number received, extended with the wrap count.
    public var extendedHighestSequenceNumber: UInt32 { cycles &+ UInt32(maxSeq) }

    /// Packets expected since the first valid one (A.3).
    public var expected: UInt32 {
        received == 0 ? 0 : extendedHighestSequenceNumber &- baseSeq &+ 1
    }

    /// Cumulative packets lost, negative with duplicates, clamped to 24 bits.
    public var cumulativeLost: Int32 {
        let lost = Int64(expected) - Int64(received)
        return Int32(min(max(lost, Int64(RTCPReportBlock.minimumCumulativeLost)),
                         Int64(RTCPReportBlock.maximumCumulativeLost)))
    }

    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32 { scaledJitter >> 4 }

    /// Fraction lost since the previous call, in 1/256 (A.3); starts a new
    /// reporting interval. Zero when duplicates outnumber losses.
    public mutating func fractionLostSinceLastReport() -> UInt8 {
        let expectedInterval = expected &- expectedPrior
        expectedPrior = expected
        let receivedInterval = received &- receivedPrior
        receivedPrior = received
        let lostInterval = Int64(expectedInterval) - Int64(receivedInterval)
        guard expectedInterval != 0, lostInterval > 0 else { return 0 }
        return UInt8(min(255, (lostInterval << 8) / Int64(expectedInterval)))
    }

    /// A report block for this source; starts a new reporting interval.
    public mutating func makeReportBlock(ssrc: UInt32, lastSR: UInt32 = 0,
                                         delaySinceLastSR: UInt32 = 0) -> RTCPReportBlock {
        RTCPReportBlock(
            ssrc: ssrc, fractionLost: fractionLostSinceLastReport(), cumulativeLost: cumulativeLost,
            extendedHighestSequenceNumber: extendedHighestSequenceNumber,
            interarrivalJitter: jitter, lastSR: lastSR, delaySinceLastSR: delaySinceLastSR)
    }
}
