import Foundation
import Gateway
import XCTest

/// Calls the gateway answers itself, with an aiortc browser and no phone:
/// the echo test, the tone test and a menu that collects keys.
final class DialplanMediaTests: XCTestCase {
    /// 600: the browser's own 1 kHz tone comes back to it.
    func testTheEchoTestAt600ReturnsTheCallersOwnTone() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true)
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "600",
                                                 "--browser-tone", "1000", "--hangup-after", "3.5"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(Array(types.prefix(3)), ["welcome", "trying", "answered"], "the gateway answers itself: \(types)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 1000, tolerance: 20)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// The echo test sends back what it gets, whatever it is: a 700 Hz
    /// tone comes back at 700 Hz (so the 1 kHz above is no coincidence).
    func testTheEchoTestReturnsAnyToneUnchanged() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true)
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "600",
                                                 "--browser-tone", "700", "--hangup-after", "3.5"])
        XCTAssertNil(result["error"], "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 700, tolerance: 20)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// 601: the gateway's 1 kHz tone, not the browser's own 440 Hz.
    func testTheToneTestAt601PlaysOneKilohertz() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true)
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "601",
                                                 "--browser-tone", "440", "--hangup-after", "3.5"])
        XCTAssertNil(result["error"], "\(result)")
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 1000, tolerance: 20)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A menu: answer, collect up to 4 keys ended by #, then hang up with
    /// the keys in the reason. The browser keys in "42#" as dtmf messages
    /// after the answer, and hears "digits 42" in the hangup.
    func testAMenuCollectsTheDigitsTheBrowserSends() async throws {
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-menu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("menu.lua").path
        try """
            -- A menu: the keys pressed, up to 4 or until #, come back in the hangup's reason.
            call:answer()
            local digits = call:collect_digits{max = 4, terminator = "#"}
            call:hangup(486, "digits " .. (digits or "none"))

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script)
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "602",
                                                 "--dtmf", "42#", "--dtmf-delay", "1.0"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(Array(types.prefix(3)), ["welcome", "trying", "answered"], "\(types)")
        let ended = result["ended"] as? [String: Any]
        XCTAssertEqual(ended?["type"] as? String, "hangup", "\(result)")
        XCTAssertEqual(ended?["reason"] as? String, "digits 42", "the keys without the terminator: \(result)")
        // The menu hung up right after the # (a few hundred ms of keys after
        // the 1 s wait), not after collect_digits' 5 s timeout.
        if let after = result["hangup_received_after_answer_s"] as? Double {
            XCTAssertLessThan(after, 4.0, "the terminator ends the input: \(result)")
        }
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }
}
