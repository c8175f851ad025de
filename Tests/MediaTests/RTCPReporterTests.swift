@testable import Media
import RTP
import Testing

/// The phone leg's RTCP: the report describes the stream the gateway sends
/// toward the phone (toPhone) and the one it receives from it (toBrowser).
@Suite("RTCPReporter")
struct RTCPReporterTests {
    /// Has `reporter` write a report and parses it with the RTP target's parser.
    func report(_ reporter: RTCPReporter, sending stream: RTPOutboundStream, receiving direction: MediaDirection,
                now: Double) throws -> [RTCPPacket] {
        let length = reporter.makeReport(sending: stream, receiving: direction, now: now)
        return try parse(Array(reporter.buffer[0..<length]))
    }

    func parse(_ bytes: [UInt8]) throws -> [RTCPPacket] {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(RTPError) in try RTCPCompoundPacket(parsing: raw) }
        }
        return try result.get().packets
    }

    @Test("Before we send anything: an RR with our SSRC and an SDES CNAME")
    func receiverReport() throws {
        let bridge = try opusBridge()
        let reporter = RTCPReporter(cname: "tieline@test")
        let packets = try report(reporter, sending: bridge.toPhone.stream, receiving: bridge.toBrowser, now: 1)
        #expect(packets.count == 2)
        guard case .receiverReport(let rr) = packets.first else {
            Issue.record("expected an RR first, got \(String(describing: packets.first))")
            return
        }
        #expect(rr.ssrc == phoneSSRC)
        #expect(rr.reportBlocks.isEmpty)
        guard case .sourceDescription(let sdes) = packets.last else {
            Issue.record("expected SDES")
            return
        }
        #expect(sdes.chunks.map { $0.ssrc } == [phoneSSRC])
        #expect(sdes.chunks.first?.cname == "tieline@test")
        #expect(reporter.reportsSent == 1)
    }

    @Test("After sending: an SR with our counts; after the peer's SR, the report block echoes its LSR and DLSR")
    func senderReportWithBlock() throws {
        var driver = BridgeDriver(try opusBridge())
        let browser = try OpusToneSource(frequency: 1000)
        for i in 0..<10 { driver.send(browser.next(), from: .browser, now: Double(i) * 0.25) }
        var phone = G711ToneSource(frequency: 440)
        for i in 0..<10 { driver.send(phone.next(), from: .phone, now: Double(i) * 0.02) }
        let bridge = driver.bridge
        let lastSent = try #require(driver.emitted.last { $0.header.ssrc == phoneSSRC })

        let reporter = RTCPReporter(cname: "gw")
        let peerSR = RTCPCompoundPacket(packets: [.senderReport(RTCPSenderReport(
            ssrc: phone.ssrc, ntpTimestamp: 0x0123_4567_89AB_CDEF, rtpTimestamp: 1,
            senderPacketCount: 10, senderOctetCount: 1600))]).serialized()
        #expect(peerSR.withUnsafeBytes { reporter.receive($0, now: 4.0) })
        #expect(reporter.reportsReceived == 1)

        let packets = try report(reporter, sending: bridge.toPhone.stream, receiving: bridge.toBrowser, now: 4.5)
        guard case .senderReport(let sr) = packets.first else {
            Issue.record("expected an SR first, got \(String(describing: packets.first))")
            return
        }
        #expect(sr.ssrc == phoneSSRC)
        #expect(sr.senderPacketCount == 10)
        #expect(sr.senderOctetCount == 1600)
        // The RTP timestamp runs on from the last packet sent (2.25 s) at 8 kHz.
        #expect(sr.rtpTimestamp == lastSent.header.timestamp &+ 18_000)
        #expect(sr.reportBlocks.count == 1)
        let block = try #require(sr.reportBlocks.first)
        #expect(block.ssrc == phone.ssrc)
        #expect(block.lastSR == 0x4567_89AB)
        #expect(block.delaySinceLastSR == 32_768)  // 0.5 s in 1/65536 s
        #expect(block.cumulativeLost == 0)
        #expect(block.extendedHighestSequenceNumber & 0xFFFF == UInt32(phone.sequenceNumber &- 1))
        guard case .sourceDescription(let sdes) = packets.last else {
            Issue.record("expected SDES last")
            return
        }
        #expect(sdes.chunks.first?.cname == "gw")
    }

    @Test("Without a peer SR, LSR and DLSR are zero")
    func noPeerSR() throws {
        var driver = BridgeDriver(try opusBridge())
        var phone = G711ToneSource(frequency: 440)
        for i in 0..<5 { driver.send(phone.next(), from: .phone, now: Double(i) * 0.02) }
        let reporter = RTCPReporter(cname: "gw")
        let packets = try report(reporter, sending: driver.bridge.toPhone.stream,
                                 receiving: driver.bridge.toBrowser, now: 3)
        guard case .receiverReport(let rr) = packets.first, let block = rr.reportBlocks.first else {
            Issue.record("expected an RR with a block")
            return
        }
        #expect(block.lastSR == 0 && block.delaySinceLastSR == 0)
    }

    @Test("Truncated, mis-sized or non-report packets are not counted as reports")
    func garbage() {
        let reporter = RTCPReporter(cname: "gw")
        let sr = RTCPCompoundPacket(packets: [.senderReport(RTCPSenderReport(
            ssrc: 1, ntpTimestamp: 0x1111_2222_3333_4444, rtpTimestamp: 1, senderPacketCount: 1, senderOctetCount: 1))])
            .serialized()
        let bye = RTCPCompoundPacket(packets: [.goodbye(RTCPGoodbye(ssrcs: [1]))]).serialized()
        for bytes in [[0x80, 0xC8, 0x00, 0x20, 1, 2, 3], Array(sr.dropLast(4)), sr + [0x80], bye] {
            let accepted = bytes.withUnsafeBytes { reporter.receive($0, now: 0) }
            #expect(!accepted, "\(bytes)")
        }
        #expect(reporter.reportsReceived == 0)
        // An RR is a report, but carries no LSR.
        let rr = RTCPCompoundPacket(packets: [.receiverReport(RTCPReceiverReport(ssrc: 1))]).serialized()
        #expect(rr.withUnsafeBytes { reporter.receive($0, now: 0) })
        #expect(reporter.reportsReceived == 1)
    }

    @Test("Every report written parses, whatever the CNAME length")
    func cnameLengths() throws {
        let bridge = try opusBridge()
        for length in [0, 1, 2, 3, 4, 5, 30, 63, 64, 200] {
            let reporter = RTCPReporter(cname: String(repeating: "c", count: length))
            let packets = try report(reporter, sending: bridge.toPhone.stream, receiving: bridge.toBrowser, now: 0)
            guard case .sourceDescription(let sdes) = packets.last else {
                Issue.record("no SDES for a CNAME of \(length)")
                continue
            }
            #expect(sdes.chunks.first?.cname == String(repeating: "c", count: min(length, 64)))
        }
    }
}
