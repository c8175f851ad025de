import Codecs
import Foundation
@testable import Media
import RTP
import Testing

/// Hold music: WAV files read or refused with a reason, and the frames the
/// bridge sends toward the phone in the call's own RTP stream.
@Suite("Hold music")
struct HoldMusicTests {
    /// A RIFF/WAVE file of 16-bit PCM.
    static func wav(_ samples: [Int16], rate: Int, channels: Int = 1, format: UInt16 = 1, bits: UInt16 = 16) -> [UInt8] {
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        func le16(_ value: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        let data = samples.flatMap { le16(Int($0)) }
        var fmt = le16(Int(format)) + le16(channels) + le32(rate) + le32(rate * channels * 2)
        fmt += le16(channels * 2) + le16(Int(bits))
        let body = Array("WAVE".utf8) + Array("fmt ".utf8) + le32(fmt.count) + fmt + Array("LIST".utf8) + le32(3)
            + [1, 2, 3, 0] + Array("data".utf8) + le32(data.count) + data
        return Array("RIFF".utf8) + le32(body.count) + body
    }

    @Test("An 8 kHz mono file is taken at 16 kHz and plays its tone at either rate")
    func eightKilohertzFile() throws {
        let music = try HoldMusic.parseWAV(Self.wav(sine(700, sampleRate: 8000, count: 8000), rate: 8000))
        #expect(music.samples.count == 16000)
        let player = HoldMusicPlayer(music, frameSamples: 160)
        var narrow: [Int16] = []
        for _ in 0..<25 { narrow += Array(player.nextFrame(sampleRate: 8000)) }
        #expect(toneDominates(narrow, sampleRate: 8000, frequency: 700))
        let wide = HoldMusicPlayer(music, frameSamples: 320)
        var samples: [Int16] = []
        for _ in 0..<25 { samples += Array(wide.nextFrame(sampleRate: 16000)) }
        #expect(toneDominates(samples, sampleRate: 16000, frequency: 700))
    }

    @Test("A stereo file is mixed down; a short file loops")
    func stereoAndLooping() throws {
        let left = sine(500, sampleRate: 16000, count: 800)
        let interleaved = left.flatMap { [$0, $0] }
        let music = try HoldMusic.parseWAV(Self.wav(interleaved, rate: 16000, channels: 2))
        #expect(music.samples == left)
        let player = HoldMusicPlayer(music, frameSamples: 320)
        var samples: [Int16] = []
        for _ in 0..<10 { samples += Array(player.nextFrame(sampleRate: 16000)) }
        #expect(samples.count == 3200)
        #expect(Array(samples[800..<1600]) == left, "the file starts again where it ended")
    }

    @Test("Files that are not 16-bit PCM WAV are refused with the reason")
    func refusals() {
        let tone = sine(440, sampleRate: 8000, count: 800)
        let cases: [([UInt8], String)] = [
            (Array("not a wav file at all".utf8), "not a WAV file"),
            (Self.wav(tone, rate: 8000, format: 3), "not PCM"),
            (Self.wav(tone, rate: 8000, bits: 8), "16-bit"),
            (Self.wav(tone, rate: 4000), "4000 Hz"),
            (Self.wav(tone, rate: 8000, channels: 6), "6 channels"),
            (Self.wav([], rate: 8000), "no samples"),
            (Array(Self.wav(tone, rate: 8000)[0..<30]), "truncated fmt"),
        ]
        for (bytes, reason) in cases {
            do {
                _ = try HoldMusic.parseWAV(bytes)
                Issue.record("accepted; expected \(reason)")
            } catch {
                #expect(error.reason.contains(reason), "\(error.reason)")
            }
        }
    }

    @Test("Truncated and corrupted files never crash")
    func corrupted() {
        let good = Self.wav(sine(440, sampleRate: 8000, count: 400), rate: 8000)
        var generator = SystemRandomNumberGenerator()
        for length in 0..<good.count where length % 7 == 0 {
            _ = try? HoldMusic.parseWAV(Array(good[0..<length]))
        }
        for _ in 0..<300 {
            var bytes = good
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? HoldMusic.parseWAV(bytes)
        }
        #expect(throws: HoldMusicError.self) { try HoldMusic(wavFile: "/nonexistent/hold.wav") }
    }

    @Test("The built-in tone is a steady quiet sine")
    func builtInTone() {
        let player = HoldMusicPlayer(.tone(), frameSamples: 160)
        var samples: [Int16] = []
        for _ in 0..<50 { samples += Array(player.nextFrame(sampleRate: 8000)) }
        #expect(toneDominates(samples, sampleRate: 8000, frequency: 440))
        #expect(samples.map { abs(Int($0)) }.max() ?? 0 < 4000)
    }

    @Test("Hold music goes out in the call's own stream: same SSRC, numbering and clock, in the phone's codec")
    func framesInTheStream() throws {
        for codec in [PhoneCodec.pcmu, .g722] {
            let bridge = try MediaBridge(BridgeConfiguration(browserCodec: .opus, browserPayloadType: 111, phoneCodec: codec),
                                         browserSSRC: browserSSRC, phoneSSRC: phoneSSRC)
            let direction = bridge.toPhone
            let player = HoldMusicPlayer(.tone(hertz: 600), frameSamples: direction.sinkFrameSamples)
            var packets: [Emitted] = []
            for index in 0..<50 {
                direction.sendLocalAudio(player.nextFrame(sampleRate: codec.sampleRate), now: Double(index) * 0.02) { buffer, count in
                    packets.append(parseEmitted(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count])))!)
                }
            }
            #expect(packets.count == 50)
            #expect(Set(packets.map(\.header.ssrc)) == [phoneSSRC])
            #expect(packets.allSatisfy { $0.header.payloadType == codec.staticPayloadType && $0.payload.count == 160 })
            #expect(sequenceSteps(packets).allSatisfy { $0 == 1 })
            #expect(timestampSteps(packets).allSatisfy { $0 == 160 })
            var pcm: [Int16] = []
            let decoder = try CodecState(.phone(codec), .decoder, sampleRate: codec.sampleRate, opus: OpusEncoderConfiguration())
            var frame = [Int16](repeating: 0, count: 640)
            for packet in packets {
                let count = packet.payload.withUnsafeBytes { payload in
                    frame.withUnsafeMutableBufferPointer { decoder.decode(payload, into: $0) }
                } ?? 0
                pcm += frame[0..<count]
            }
            #expect(toneDominates(Array(pcm.dropFirst(codec.sampleRate / 10)), sampleRate: codec.sampleRate, frequency: 600),
                    "\(codec)")
        }
    }

    @Test("After the hold the browser's next packet starts a talkspurt and nothing is concealed")
    func resumeStartsATalkspurt() throws {
        var driver = BridgeDriver(try MediaBridge(BridgeConfiguration(browserCodec: .phone(.pcmu), browserPayloadType: 0,
                                                                      phoneCodec: .pcmu),
                                                  browserSSRC: browserSSRC, phoneSSRC: phoneSSRC))
        let payload = [UInt8](repeating: 0xFF, count: 160)
        for index in 0..<5 {
            let header = RTPHeader(payloadType: 0, sequenceNumber: UInt16(index), timestamp: UInt32(index * 160), ssrc: 7)
            driver.send(rtpPacket(header, payload), from: .browser, now: Double(index) * 0.02)
        }
        driver.bridge.toPhone.resynchronize()
        // The browser kept sending while held: its next packet is 100 frames on.
        let header = RTPHeader(payloadType: 0, sequenceNumber: 105, timestamp: 105 * 160, ssrc: 7)
        let after = driver.send(rtpPacket(header, payload), from: .browser, now: 2.1)
        #expect(after.count == 1)
        #expect(after.first?.header.marker == true)
        #expect(after.first.map { $0.header.timestamp &- driver.emitted[4].header.timestamp } == 160,
                "no jump for the pause")
        #expect(driver.bridge.toPhone.concealedSamples == 0)
    }
}
