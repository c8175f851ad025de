import Codecs
@testable import Media
import RTP
import Testing

/// When the browser speaks the phone's codec, payloads cross untouched and
/// only the header is the gateway's own.
@Suite("Bridge passthrough")
struct PassthroughTests {
    func passthroughBridge(_ codec: PhoneCodec = .pcmu) throws -> MediaBridge {
        try MediaBridge(BridgeConfiguration(browserCodec: .phone(codec), browserPayloadType: codec.staticPayloadType,
                                            phoneCodec: codec),
                        browserSSRC: browserSSRC, phoneSSRC: phoneSSRC)
    }

    func payload(_ seed: Int, count: Int = 160) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7) }
    }

    @Test("Payload bytes identical; SSRC and numbering ours; CSRCs and header extension stripped")
    func bytesUnchanged() throws {
        var driver = BridgeDriver(try passthroughBridge())
        #expect(driver.bridge.configuration.isPassthrough)
        #expect(driver.bridge.toPhone.isPassthrough && driver.bridge.toBrowser.isPassthrough)
        var sent: [[UInt8]] = []
        for i in 0..<10 {
            let header = RTPHeader(marker: i == 3, payloadType: 0, sequenceNumber: UInt16(truncatingIfNeeded: 65_530 + i),
                                   timestamp: UInt32(4_000_000_000) &+ UInt32(i * 160), ssrc: 0xABCD,
                                   csrcs: [1, 2, 3], headerExtension: RTPHeaderExtension(profile: 0xBEDE, length: 1))
            sent.append(payload(i))
            driver.send(rtpPacket(header, sent[i], extensionData: [0x10, 0xFF, 0, 0]), from: .browser, now: Double(i) * 0.02)
        }
        let out = driver.emitted
        #expect(out.count == 10)
        #expect(out.map(\.payload) == sent)
        #expect(out.allSatisfy { $0.bytes.count == RTPHeader.fixedLength + 160 })
        #expect(out.allSatisfy { $0.header.csrcs.isEmpty && $0.header.headerExtension == nil && !$0.header.padding })
        #expect(Set(out.map(\.header.ssrc)) == [phoneSSRC])
        #expect(out.allSatisfy { $0.header.payloadType == 0 })
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        // Our talkspurt starts with our first packet, not where the browser's marker was.
        #expect(out.indices.filter { out[$0].header.marker } == [0])
        #expect(driver.bridge.toPhone.concealedSamples == 0)
    }

    @Test("Phone to browser is passed through the same way")
    func phoneToBrowser() throws {
        var driver = BridgeDriver(try passthroughBridge(.pcma))
        var source = G711ToneSource(law: .a, frequency: 440, payloadType: 8)
        var payloads: [[UInt8]] = []
        for i in 0..<10 {
            let packet = source.next()
            payloads.append(Array(packet[12...]))
            driver.send(packet, from: .phone, now: Double(i) * 0.02)
        }
        let out = driver.emitted
        #expect(out.map(\.payload) == payloads)
        #expect(Set(out.map(\.header.ssrc)) == [browserSSRC])
        #expect(out.allSatisfy { $0.header.payloadType == 8 })
    }

    @Test("Padding is not relayed as payload")
    func paddingRemoved() throws {
        var driver = BridgeDriver(try passthroughBridge())
        let header = RTPHeader(padding: true, payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 5)
        let out = driver.send(rtpPacket(header, payload(1) + [0, 0, 3]), from: .browser, now: 0)
        #expect(out.count == 1)
        #expect(out.first?.payload == payload(1))
        #expect(out.first?.header.padding == false)
    }

    @Test("Loss in passthrough: nothing synthesised, our clock skips the gap, numbering stays continuous")
    func lossSkipsClock() throws {
        var driver = BridgeDriver(try passthroughBridge())
        for i in 0..<10 where i != 4 && i != 5 {
            let header = RTPHeader(payloadType: 0, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), ssrc: 5)
            driver.send(rtpPacket(header, payload(i)), from: .browser, now: Double(i) * 0.02)
        }
        let out = driver.emitted
        #expect(out.count == 8)
        #expect(timestampSteps(out) == [160, 160, 160, 480, 160, 160, 160])
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(driver.bridge.toPhone.concealedSamples == 0)
    }

    @Test("A new source in passthrough: continuous numbering and clock, marker on its first packet, late packets dropped")
    func newSourceAndLate() throws {
        var driver = BridgeDriver(try passthroughBridge())
        for i in 0..<5 {
            let header = RTPHeader(payloadType: 0, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), ssrc: 5)
            driver.send(rtpPacket(header, payload(i)), from: .browser, now: Double(i) * 0.02)
        }
        let late = RTPHeader(payloadType: 0, sequenceNumber: 2, timestamp: 320, ssrc: 5)
        #expect(driver.send(rtpPacket(late, payload(2)), from: .browser, now: 0.1).isEmpty)
        #expect(driver.bridge.toPhone.droppedLate == 1)
        for i in 0..<5 {
            let header = RTPHeader(payloadType: 0, sequenceNumber: UInt16(900 + i), timestamp: UInt32(77_000 + i * 160), ssrc: 6)
            driver.send(rtpPacket(header, payload(i)), from: .browser, now: 0.12 + Double(i) * 0.02)
        }
        let out = driver.emitted
        #expect(out.count == 10)
        #expect(sequenceSteps(out).allSatisfy { $0 == 1 })
        #expect(timestampSteps(out).allSatisfy { $0 == 160 })
        #expect(out.indices.filter { out[$0].header.marker } == [0, 5])
    }

    @Test("PCMA browser to PCMU phone is converted sample by sample")
    func lawConversion() throws {
        var driver = BridgeDriver(try MediaBridge(
            BridgeConfiguration(browserCodec: .phone(.pcma), browserPayloadType: 8, phoneCodec: .pcmu),
            browserSSRC: browserSSRC, phoneSSRC: phoneSSRC))
        #expect(!driver.bridge.configuration.isPassthrough)
        var source = G711ToneSource(law: .a, frequency: 1000, payloadType: 8)
        for i in 0..<20 { driver.send(source.next(), from: .browser, now: Double(i) * 0.02) }
        let out = driver.emitted
        #expect(out.count == 20)
        #expect(out.allSatisfy { $0.header.payloadType == 0 && $0.payload.count == 160 })
        #expect(toneDominates(decodeG711(.mu, out), sampleRate: 8000, frequency: 1000))
    }

    @Test("Opus on both legs passes through: payloads untouched, the clock moved by each packet's 48 kHz samples")
    func opusBothWays() throws {
        let bridge = try MediaBridge(BridgeConfiguration(browserCodec: .opus, browserPayloadType: 111,
                                                         phoneCodec: .opus, phonePayloadType: 96),
                                     browserSSRC: browserSSRC, phoneSSRC: phoneSSRC)
        #expect(bridge.configuration.isPassthrough)
        var driver = BridgeDriver(bridge)
        let fromBrowser = try OpusToneSource(frequency: 1000)
        let fromPhone = try OpusToneSource(frequency: 440, payloadType: 96, ssrc: 0xFACE, frameSamples: 320)
        var sentToPhone: [[UInt8]] = []
        for i in 0..<10 {
            let packet = fromBrowser.next()
            sentToPhone.append(Array(packet[RTPHeader.fixedLength...]))
            driver.send(packet, from: .browser, now: Double(i) * 0.02)
        }
        let toPhone = driver.emitted
        #expect(toPhone.map(\.payload) == sentToPhone)
        #expect(toPhone.allSatisfy { $0.header.payloadType == 96 && $0.header.ssrc == phoneSSRC })
        #expect(timestampSteps(toPhone).allSatisfy { $0 == 960 }, "20 ms of Opus is 960 units of its clock")
        // 40 ms frames from the phone move the browser's clock by 1920.
        let before = driver.emitted.count
        for i in 0..<5 { driver.send(fromPhone.next(), from: .phone, now: Double(i) * 0.04) }
        let toBrowser = Array(driver.emitted[before...])
        #expect(toBrowser.count == 5 && toBrowser.allSatisfy { $0.header.payloadType == 111 })
        #expect(timestampSteps(toBrowser).allSatisfy { $0 == 1920 })
        let decoded = try #require(try decodeOpus(toBrowser, sampleRate: 8000))
        #expect(toneDominates(Array(decoded.dropFirst(640)), sampleRate: 8000, frequency: 440))
    }
}
