import TestSupport
import RTP


/// Parses an RTP packet held in an array.
func parseRTP(_ bytes: [UInt8]) throws(RTPError) -> (header: RTPHeader, payload: Range<Int>) {
    let result = bytes.withUnsafeBytes { raw in Result { () throws(RTPError) in try RTPHeader.parse(raw) } }
    return try result.get()
}

func parseRTCP(_ bytes: [UInt8]) throws(RTPError) -> RTCPCompoundPacket {
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(RTPError) in try RTCPCompoundPacket(parsing: raw) }
    }
    return try result.get()
}

/// Writes a header followed by `payload` into a fresh array.
func serializeRTP(_ header: RTPHeader, payload: [UInt8], extensionData: [UInt8]? = nil) -> [UInt8] {
    var out = [UInt8](repeating: 0xEE, count: header.length)
    let written = out.withUnsafeMutableBytes { buffer in
        if let extensionData {
            return extensionData.withUnsafeBytes { header.write(to: buffer, extensionData: $0) }
        }
        return header.write(to: buffer)
    }
    precondition(written == header.length)
    return out + payload
}
