import Codecs
import Foundation
@testable import Media
import RTP
import Testing

// Shared helpers for the Media tests: generated tones, RTP packets built with
// RTPHeader.write, a collector for what the bridge emits, and a Goertzel
// filter to tell which tone a decoded stream carries.

/// One packet the bridge emitted, copied out of its reusable buffer.
struct Emitted {
    var header: RTPHeader
    var payload: [UInt8]
    var bytes: [UInt8]
}

/// A sine at `frequency`, `count` samples starting at sample `start`.
func sine(_ frequency: Double, sampleRate: Int, start: Int = 0, count: Int, amplitude: Double = 8000) -> [Int16] {
    (0..<count).map { i in
        Int16(amplitude * sin(2 * Double.pi * frequency * Double(start + i) / Double(sampleRate)))
    }
}

/// Power of `frequency` in `samples` (Goertzel), normalised by length.
func goertzel(_ samples: [Int16], sampleRate: Int, frequency: Double) -> Double {
    let coefficient = 2 * cos(2 * Double.pi * frequency / Double(sampleRate))
    var s1 = 0.0, s2 = 0.0
    for sample in samples {
        let s0 = Double(sample) + coefficient * s1 - s2
        s2 = s1
        s1 = s0
    }
    let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    return power / Double(max(samples.count, 1))
}

/// True when `frequency` carries at least 20 times the power of each probe
/// frequency well away from it (and there is signal at all).
func toneDominates(_ samples: [Int16], sampleRate: Int, frequency: Double,
                   probes: [Double] = [250, 600, 1500, 2200, 3000]) -> Bool {
    let target = goertzel(samples, sampleRate: sampleRate, frequency: frequency)
    guard target > 1e5 else { return false }
    return probes.filter { abs($0 - frequency) > 150 }
        .allSatisfy { target > 20 * goertzel(samples, sampleRate: sampleRate, frequency: $0) }
}

/// An RTP packet: `header` written with RTPHeader.write, then `payload`.
func rtpPacket(_ header: RTPHeader, _ payload: [UInt8], extensionData: [UInt8]? = nil) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: header.length)
    let written = bytes.withUnsafeMutableBytes { buffer in
        if let extensionData {
            return extensionData.withUnsafeBytes { header.write(to: buffer, extensionData: $0) }
        }
        return header.write(to: buffer)
    }
    precondition(written == header.length, "header did not fit")
    return bytes + payload
}

func parseEmitted(_ bytes: [UInt8]) -> Emitted? {
    bytes.withUnsafeBytes { raw in
        guard let (header, range) = try? RTPHeader.parse(raw) else { return nil }
        return Emitted(header: header, payload: Array(bytes[range]), bytes: bytes)
    }
}

/// Feeds packets to one side of a bridge and collects what comes out.
struct BridgeDriver {
    enum Side { case browser, phone }
    let bridge: MediaBridge
    private(set) var emitted: [Emitted] = []
    private(set) var reports: [DTMFReport] = []
    /// Emitted packets that did not parse or did not fit the bridge's buffer.
    private(set) var malformed = 0

    init(_ bridge: MediaBridge) { self.bridge = bridge }

    /// Returns the packets this one call emitted.
    @discardableResult
    mutating func send(_ packet: [UInt8], from side: Side, now: Double) -> [Emitted] {
        var out: [Emitted] = []
        var bad = 0
        let report = packet.withUnsafeBytes { raw in
            let emit: (UnsafeMutableRawBufferPointer, Int) -> Void = { buffer, length in
                guard length <= buffer.count, let parsed = parseEmitted(Array(buffer[0..<length])) else {
                    bad += 1
                    return
                }
                out.append(parsed)
            }
            return side == .browser ? bridge.fromBrowser(raw, now: now, emit: emit)
                                    : bridge.fromPhone(raw, now: now, emit: emit)
        }
        malformed += bad
        emitted += out
        if let report { reports.append(report) }
        return out
    }
}

/// Generates a browser's Opus stream (48 kHz RTP clock) of a tone: 20 ms
/// frames encoded at 8 kHz (Opus decodes at any rate).
final class OpusToneSource {
    let encoder: OpusEncoder
    let frequency: Double
    let payloadType: UInt8
    /// Samples per frame at 8 kHz (160 = 20 ms).
    let frameSamples: Int
    var ssrc: UInt32
    var sequenceNumber: UInt16
    var timestamp: UInt32
    private var sampleIndex = 0
    /// The rate the tone is made and encoded at (16000 for a wideband tone).
    let sampleRate: Int

    init(frequency: Double, payloadType: UInt8 = 111, ssrc: UInt32 = 0xB0B0_0001,
         sequenceNumber: UInt16 = 1000, timestamp: UInt32 = 90_000, frameSamples: Int = 160,
         sampleRate: Int = 8000) throws {
        encoder = try OpusEncoder(sampleRate: Int32(sampleRate))
        self.sampleRate = sampleRate
        self.frameSamples = frameSamples
        self.frequency = frequency
        self.payloadType = payloadType
        self.ssrc = ssrc
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
    }

    /// The next packet; the stream's counters move on either way, so
    /// not sending the result is a loss.
    func next() -> [UInt8] {
        let pcm = sine(frequency, sampleRate: sampleRate, start: sampleIndex, count: frameSamples)
        sampleIndex += frameSamples
        var out = [UInt8](repeating: 0, count: 400)
        let length = pcm.withUnsafeBufferPointer { samples in
            out.withUnsafeMutableBytes { (try? encoder.encode(samples, into: $0)) ?? 0 }
        }
        precondition(length > 0, "opus encode failed")
        let header = RTPHeader(payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        sequenceNumber &+= 1
        timestamp &+= UInt32(frameSamples * 48000 / sampleRate)
        return rtpPacket(header, Array(out[0..<length]))
    }

    /// Skips `frames` frames of the source's clock (silence or loss).
    func skip(frames: Int) {
        for _ in 0..<frames { _ = next() }
    }
}

/// Generates a phone's G.711 stream of a tone (8 kHz clock), `samples` per packet.
struct G711ToneSource {
    let law: G711.Law
    let frequency: Double
    let payloadType: UInt8
    var samples = 160
    var ssrc: UInt32 = 0xFEED_0002
    var sequenceNumber: UInt16 = 40_000
    var timestamp: UInt32 = 123_456
    private var sampleIndex = 0

    init(law: G711.Law = .mu, frequency: Double, payloadType: UInt8 = 0) {
        self.law = law
        self.frequency = frequency
        self.payloadType = payloadType
    }

    mutating func next() -> [UInt8] {
        let pcm = sine(frequency, sampleRate: 8000, start: sampleIndex, count: samples)
        sampleIndex += samples
        var payload = [UInt8](repeating: 0, count: samples)
        pcm.withUnsafeBufferPointer { source in
            payload.withUnsafeMutableBufferPointer { G711.encode(law, source, into: $0) }
        }
        let header = RTPHeader(payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        sequenceNumber &+= 1
        timestamp &+= UInt32(samples)
        return rtpPacket(header, payload)
    }
}

func decodeG711(_ law: G711.Law, _ packets: [Emitted]) -> [Int16] {
    var pcm: [Int16] = []
    for packet in packets {
        var out = [Int16](repeating: 0, count: packet.payload.count)
        packet.payload.withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { G711.decode(law, bytes, into: $0) }
        }
        pcm += out
    }
    return pcm
}

/// Decodes Opus payloads in order at `sampleRate`; nil if one does not decode.
func decodeOpus(_ packets: [Emitted], sampleRate: Int32) throws -> [Int16]? {
    let decoder = try OpusDecoder(sampleRate: sampleRate)
    var pcm: [Int16] = []
    for packet in packets {
        var out = [Int16](repeating: 0, count: 5760)
        let count = packet.payload.withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { try? decoder.decode(bytes, into: $0) }
        }
        guard let count else { return nil }
        pcm += out[0..<count]
    }
    return pcm
}

/// Consecutive differences, wrapping, of a sequence of UInt32/UInt16 values.
func steps(_ values: [UInt32]) -> [UInt32] {
    zip(values.dropFirst(), values).map { $0 &- $1 }
}

func sequenceSteps(_ packets: [Emitted]) -> [UInt16] {
    zip(packets.dropFirst(), packets).map { $0.header.sequenceNumber &- $1.header.sequenceNumber }
}

func timestampSteps(_ packets: [Emitted]) -> [UInt32] {
    steps(packets.map(\.header.timestamp))
}

let browserSSRC: UInt32 = 0x0B0B_0B0B
let phoneSSRC: UInt32 = 0x0F0F_0F0F

/// A bridge between an Opus browser (PT 111) and a phone of `phone` codec.
func opusBridge(phone: PhoneCodec = .pcmu, packetTime: Int = 20,
                browserEvent: (payloadType: UInt8, clockRate: Int)? = nil,
                phoneEvent: UInt8? = nil) throws -> MediaBridge {
    try MediaBridge(BridgeConfiguration(browserCodec: .opus, browserPayloadType: 111,
                                        browserTelephoneEvent: browserEvent, phoneCodec: phone,
                                        phoneTelephoneEvent: phoneEvent, phonePacketTime: packetTime),
                    browserSSRC: browserSSRC, phoneSSRC: phoneSSRC)
}
