import Gateway
import SIP
import XCTest

/// Many calls in, then every transaction, dialog and session must be gone
/// once the RFC 3261 timers (64·T1 at T1 = 100 ms) have run out.
final class LoadLeakTests: XCTestCase {
    func testTwoHundredInboundCallsLeaveNothingBehind() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                       transport: "u1", calls: 200, rate: 100, durationMilliseconds: 0,
                                       extraArgs: ["-l", "200"])
        let status = try await sipp.wait(timeout: 60)
        XCTAssertEqual(status, 0, sipp.diagnostics)
        await fixture.assertNothingLeft(transactions: true, within: 15)
        await fixture.stop()
    }
}
