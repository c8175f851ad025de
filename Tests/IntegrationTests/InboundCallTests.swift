import Gateway
import SIP
import XCTest

/// sipp as a trunk calling into Tieline (Tieline as UAS).
final class InboundCallTests: XCTestCase {
    func testSippUACCallsInOverUDPAndEveryCallCompletes() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                       transport: "u1", calls: 5, rate: 10, durationMilliseconds: 300)
        let status = try await sipp.wait(timeout: 30)
        XCTAssertEqual(status, 0, "sipp UAC reports failed calls:\n\(sipp.diagnostics)")
        let statistics = await fixture.gateway.currentStatistics
        XCTAssertEqual(statistics.inboundAnswered, 5)
        XCTAssertEqual(statistics.inboundEnded, 5)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testSippUACCallsInOverTCP() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.tcpPort)", port: try freeUDPAndTCPPort(),
                                       transport: "t1", calls: 3, rate: 10, durationMilliseconds: 300)
        let status = try await sipp.wait(timeout: 30)
        XCTAssertEqual(status, 0, "sipp UAC over TCP reports failed calls:\n\(sipp.diagnostics)")
        let statistics = await fixture.gateway.currentStatistics
        XCTAssertEqual(statistics.inboundEnded, 3)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testSippUACCallsInOverTLS() async throws {
        let certificate = try TestCertificate.make()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)], tls: certificate)
        let frontPort = try freeUDPAndTCPPort()
        let front = try SocatTLSFront.clientFront(listenPort: frontPort, connectTo: fixture.tlsPort!)
        defer { front.stop() }
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(frontPort)", port: try freeUDPAndTCPPort(),
                                       transport: "t1", calls: 2, rate: 10, durationMilliseconds: 300)
        let status = try await sipp.wait(timeout: 30)
        XCTAssertEqual(status, 0, "sipp UAC through TLS reports failed calls:\n\(sipp.diagnostics)")
        let statistics = await fixture.gateway.currentStatistics
        XCTAssertEqual(statistics.inboundEnded, 2)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testInboundCallsCompleteWithTwentyPercentLossBothWays() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                       transport: "u1", calls: 10, rate: 5, durationMilliseconds: 200,
                                       extraArgs: ["-lost", "20"])
        let status = try await sipp.wait(timeout: 90)
        XCTAssertEqual(status, 0, "calls failed under 20% loss:\n\(sipp.diagnostics)")
        await fixture.assertNothingLeft(within: 15)
        await fixture.stop()
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
