import Gateway
import SIP
import XCTest

/// Trunk registration against sipp acting as a registrar with a digest challenge.
final class RegistrationTests: XCTestCase {
    func testRegistersWithDigestRefreshesAndUnregistersOnStop() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("registrar_auth"),
                                       calls: 1, extraArgs: ["-au", "tieline", "-ap", "secret"])
        let fixture = try await GatewayFixture(trunks: [
            TrunkSpec(port: sippPort, username: "tieline", password: "secret", register: true, registerExpires: 60),
        ])
        // The registrar grants 4 s; the refresh comes at half of that.
        let deadline = Date().addingTimeInterval(15)
        var registrations = 0
        while Date() < deadline {
            registrations = try await fixture.gateway.eventLoop.submit {
                fixture.gateway.registrations["carrier"]?.registrations ?? 0
            }.get()
            if registrations >= 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertGreaterThanOrEqual(registrations, 2, "no refresh seen:\n\(sipp.diagnostics)")
        await fixture.stop()
        let state = try await fixture.gateway.eventLoop.submit {
            fixture.gateway.registrations["carrier"]?.state
        }.get()
        XCTAssertEqual(state, .unregistered)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "the registrar scenario failed:\n\(sipp.diagnostics)")
    }
}
