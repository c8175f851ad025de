#if canImport(Glibc)
import Glibc
#endif
import RTP
import SecureMedia

/// RTCP for one leg (RFC 3550 §6): remembers the peer's last sender report
/// for the LSR/DLSR fields, and writes our compound report, a sender report
/// on the stream we send (a receiver report before we sent anything) with a
/// report block on the stream we receive, then SDES with our CNAME. Both
/// ways it works in place, so reports cost no allocation either.
final class RTCPReporter {
    /// At most 64 bytes of the CNAME (an SDES item may hold 255; ours are 16).
    let cname: [UInt8]
    private(set) var reportsReceived = 0
    private(set) var reportsSent = 0
    private var lastSR: UInt32 = 0
    private var lastSRArrival = 0.0
    /// The report being sent, with room for SRTCP's index and tag.
    let buffer: UnsafeMutableRawBufferPointer

    init(cname: String) {
        self.cname = Array(cname.utf8.prefix(64))
        buffer = .allocate(byteCount: 256, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// Takes a (decrypted) compound packet; false when it is not RTCP.
    /// RFC 3550 §6.1: it must start with an SR or RR and its lengths must add up.
    @discardableResult
    func receive(_ bytes: UnsafeRawBufferPointer, now: Double) -> Bool {
        guard bytes.count >= 8, bytes[0] >> 6 == 2, bytes[1] == 200 || bytes[1] == 201 else { return false }
        var offset = 0
        var senderReport: UInt32?
        while offset + 4 <= bytes.count {
            let length = ((Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])) + 1) * 4
            guard bytes[offset] >> 6 == 2, offset + length <= bytes.count else { return false }
            if bytes[offset + 1] == 200, length >= 28 {
                // The middle 32 bits of the NTP timestamp (§6.4.1, LSR).
                senderReport = (8..<12).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[offset + 2 + $1]) }
            }
            offset += length
        }
        guard offset == bytes.count else { return false }
        reportsReceived += 1
        if let senderReport {
            lastSR = senderReport
            lastSRArrival = now
        }
        return true
    }

    /// Writes the report into `buffer`; returns its length.
    func makeReport(sending stream: RTPOutboundStream, receiving direction: MediaDirection, now: Double) -> Int {
        // DLSR is in units of 1/65536 s.
        let delay = lastSR == 0 ? 0 : UInt32(clamping: Int((now - lastSRArrival) * 65536))
        let block = direction.makeReportBlock(lastSR: lastSR, delaySinceLastSR: delay)
        let blockCount = block == nil ? 0 : 1
        var offset = 0
        let isSender = stream.packetCount > 0
        let words = (isSender ? 6 : 1) + 6 * blockCount
        header(count: blockCount, type: isSender ? 200 : 201, words: words, at: &offset)
        put(stream.ssrc, at: &offset)
        if isSender {
            let ntp = Self.ntpNow()
            put(UInt32(truncatingIfNeeded: ntp >> 32), at: &offset)
            put(UInt32(truncatingIfNeeded: ntp), at: &offset)
            put(stream.timestamp(at: now), at: &offset)
            put(stream.packetCount, at: &offset)
            put(stream.octetCount, at: &offset)
        }
        if let block {
            put(block.ssrc, at: &offset)
            let lost = UInt32(bitPattern: block.cumulativeLost) & 0xFF_FFFF
            put(UInt32(block.fractionLost) << 24 | lost, at: &offset)
            put(block.extendedHighestSequenceNumber, at: &offset)
            put(block.interarrivalJitter, at: &offset)
            put(block.lastSR, at: &offset)
            put(block.delaySinceLastSR, at: &offset)
        }
        // SDES: one chunk, CNAME then END, padded to a word (§6.5).
        let itemBytes = 2 + cname.count + 1
        let chunkWords = 1 + (itemBytes + 3) / 4
        header(count: 1, type: 202, words: chunkWords, at: &offset)
        put(stream.ssrc, at: &offset)
        let chunkEnd = offset + (chunkWords - 1) * 4
        buffer[offset] = 1
        buffer[offset + 1] = UInt8(cname.count)
        offset += 2
        for byte in cname {
            buffer[offset] = byte
            offset += 1
        }
        while offset < chunkEnd {
            buffer[offset] = 0
            offset += 1
        }
        reportsSent += 1
        return offset
    }

    private func header(count: Int, type: UInt8, words: Int, at offset: inout Int) {
        buffer[offset] = 0x80 | UInt8(count)
        buffer[offset + 1] = type
        buffer[offset + 2] = UInt8(truncatingIfNeeded: words >> 8)
        buffer[offset + 3] = UInt8(truncatingIfNeeded: words)
        offset += 4
    }

    private func put(_ value: UInt32, at offset: inout Int) {
        buffer[offset] = UInt8(truncatingIfNeeded: value >> 24)
        buffer[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        buffer[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        buffer[offset + 3] = UInt8(truncatingIfNeeded: value)
        offset += 4
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
