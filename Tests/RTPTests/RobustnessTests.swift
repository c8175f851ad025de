import TestSupport
import XCTest
import RTP

/// Bad input never crashes: thousands of truncated and mutated packets go
/// through every parser, which must either parse them or throw RTPError.
final class RobustnessTests: XCTestCase {
    func testTruncatedAndMutatedPacketsNeverCrash() {
        let rtp = serializeRTP(
            RTPHeader(padding: false, payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                      csrcs: [4, 5], headerExtension: RTPHeaderExtension(profile: 0xBEDE, length: 1)),
            payload: [UInt8](repeating: 0x55, count: 40), extensionData: [0x10, 0x22, 0, 0])
        let rtcp = RTCPCompoundPacket(packets: [
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, senderPacketCount: 4,
                                           senderOctetCount: 5, reportBlocks: [RTCPReportBlock(ssrc: 6)])),
            .sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 1, items: [.cname("a@b")])])),
            .goodbye(RTCPGoodbye(ssrcs: [1], reason: Array("bye".utf8))),
            .applicationDefined(RTCPApplicationDefined(subtype: 1, ssrc: 1, name: 0x41424344, data: [0, 0, 0, 0])),
        ]).serialized()

        var generator = SeededGenerator(seed: 0x7E11_4E)
        var outcomes = (parsed: 0, rejected: 0)
        for round in 0..<5000 {
            var packet = round % 2 == 0 ? rtp : rtcp
            // Flip up to four bytes, biased towards the headers where the lengths live.
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                let index = Int.random(in: 0..<min(packet.count, 24), using: &generator)
                packet[index] = UInt8.random(in: 0...255, using: &generator)
            }
            packet = Array(packet.prefix(Int.random(in: 0...packet.count, using: &generator)))

            packet.withUnsafeBytes { bytes in
                for ok in [
                    (try? RTPHeader.parse(bytes)) != nil,
                    (try? RTCPCompoundPacket(parsing: bytes)) != nil,
                    (try? TelephoneEvent.parse(bytes)) != nil,
                ] {
                    if ok { outcomes.parsed += 1 } else { outcomes.rejected += 1 }
                }
                // A parsed RTP payload range must lie inside the buffer.
                if let (header, payload) = try? RTPHeader.parse(bytes) {
                    XCTAssertTrue(payload.lowerBound >= header.length && payload.upperBound <= bytes.count)
                }
            }
            var copy = packet
            _ = copy.withUnsafeMutableBytes { try? RTPHeader.rewrite($0, sequenceNumber: 1, marker: true) }
        }
        // Both paths were exercised, not just one.
        XCTAssertGreaterThan(outcomes.parsed, 1000)
        XCTAssertGreaterThan(outcomes.rejected, 1000)
    }
}
