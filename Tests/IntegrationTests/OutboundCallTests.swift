import Gateway
import SIP
import XCTest

/// Tieline as the caller (UAC) toward sipp acting as a trunk (UAS).
final class OutboundCallTests: XCTestCase {
    /// Places one call, holds it, hangs up; returns how it ended.
    private func callAndHangUp(_ fixture: GatewayFixture, hold: Duration = .milliseconds(300),
                               file: StaticString = #filePath, line: UInt = #line) async throws {
        let call = try await fixture.gateway.call(trunk: "carrier", to: "+15551234567")
        let answer = try await call.answered.get()
        XCTAssertEqual(answer.statusCode, 200, file: file, line: line)
        XCTAssertTrue(answer.headers.contentType?.contains("application/sdp") ?? false, file: file, line: line)
        try await Task.sleep(for: hold)
        call.hangup()
        let end = try await call.ended.get()
        XCTAssertEqual(end, .hungUp(.localBye), file: file, line: line)
    }

    func testCallToSippUASOverUDPCompletesWithACKAndBYE() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", calls: 2)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: sippPort)])
        try await callAndHangUp(fixture)
        try await callAndHangUp(fixture)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "sipp UAS reports failed calls:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft(transactions: true, within: 10)
        await fixture.stop()
    }

    func testCallToSippUASOverTCP() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "t1", scenario: scenarioPath("uas_answer"), calls: 2)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: sippPort, transport: "tcp")])
        try await callAndHangUp(fixture)
        try await callAndHangUp(fixture)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "sipp UAS over TCP reports failed calls:\n\(sipp.diagnostics)")
        // Both calls used one connection (RFC 3261 §18: connection reuse).
        let counts = await fixture.gateway.counts
        XCTAssertLessThanOrEqual(counts.connections, 1)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testCallOverTLSToSippBehindATLSFront() async throws {
        let certificate = try TestCertificate.make()
        let sippPort = try freeUDPAndTCPPort()
        let tlsPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "t1", scenario: scenarioPath("uas_answer"), calls: 1)
        let front = try SocatTLSFront.serverFront(listenPort: tlsPort, forwardTo: sippPort, certificate: certificate)
        defer { front.stop() }
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: tlsPort, transport: "tls")], tls: certificate)
        try await callAndHangUp(fixture)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "sipp UAS behind TLS reports failed calls:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testDigestChallenges407Then401AreAnswered() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("uas_auth_407_401"),
                                       calls: 1, extraArgs: ["-au", "tieline", "-ap", "secret"])
        let fixture = try await GatewayFixture(trunks: [
            TrunkSpec(port: sippPort, username: "tieline", password: "secret"),
        ])
        try await callAndHangUp(fixture)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "sipp rejected our credentials:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testWrongPasswordEndsTheAttemptWithTheStatusAndNoEndlessRetry() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("uas_auth_wrongpass"),
                                       calls: 1, extraArgs: ["-au", "tieline", "-ap", "secret"])
        let fixture = try await GatewayFixture(trunks: [
            TrunkSpec(port: sippPort, username: "tieline", password: "not-the-password"),
        ])
        let call = try await fixture.gateway.call(trunk: "carrier", to: "+15551234567")
        do {
            _ = try await call.answered.get()
            XCTFail("a call with the wrong password was answered")
        } catch let failure as CallFailure {
            XCTAssertEqual(failure.statusCode, 401)
        }
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "the scenario saw more attempts than allowed:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testBusyTrunkReports486() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("uas_busy"), calls: 1)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: sippPort)])
        let call = try await fixture.gateway.call(trunk: "carrier", to: "+15551234567")
        let end = try await call.ended.get()
        XCTAssertEqual(end, .failed(CallFailure(statusCode: 486, reason: "Busy Here")))
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, sipp.diagnostics)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testCallsCompleteWithTwentyPercentLossBothWays() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let calls = 5
        // Under loss a retransmitted INVITE and the ACK can reach sipp in one
        // read; it then takes the ACK for a message "received while sending"
        // the answer and aborts the call (about once in 15 runs). Continuing on
        // such a message instead keeps the scenario's own checks.
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("uas_answer"),
                                       calls: calls, extraArgs: ["-lost", "20", "-default_behaviors", "all,-abortunexp"])
        // The RFC's T1, the same as sipp's (see the inbound loss test).
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: sippPort)], t1Milliseconds: 500)
        for _ in 0..<calls { try await callAndHangUp(fixture, hold: .milliseconds(100)) }
        let status = try await sipp.wait(timeout: 60)
        XCTAssertEqual(status, 0, "calls failed under loss:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft()
        await fixture.stop()
    }
}

/// Hanging up while the far end still rings sends CANCEL (RFC 3261 §9.1).
final class CancelTests: XCTestCase {
    func testHangupWhileRingingSendsCancelAndTheAttemptEndsWith487() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("uas_ring_cancel"),
                                       calls: 1)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: sippPort)])
        let call = try await fixture.gateway.call(trunk: "carrier", to: "+15551234567")
        try await Task.sleep(for: .milliseconds(300))
        call.hangup()
        let end = try await call.ended.get()
        XCTAssertEqual(end, .failed(CallFailure(statusCode: 487, reason: "Request Terminated")))
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "the ringing phone did not see CANCEL then ACK for 487:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft()
        await fixture.stop()
    }
}
