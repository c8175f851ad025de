import XCTest
import RTP

final class RTCPTests: XCTestCase {
    func testSenderReportAndSourceDescriptionRoundTrip() throws {
        let block = RTCPReportBlock(ssrc: 0x0102_0304, fractionLost: 64, cumulativeLost: -3,
                                    extendedHighestSequenceNumber: 0x0001_0005, interarrivalJitter: 42,
                                    lastSR: 0xAABB_CCDD, delaySinceLastSR: 65536)
        let compound = RTCPCompoundPacket(packets: [
            .senderReport(RTCPSenderReport(
                ssrc: 0xCAFE_F00D, ntpTimestamp: 0xE8F0_1234_8000_0000, rtpTimestamp: 160_000,
                senderPacketCount: 1000, senderOctetCount: 160_000, reportBlocks: [block])),
            .sourceDescription(RTCPSourceDescription(chunks: [
                .init(ssrc: 0xCAFE_F00D, items: [.cname("tieline@example.net")]),
            ])),
        ])
        let bytes = compound.serialized()
        // SR: 4 header + 24 sender info + 24 block; SDES: 4 + 4 + 2 + 19 + null, padded to 32.
        XCTAssertEqual(bytes.count, 52 + 32)
        XCTAssertEqual(Array(bytes[0..<4]), [0x81, 200, 0, 12])
        XCTAssertEqual(Array(bytes[52..<56]), [0x81, 202, 0, 7])
        XCTAssertTrue(RTCPPacket.isRTCP(bytes[1]))

        let parsed = try parseRTCP(bytes)
        XCTAssertEqual(parsed, compound)
        guard case .sourceDescription(let sdes) = parsed.packets[1] else { return XCTFail("not SDES") }
        XCTAssertEqual(sdes.chunks.first?.cname, "tieline@example.net")
        guard case .senderReport(let sr) = parsed.packets[0] else { return XCTFail("not SR") }
        XCTAssertEqual(sr.compactNTPTimestamp, 0x1234_8000)
    }

    /// A receiver report written out by hand from the RFC 3550 §6.4.2 layout.
    func testReceiverReportFields() throws {
        let bytes: [UInt8] = [
            0x81, 201, 0x00, 0x07,      // V=2, RC=1, PT=RR, length 7 words
            0x11, 0x22, 0x33, 0x44,     // SSRC of packet sender
            0x55, 0x66, 0x77, 0x88,     // SSRC_1
            0x19, 0xFF, 0xFF, 0xFE,     // fraction lost 25/256, cumulative lost -2
            0x00, 0x02, 0xFF, 0xF0,     // extended highest sequence number: 2 cycles, 0xFFF0
            0x00, 0x00, 0x01, 0x2C,     // jitter 300
            0x12, 0x34, 0x56, 0x78,     // LSR
            0x00, 0x01, 0x80, 0x00,     // DLSR 1.5 s
        ]
        let parsed = try parseRTCP(bytes)
        XCTAssertEqual(parsed.packets.count, 1)
        guard case .receiverReport(let rr) = parsed.packets[0] else { return XCTFail("not RR") }
        XCTAssertEqual(rr.ssrc, 0x1122_3344)
        XCTAssertEqual(rr.reportBlocks, [RTCPReportBlock(
            ssrc: 0x5566_7788, fractionLost: 25, cumulativeLost: -2,
            extendedHighestSequenceNumber: 0x0002_FFF0, interarrivalJitter: 300,
            lastSR: 0x1234_5678, delaySinceLastSR: 0x0001_8000)])
        XCTAssertEqual(parsed.serialized(), bytes)
    }

    func testCumulativeLostIsClampedTo24Bits() throws {
        let rr = RTCPReceiverReport(ssrc: 1, reportBlocks: [
            RTCPReportBlock(ssrc: 2, cumulativeLost: 10_000_000),
            RTCPReportBlock(ssrc: 3, cumulativeLost: -10_000_000),
        ])
        let parsed = try parseRTCP(RTCPCompoundPacket(packets: [.receiverReport(rr)]).serialized())
        guard case .receiverReport(let back) = parsed.packets[0] else { return XCTFail("not RR") }
        XCTAssertEqual(back.reportBlocks.map(\.cumulativeLost), [0x7F_FFFF, -0x80_0000])
    }

    func testGoodbyeApplicationAndUnknownRoundTrip() throws {
        let feedback: [UInt8] = [0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]  // RFC 4585 generic NACK header
        let compound = RTCPCompoundPacket(packets: [
            .receiverReport(RTCPReceiverReport(ssrc: 9)),
            .goodbye(RTCPGoodbye(ssrcs: [9, 10], reason: Array("call ended".utf8))),
            .applicationDefined(RTCPApplicationDefined(subtype: 3, ssrc: 9, name: 0x5449_4C4E,
                                                       data: [1, 2, 3, 4])),
            .unknown(RTCPUnknownPacket(packetType: 205, bytes: feedback)),
            .goodbye(RTCPGoodbye(ssrcs: [9])),
        ])
        XCTAssertEqual(try parseRTCP(compound.serialized()), compound)
    }

    func testPaddedPacketAndMuxDemux() throws {
        // An RR without blocks, padded with 4 octets (P bit set).
        let bytes: [UInt8] = [0xA0, 201, 0, 2, 0, 0, 0, 5, 0, 0, 0, 4]
        XCTAssertEqual(try parseRTCP(bytes).packets, [.receiverReport(RTCPReceiverReport(ssrc: 5))])
        XCTAssertTrue(RTCPPacket.isRTCP(200))
        XCTAssertTrue(RTCPPacket.isRTCP(192))
        XCTAssertTrue(RTCPPacket.isRTCP(223))
        XCTAssertFalse(RTCPPacket.isRTCP(0x80 | 0))     // PCMU with marker
        XCTAssertFalse(RTCPPacket.isRTCP(111))          // Opus
        XCTAssertFalse(RTCPPacket.isRTCP(224))
    }

    func testFramingErrors() {
        XCTAssertThrowsError(try parseRTCP([])) {
            XCTAssertEqual($0 as? RTPError, .truncated(needed: 4, available: 0))
        }
        // Length says 2 words follow, only 1 does.
        XCTAssertThrowsError(try parseRTCP([0x80, 201, 0, 2, 0, 0, 0, 5])) {
            XCTAssertEqual($0 as? RTPError, .truncated(needed: 12, available: 8))
        }
        // RC=1 but no block.
        XCTAssertThrowsError(try parseRTCP([0x81, 201, 0, 1, 0, 0, 0, 5])) {
            guard case .malformedRTCP(0, 201, _) = $0 as? RTPError else { return XCTFail("\($0)") }
        }
        // SDES chunk whose item list is never terminated.
        XCTAssertThrowsError(try parseRTCP([0x81, 202, 0, 2, 0, 0, 0, 5, 1, 2, 0x41, 0x42])) {
            guard case .malformedRTCP(0, 202, _) = $0 as? RTPError else { return XCTFail("\($0)") }
        }
        // Second packet has version 0.
        XCTAssertThrowsError(try parseRTCP([0x80, 201, 0, 1, 0, 0, 0, 5, 0x00, 201, 0, 0])) {
            XCTAssertEqual($0 as? RTPError, .unsupportedVersion(offset: 8, version: 0))
        }
    }
}
