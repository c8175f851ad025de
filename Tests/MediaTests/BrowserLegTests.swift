@testable import Media
import NIOCore
import RTP
import SecureMedia
import STUN
import Testing

/// The WebRTC leg without sockets: STUN checks built with the STUN target,
/// a standalone DTLS client as the browser, SRTP with the client's keys.
@Suite("BrowserLeg")
struct BrowserLegTests {
    static let gatewayUfrag = "gw12"
    static let gatewayPassword = "gatewaypassword1234567"
    static let browserUfrag = "br34"
    let browserAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
    let otherAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 50_001)

    /// A gateway leg and the browser's DTLS client, with certificates that match unless told otherwise.
    final class Harness {
        let leg: BrowserLeg
        let client: DTLSEndpoint
        var sent: [([UInt8], SocketAddress)] = []

        init(legRole: DTLSEndpoint.Role = .server, wrongFingerprint: Bool = false,
             clientProfiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmSha1_80]) throws {
            let gateway = try DTLSCertificate.generate(commonName: "gateway")
            let browser = try DTLSCertificate.generate(commonName: "browser")
            let expected = wrongFingerprint ? [UInt8](repeating: 0xAA, count: 32) : browser.fingerprint
            let ice = IceLiteAgent(localUfrag: BrowserLegTests.gatewayUfrag, localPassword: BrowserLegTests.gatewayPassword,
                                   remoteUfrag: BrowserLegTests.browserUfrag)
            leg = BrowserLeg(ice: ice, dtls: try DTLSEndpoint(role: legRole, certificate: gateway, remoteFingerprint: expected),
                             now: 0)
            client = try DTLSEndpoint(role: legRole == .server ? .client : .server, certificate: browser,
                                      remoteFingerprint: gateway.fingerprint, profiles: clientProfiles)
        }

        /// Delivers a datagram; returns what the leg made of it (and, for
        /// SRTP, the decrypted bytes) and records what it sent back.
        @discardableResult
        func deliver(_ datagram: [UInt8], from source: SocketAddress, now: Double = 1) -> (BrowserLeg.Received, [UInt8]) {
            var buffer = datagram + [UInt8](repeating: 0, count: 64)
            var replies: [([UInt8], SocketAddress)] = []
            let result = buffer.withUnsafeMutableBytes { raw in
                leg.receive(raw, length: datagram.count, from: source, now: now) { replies.append(($0, $1)) }
            }
            sent += replies
            let length: Int
            switch result {
            case .rtp(let n), .rtcp(let n): length = n
            case .nothing: length = 0
            }
            return (result, Array(buffer[0..<length]))
        }

        func takeSent() -> [([UInt8], SocketAddress)] {
            defer { sent = [] }
            return sent
        }

        /// Runs DTLS between the leg and the client until neither has anything to say.
        func handshake(from source: SocketAddress) {
            // A client browser speaks first; a server browser answers what the leg left in `sent`.
            var toLeg = client.role == .client ? client.start() : []
            for _ in 0..<20 {
                for datagram in toLeg { deliver(datagram, from: source) }
                toLeg = takeSent().flatMap { client.receive($0.0) }
                if toLeg.isEmpty { break }
            }
        }
    }

    static func check(password: String = gatewayPassword, username: String = "\(gatewayUfrag):\(browserUfrag)",
                      nominate: Bool = true) -> [UInt8] {
        var attributes: [STUNAttribute] = [.username(username), .priority(1_853_824_767), .iceControlling(tieBreaker: 7)]
        if nominate { attributes.append(.useCandidate) }
        return STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID(), attributes: attributes)
            .serialize(integrityKey: Array(password.utf8), fingerprint: true)
    }

    func srtpPacket(_ session: SRTPSession, _ plain: [UInt8], rtcp: Bool = false) throws -> [UInt8] {
        var buffer = plain + [UInt8](repeating: 0, count: SRTPSession.maxOverhead)
        let length = try buffer.withUnsafeMutableBytes { try session.protect($0, length: plain.count, rtcp: rtcp) }
        return Array(buffer[0..<length])
    }

    let plainRTP = rtpPacket(RTPHeader(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 0x1234),
                             [UInt8](repeating: 0xAB, count: 80))

    @Test("A valid check is answered with the source address and validates it")
    func validCheck() throws {
        let harness = try Harness()
        harness.deliver(Self.check(), from: browserAddress)
        let replies = harness.takeSent()
        #expect(replies.count == 1)
        let (bytes, destination) = try #require(replies.first)
        #expect(destination == browserAddress)
        let response = try STUNMessage.parse(bytes)
        #expect(response.messageClass == .successResponse)
        #expect(response.xorMappedAddress?.description == "127.0.0.1:50000")
        #expect(response.verifyIntegrity(key: Array(Self.gatewayPassword.utf8), in: bytes))
        #expect(harness.leg.target == browserAddress)
        #expect(harness.leg.state == .handshaking)
    }

    @Test("A check with the wrong password gets 401 and validates nothing")
    func wrongPassword() throws {
        let harness = try Harness()
        harness.deliver(Self.check(password: "not-the-gateway-password"), from: browserAddress)
        let response = try STUNMessage.parse(try #require(harness.takeSent().first).0)
        #expect(response.messageClass == .errorResponse)
        #expect(response.errorCode?.code == 401)
        #expect(harness.leg.target == nil)
        #expect(harness.leg.state == .checking)
        // DTLS from it is still unauthenticated.
        harness.deliver(try #require(harness.client.start().first), from: browserAddress)
        #expect(harness.leg.droppedUnauthenticated == 1)
        #expect(harness.takeSent().isEmpty)
    }

    @Test("DTLS and SRTP from an address that passed no check are dropped")
    func unvalidatedDropped() throws {
        let harness = try Harness()
        let hello = try #require(harness.client.start().first)
        harness.deliver(hello, from: browserAddress)
        #expect(harness.leg.droppedUnauthenticated == 1)
        #expect(harness.takeSent().isEmpty)
        #expect(harness.leg.state == .checking)

        harness.deliver(Self.check(), from: browserAddress)
        _ = harness.takeSent()
        harness.deliver(hello, from: otherAddress)
        harness.deliver(plainRTP, from: otherAddress)
        #expect(harness.leg.droppedUnauthenticated == 3)
        #expect(harness.takeSent().isEmpty)
    }

    @Test("After the handshake, SRTP and SRTCP from the browser decrypt; ours decrypts at the browser",
          arguments: [[SRTPProfile.aeadAes128Gcm, .aes128CmSha1_80], [.aes128CmSha1_80]])
    func srtpBothWays(profiles: [SRTPProfile]) throws {
        let harness = try Harness(clientProfiles: profiles)
        harness.deliver(Self.check(), from: browserAddress)
        _ = harness.takeSent()
        harness.handshake(from: browserAddress)
        let keys = try #require(harness.client.srtpKeys())
        #expect(keys.profile == profiles[0])
        #expect(harness.leg.state == .connected(keys.profile))

        let toGateway = try SRTPSession(profile: keys.profile, masterKey: keys.local, outbound: true)
        let (result, plain) = harness.deliver(try srtpPacket(toGateway, plainRTP), from: browserAddress)
        guard case .rtp(let length) = result else {
            Issue.record("expected RTP, got \(result)")
            return
        }
        #expect(length == plainRTP.count)
        #expect(plain == plainRTP)

        let report = RTCPCompoundPacket(packets: [.receiverReport(RTCPReceiverReport(ssrc: 0x1234))]).serialized()
        let (rtcpResult, rtcpPlain) = harness.deliver(try srtpPacket(toGateway, report, rtcp: true), from: browserAddress)
        guard case .rtcp = rtcpResult else {
            Issue.record("expected RTCP, got \(rtcpResult)")
            return
        }
        #expect(rtcpPlain == report)

        // A replayed packet is refused.
        let second = try srtpPacket(toGateway, rtpPacket(RTPHeader(payloadType: 111, sequenceNumber: 2, timestamp: 1920,
                                                                   ssrc: 0x1234), [1, 2, 3]))
        harness.deliver(second, from: browserAddress)
        harness.deliver(second, from: browserAddress)
        #expect(harness.leg.droppedUndecryptable == 1)

        // What the leg protects, the browser's inbound session opens.
        var buffer = plainRTP + [UInt8](repeating: 0, count: SRTPSession.maxOverhead)
        let protectedLength = try #require(buffer.withUnsafeMutableBytes { harness.leg.protect($0, length: plainRTP.count) })
        let fromGateway = try SRTPSession(profile: keys.profile, masterKey: keys.remote, outbound: false)
        let opened = try buffer.withUnsafeMutableBytes { try fromGateway.unprotect($0, length: protectedLength) }
        #expect(Array(buffer[0..<opened]) == plainRTP)
    }

    @Test("A certificate that does not match the SDP fingerprint fails the leg")
    func wrongFingerprint() throws {
        let harness = try Harness(wrongFingerprint: true)
        harness.deliver(Self.check(), from: browserAddress)
        _ = harness.takeSent()
        harness.handshake(from: browserAddress)
        guard case .failed(let reason) = harness.leg.state else {
            Issue.record("expected failure, state is \(harness.leg.state)")
            return
        }
        #expect(reason.contains("fingerprint"))
        #expect(harness.leg.protect(UnsafeMutableRawBufferPointer(start: nil, count: 0), length: 0) == nil)
    }

    @Test("As DTLS client the leg sends its ClientHello to the browser once a check passes")
    func legAsClient() throws {
        let harness = try Harness(legRole: .client)
        harness.deliver(Self.check(), from: browserAddress)
        let sent = harness.takeSent()
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { $0.1 == browserAddress })
        #expect(sent.last.map { MediaDatagramKind(firstByte: $0.0[0]) } == .dtls)
        harness.sent = [sent[1]]
        harness.handshake(from: browserAddress)
        #expect(harness.client.state != .handshaking)
        guard case .connected = harness.leg.state else {
            Issue.record("expected connected, state is \(harness.leg.state)")
            return
        }
    }

    @Test("No valid check within the connect timeout, or consent expiring, fails the leg")
    func timeouts() throws {
        let waiting = try Harness()
        waiting.leg.tick(now: 10, connectTimeout: 30) { _, _ in }
        #expect(waiting.leg.state == .checking)
        waiting.leg.tick(now: 31, connectTimeout: 30) { _, _ in }
        guard case .failed(let reason) = waiting.leg.state else {
            Issue.record("expected a connect timeout")
            return
        }
        #expect(reason.contains("ICE"))

        let checked = try Harness()
        checked.deliver(Self.check(), from: browserAddress, now: 1)
        checked.leg.tick(now: 40, connectTimeout: 30) { _, _ in }
        guard case .failed(let consent) = checked.leg.state else {
            Issue.record("expected consent expiry")
            return
        }
        #expect(consent.contains("consent"))
    }
}
