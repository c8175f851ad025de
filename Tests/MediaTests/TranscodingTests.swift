import Codecs
@testable import Media
import RTP
import Testing

/// Opus from the browser becomes the phone's codec and back, with the
/// gateway's own SSRC, numbering and clock on each leg.
@Suite("Bridge transcoding")
struct TranscodingTests {
    @Test("Opus 1 kHz from the browser reaches the phone as 20 ms PCMU packets carrying 1 kHz")
    func opusToPCMU() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000)
        for i in 0..<50 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }

        let out = driver.emitted
        #expect(driver.malformed == 0)
        #expect(out.count == 50)
        #expect(out.allSatisfy { $0.header.payloadType == 0 && $0.payload.count == 160 })
        #expect(Set(out.map(\.header.ssrc)) == [phoneSSRC])
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(out.first?.header.marker == true)
        #expect(out.dropFirst().allSatisfy { !$0.header.marker })
        #expect(out.allSatisfy { $0.header.csrcs.isEmpty && $0.header.headerExtension == nil })

        // Past the codec's start-up, the phone hears the browser's tone.
        let pcm = decodeG711(.mu, Array(out.dropFirst(10)))
        #expect(toneDominates(pcm, sampleRate: 8000, frequency: 1000))
        #expect(driver.bridge.toPhone.stream.packetCount == 50)
        #expect(driver.bridge.toPhone.stream.octetCount == 50 * 160)
    }

    @Test("PCMU 440 Hz from the phone reaches the browser as Opus at a 48 kHz clock")
    func pcmuToOpus() throws {
        var driver = BridgeDriver(try opusBridge())
        var source = G711ToneSource(frequency: 440)
        for i in 0..<50 { driver.send(source.next(), from: .phone, now: Double(i) * 0.02) }

        let out = driver.emitted
        #expect(out.count == 50)
        #expect(out.allSatisfy { $0.header.payloadType == 111 && !$0.payload.isEmpty })
        #expect(Set(out.map(\.header.ssrc)) == [browserSSRC])
        #expect(timestampSteps(out).allSatisfy { $0 == 960 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })

        // The browser decodes at 48 kHz: 960 samples a packet, and the tone is there.
        let pcm = try #require(try decodeOpus(out, sampleRate: 48000))
        #expect(pcm.count == 50 * 960)
        #expect(toneDominates(Array(pcm.dropFirst(10 * 960)), sampleRate: 48000, frequency: 440))
    }

    @Test("PCMA phone: PT 8, A-law payloads carrying the tone")
    func opusToPCMA() throws {
        var driver = BridgeDriver(try opusBridge(phone: .pcma))
        let source = try OpusToneSource(frequency: 1000)
        for i in 0..<30 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 30)
        #expect(out.allSatisfy { $0.header.payloadType == 8 && $0.payload.count == 160 })
        #expect(toneDominates(decodeG711(.a, Array(out.dropFirst(10))), sampleRate: 8000, frequency: 1000))
    }

    @Test("Phone packet time sets payload size and timestamp step", arguments: [(10, 80), (20, 160), (30, 240), (40, 320)])
    func packetTime(milliseconds: Int, bytes: Int) throws {
        var driver = BridgeDriver(try opusBridge(packetTime: milliseconds))
        let source = try OpusToneSource(frequency: 1000)
        // 1.2 s of 20 ms frames: a whole number of packets for every packet time.
        for i in 0..<60 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 60 * 160 / bytes)
        #expect(out.allSatisfy { $0.payload.count == bytes && $0.header.payloadType == 0 })
        #expect(timestampSteps(out).allSatisfy { $0 == UInt32(bytes) })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(toneDominates(decodeG711(.mu, Array(out.dropFirst(out.count / 5))), sampleRate: 8000, frequency: 1000))
    }

    @Test("Out-of-range packet times are clamped to 10...40 ms in 10 ms steps")
    func packetTimeClamped() {
        let values = [5, 25, 60].map {
            BridgeConfiguration(browserCodec: .opus, browserPayloadType: 111, phoneCodec: .pcmu, phonePacketTime: $0)
                .phonePacketTime
        }
        #expect(values == [10, 20, 40])
    }

    @Test("G.722 phone: 160 bytes per 20 ms at an 8000 RTP clock, tone preserved at 16 kHz")
    func opusToG722() throws {
        var driver = BridgeDriver(try opusBridge(phone: .g722))
        let source = try OpusToneSource(frequency: 1000)
        for i in 0..<50 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 50)
        #expect(out.allSatisfy { $0.header.payloadType == 9 && $0.payload.count == 160 })
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })

        let decoder = G722Decoder()
        var pcm: [Int16] = []
        for packet in out.dropFirst(10) {
            var samples = [Int16](repeating: 0, count: 320)
            let count = packet.payload.withUnsafeBytes { bytes in
                samples.withUnsafeMutableBufferPointer { decoder.decode(bytes, into: $0) }
            }
            pcm += samples[0..<count]
        }
        #expect(pcm.count == 40 * 320)
        #expect(toneDominates(pcm, sampleRate: 16000, frequency: 1000))
    }

    @Test("G.722 phone to Opus browser: timestamp step 960")
    func g722ToOpus() throws {
        var driver = BridgeDriver(try opusBridge(phone: .g722))
        let encoder = G722Encoder()
        for i in 0..<20 {
            let pcm = sine(440, sampleRate: 16000, start: i * 320, count: 320)
            var payload = [UInt8](repeating: 0, count: 160)
            _ = pcm.withUnsafeBufferPointer { samples in
                payload.withUnsafeMutableBufferPointer { encoder.encode(samples, into: $0) }
            }
            let header = RTPHeader(payloadType: 9, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), ssrc: 77)
            driver.send(rtpPacket(header, payload), from: .phone, now: Double(i) * 0.02)
        }
        let out = driver.emitted
        #expect(out.count == 20)
        #expect(timestampSteps(out).allSatisfy { $0 == 960 })
        let pcm = try #require(try decodeOpus(out, sampleRate: 16000))
        #expect(toneDominates(Array(pcm.dropFirst(5 * 320)), sampleRate: 16000, frequency: 440))
    }

    @Test("G.722 stays wideband both ways: 5 kHz from the browser and 6 kHz from the phone cross unaliased")
    func g722IsWidebandBothWays() throws {
        var driver = BridgeDriver(try opusBridge(phone: .g722))
        let source = try OpusToneSource(frequency: 5000, frameSamples: 320, sampleRate: 16000)
        for i in 0..<50 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let decoder = G722Decoder()
        var pcm: [Int16] = []
        for packet in driver.emitted.dropFirst(10) {
            var samples = [Int16](repeating: 0, count: 320)
            let count = packet.payload.withUnsafeBytes { bytes in
                samples.withUnsafeMutableBufferPointer { decoder.decode(bytes, into: $0) }
            }
            pcm += samples[0..<count]
        }
        #expect(toneDominates(pcm, sampleRate: 16000, frequency: 5000), "the phone gets 5 kHz, above narrowband")

        var back = BridgeDriver(try opusBridge(phone: .g722))
        let encoder = G722Encoder()
        for i in 0..<30 {
            let tone = sine(6000, sampleRate: 16000, start: i * 320, count: 320)
            var payload = [UInt8](repeating: 0, count: 160)
            _ = tone.withUnsafeBufferPointer { samples in
                payload.withUnsafeMutableBufferPointer { encoder.encode(samples, into: $0) }
            }
            let header = RTPHeader(payloadType: 9, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), ssrc: 77)
            back.send(rtpPacket(header, payload), from: .phone, now: Double(i) * 0.02)
        }
        let heard = try #require(try decodeOpus(back.emitted, sampleRate: 48000))
        #expect(toneDominates(Array(heard.dropFirst(5 * 960)), sampleRate: 48000, frequency: 6000),
                "the browser gets 6 kHz, not its 2 kHz alias")
    }

    @Test("60 ms Opus frames become three 20 ms PCMU packets each; a lost one is rebuilt whole")
    func longOpusFrames() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000, frameSamples: 480)
        for i in 0..<20 {
            let packet = source.next()
            if i != 10 { driver.send(packet, from: .browser, now: Double(i) * 0.06) }
        }
        let out = driver.emitted
        #expect(out.count == 60)
        #expect(out.allSatisfy { $0.payload.count == 160 })
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(driver.bridge.toPhone.concealedSamples == 480)
        #expect(toneDominates(decodeG711(.mu, Array(out.dropFirst(6))), sampleRate: 8000, frequency: 1000))
    }

    @Test("Packets of another payload type are ignored")
    func foreignPayloadTypeIgnored() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000, payloadType: 96)
        for i in 0..<5 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        var phone = G711ToneSource(frequency: 440, payloadType: 8)
        for i in 0..<5 { driver.send(phone.next(), from: .phone, now: Double(i) * 0.02) }
        #expect(driver.emitted.isEmpty)
    }
}
