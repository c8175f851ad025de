import Foundation

/// What the phone hears while the browser holds the call: a sound file,
/// looped, or the built-in tone. Kept as 16 kHz mono samples (G.722's
/// rate); a G.711 call takes every other sample pair, averaged, so one
/// file serves every codec. Loaded once when the gateway starts: a
/// faulty file is a configuration error, never a failure during a call.
public struct HoldMusic: Sendable, Equatable {
    public static let sampleRate = 16000
    /// The longest file taken: 10 minutes at 16 kHz is 19 MB of samples.
    public static let maximumSeconds = 600

    let samples: [Int16]

    /// A steady, quiet sine (about -20 dBFS). One second holds a whole
    /// number of periods for any whole frequency, so the loop has no click.
    public static func tone(hertz: Int = 440) -> HoldMusic {
        let step = 2 * Double.pi * Double(hertz) / Double(sampleRate)
        return HoldMusic(samples: (0..<sampleRate).map { Int16(3300 * sin(Double($0) * step)) })
    }

    init(samples: [Int16]) {
        self.samples = samples.isEmpty ? [0] : samples
    }

    /// A RIFF/WAVE file of 16-bit PCM, mono or stereo (mixed down), at any
    /// rate from 8 to 48 kHz (resampled linearly to 16 kHz).
    public init(wavFile path: String) throws(HoldMusicError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HoldMusicError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            self = try Self.parseWAV([UInt8](data))
        } catch {
            throw HoldMusicError("\(path): \(error.reason)")
        }
    }

    static func parseWAV(_ bytes: [UInt8]) throws(HoldMusicError) -> HoldMusic {
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw HoldMusicError("not a WAV file (no RIFF/WAVE header)")
        }
        var format: (channels: Int, rate: Int, bits: Int)?
        var offset = 12
        while offset + 8 <= bytes.count {
            let size = u32(offset + 4)
            let body = offset + 8
            let end = min(bytes.count, body + size)
            if bytes[offset..<offset + 4].elementsEqual("fmt ".utf8) {
                guard size >= 16, body + 16 <= bytes.count else { throw HoldMusicError("a truncated fmt chunk") }
                let code = u16(body)
                // 0xFFFE is WAVE_FORMAT_EXTENSIBLE, whose sub-format we take as PCM.
                guard code == 1 || code == 0xFFFE else {
                    throw HoldMusicError("format \(code) is not PCM: convert it, say with `sox in.mp3 -b 16 out.wav`")
                }
                format = (u16(body + 2), u32(body + 4), u16(body + 14))
            } else if bytes[offset..<offset + 4].elementsEqual("data".utf8) {
                guard let format else { throw HoldMusicError("the data chunk comes before fmt") }
                guard format.bits == 16 else { throw HoldMusicError("\(format.bits)-bit samples; only 16-bit PCM is taken") }
                guard (1...2).contains(format.channels) else { throw HoldMusicError("\(format.channels) channels; mono or stereo only") }
                guard (8000...48000).contains(format.rate) else { throw HoldMusicError("\(format.rate) Hz; 8000 to 48000 only") }
                let frames = (end - body) / (2 * format.channels)
                guard frames > 0 else { throw HoldMusicError("no samples") }
                guard frames / format.rate <= maximumSeconds else {
                    throw HoldMusicError("longer than \(maximumSeconds / 60) minutes")
                }
                var mono = [Int16](repeating: 0, count: frames)
                for frame in 0..<frames {
                    var sum = 0
                    for channel in 0..<format.channels {
                        sum += Int(Int16(truncatingIfNeeded: u16(body + 2 * (frame * format.channels + channel))))
                    }
                    mono[frame] = Int16(sum / format.channels)
                }
                return HoldMusic(samples: resample(mono, from: format.rate))
            }
            offset = body + size + (size & 1)
        }
        throw HoldMusicError(format == nil ? "no fmt chunk" : "no data chunk")
    }

    static func resample(_ samples: [Int16], from rate: Int) -> [Int16] {
        guard rate != sampleRate else { return samples }
        let count = max(1, samples.count * sampleRate / rate)
        let step = Double(rate) / Double(sampleRate)
        return (0..<count).map { index in
            let position = Double(index) * step
            let left = min(Int(position), samples.count - 1)
            let right = min(left + 1, samples.count - 1)
            let fraction = position - Double(left)
            return Int16(Double(samples[left]) * (1 - fraction) + Double(samples[right]) * fraction)
        }
    }
}

public struct HoldMusicError: Error, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// One call's place in the hold music; confined to the session's loop.
final class HoldMusicPlayer {
    private let music: HoldMusic
    private var position = 0
    private let frame: UnsafeMutableBufferPointer<Int16>

    init(_ music: HoldMusic, frameSamples: Int) {
        self.music = music
        frame = .allocate(capacity: max(frameSamples, 1))
        frame.initialize(repeating: 0)
    }

    deinit { frame.deallocate() }

    /// The next frame at `sampleRate` (16000, or 8000: pairs averaged).
    func nextFrame(sampleRate: Int) -> UnsafeBufferPointer<Int16> {
        let samples = music.samples
        let stride = HoldMusic.sampleRate / max(sampleRate, 1) == 2 ? 2 : 1
        for index in 0..<frame.count {
            if stride == 2 {
                let first = Int(samples[position])
                let second = Int(samples[(position + 1) % samples.count])
                frame[index] = Int16((first + second) / 2)
            } else {
                frame[index] = samples[position]
            }
            position = (position + stride) % samples.count
        }
        return UnsafeBufferPointer(frame)
    }
}
