#if canImport(Glibc)
import Glibc
#endif
import RTP

/// RTCP for one leg (RFC 3550 §6): remembers the peer's last sender report
/// for the LSR/DLSR fields, and builds our compound report: a sender report
/// on the stream we send with a report block on the stream we receive, plus
/// our CNAME. Runs every few seconds, so it may allocate.
struct RTCPReporter {
    let cname: String
    private(set) var reportsReceived = 0
    private(set) var reportsSent = 0
    private var lastSR: UInt32 = 0
    private var lastSRArrival = 0.0

    init(cname: String) {
        self.cname = cname
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Double) -> Bool {
        guard let compound = try? RTCPCompoundPacket(parsing: bytes) else { return false }
        reportsReceived += 1
        for packet in compound.packets {
            if case .senderReport(let report) = packet {
                lastSR = report.compactNTPTimestamp
                lastSRArrival = now
            }
        }
        return true
    }

    mutating func makeReport(sending stream: RTPOutboundStream, receiving direction: MediaDirection,
                             now: Double) -> [UInt8] {
        // DLSR is in units of 1/65536 s.
        let delay = lastSR == 0 ? 0 : UInt32(clamping: Int((now - lastSRArrival) * 65536))
        let blocks = direction.makeReportBlock(lastSR: lastSR, delaySinceLastSR: delay).map { [$0] } ?? []
        let first: RTCPPacket
        if stream.packetCount > 0 {
            first = .senderReport(RTCPSenderReport(
                ssrc: stream.ssrc, ntpTimestamp: Self.ntpNow(), rtpTimestamp: stream.timestamp(at: now),
                senderPacketCount: stream.packetCount, senderOctetCount: stream.octetCount, reportBlocks: blocks))
        } else {
            first = .receiverReport(RTCPReceiverReport(ssrc: stream.ssrc, reportBlocks: blocks))
        }
        let sdes = RTCPPacket.sourceDescription(RTCPSourceDescription(chunks: [
            .init(ssrc: stream.ssrc, items: [.cname(cname)]),
        ]))
        reportsSent += 1
        return RTCPCompoundPacket(packets: [first, sdes]).serialized()
    }

    /// Wall-clock time in NTP format (seconds since 1900, 32.32 fixed point).
    static func ntpNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = UInt64(now.tv_sec) + 2_208_988_800
        let fraction = (UInt64(now.tv_nsec) << 32) / 1_000_000_000
        return seconds << 32 | fraction
    }
}
