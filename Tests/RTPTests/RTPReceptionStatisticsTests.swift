import XCTest
import RTP

final class RTPReceptionStatisticsTests: XCTestCase {
    func testProbationThenCounting() {
        var stats = RTPReceptionStatistics()
        // The first packet of a new source is on probation (MIN_SEQUENTIAL = 2).
        XCTAssertFalse(stats.record(sequenceNumber: 100, timestamp: 0, arrival: 0))
        XCTAssertTrue(stats.record(sequenceNumber: 101, timestamp: 160, arrival: 160))
        XCTAssertEqual(stats.received, 1)
        XCTAssertEqual(stats.expected, 1)

        // A source that never sends two in a row never becomes valid.
        var erratic = RTPReceptionStatistics()
        for seq: UInt16 in [5, 50, 500, 5000] {
            XCTAssertFalse(erratic.record(sequenceNumber: seq, timestamp: 0, arrival: 0))
        }
        XCTAssertEqual(erratic.received, 0)
    }

    func testSequenceWrapAroundAndLoss() {
        var stats = RTPReceptionStatistics(minimumSequential: 1)
        var seq: UInt16 = 65530
        var sent = 0
        // 20 packets across the wrap, dropping 65534 and 3.
        for _ in 0..<20 {
            if seq != 65534 && seq != 3 {
                XCTAssertTrue(stats.record(sequenceNumber: seq, timestamp: 0, arrival: 0))
            }
            seq &+= 1
            sent += 1
        }
        XCTAssertEqual(stats.extendedHighestSequenceNumber, 65536 + 13)
        XCTAssertEqual(stats.expected, 20)
        XCTAssertEqual(stats.received, 18)
        XCTAssertEqual(stats.cumulativeLost, 2)
        // 2 of 20 lost: 2 * 256 / 20 = 25 (25.6 truncated).
        XCTAssertEqual(stats.fractionLostSinceLastReport(), 25)
        // Nothing new since that report.
        XCTAssertEqual(stats.fractionLostSinceLastReport(), 0)

        // A late duplicate counts as received: cumulative loss may go down.
        stats.record(sequenceNumber: 65533, timestamp: 0, arrival: 0)
        XCTAssertEqual(stats.cumulativeLost, 1)
        let block = stats.makeReportBlock(ssrc: 77, lastSR: 5, delaySinceLastSR: 6)
        XCTAssertEqual(block, RTCPReportBlock(ssrc: 77, fractionLost: 0, cumulativeLost: 1,
                                              extendedHighestSequenceNumber: 65549,
                                              interarrivalJitter: 0, lastSR: 5, delaySinceLastSR: 6))
    }

    func testLargeJumpIsBelievedOnlyWhenFollowed() {
        var stats = RTPReceptionStatistics(minimumSequential: 1)
        XCTAssertTrue(stats.record(sequenceNumber: 10, timestamp: 0, arrival: 0))
        XCTAssertFalse(stats.record(sequenceNumber: 40_000, timestamp: 0, arrival: 0))
        XCTAssertTrue(stats.record(sequenceNumber: 11, timestamp: 0, arrival: 0))
        // The source restarted: two in a row from the new place re-initialize.
        XCTAssertFalse(stats.record(sequenceNumber: 20_000, timestamp: 0, arrival: 0))
        XCTAssertTrue(stats.record(sequenceNumber: 20_001, timestamp: 0, arrival: 0))
        XCTAssertEqual(stats.extendedHighestSequenceNumber, 20_001)
        XCTAssertEqual(stats.received, 1)
        XCTAssertEqual(stats.expected, 1)
    }

    /// Packets sent every 160 timestamp units; arrivals worked out by hand
    /// with A.8's fixed-point form, J16 += |D| - (J16 + 8) / 16, jitter = J16 / 16:
    ///
    ///   packet  timestamp  arrival  transit  |D|   J16                 jitter
    ///   1       0          1000     1000     -     0                   0
    ///   2       160        1160     1000     0     0                   0
    ///   3       320        1352     1032     32    0 + 32 - 0 = 32     2
    ///   4       480        1480     1000     32    32 + 32 - 2 = 62    3
    ///   5       640        1640     1000     0     62 + 0 - 4 = 58     3
    ///   6       800        1880     1080     80    58 + 80 - 4 = 134   8
    func testJitterOnSyntheticArrivals() {
        var stats = RTPReceptionStatistics(minimumSequential: 1)
        let arrivals: [UInt32] = [1000, 1160, 1352, 1480, 1640, 1880]
        var jitters: [UInt32] = []
        for (i, arrival) in arrivals.enumerated() {
            stats.record(sequenceNumber: UInt16(i), timestamp: UInt32(i) * 160, arrival: arrival)
            jitters.append(stats.jitter)
        }
        XCTAssertEqual(jitters, [0, 0, 2, 3, 3, 8])
    }

    /// A steady alternation converges to the RFC's estimate: with |D| = 40
    /// every packet, J_n = 40 (1 - (15/16)^n), which tends to 40.
    func testJitterConvergesAndSurvivesTimestampWrap() {
        var stats = RTPReceptionStatistics(minimumSequential: 1)
        var timestamp: UInt32 = 0xFFFF_F000  // wraps within the run
        var arrival: UInt32 = 0xFFFF_FF00
        for i in 0..<400 {
            stats.record(sequenceNumber: UInt16(i), timestamp: timestamp,
                         arrival: arrival &+ (i % 2 == 0 ? 0 : 40))
            timestamp &+= 160
            arrival &+= 160
        }
        XCTAssertEqual(Double(stats.jitter), 40, accuracy: 1)
    }
}
