@testable import Media
import NIOCore
import RTP
import SecureMedia
import STUN
import TestSupport
import Testing

/// Random datagrams never crash the bridge or the WebRTC leg, and whatever
/// comes out is still a well-formed packet of the gateway's own streams.
@Suite("Media robustness")
struct MediaRobustnessTests {
    /// Random bytes; half of them dressed as RTP with a payload type the
    /// bridge listens for, so they reach the decoders and the event relay.
    static func randomPacket(_ generator: inout SeededGenerator, payloadTypes: [UInt8]) -> [UInt8] {
        let length = Int.random(in: 0...400, using: &generator)
        var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        if length >= 12, Bool.random(using: &generator) {
            bytes[0] = 0x80 | (bytes[0] & 0x30)  // version 2, maybe padding/extension, no CSRCs
            bytes[1] = (bytes[1] & 0x80) | payloadTypes.randomElement(using: &generator)!
        }
        return bytes
    }

    static let configurations: [(String, BridgeConfiguration)] = [
        ("opus-pcmu", BridgeConfiguration(browserCodec: .opus, browserPayloadType: 111, browserTelephoneEvent: (110, 48000),
                                          phoneCodec: .pcmu, phoneTelephoneEvent: 101)),
        ("opus-g722-30ms", BridgeConfiguration(browserCodec: .opus, browserPayloadType: 111, browserTelephoneEvent: (110, 48000),
                                               phoneCodec: .g722, phoneTelephoneEvent: 101, phonePacketTime: 30)),
        ("pcmu-passthrough", BridgeConfiguration(browserCodec: .phone(.pcmu), browserPayloadType: 0,
                                                 browserTelephoneEvent: (101, 8000), phoneCodec: .pcmu, phoneTelephoneEvent: 101)),
        ("pcma-pcmu", BridgeConfiguration(browserCodec: .phone(.pcma), browserPayloadType: 8, phoneCodec: .pcmu)),
    ]

    @Test("Random packets into both sides of the bridge", arguments: 0..<4)
    func bridgeFuzz(index: Int) throws {
        let (_, configuration) = Self.configurations[index]
        var driver = BridgeDriver(try MediaBridge(configuration, browserSSRC: browserSSRC, phoneSSRC: phoneSSRC))
        var generator = SeededGenerator(seed: 0x5EED_0000 + UInt64(index))
        let browserTypes = [configuration.browserPayloadType, configuration.browserTelephoneEvent?.payloadType ?? 96, 13]
        let phoneTypes = [configuration.phonePayloadType, configuration.phoneTelephoneEvent ?? 96, 13]
        var toPhone: [Emitted] = []
        var toBrowser: [Emitted] = []
        for i in 0..<3000 {
            let now = Double(i) * 0.01
            if Bool.random(using: &generator) {
                toPhone += driver.send(Self.randomPacket(&generator, payloadTypes: browserTypes), from: .browser, now: now)
            } else {
                toBrowser += driver.send(Self.randomPacket(&generator, payloadTypes: phoneTypes), from: .phone, now: now)
            }
        }
        #expect(driver.malformed == 0)
        let phoneAllowed: Set<UInt8> = [configuration.phonePayloadType, configuration.phoneTelephoneEvent ?? 255]
        let browserAllowed: Set<UInt8> = [configuration.browserPayloadType,
                                          configuration.browserTelephoneEvent?.payloadType ?? 255]
        #expect(toPhone.allSatisfy { $0.header.ssrc == phoneSSRC && phoneAllowed.contains($0.header.payloadType) })
        #expect(toBrowser.allSatisfy { $0.header.ssrc == browserSSRC && browserAllowed.contains($0.header.payloadType) })
        for stream in [toPhone, toBrowser] {
            #expect(stream.allSatisfy { $0.bytes.count <= MediaDirection.packetCapacity - SRTPSession.maxOverhead })
            #expect(stream.allSatisfy { $0.header.csrcs.isEmpty && $0.header.headerExtension == nil })
            // Every packet sent consumed exactly one sequence number.
            #expect(sequenceSteps(stream).allSatisfy { $0 == 1 })
        }
        // Audio packets toward the phone carry whole frames of the negotiated packet time.
        let frameBytes = configuration.phonePacketTime * 8
        #expect(toPhone.filter { $0.header.payloadType == configuration.phonePayloadType }
            .allSatisfy { configuration.isPassthrough || $0.payload.count == frameBytes })
        // A real stream still works after the noise (new source, fresh timeline).
        if !configuration.isPassthrough, configuration.browserCodec == .opus {
            let source = try OpusToneSource(frequency: 1000, ssrc: 0xC0FFEE)
            let before = driver.emitted.count
            for i in 0..<20 { driver.send(source.next(), from: .browser, now: 31 + Double(i) * 0.02) }
            // 20 frames of 20 ms; the first may be swallowed by a FIFO holding noise.
            #expect(driver.emitted.count - before >= 19 * 20 / configuration.phonePacketTime)
        }
    }

    @Test("Random datagrams into a BrowserLeg, before and after the handshake")
    func browserLegFuzz() throws {
        let harness = try BrowserLegTests.Harness()
        let browser = try SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
        let stranger = try SocketAddress(ipAddress: "127.0.0.1", port: 40_000)
        var generator = SeededGenerator(seed: 0xB10B)

        func noise() -> [UInt8] {
            let length = Int.random(in: 1...300, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Spread the first byte over STUN, DTLS, RTP/RTCP and unknown (RFC 7983).
            bytes[0] = [UInt8(0), 1, 22, 23, 0x80, 0x81, 0x90, 200, 70].randomElement(using: &generator)!
            return bytes
        }
        func checkReplies() {
            for (reply, _) in harness.takeSent() {
                #expect(MediaDatagramKind(firstByte: reply[0]) != .unknown)
                if MediaDatagramKind(firstByte: reply[0]) == .stun {
                    #expect((try? STUNMessage.parse(reply)) != nil)
                }
            }
        }

        for _ in 0..<500 {
            let (result, _) = harness.deliver(noise(), from: stranger)
            guard case .nothing = result else {
                Issue.record("noise from a stranger produced \(result)")
                break
            }
        }
        checkReplies()
        #expect(harness.leg.state == .checking)

        harness.deliver(BrowserLegTests.check(), from: browser)
        _ = harness.takeSent()
        harness.handshake(from: browser)
        let profile = try #require(harness.client.srtpKeys()?.profile)
        #expect(harness.leg.state == .connected(profile))

        for _ in 0..<1000 {
            let (result, _) = harness.deliver(noise(), from: Bool.random(using: &generator) ? browser : stranger)
            guard case .nothing = result else {
                Issue.record("noise produced \(result)")
                break
            }
        }
        checkReplies()
        // The leg is still connected and still decrypts the real browser.
        #expect(harness.leg.state == .connected(profile))
        let keys = try #require(harness.client.srtpKeys())
        let session = try SRTPSession(profile: keys.profile, masterKey: keys.local, outbound: true)
        var plain = rtpPacket(RTPHeader(payloadType: 111, sequenceNumber: 9, timestamp: 9, ssrc: 9), [1, 2, 3, 4])
        let plainLength = plain.count
        plain += [UInt8](repeating: 0, count: SRTPSession.maxOverhead)
        let length = try plain.withUnsafeMutableBytes { try session.protect($0, length: plainLength) }
        let (result, _) = harness.deliver(Array(plain[0..<length]), from: browser)
        guard case .rtp(let decrypted) = result else {
            Issue.record("expected RTP after the noise, got \(result)")
            return
        }
        #expect(decrypted == plainLength)
    }
}
