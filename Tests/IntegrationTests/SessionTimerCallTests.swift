import Foundation
import XCTest
@testable import Gateway

/// RFC 4028 with a real trunk's timing, not a moved clock: sipp answers the
/// browser's call taking the session interval down to the 90 s minimum and
/// making the gateway the refresher, so the gateway must refresh by itself
/// at half the interval (45 s) with an UPDATE that restates it, and the call
/// must live on past the point where an unrefreshed session would have
/// expired on the trunk's side. (Long by nature: 90 s is the RFC's floor.)
final class SessionTimerCallTests: XCTestCase {
    func testTheGatewayRefreshesTheTrunksSessionWithUPDATEAtHalfTheInterval() async throws {
        let trunkPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunkPort)], browsers: true)
        let sipp = try SippProcess.uas(port: trunkPort, scenario: scenarioPath("uas_session_timer"), timeout: 120,
                                       extraArgs: ["-nr"])
        let started = Date()
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                                 "--call", "+49301234567", "--duration", "52", "--hangup-after", "50"])
        XCTAssertNil(result["error"], "\(result)")
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)")
        XCTAssertFalse(BrowserPhone.messageTypes(result).contains("hangup"),
                       "the gateway kept the call up until the browser hung up: \(result)")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 49, "the call lasted past the refresh")
        let status = try await sipp.wait(timeout: 30)
        XCTAssertEqual(status, 0, "the trunk got its UPDATE in time and then our BYE\n\(sipp.diagnostics)")
        XCTAssertTrue(sipp.actionLog.contains("the gateway asked for Session-Expires 1800 (Supported: timer)"),
                      sipp.diagnostics)
        XCTAssertTrue(sipp.actionLog.contains("refresh: Session-Expires 90;refresher=uac"), sipp.diagnostics)
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }
}
