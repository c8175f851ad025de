import Gateway
import SIP
import XCTest

/// sipp as a trunk calling into Tieline (Tieline as UAS).
final class InboundCallTests: XCTestCase {
    /// sipp's built-in UAC places `calls` calls at `target`; every one must
    /// complete, be answered and ended by the gateway, and leave nothing behind.
    private func runCalls(_ fixture: GatewayFixture, target port: Int, transport: String, calls: Int,
                          rate: Int = 10, hold: Int = 300, extraArgs: [String] = [], timeout: Double = 30,
                          settle: Double = 15, file: StaticString = #filePath, line: UInt = #line) async throws {
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(port)", port: try freeUDPAndTCPPort(),
                                       transport: transport, calls: calls, rate: rate,
                                       durationMilliseconds: hold, extraArgs: extraArgs)
        let status = try await sipp.wait(timeout: timeout)
        XCTAssertEqual(status, 0, "sipp UAC reports failed calls:\n\(sipp.diagnostics)", file: file, line: line)
        await fixture.assertNothingLeft(within: settle, file: file, line: line)
        let statistics = await fixture.gateway.currentStatistics
        XCTAssertEqual(statistics.inboundAnswered, calls, file: file, line: line)
        XCTAssertEqual(statistics.inboundEnded, calls, file: file, line: line)
        await fixture.stop()
    }

    func testSippUACCallsInOverUDPAndEveryCallCompletes() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        try await runCalls(fixture, target: fixture.udpPort, transport: "u1", calls: 5)
    }

    func testSippUACCallsInOverTCP() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        try await runCalls(fixture, target: fixture.tcpPort, transport: "t1", calls: 3)
    }

    func testSippUACCallsInOverTLS() async throws {
        let certificate = try TestCertificate.make()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)], tls: certificate)
        let frontPort = try freeUDPAndTCPPort()
        let front = try SocatTLSFront.clientFront(listenPort: frontPort, connectTo: fixture.tlsPort!)
        defer { front.stop() }
        try await runCalls(fixture, target: frontPort, transport: "t1", calls: 2)
    }

    func testInboundCallsCompleteWithTwentyPercentLossBothWays() async throws {
        // sipp retransmits on the RFC's T1 of 500 ms; with a shorter T1 here,
        // our wait for a twice-lost ACK (64·T1) could end before sipp's BYE
        // retransmissions do, which is a mismatch of settings, not of protocol.
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)], t1Milliseconds: 500)
        // sipp may take a retransmitted INVITE 200 (its ACK was lost) for the
        // answer to a BYE it "lost" itself, and count the call done. The
        // gateway then still waits for the ACK and ends the call with BYE
        // after 64·T1 (32 s) as RFC 3261 §13.3.1.4 says: allow for that.
        try await runCalls(fixture, target: fixture.udpPort, transport: "u1", calls: 10, rate: 5, hold: 200,
                           extraArgs: ["-lost", "20"], timeout: 90, settle: 45)
    }
}

/// A re-INVITE Tieline cannot honour gets 488 and the call stays up.
final class ReinviteTests: XCTestCase {
    func testUnacceptableReinviteGets488AndTheCallSurvives() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                       transport: "u1", scenario: scenarioPath("uac_reinvite_488"), calls: 1,
                                       rate: 1, durationMilliseconds: 0)
        let status = try await sipp.wait(timeout: 30)
        XCTAssertEqual(status, 0, "re-INVITE handling failed:\n\(sipp.diagnostics)")
        let statistics = await fixture.gateway.currentStatistics
        XCTAssertEqual(statistics.inboundAnswered, 1)
        XCTAssertEqual(statistics.inboundEnded, 1)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }
}
