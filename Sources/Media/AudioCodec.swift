import Codecs

/// The codecs a phone leg speaks (RFC 3551 static payload types). G.722
/// samples at 16 kHz but its RTP clock is 8000 (RFC 3551 §4.5.2). Opus
/// (RFC 7587, 48 kHz clock, a dynamic payload type: ours is 111) goes to
/// a trunk that offers it, passed through to and from the browser's Opus.
public enum PhoneCodec: String, Sendable, CaseIterable {
    case pcmu = "PCMU", pcma = "PCMA", g722 = "G722", opus

    public var sampleRate: Int {
        switch self {
        case .pcmu, .pcma: 8000
        case .g722: 16000
        case .opus: 48000
        }
    }
    public var rtpClockRate: Int { self == .opus ? 48000 : 8000 }
    public var staticPayloadType: UInt8 {
        switch self {
        case .pcmu: 0
        case .pcma: 8
        case .g722: 9
        case .opus: 111
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
    public var rtpClockRate: Int {
        switch self {
        case .opus: 48000
        case .phone(let phone): phone.rtpClockRate
        }
    }

    /// The codec's name as statistics and records give it ("opus", "PCMU" ...).
    public var name: String {
        switch self {
        case .opus: "opus"
        case .phone(let phone): phone.rawValue
        }
    }

    /// A phone leg's codec as the bridge carries it: Opus is Opus on
    /// either leg, so Opus to Opus passes through untranscoded.
    public static func leg(_ phone: PhoneCodec) -> BrowserCodec { phone == .opus ? .opus : .phone(phone) }

    /// RTP clock units a payload of this codec spans (G.711 and G.722: one
    /// per byte; Opus: its frames' samples at 48 kHz, from the TOC byte).
    func timestampUnits(of payload: UnsafeRawBufferPointer) -> Int {
        switch self {
        case .opus, .phone(.opus): OpusPacket.sampleCount(payload, sampleRate: 48000) ?? 960
        case .phone: payload.count
        }
    }
}

/// One codec's encoder and decoder state at a fixed sample rate, so the two
/// directions of the bridge are the same loop whatever the codecs are.
final class CodecState {
    enum Kind {
        case opusDecoder(OpusDecoder)
        case opusEncoder(OpusEncoder)
        case g711(G711.Law)
        case g722Decoder(G722Decoder)
        case g722Encoder(G722Encoder)
    }

    enum Role { case decoder, encoder }

    let kind: Kind
    let sampleRate: Int

    /// Only the half that is used: an Opus encoder alone is about 42 KB.
    init(_ codec: BrowserCodec, _ role: Role, sampleRate: Int, opus: OpusEncoderConfiguration) throws(OpusError) {
        switch (codec == .phone(.opus) ? .opus : codec, role) {
        case (.opus, .decoder):
            kind = .opusDecoder(try OpusDecoder(sampleRate: Int32(sampleRate)))
            self.sampleRate = sampleRate
        case (.opus, .encoder):
            kind = .opusEncoder(try OpusEncoder(sampleRate: Int32(sampleRate), configuration: opus))
            self.sampleRate = sampleRate
        case (.phone(let phone), _):
            switch (phone, role) {
            case (.pcmu, _): kind = .g711(.mu)
            case (.pcma, _): kind = .g711(.a)
            case (.g722, .decoder): kind = .g722Decoder(G722Decoder())
            case (.g722, .encoder): kind = .g722Encoder(G722Encoder())
            case (.opus, _): preconditionFailure("Opus is mapped to .opus above")
            }
            self.sampleRate = phone.sampleRate
        }
    }

    /// Decodes a payload; returns samples written, or nil when it is not decodable.
    func decode(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int? {
        switch kind {
        case .opusDecoder(let decoder):
            return try? decoder.decode(payload, into: pcm)
        case .g711(let law):
            let count = min(payload.count, pcm.count)
            G711.decode(law, UnsafeRawBufferPointer(rebasing: payload[0..<count]), into: pcm)
            return count
        case .g722Decoder(let decoder):
            let bytes = min(payload.count, pcm.count / 2)
            return decoder.decode(UnsafeRawBufferPointer(rebasing: payload[0..<bytes]), into: pcm)
        case .opusEncoder, .g722Encoder:
            return nil
        }
    }

    /// Opus in-band FEC: the lost frame before `payload`, `pcm.count` samples long.
    func decodeFEC(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int? {
        guard case .opusDecoder(let decoder) = kind else { return nil }
        return try? decoder.decode(payload, into: pcm, fec: true)
    }

    /// Opus's own concealment of a lost frame; nil for codecs without one.
    func conceal(into pcm: UnsafeMutableBufferPointer<Int16>) -> Int? {
        guard case .opusDecoder(let decoder) = kind else { return nil }
        return try? decoder.concealLoss(into: pcm)
    }

    /// Encodes `pcm`; returns payload bytes, or nil on an encoder error.
    func encode(_ pcm: UnsafeBufferPointer<Int16>, into out: UnsafeMutableRawBufferPointer) -> Int? {
        switch kind {
        case .opusEncoder(let encoder):
            return try? encoder.encode(pcm, into: out)
        case .g711(let law):
            let count = min(pcm.count, out.count)
            G711.encode(law, UnsafeBufferPointer(rebasing: pcm[0..<count]), into: out.bindMemory(to: UInt8.self))
            return count
        case .g722Encoder(let encoder):
            return encoder.encode(pcm, into: out.bindMemory(to: UInt8.self))
        case .opusDecoder, .g722Decoder:
            return nil
        }
    }

    /// Samples at `sampleRate` that a payload decodes to.
    func sampleCount(of payload: UnsafeRawBufferPointer) -> Int? {
        switch kind {
        case .opusDecoder(let decoder): decoder.sampleCount(of: payload)
        case .g711: payload.count
        case .g722Decoder: payload.count * 2
        case .opusEncoder, .g722Encoder: nil
        }
    }

    var isOpus: Bool {
        switch kind {
        case .opusDecoder, .opusEncoder: true
        default: false
        }
    }
}
