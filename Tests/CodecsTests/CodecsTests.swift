import Codecs
import Foundation
import XCTest

/// The codecs carry a tone through encode and decode at the right frequency
/// and level: what a person on either end of a call would hear.
final class CodecsTests: XCTestCase {
    func tone(_ frequency: Double, rate: Double, count: Int, amplitude: Double = 8000) -> [Int16] {
        (0..<count).map { Int16(amplitude * sin(2 * Double.pi * frequency * Double($0) / rate)) }
    }

    /// The strongest frequency in 10 Hz steps (a DFT scan: small and exact enough for tests).
    func peakFrequency(_ samples: ArraySlice<Int16>, rate: Double, range: ClosedRange<Int> = 100...3900) -> Int {
        var best = (frequency: 0, power: 0.0)
        for frequency in stride(from: range.lowerBound, through: range.upperBound, by: 10) {
            let power = goertzel(samples, frequency: Double(frequency), rate: rate)
            if power > best.power { best = (frequency, power) }
        }
        return best.frequency
    }

    func goertzel(_ samples: ArraySlice<Int16>, frequency: Double, rate: Double) -> Double {
        let coefficient = 2 * cos(2 * Double.pi * frequency / rate)
        var s1 = 0.0, s2 = 0.0
        for sample in samples {
            let s0 = Double(sample) + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        return s1 * s1 + s2 * s2 - coefficient * s1 * s2
    }

    func rms(_ samples: ArraySlice<Int16>) -> Double {
        (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }

    func testOpusAt8kHzCarriesA1kHzTone() throws {
        let encoder = try OpusEncoder(sampleRate: 8000)
        let decoder = try OpusDecoder(sampleRate: 8000)
        let input = tone(1000, rate: 8000, count: 8000)
        var output: [Int16] = []
        var packet = [UInt8](repeating: 0, count: 1500)
        var frame = [Int16](repeating: 0, count: 160)
        for start in stride(from: 0, to: input.count, by: 160) {
            let length = try input[start..<start + 160].withUnsafeBufferPointer { pcm in
                try packet.withUnsafeMutableBytes { try encoder.encode(pcm, into: $0) }
            }
            XCTAssertGreaterThan(length, 0)
            let samples = try packet[0..<length].withUnsafeBytes { bytes in
                try frame.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
            }
            XCTAssertEqual(samples, 160)
            output += frame
        }
        let settled = output[2400...]
        XCTAssertEqual(Double(peakFrequency(settled, rate: 8000)), 1000, accuracy: 20)
        // Within 6 dB of what went in.
        XCTAssertEqual(20 * log10(rms(settled) / rms(input[2400...])), 0, accuracy: 6)
    }

    func testOpusConcealsALostPacketWithSound() throws {
        let encoder = try OpusEncoder(sampleRate: 8000)
        let decoder = try OpusDecoder(sampleRate: 8000)
        let input = tone(440, rate: 8000, count: 1600)
        var packet = [UInt8](repeating: 0, count: 1500)
        var frame = [Int16](repeating: 0, count: 160)
        for start in stride(from: 0, to: input.count, by: 160) {
            let length = try input[start..<start + 160].withUnsafeBufferPointer { pcm in
                try packet.withUnsafeMutableBytes { try encoder.encode(pcm, into: $0) }
            }
            _ = try packet[0..<length].withUnsafeBytes { bytes in
                try frame.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) }
            }
        }
        let concealed = try frame.withUnsafeMutableBufferPointer { try decoder.concealLoss(into: $0) }
        XCTAssertEqual(concealed, 160)
        XCTAssertGreaterThan(rms(frame[...]), 100, "concealment produced silence")
    }

    func testG711BothLawsCarryA440HzTone() {
        for law in [G711.Law.mu, .a] {
            let input = tone(440, rate: 8000, count: 8000)
            var encoded = [UInt8](repeating: 0, count: input.count)
            var decoded = [Int16](repeating: 0, count: input.count)
            input.withUnsafeBufferPointer { pcm in encoded.withUnsafeMutableBufferPointer { G711.encode(law, pcm, into: $0) } }
            encoded.withUnsafeBytes { bytes in decoded.withUnsafeMutableBufferPointer { G711.decode(law, bytes, into: $0) } }
            XCTAssertEqual(Double(peakFrequency(decoded[...], rate: 8000)), 440, accuracy: 10, "\(law)")
            XCTAssertEqual(20 * log10(rms(decoded[...]) / rms(input[...])), 0, accuracy: 0.5, "\(law)")
        }
    }

    func testG711MatchesTheStandardCodeForSilenceAndFullScale() {
        var out = [UInt8](repeating: 0, count: 2)
        [Int16(0), Int16.max].withUnsafeBufferPointer { pcm in out.withUnsafeMutableBufferPointer { G711.encode(.mu, pcm, into: $0) } }
        XCTAssertEqual(out, [0xFF, 0x80])  // µ-law: 0 → 0xFF, positive full scale → 0x80
        [Int16(0), Int16.max].withUnsafeBufferPointer { pcm in out.withUnsafeMutableBufferPointer { G711.encode(.a, pcm, into: $0) } }
        XCTAssertEqual(out, [0xD5, 0xAA])  // A-law: 0 → 0xD5, positive full scale → 0xAA
    }

    func testG722CarriesA1kHzToneAt16kHz() {
        let encoder = G722Encoder()
        let decoder = G722Decoder()
        let input = tone(1000, rate: 16000, count: 16000)
        var encoded = [UInt8](repeating: 0, count: input.count / 2)
        var decoded = [Int16](repeating: 0, count: input.count)
        let bytes = input.withUnsafeBufferPointer { pcm in encoded.withUnsafeMutableBufferPointer { encoder.encode(pcm, into: $0) } }
        XCTAssertEqual(bytes, 8000)
        let samples = encoded.withUnsafeBytes { data in decoded.withUnsafeMutableBufferPointer { decoder.decode(data, into: $0) } }
        XCTAssertEqual(samples, 16000)
        let settled = decoded[4800...]
        XCTAssertEqual(Double(peakFrequency(settled, rate: 16000, range: 100...7000)), 1000, accuracy: 20)
        XCTAssertEqual(20 * log10(rms(settled) / rms(input[4800...])), 0, accuracy: 6)
    }

    func testG711ConcealmentFillsALostFrameWithTheTone() {
        let plc = PacketLossConcealer()
        var input = tone(440, rate: 8000, count: 1600)
        for start in stride(from: 0, to: input.count, by: 160) {
            input[start..<start + 160].withUnsafeMutableBufferPointer { plc.received($0) }
        }
        var lost = [Int16](repeating: 0, count: 160)
        lost.withUnsafeMutableBufferPointer { plc.fillIn($0) }
        XCTAssertGreaterThan(rms(lost[...]), 1000)
        XCTAssertEqual(Double(peakFrequency(lost[...], rate: 8000)), 440, accuracy: 60)
    }
}
