// Compound RTCP packets (RFC 3550 §6.1): several RTCP packets back to back in
// one datagram, each with its own version, count, type and length header.
//
// Parsing is strict about framing (each length must land inside the buffer,
// every count must fit its packet) because a wrong frame would misread every
// packet after it; it is lenient about composition (no check that the first
// packet is an SR or RR) because RFC 5506 reduced-size RTCP drops that rule.

public struct RTCPCompoundPacket: Sendable, Equatable {
    public var packets: [RTCPPacket]

    public init(packets: [RTCPPacket]) {
        self.packets = packets
    }

    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTPError) {
        guard !bytes.isEmpty else { throw .truncated(needed: 4, available: 0) }
        packets = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else {
                throw .truncated(needed: offset + 4, available: bytes.count)
            }
            let first = bytes[offset]
            let version = first >> 6
            guard version == RTPHeader.version else {
                throw .unsupportedVersion(offset: offset, version: version)
            }
            // The length field counts 32-bit words minus one, header included.
            let end = offset + (Int(bytes.uint16(at: offset + 2)) + 1) * 4
            guard end <= bytes.count else { throw .truncated(needed: end, available: bytes.count) }

            var bodyEnd = end
            if first & 0x20 != 0 {
                let count = Int(bytes[end - 1])
                guard count >= 1, count <= end - offset - 4 else {
                    throw .invalidPadding(offset: offset, count: count, available: end - offset - 4)
                }
                bodyEnd -= count
            }
            let packet = RTCPPacketReader(bytes: bytes, offset: offset, bodyEnd: bodyEnd)
            packets.append(try packet.read(wholePacketEnd: end))
            offset = end
        }
    }
}

/// One packet's header fields and body bounds, with the per-type readers.
struct RTCPPacketReader {
    let bytes: UnsafeRawBufferPointer
    /// Start of the packet's 4-byte header.
    let offset: Int
    /// End of the body, padding excluded.
    let bodyEnd: Int

    var count: Int { Int(bytes[offset] & 0x1F) }
    var packetType: UInt8 { bytes[offset + 1] }
    var bodyStart: Int { offset + 4 }

    func malformed(_ reason: String) -> RTPError {
        .malformedRTCP(offset: offset, packetType: packetType, reason: reason)
    }

    func read(wholePacketEnd: Int) throws(RTPError) -> RTCPPacket {
        switch packetType {
        case RTCPPacket.senderReportType: return .senderReport(try readSenderReport())
        case RTCPPacket.receiverReportType: return .receiverReport(try readReceiverReport())
        case RTCPPacket.sourceDescriptionType: return .sourceDescription(try readSourceDescription())
        case RTCPPacket.goodbyeType: return .goodbye(try readGoodbye())
        case RTCPPacket.applicationDefinedType: return .applicationDefined(try readApplicationDefined())
        default:
            return .unknown(RTCPUnknownPacket(
                packetType: packetType, bytes: Array(bytes[offset..<wholePacketEnd])))
        }
    }

    func readSenderReport() throws(RTPError) -> RTCPSenderReport {
        let blocksStart = bodyStart + 24
        guard blocksStart <= bodyEnd else { throw malformed("sender info is cut short") }
        let (blocks, rest) = try readReportBlocks(from: blocksStart)
        return RTCPSenderReport(
            ssrc: bytes.uint32(at: bodyStart),
            ntpTimestamp: UInt64(bytes.uint32(at: bodyStart + 4)) << 32 | UInt64(bytes.uint32(at: bodyStart + 8)),
            rtpTimestamp: bytes.uint32(at: bodyStart + 12),
            senderPacketCount: bytes.uint32(at: bodyStart + 16),
            senderOctetCount: bytes.uint32(at: bodyStart + 20),
            reportBlocks: blocks,
            profileExtension: Array(bytes[rest..<bodyEnd]))
    }

    func readReceiverReport() throws(RTPError) -> RTCPReceiverReport {
        guard bodyStart + 4 <= bodyEnd else { throw malformed("the SSRC of the sender is missing") }
        let (blocks, rest) = try readReportBlocks(from: bodyStart + 4)
        return RTCPReceiverReport(ssrc: bytes.uint32(at: bodyStart), reportBlocks: blocks,
                                  profileExtension: Array(bytes[rest..<bodyEnd]))
    }

    /// The RC report blocks from `start`, and where the bytes after them begin.
    func readReportBlocks(from start: Int) throws(RTPError) -> ([RTCPReportBlock], Int) {
        let end = start + count * RTCPReportBlock.byteCount
        guard end <= bodyEnd else { throw malformed("\(count) report blocks do not fit") }
        var blocks: [RTCPReportBlock] = []
        blocks.reserveCapacity(count)
        for at in stride(from: start, to: end, by: RTCPReportBlock.byteCount) {
            let lossWord = bytes.uint32(at: at + 4)
            blocks.append(RTCPReportBlock(
                ssrc: bytes.uint32(at: at),
                fractionLost: UInt8(lossWord >> 24),
                // Shift the 24-bit field to the top, then back with sign extension.
                cumulativeLost: Int32(bitPattern: lossWord << 8) >> 8,
                extendedHighestSequenceNumber: bytes.uint32(at: at + 8),
                interarrivalJitter: bytes.uint32(at: at + 12),
                lastSR: bytes.uint32(at: at + 16),
                delaySinceLastSR: bytes.uint32(at: at + 20)))
        }
        return (blocks, end)
    }

    func readSourceDescription() throws(RTPError) -> RTCPSourceDescription {
        var chunks: [RTCPSourceDescription.Chunk] = []
        var at = bodyStart
        for _ in 0..<count {
            guard at + 4 <= bodyEnd else { throw malformed("chunk \(chunks.count + 1) is missing") }
            var chunk = RTCPSourceDescription.Chunk(ssrc: bytes.uint32(at: at), items: [])
            at += 4
            while true {
                guard at < bodyEnd else { throw malformed("an item list lacks its null terminator") }
                let type = bytes[at]
                if type == 0 { break }
                guard at + 2 <= bodyEnd, at + 2 + Int(bytes[at + 1]) <= bodyEnd else {
                    throw malformed("an item runs past the packet")
                }
                let valueEnd = at + 2 + Int(bytes[at + 1])
                chunk.items.append(.init(type: type, value: Array(bytes[(at + 2)..<valueEnd])))
                at = valueEnd
            }
            // One or more nulls end the list, up to the next 32-bit boundary
            // (chunks start word-aligned relative to the packet).
            at += 1
            at += (4 - (at - offset) % 4) % 4
            chunks.append(chunk)
        }
        return RTCPSourceDescription(chunks: chunks)
    }

    func readGoodbye() throws(RTPError) -> RTCPGoodbye {
        let ssrcsEnd = bodyStart + 4 * count
        guard ssrcsEnd <= bodyEnd else { throw malformed("\(count) SSRCs do not fit") }
        let ssrcs = stride(from: bodyStart, to: ssrcsEnd, by: 4).map { bytes.uint32(at: $0) }
        var reason: [UInt8]?
        if ssrcsEnd < bodyEnd {
            let reasonEnd = ssrcsEnd + 1 + Int(bytes[ssrcsEnd])
            guard reasonEnd <= bodyEnd else { throw malformed("the reason runs past the packet") }
            // A zero-length byte here is just the word padding of a BYE without reason.
            if reasonEnd > ssrcsEnd + 1 { reason = Array(bytes[(ssrcsEnd + 1)..<reasonEnd]) }
        }
        return RTCPGoodbye(ssrcs: ssrcs, reason: reason)
    }

    func readApplicationDefined() throws(RTPError) -> RTCPApplicationDefined {
        guard bodyStart + 8 <= bodyEnd else { throw malformed("SSRC or name is missing") }
        return RTCPApplicationDefined(
            subtype: UInt8(count), ssrc: bytes.uint32(at: bodyStart),
            name: bytes.uint32(at: bodyStart + 4),
            data: Array(bytes[(bodyStart + 8)..<bodyEnd]))
    }
}
