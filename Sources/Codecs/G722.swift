import CSpanDSP

/// G.722 at 64 kbit/s through spandsp: 16 kHz samples, one byte per two
/// samples. Note the RTP clock says 8000 for G.722 (RFC 3551 §4.5.2).
public final class G722Encoder {
    private let state: OpaquePointer

    public init() {
        state = g722_encode_init(nil, 64_000, 0)
    }

    deinit { g722_encode_free(state) }

    /// Encodes 16 kHz samples; returns bytes written (samples / 2).
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(out.count >= pcm.count / 2, "G.722 output buffer too small")
        return Int(g722_encode(state, out.baseAddress, pcm.baseAddress, Int32(pcm.count)))
    }
}

public final class G722Decoder {
    private let state: OpaquePointer

    public init() {
        state = g722_decode_init(nil, 64_000, 0)
    }

    deinit { g722_decode_free(state) }

    /// Decodes to 16 kHz samples; returns samples written (bytes × 2).
    public func decode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        precondition(out.count >= bytes.count * 2, "G.722 output buffer too small")
        return Int(g722_decode(state, out.baseAddress, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                               Int32(bytes.count)))
    }
}

/// spandsp's packet loss concealment for G.711 audio (8 kHz): remember each
/// good frame, synthesise a plausible one for each lost frame.
public final class PacketLossConcealer {
    private let state: UnsafeMutablePointer<plc_state_t>

    public init() {
        state = plc_init(nil)!
    }

    deinit { plc_free(state) }

    /// Records a frame that arrived (it may be smoothed in place after a gap).
    public func received(_ pcm: UnsafeMutableBufferPointer<Int16>) {
        plc_rx(state, pcm.baseAddress, Int32(pcm.count))
    }

    /// Fills `pcm` with a synthetic frame for one that was lost.
    public func fillIn(_ pcm: UnsafeMutableBufferPointer<Int16>) {
        plc_fillin(state, pcm.baseAddress, Int32(pcm.count))
    }
}
