// The RTP fixed header, CSRC list and header extension (RFC 3550 §5.1, §5.3.1).
//
// Storage choice for the hot path: CSRCs live in fixed inline storage
// (`CSRCList`, at most 15 by the CC field) and the header extension is kept
// as its profile and length only. Its data always sits at the same place,
// right after the extension's own 4-byte header, so `extensionDataRange`
// locates it inside the buffer the header was parsed from without copying.
// Hence `parse` never allocates, with or without CSRCs and extensions.

public struct RTPHeader: Sendable, Equatable {
    /// The only version RFC 3550 defines.
    public static let version: UInt8 = 2
    /// Bytes before the CSRC list.
    public static let fixedLength = 12

    /// P: the payload is followed by padding octets, the last one counting them.
    public var padding: Bool
    /// M: meaning set by the profile (start of a talkspurt for audio).
    public var marker: Bool
    /// PT, 7 bits.
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    /// Synchronization source.
    public var ssrc: UInt32
    /// Contributing sources.
    public var csrcs: CSRCList
    /// Present when the X bit is set.
    public var headerExtension: RTPHeaderExtension?

    public init(padding: Bool = false, marker: Bool = false, payloadType: UInt8,
                sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                csrcs: CSRCList = CSRCList(), headerExtension: RTPHeaderExtension? = nil) {
        self.padding = padding
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.headerExtension = headerExtension
    }

    /// Bytes from the start of the packet to the payload, extension data included.
    public var length: Int {
        Self.fixedLength + 4 * csrcs.count + (headerExtension.map { 4 + $0.byteCount } ?? 0)
    }

    /// Where the extension's data lies in the packet (parsed or written).
    public var extensionDataRange: Range<Int>? {
        guard let ext = headerExtension else { return nil }
        let start = Self.fixedLength + 4 * csrcs.count + 4
        return start..<(start + ext.byteCount)
    }

    /// Parses the header of the RTP packet in `bytes`. The payload range
    /// excludes padding; the extension's data is at `extensionDataRange`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RTPError)
        -> (header: RTPHeader, payload: Range<Int>)
    {
        guard bytes.count >= fixedLength else {
            throw .truncated(needed: fixedLength, available: bytes.count)
        }
        let first = bytes[0]
        let version = first >> 6
        guard version == Self.version else { throw .unsupportedVersion(offset: 0, version: version) }
        let second = bytes[1]

        var header = RTPHeader(
            padding: first & 0x20 != 0,
            marker: second & 0x80 != 0,
            payloadType: second & 0x7F,
            sequenceNumber: bytes.uint16(at: 2),
            timestamp: bytes.uint32(at: 4),
            ssrc: bytes.uint32(at: 8))

        let csrcCount = Int(first & 0x0F)
        var offset = fixedLength + 4 * csrcCount
        guard bytes.count >= offset else { throw .truncated(needed: offset, available: bytes.count) }
        for i in 0..<csrcCount {
            header.csrcs.append(bytes.uint32(at: fixedLength + 4 * i))
        }

        if first & 0x10 != 0 {
            guard bytes.count >= offset + 4 else {
                throw .truncated(needed: offset + 4, available: bytes.count)
            }
            let ext = RTPHeaderExtension(profile: bytes.uint16(at: offset), length: bytes.uint16(at: offset + 2))
            offset += 4 + ext.byteCount
            guard bytes.count >= offset else { throw .truncated(needed: offset, available: bytes.count) }
            header.headerExtension = ext
        }

        var end = bytes.count
        if header.padding {
            // The count includes itself, so zero is as invalid as too large.
            let count = end > offset ? Int(bytes[end - 1]) : 0
            guard count >= 1, count <= end - offset else {
                throw .invalidPadding(offset: 0, count: count, available: end - offset)
            }
            end -= count
        }
        return (header, offset..<end)
    }

    /// Writes the header into `buffer` and returns the bytes written, or 0
    /// (writing nothing) when the buffer is too small or `extensionData` is
    /// given with a size other than the extension's `byteCount`. Extension
    /// data not given is zero-filled, for the caller to fill in place at
    /// `extensionDataRange`. Padding octets, if `padding` is set, are the
    /// caller's to append after the payload.
    public func write(to buffer: UnsafeMutableRawBufferPointer,
                      extensionData: UnsafeRawBufferPointer? = nil) -> Int {
        let total = length
        guard buffer.count >= total else { return 0 }
        if let data = extensionData, data.count != (headerExtension?.byteCount ?? -1) { return 0 }

        buffer[0] = Self.version << 6
            | (padding ? 0x20 : 0)
            | (headerExtension != nil ? 0x10 : 0)
            | UInt8(csrcs.count)
        buffer[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
        buffer.store(sequenceNumber, at: 2)
        buffer.store(timestamp, at: 4)
        buffer.store(ssrc, at: 8)
        var offset = Self.fixedLength
        for csrc in csrcs {
            buffer.store(csrc, at: offset)
            offset += 4
        }
        if let ext = headerExtension {
            buffer.store(ext.profile, at: offset)
            buffer.store(ext.length, at: offset + 2)
            offset += 4
            let dataArea = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<total])
            if let data = extensionData, data.count > 0 {
                dataArea.copyMemory(from: data)
            } else if dataArea.count > 0 {
                dataArea.initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
        return total
    }

    /// Changes fields of the RTP packet in `bytes` in place, leaving the rest
    /// untouched: what the bridge does when it relays a packet to a leg with
    /// its own SSRC, numbering, clock and payload type mapping.
    public static func rewrite(_ bytes: UnsafeMutableRawBufferPointer,
                               sequenceNumber: UInt16? = nil, timestamp: UInt32? = nil,
                               ssrc: UInt32? = nil, payloadType: UInt8? = nil,
                               marker: Bool? = nil) throws(RTPError) {
        guard bytes.count >= fixedLength else {
            throw .truncated(needed: fixedLength, available: bytes.count)
        }
        let version = bytes[0] >> 6
        guard version == Self.version else { throw .unsupportedVersion(offset: 0, version: version) }
        if let marker {
            bytes[1] = (bytes[1] & 0x7F) | (marker ? 0x80 : 0)
        }
        if let payloadType {
            bytes[1] = (bytes[1] & 0x80) | (payloadType & 0x7F)
        }
        if let sequenceNumber { bytes.store(sequenceNumber, at: 2) }
        if let timestamp { bytes.store(timestamp, at: 4) }
        if let ssrc { bytes.store(ssrc, at: 8) }
    }
}

/// The header extension's own header (RFC 3550 §5.3.1). The data follows it
/// in the packet; see `RTPHeader.extensionDataRange`.
public struct RTPHeaderExtension: Sendable, Equatable {
    /// "defined by profile": 0xBEDE for RFC 8285 one-byte elements,
    /// 0x1000 (low 4 bits "appbits") for two-byte ones.
    public var profile: UInt16
    /// Length of the data in 32-bit words, as on the wire.
    public var length: UInt16

    public init(profile: UInt16, length: UInt16) {
        self.profile = profile
        self.length = length
    }

    /// Length of the data in bytes.
    public var byteCount: Int { Int(length) * 4 }
}
