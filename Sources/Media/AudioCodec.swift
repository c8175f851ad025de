import Codecs

/// The codecs a phone leg speaks (RFC 3551 static payload types). G.722
/// samples at 16 kHz but its RTP clock is 8000 (RFC 3551 §4.5.2).
public enum PhoneCodec: String, Sendable, CaseIterable {
    case pcmu = "PCMU", pcma = "PCMA", g722 = "G722"

    public var sampleRate: Int { self == .g722 ? 16000 : 8000 }
    public var rtpClockRate: Int { 8000 }
    public var staticPayloadType: UInt8 {
        switch self {
        case .pcmu: 0
        case .pcma: 8
        case .g722: 9
        }
    }

    /// Payload bytes for `samples` samples at `sampleRate`.
    func payloadBytes(samples: Int) -> Int { self == .g722 ? samples / 2 : samples }
    /// Samples at `sampleRate` carried by `bytes` of payload.
    func samples(payloadBytes bytes: Int) -> Int { self == .g722 ? bytes * 2 : bytes }

    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
            return nil
        }
        self = codec
    }
}

/// What the browser leg carries: Opus (transcoded), or the phone's own codec
/// (passthrough), or the other G.711 law (transcoded sample by sample).
public enum BrowserCodec: Sendable, Equatable {
    case opus
    case phone(PhoneCodec)

    /// The RTP clock of the browser leg's audio.
    public var rtpClockRate: Int { self == .opus ? 48000 : 8000 }
}

/// One codec's encoder and decoder state at a fixed sample rate, so the two
/// directions of the bridge are the same loop whatever the codecs are.
final class CodecState {
    enum Kind {
        case opus(OpusEncoder, OpusDecoder)
        case g711(G711.Law)
        case g722(G722Encoder, G722Decoder)
    }

    let kind: Kind
    let sampleRate: Int

    init(browser codec: BrowserCodec, sampleRate: Int, opus: OpusEncoderConfiguration) throws(OpusError) {
        switch codec {
        case .opus:
            kind = .opus(try OpusEncoder(sampleRate: Int32(sampleRate), configuration: opus),
                         try OpusDecoder(sampleRate: Int32(sampleRate)))
            self.sampleRate = sampleRate
        case .phone(let phone):
            switch phone {
            case .pcmu: kind = .g711(.mu)
            case .pcma: kind = .g711(.a)
            case .g722: kind = .g722(G722Encoder(), G722Decoder())
            }
            self.sampleRate = phone.sampleRate
        }
    }

    /// Decodes a payload; returns samples written, or nil when it is not decodable.
    func decode(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int? {
        switch kind {
        case .opus(_, let decoder):
            return try? decoder.decode(payload, into: pcm)
        case .g711(let law):
            let count = min(payload.count, pcm.count)
            G711.decode(law, UnsafeRawBufferPointer(rebasing: payload[0..<count]), into: pcm)
            return count
        case .g722(_, let decoder):
            let bytes = min(payload.count, pcm.count / 2)
            return decoder.decode(UnsafeRawBufferPointer(rebasing: payload[0..<bytes]), into: pcm)
        }
    }

    /// Opus in-band FEC: the lost frame before `payload`, `samples` long.
    func decodeFEC(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int? {
        guard case .opus(_, let decoder) = kind else { return nil }
        return try? decoder.decode(payload, into: pcm, fec: true)
    }

    /// Opus's own concealment of a lost frame; nil for codecs without one.
    func conceal(into pcm: UnsafeMutableBufferPointer<Int16>) -> Int? {
        guard case .opus(_, let decoder) = kind else { return nil }
        return try? decoder.concealLoss(into: pcm)
    }

    /// Encodes `pcm`; returns payload bytes, or nil on an encoder error.
    func encode(_ pcm: UnsafeBufferPointer<Int16>, into out: UnsafeMutableRawBufferPointer) -> Int? {
        switch kind {
        case .opus(let encoder, _):
            return try? encoder.encode(pcm, into: out)
        case .g711(let law):
            let count = min(pcm.count, out.count)
            G711.encode(law, UnsafeBufferPointer(rebasing: pcm[0..<count]), into: out.bindMemory(to: UInt8.self))
            return count
        case .g722(let encoder, _):
            return encoder.encode(pcm, into: out.bindMemory(to: UInt8.self))
        }
    }

    /// Samples at `sampleRate` that a payload decodes to.
    func sampleCount(of payload: UnsafeRawBufferPointer) -> Int? {
        switch kind {
        case .opus(_, let decoder): decoder.sampleCount(of: payload)
        case .g711: payload.count
        case .g722: payload.count * 2
        }
    }

    var isOpus: Bool { if case .opus = kind { true } else { false } }
}
