// Writing RTCP packets (RFC 3550 §6.4-§6.7). Counts are 5-bit fields, so
// lists longer than 31 are cut at 31 rather than corrupting the count; a
// sender with more to say puts it in a further packet of the compound.

extension RTCPCompoundPacket {
    /// The packets back to back, ready for SRTCP protection or sending.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        for packet in packets { packet.serialize(into: &out) }
        return out
    }
}

extension RTCPPacket {
    static let maximumCount = 31

    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .senderReport(let sr):
            let blocks = sr.reportBlocks.prefix(Self.maximumCount)
            let start = beginPacket(&out, count: blocks.count, type: Self.senderReportType)
            out.append(bigEndian: sr.ssrc)
            out.append(bigEndian: UInt32(truncatingIfNeeded: sr.ntpTimestamp >> 32))
            out.append(bigEndian: UInt32(truncatingIfNeeded: sr.ntpTimestamp))
            out.append(bigEndian: sr.rtpTimestamp)
            out.append(bigEndian: sr.senderPacketCount)
            out.append(bigEndian: sr.senderOctetCount)
            for block in blocks { block.serialize(into: &out) }
            out += sr.profileExtension
            endPacket(&out, start: start)
        case .receiverReport(let rr):
            let blocks = rr.reportBlocks.prefix(Self.maximumCount)
            let start = beginPacket(&out, count: blocks.count, type: Self.receiverReportType)
            out.append(bigEndian: rr.ssrc)
            for block in blocks { block.serialize(into: &out) }
            out += rr.profileExtension
            endPacket(&out, start: start)
        case .sourceDescription(let sdes):
            let chunks = sdes.chunks.prefix(Self.maximumCount)
            let start = beginPacket(&out, count: chunks.count, type: Self.sourceDescriptionType)
            for chunk in chunks {
                out.append(bigEndian: chunk.ssrc)
                for item in chunk.items {
                    let value = item.value.prefix(255)
                    out.append(item.type)
                    out.append(UInt8(value.count))
                    out += value
                }
                // At least one null ends the item list, then pad to a word.
                out.append(0)
                out.padToWordBoundary()
            }
            endPacket(&out, start: start)
        case .goodbye(let bye):
            let ssrcs = bye.ssrcs.prefix(Self.maximumCount)
            let start = beginPacket(&out, count: ssrcs.count, type: Self.goodbyeType)
            for ssrc in ssrcs { out.append(bigEndian: ssrc) }
            if let reason = bye.reason?.prefix(255) {
                out.append(UInt8(reason.count))
                out += reason
            }
            endPacket(&out, start: start)
        case .applicationDefined(let app):
            let start = beginPacket(&out, count: Int(app.subtype & 0x1F), type: Self.applicationDefinedType)
            out.append(bigEndian: app.ssrc)
            out.append(bigEndian: app.name)
            out += app.data
            endPacket(&out, start: start)
        case .unknown(let packet):
            out += packet.bytes
        }
    }

    /// Appends version, count and type, with the length filled in by `endPacket`.
    private func beginPacket(_ out: inout [UInt8], count: Int, type: UInt8) -> Int {
        let start = out.count
        out.append(RTPHeader.version << 6 | UInt8(count))
        out.append(type)
        out += [0, 0]
        return start
    }

    private func endPacket(_ out: inout [UInt8], start: Int) {
        out.padToWordBoundary()
        let words = UInt16(truncatingIfNeeded: (out.count - start) / 4 - 1)
        out[start + 2] = UInt8(words >> 8)
        out[start + 3] = UInt8(truncatingIfNeeded: words)
    }
}

extension RTCPReportBlock {
    func serialize(into out: inout [UInt8]) {
        let lost = min(max(cumulativeLost, Self.minimumCumulativeLost), Self.maximumCumulativeLost)
        out.append(bigEndian: ssrc)
        out.append(bigEndian: UInt32(fractionLost) << 24 | UInt32(bitPattern: lost) & 0xFF_FFFF)
        out.append(bigEndian: extendedHighestSequenceNumber)
        out.append(bigEndian: interarrivalJitter)
        out.append(bigEndian: lastSR)
        out.append(bigEndian: delaySinceLastSR)
    }
}
