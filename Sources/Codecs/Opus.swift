import CMediaHelpers
import COpus

/// What an Opus encoder is told (RFC 7587 and libopus's VoIP mode).
public struct OpusEncoderConfiguration: Sendable, Equatable {
    /// 0 (cheapest) to 10; the encoder is most of a transcoded call's cost.
    public var complexity: Int32 = 5
    /// In-band forward error correction, so the browser can rebuild a lost packet.
    public var inbandFEC = true
    /// Discontinuous transmission: near-silence sends almost nothing.
    public var dtx = false
    /// Expected loss, tuning how much FEC to spend.
    public var packetLossPercent: Int32 = 5
    /// Bits per second, or nil for libopus's choice.
    public var bitrate: Int32? = nil

    public init() {}
}

public struct OpusError: Error, CustomStringConvertible, Equatable {
    public var code: Int32
    public var description: String { "opus: " + String(cString: opus_strerror(code)) }
}

/// An Opus encoder for mono speech at the phone side's rate (8 or 16 kHz):
/// libopus resamples internally, so the gateway needs no resampler.
public final class OpusEncoder {
    private let encoder: OpaquePointer
    public let sampleRate: Int32

    public init(sampleRate: Int32, configuration: OpusEncoderConfiguration = OpusEncoderConfiguration()) throws(OpusError) {
        var error: Int32 = 0
        guard let encoder = opus_encoder_create(sampleRate, 1, OPUS_APPLICATION_VOIP, &error), error == OPUS_OK else {
            throw OpusError(code: error)
        }
        self.encoder = encoder
        self.sampleRate = sampleRate
        tieline_opus_encoder_ctl_int(encoder, OPUS_SET_COMPLEXITY_REQUEST, configuration.complexity)
        tieline_opus_encoder_ctl_int(encoder, OPUS_SET_INBAND_FEC_REQUEST, configuration.inbandFEC ? 1 : 0)
        tieline_opus_encoder_ctl_int(encoder, OPUS_SET_DTX_REQUEST, configuration.dtx ? 1 : 0)
        tieline_opus_encoder_ctl_int(encoder, OPUS_SET_PACKET_LOSS_PERC_REQUEST, configuration.packetLossPercent)
        if let bitrate = configuration.bitrate {
            tieline_opus_encoder_ctl_int(encoder, OPUS_SET_BITRATE_REQUEST, bitrate)
        }
    }

    deinit { opus_encoder_destroy(encoder) }

    /// Encodes one frame (2.5 to 60 ms of samples) into `packet`; returns its length.
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, into packet: UnsafeMutableRawBufferPointer) throws(OpusError) -> Int {
        guard let samples = pcm.baseAddress, let output = packet.baseAddress else { throw OpusError(code: OPUS_BAD_ARG) }
        let result = opus_encode(encoder, samples, Int32(pcm.count),
                                 output.assumingMemoryBound(to: UInt8.self), Int32(packet.count))
        guard result >= 0 else { throw OpusError(code: result) }
        return Int(result)
    }
}

/// An Opus decoder that decodes straight to the phone side's rate.
public final class OpusDecoder {
    private let decoder: OpaquePointer
    public let sampleRate: Int32

    public init(sampleRate: Int32) throws(OpusError) {
        var error: Int32 = 0
        guard let decoder = opus_decoder_create(sampleRate, 1, &error), error == OPUS_OK else {
            throw OpusError(code: error)
        }
        self.decoder = decoder
        self.sampleRate = sampleRate
    }

    deinit { opus_decoder_destroy(decoder) }

    /// Decodes a packet into `pcm`; returns the samples written. With
    /// `fec`, decodes the previous (lost) frame from this packet's FEC data.
    public func decode(_ packet: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>,
                       fec: Bool = false) throws(OpusError) -> Int {
        guard let output = pcm.baseAddress, packet.count > 0 else { throw OpusError(code: OPUS_BAD_ARG) }
        let result = opus_decode(decoder, packet.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(packet.count),
                                 output, Int32(pcm.count), fec ? 1 : 0)
        guard result >= 0 else { throw OpusError(code: result) }
        return Int(result)
    }

    /// Packet loss concealment: synthesises `pcm.count` samples for a lost packet.
    public func concealLoss(into pcm: UnsafeMutableBufferPointer<Int16>) throws(OpusError) -> Int {
        guard let output = pcm.baseAddress else { throw OpusError(code: OPUS_BAD_ARG) }
        let result = opus_decode(decoder, nil, 0, output, Int32(pcm.count), 0)
        guard result >= 0 else { throw OpusError(code: result) }
        return Int(result)
    }
}

extension OpusDecoder {
    /// Samples at this decoder's rate that `packet` holds, or nil if it is malformed.
    public func sampleCount(of packet: UnsafeRawBufferPointer) -> Int? {
        guard let bytes = packet.baseAddress?.assumingMemoryBound(to: UInt8.self), packet.count > 0 else { return nil }
        let result = opus_packet_get_nb_samples(bytes, Int32(packet.count), sampleRate)
        return result > 0 ? Int(result) : nil
    }
}

/// What an Opus packet says of itself (RFC 6716 §3.1), without a decoder.
public enum OpusPacket {
    /// Samples at `sampleRate` the packet's frames hold, or nil if it is malformed.
    public static func sampleCount(_ packet: UnsafeRawBufferPointer, sampleRate: Int32) -> Int? {
        guard let bytes = packet.baseAddress?.assumingMemoryBound(to: UInt8.self), packet.count > 0 else { return nil }
        let result = opus_packet_get_nb_samples(bytes, Int32(packet.count), sampleRate)
        return result > 0 ? Int(result) : nil
    }
}
