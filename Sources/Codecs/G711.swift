import CSpanDSP

/// G.711 µ-law (PCMU) and A-law (PCMA) through spandsp's table-free
/// inline coders: a sample in, a byte out, no state and no allocation.
public enum G711 {
    public enum Law: Sendable { case mu, a }

    public static func encode(_ law: Law, _ pcm: UnsafeBufferPointer<Int16>, into out: UnsafeMutableBufferPointer<UInt8>) {
        let count = min(pcm.count, out.count)
        switch law {
        case .mu: for i in 0..<count { out[i] = linear_to_ulaw(Int32(pcm[i])) }
        case .a: for i in 0..<count { out[i] = linear_to_alaw(Int32(pcm[i])) }
        }
    }

    public static func decode(_ law: Law, _ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Int16>) {
        let count = min(bytes.count, out.count)
        switch law {
        case .mu: for i in 0..<count { out[i] = ulaw_to_linear(bytes[i]) }
        case .a: for i in 0..<count { out[i] = alaw_to_linear(bytes[i]) }
        }
    }
}
