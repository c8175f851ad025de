@testable import Media
import RTP
import Testing

/// Whatever the incoming stream does (a new source, loss, silence,
/// reordering), the gateway's outgoing stream stays one continuous RTP stream.
@Suite("Bridge continuity and loss")
struct ContinuityAndLossTests {
    @Test("A new browser source keeps our SSRC, numbering and clock, and starts a talkspurt")
    func newSourceTranscoded() throws {
        var driver = BridgeDriver(try opusBridge())
        let first = try OpusToneSource(frequency: 1000, ssrc: 0x1111, sequenceNumber: 100, timestamp: 5_000)
        for i in 0..<25 { driver.send(first.next(), from: .browser, now: Double(i) * 0.02) }
        let second = try OpusToneSource(frequency: 1000, ssrc: 0x2222, sequenceNumber: 60_000, timestamp: 3_000_000_000)
        for i in 25..<50 { driver.send(second.next(), from: .browser, now: Double(i) * 0.02) }

        let out = driver.emitted
        #expect(out.count == 50)
        #expect(Set(out.map(\.header.ssrc)) == [phoneSSRC])
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(driver.bridge.toPhone.sourceSSRC == 0x2222)
        // RFC 3551 §4.1: the first packet after the change begins a new talkspurt.
        #expect(out.indices.filter { out[$0].header.marker } == [0, 25])
    }

    @Test("A new phone source keeps the browser stream continuous")
    func newPhoneSource() throws {
        var driver = BridgeDriver(try opusBridge())
        var first = G711ToneSource(frequency: 440)
        for i in 0..<20 { driver.send(first.next(), from: .phone, now: Double(i) * 0.02) }
        var second = G711ToneSource(frequency: 440)
        second.ssrc = 0x3333
        second.sequenceNumber = 7
        second.timestamp = 0xFFFF_FF00  // wraps while it plays
        for i in 20..<40 { driver.send(second.next(), from: .phone, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 40)
        #expect(Set(out.map(\.header.ssrc)) == [browserSSRC])
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(timestampSteps(out).allSatisfy { $0 == 960 })
        #expect(driver.bridge.toBrowser.droppedLate == 0)
    }

    @Test("One lost Opus packet is concealed: the phone hears no gap")
    func opusLossConcealed() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000)
        for i in 0..<50 {
            let packet = source.next()
            if i != 20 { driver.send(packet, from: .browser, now: Double(i) * 0.02) }
        }
        let out = driver.emitted
        #expect(out.count == 50)
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(out.dropFirst().allSatisfy { !$0.header.marker })
        #expect(driver.bridge.toPhone.concealedSamples == 160)
        #expect(toneDominates(decodeG711(.mu, Array(out.dropFirst(10))), sampleRate: 8000, frequency: 1000))
    }

    @Test("Lost G.711 packets are concealed toward the browser")
    func g711LossConcealed() throws {
        var driver = BridgeDriver(try opusBridge())
        var source = G711ToneSource(frequency: 440)
        for i in 0..<50 {
            let packet = source.next()
            if i != 20 && i != 21 { driver.send(packet, from: .phone, now: Double(i) * 0.02) }
        }
        let out = driver.emitted
        #expect(out.count == 50)
        #expect(timestampSteps(out).allSatisfy { $0 == 960 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(driver.bridge.toBrowser.concealedSamples == 320)
        let pcm = try #require(try decodeOpus(out, sampleRate: 8000))
        #expect(toneDominates(Array(pcm.dropFirst(1600)), sampleRate: 8000, frequency: 440))
    }

    @Test("A 100 ms gap is still concealed (the limit is inclusive)")
    func hundredMillisecondsConcealed() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000)
        for i in 0..<10 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        source.skip(frames: 5)
        for i in 15..<25 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 25)
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(driver.bridge.toPhone.concealedSamples == 800)
    }

    @Test("A long gap (1 s) is silence: nothing synthesised, the clock jumps, a new talkspurt starts")
    func longGapFromBrowser() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000)
        for i in 0..<10 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        source.skip(frames: 50)
        for i in 60..<70 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 20)
        #expect(driver.bridge.toPhone.concealedSamples == 0)
        let tsSteps = timestampSteps(out)
        #expect(tsSteps[9] == 160 + 8000)
        #expect(tsSteps.enumerated().allSatisfy { $0.offset == 9 || $0.element == 160 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(out.indices.filter { out[$0].header.marker } == [0, 10])
    }

    @Test("A long gap from the phone moves the browser's clock by the gap at 48 kHz")
    func longGapFromPhone() throws {
        var driver = BridgeDriver(try opusBridge())
        var source = G711ToneSource(frequency: 440)
        for i in 0..<60 {
            let packet = source.next()
            if i < 10 || i >= 20 { driver.send(packet, from: .phone, now: Double(i) * 0.02) }
        }
        let out = driver.emitted
        #expect(out.count == 50)
        #expect(driver.bridge.toBrowser.concealedSamples == 0)
        #expect(timestampSteps(out)[9] == 960 * 11)
        #expect(out[10].header.marker)
    }

    @Test("Duplicated and reordered packets are dropped as late, the stream stays continuous")
    func lateDropped() throws {
        var driver = BridgeDriver(try opusBridge())
        let source = try OpusToneSource(frequency: 1000)
        var packets: [[UInt8]] = []
        for _ in 0..<13 { packets.append(source.next()) }
        for i in 0..<10 { driver.send(packets[i], from: .browser, now: Double(i) * 0.02) }
        // A duplicate of an old packet.
        #expect(driver.send(packets[5], from: .browser, now: 0.2).isEmpty)
        // 12 before 11: 11 is concealed when 12 arrives, so 11 itself is late.
        driver.send(packets[10], from: .browser, now: 0.21)
        driver.send(packets[12], from: .browser, now: 0.22)
        #expect(driver.send(packets[11], from: .browser, now: 0.23).isEmpty)
        #expect(driver.bridge.toPhone.droppedLate == 2)

        let out = driver.emitted
        #expect(out.count == 13)
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
    }

    @Test("Undecodable Opus payloads are counted and emit nothing")
    func undecodableOpus() throws {
        var driver = BridgeDriver(try opusBridge())
        // TOC byte with code 3 and a frame count of 0 is invalid.
        let header = RTPHeader(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 9)
        #expect(driver.send(rtpPacket(header, [0x03, 0x00]), from: .browser, now: 0).isEmpty)
        #expect(driver.bridge.toPhone.undecodable == 1)
    }
}
