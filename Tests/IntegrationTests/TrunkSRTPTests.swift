import Foundation
import XCTest
@testable import Gateway

/// SRTP toward a trunk with SDES keys (RFC 4568 `a=crypto`), against a real
/// SDES implementation: baresip's srtp module, registered to Kamailio.
/// The browser is aiortc (1 kHz); bob plays 440 Hz and records what he hears.
final class TrunkSRTPTests: XCTestCase {
    static let tieline = ("tieline", "tieline-secret")
    static let bob = ("bob", "bob-secret")

    private func gateway(_ kamailio: KamailioProcess, encryption: String, register: Bool = false,
                         dids: String = "{}") async throws -> GatewayFixture {
        try await GatewayFixture(
            trunks: [TrunkSpec(name: "kamailio", port: kamailio.port, username: Self.tieline.0, password: Self.tieline.1,
                               register: register, mediaEncryption: encryption)],
            browsers: true, routing: "{ home_country: \"1\", dids: \(dids) }")
    }

    /// `media_encryption: required` toward a phone that takes only RTP/SAVP:
    /// our INVITE offers RTP/SAVP with keys, the phone answers with its own,
    /// and the tones cross both ways encrypted.
    func testABrowserCallsAnSRTPOnlyPhoneWithAudioBothWays() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550123": Self.bob.0])
        defer { kamailio.stop() }
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000,
                                             mediaEncryption: "srtp-mand")
        defer { phone.stop() }
        let fixture = try await gateway(kamailio, encryption: "required")
        let capture = try RTPArrivals.start(rtpTo: phone.rtpPort, seconds: 6)
        let mark = phone.control.eventCount
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                                 "--call", "+15550123", "--duration", "4", "--hangup-after", "3"])
        XCTAssertNil(result["error"], "\(result)\n\(phone.diagnostics)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 15)
        _ = try phone.waitForCallClosed(since: mark)
        let trace = phone.read("stdout")
        XCTAssertTrue(trace.contains("RTP/SAVP"), "RTP/SAVP offered\n\(trace)")
        XCTAssertTrue(trace.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "SDES keys offered\n\(trace)")
        let heard = try XCTUnwrap(phone.receivedRecordings.last, "bob recorded the call\n\(phone.diagnostics)")
        XCTAssertEqual(Double(try WAVAudio.read(heard).peakFrequency(start: 1, duration: 1)), 1000, accuracy: 25,
                       "the SRTP phone decrypted the browser's tone")
        // On the wire the payloads are ciphertext: read as PCMU they are no tone.
        let packets = capture.finishPackets()
        XCTAssertGreaterThan(packets.count, 50, "SRTP reached the phone")
        let onTheWire = Double(WAVAudio(pcmu: packets.map(\.payload)).peakFrequency(start: 0.5, duration: 1))
        XCTAssertGreaterThan(abs(onTheWire - 1000), 50, "the browser's tone is not readable on the wire")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    /// An SRTP-only phone calls the browser user's DID: its RTP/SAVP offer is
    /// answered with a key of ours (`optional` takes a key offered to it).
    func testAnSRTPOnlyPhoneCallsTheBrowserWithAudioBothWays() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550100": Self.tieline.0])
        defer { kamailio.stop() }
        let fixture = try await gateway(kamailio, encryption: "optional", register: true, dids: #"{ "+15550100": alice }"#)
        _ = try kamailio.waitForRegistration(user: Self.tieline.0)
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000,
                                             mediaEncryption: "srtp-mand")
        defer { phone.stop() }
        async let browser = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                              "--answer", "--duration", "5"])
        for _ in 0..<100 where fixture.gateway.connectionCount(of: "alice") == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let mark = phone.control.eventCount
        try phone.dial("+15550100", timeout: 15)
        try await Task.sleep(for: .milliseconds(3000))
        try phone.hangup()
        _ = try phone.waitForCallClosed(since: mark)
        let result = try await browser
        XCTAssertNil(result["error"], "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 15)
        let trace = phone.read("stdout")
        let answer = try XCTUnwrap(trace.range(of: "SIP/2.0 200 OK").map { String(trace[$0.lowerBound...].prefix(3000)) },
                                   "the 200 reached bob\n\(trace)")
        XCTAssertTrue(answer.contains("RTP/SAVP") && answer.contains("a=crypto:"), "answered with SRTP\n\(answer)")
        let heard = try XCTUnwrap(phone.receivedRecordings.last, "bob recorded the call\n\(phone.diagnostics)")
        XCTAssertEqual(Double(try WAVAudio.read(heard).peakFrequency(start: 1, duration: 1)), 1000, accuracy: 25,
                       "bob hears the browser through SRTP")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    /// With `media_encryption: off` an RTP/SAVP offer is refused 488, not
    /// answered with plain RTP the phone would not understand.
    func testAnSRTPOfferToATrunkWithEncryptionOffIsRefused488() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550100": Self.tieline.0])
        defer { kamailio.stop() }
        let fixture = try await gateway(kamailio, encryption: "off", register: true, dids: #"{ "+15550100": alice }"#)
        _ = try kamailio.waitForRegistration(user: Self.tieline.0)
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000,
                                             mediaEncryption: "srtp-mand")
        defer { phone.stop() }
        // Alice is logged in (else the call would be 480 before its SDP is read).
        async let browser = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                              "--answer", "--answer-timeout", "6"])
        for _ in 0..<100 where fixture.gateway.connectionCount(of: "alice") == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertThrowsError(try phone.dial("+15550100", timeout: 15)) { error in
            XCTAssertTrue("\(error)".contains("488"), "bob hears 488: \(error)\n\(phone.diagnostics)")
        }
        let result = try await browser
        XCTAssertNil(result["incoming"], "alice never rang: \(result)")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }
}
