import Media
import SDP
import SecureMedia
import XCTest

/// A real WebRTC peer (aiortc: ICE, DTLS-SRTP, Opus) on one side of a
/// Tieline media session and a plain RTP phone on the other, on loopback.
/// What is checked is what a caller would hear: the tone's frequency and
/// level on the far side, the digits, and that the call ends cleanly.
final class WebRTCMediaTests: XCTestCase {
    /// A tone within `tolerance` Hz and `decibels` of the level that was sent.
    func assertTone(_ result: PeerResult, side: String, hertz: Double, tolerance: Double,
                    sentLevel: String, decibels: Double = 6, file: StaticString = #filePath, line: UInt = #line) {
        guard let peak = result.number("\(side).peak_hz"), let level = result.number("\(side).level_dbfs"),
              let sent = result.number(sentLevel) else {
            return XCTFail("no audio on \(side): \(result)", file: file, line: line)
        }
        XCTAssertEqual(peak, hertz, accuracy: tolerance, "\(side) peak frequency; \(result)", file: file, line: line)
        XCTAssertEqual(level, sent, accuracy: decibels, "\(side) level against what was sent", file: file, line: line)
        XCTAssertGreaterThan(result.number("\(side).energy_share") ?? 0, 0.8, "\(side): the tone dominates", file: file, line: line)
    }

    func testOpusFromTheBrowserReachesThePhoneAsPCMUAndBack() async throws {
        let call = try await MediaCall.run(["--browser-tone", "1000", "--phone-tone", "440"])
        XCTAssertEqual(call.result["connected"] as? Bool, true, "\(call.result)")
        XCTAssertTrue(call.events.contains(.browserConnected(.aeadAes128Gcm)), "GCM is preferred when offered: \(call.events)")
        // aiortc closing its peer connection ends the call on our side too.
        XCTAssertEqual(call.endedReason, "DTLS: the browser closed the connection (alert)")
        XCTAssertFalse(call.statistics.passthrough)
        assertTone(call.result, side: "phone_rx", hertz: 1000, tolerance: 20, sentLevel: "browser_tx.level_dbfs")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
        // The phone sees one stream of ours: one SSRC, PCMU, 20 ms steps, no gaps.
        XCTAssertEqual(call.result["phone_rx.payload_types"] as? [Int], [0])
        XCTAssertEqual((call.result["phone_rx.ssrcs"] as? [Any])?.count, 1)
        XCTAssertEqual(call.result["phone_rx.timestamp_steps"] as? [Int], [160])
        XCTAssertEqual(call.result.number("phone_rx.seq_gaps"), 0)
        // RTCP flowed on both legs.
        XCTAssertGreaterThan(call.statistics.rtcpToBrowser, 0)
        XCTAssertGreaterThan(call.statistics.rtcpToPhone, 0)
        XCTAssertGreaterThan(call.statistics.rtcpFromBrowser, 0)
    }

    func testPCMAWith30MillisecondPackets() async throws {
        let call = try await MediaCall.run(["--phone-codec", "PCMA", "--phone-ptime", "30"],
                                           phoneCodec: .pcma, packetTime: 30)
        assertTone(call.result, side: "phone_rx", hertz: 1000, tolerance: 20, sentLevel: "browser_tx.level_dbfs")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
        XCTAssertEqual(call.result["phone_rx.payload_types"] as? [Int], [8])
        XCTAssertEqual(call.result["phone_rx.timestamp_steps"] as? [Int], [240], "30 ms at 8000 Hz")
    }

    func testG722() async throws {
        let call = try await MediaCall.run(["--phone-codec", "G722"], phoneCodec: .g722)
        assertTone(call.result, side: "phone_rx", hertz: 1000, tolerance: 20, sentLevel: "browser_tx.level_dbfs")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
        XCTAssertEqual(call.result["phone_rx.payload_types"] as? [Int], [9])
        XCTAssertEqual(call.result["phone_rx.timestamp_steps"] as? [Int], [160], "G.722's RTP clock is 8000")
    }

    func testPCMUFromTheBrowserIsPassedThrough() async throws {
        let call = try await MediaCall.run(["--browser-codecs", "PCMU"])
        XCTAssertTrue(call.statistics.passthrough, "no transcoding when both legs speak PCMU")
        XCTAssertEqual(call.result["browser_send_codec"] as? String, "PCMU")
        assertTone(call.result, side: "phone_rx", hertz: 1000, tolerance: 20, sentLevel: "browser_tx.level_dbfs")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
    }

    func testTheGatewayCanOfferAndTheBrowserAnswer() async throws {
        let call = try await MediaCall.run([], gatewayOffers: true)
        XCTAssertTrue(call.answer.contains("a=setup:active"), "aiortc answered actpass with active:\n\(call.answer)")
        XCTAssertEqual(call.result["connected"] as? Bool, true, "\(call.result)")
        assertTone(call.result, side: "phone_rx", hertz: 1000, tolerance: 20, sentLevel: "browser_tx.level_dbfs")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
    }

    func testTheGatewayCanBeTheDTLSClient() async throws {
        let call = try await MediaCall.run([], gatewayOffers: true, gatewaySetup: .active)
        XCTAssertTrue(call.answer.contains("a=setup:passive"), "aiortc took the server role:\n\(call.answer)")
        XCTAssertTrue(call.events.contains(.browserConnected(.aeadAes128Gcm)), "\(call.events)")
        assertTone(call.result, side: "phone_rx", hertz: 1000, tolerance: 20, sentLevel: "browser_tx.level_dbfs")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
    }

    func testWithoutConsentChecksTheCallEnds() async throws {
        // aiortc renews consent every 4 to 6 s; a 2 s timeout must run out.
        let call = try await MediaCall.run(["--duration", "5"]) { $0.session.consentTimeout = 2 }
        let reason = try XCTUnwrap(call.endedReason)
        XCTAssertTrue(reason.contains("consent expired"), reason)
        let sent = try XCTUnwrap(call.result.number("phone_tx.packets"))
        XCTAssertLessThan(Double(call.statistics.packetsToBrowser), sent * 0.8,
                          "media toward the browser stopped early: \(call.statistics)")
    }

    func testAWrongICEPasswordGetsNoMedia() async throws {
        let call = try await MediaCall.run(["--wrong-ice-pwd", "--connect-timeout", "4", "--duration", "1"])
        XCTAssertNotEqual(call.result["connected"] as? Bool, true)
        XCTAssertEqual(call.result.number("phone_rx.packets"), 0, "nothing reached the phone")
        XCTAssertEqual(call.result.number("browser_rx.frames"), 0, "nothing reached the browser")
        XCTAssertEqual(call.statistics.browserState, "checking", "no check was ever valid")
        XCTAssertEqual(call.statistics.packetsToPhone, 0)
    }

    func testAWrongFingerprintFailsTheLeg() async throws {
        let call = try await MediaCall.run(["--wrong-fingerprint", "--connect-timeout", "4", "--duration", "1"])
        let reason = try XCTUnwrap(call.endedReason)
        XCTAssertTrue(reason.contains("fingerprint"), reason)
        XCTAssertEqual(call.result.number("phone_rx.packets"), 0, "nothing reached the phone")
        XCTAssertEqual(call.result.number("browser_rx.frames") ?? 0, 0, "nothing reached the browser")
    }

    func testDTMFBothWaysWithA48kHzBrowserEventClock() async throws {
        let call = try await MediaCall.run(["--browser-dtmf", "159#", "--phone-dtmf", "2580",
                                            "--telephone-event-clock", "48000", "--duration", "4"])
        // Browser → phone: at 8000 Hz, 100 ms is 800 units.
        let toPhone = call.result.dtmf("phone_rx")
        XCTAssertEqual(toPhone.map(\.digit), ["1", "5", "9", "#"], "\(call.result)")
        for event in toPhone {
            XCTAssertEqual(Double(event.duration), 800, accuracy: 160, "duration of \(event.digit)")
            XCTAssertGreaterThanOrEqual(event.endPackets, 3, "end packets of \(event.digit)")
        }
        // Phone → browser: at the browser's 48000 Hz event clock, 100 ms is 4800.
        let toBrowser = call.result.dtmf("browser_rx")
        XCTAssertEqual(toBrowser.map(\.digit), ["2", "5", "8", "0"], "\(call.result)")
        for event in toBrowser {
            XCTAssertEqual(Double(event.duration), 4800, accuracy: 960, "duration of \(event.digit)")
            XCTAssertGreaterThanOrEqual(event.endPackets, 3, "end packets of \(event.digit)")
        }
        // The session reported each digit once, with its length.
        XCTAssertEqual(call.dtmf.filter { $0.origin == .browser }.map { String($0.digit) }, ["1", "5", "9", "#"])
        XCTAssertEqual(call.dtmf.filter { $0.origin == .phone }.map { String($0.digit) }, ["2", "5", "8", "0"])
        for report in call.dtmf { XCTAssertEqual(Double(report.milliseconds), 100, accuracy: 20) }
    }

    func testTenPercentLossOnThePhoneLegIsConcealed() async throws {
        let call = try await MediaCall.run(["--phone-loss", "0.1", "--duration", "4"])
        XCTAssertGreaterThan(call.result.number("phone_tx.dropped") ?? 0, 10, "the phone really dropped packets")
        assertTone(call.result, side: "browser_rx", hertz: 440, tolerance: 10, sentLevel: "phone_tx.level_dbfs")
        XCTAssertLessThanOrEqual(call.result.number("browser_rx.longest_silence_ms") ?? 999, 20,
                                 "audio stays continuous: \(call.result)")
        XCTAssertEqual(call.result.number("browser_rx.gap_filled_ms") ?? -1, 0, accuracy: 40,
                       "no holes in the browser's stream")
        XCTAssertGreaterThan(call.statistics.concealedSamplesToBrowser, 0, "spandsp PLC filled the gaps")
    }
}
