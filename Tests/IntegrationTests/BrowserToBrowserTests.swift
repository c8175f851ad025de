import Foundation
import Gateway
import XCTest

/// One browser user calling another through the default dialplan (by name
/// or extension): two aiortc clients, each hearing the other's tone. The
/// two calls' media are joined inside the gateway, not over a socket.
final class BrowserToBrowserTests: XCTestCase {
    func testAliceCallsBobByExtensionAndTheyHearEachOther() async throws {
        let fixture = try await GatewayFixture(
            trunks: [TrunkSpec(port: freePort(udp: true))],
            extraUsers: #"  - { name: bob, password: "bob-secret", extension: "1002" }"#, browsers: true)
        async let bob = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "bob", "--password", "bob-secret",
                                          "--answer", "--browser-tone", "700"])
        try await waitForLogin("bob", fixture)
        // Datagrams from one of the gateway's media ports to another: there must be none.
        let range = "\(fixture.mediaPorts.lowerBound)-\(fixture.mediaPorts.upperBound)"
        let between = try RTPArrivals.start(filter: "udp and src portrange \(range) and dst portrange \(range)",
                                            seconds: 12)
        // The control: the capture sees the browsers' media reaching those ports.
        let fromBrowsers = try RTPArrivals.start(filter: "udp and dst portrange \(range)", seconds: 12)
        let alice = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                "--password", "alice-secret", "--call", "1002",
                                                "--browser-tone", "1000", "--hangup-after", "3"])
        let callee = try await bob
        XCTAssertEqual(between.finish().count, 0, "media went over loopback UDP between the two calls")
        XCTAssertGreaterThan(fromBrowsers.finish().count, 100, "the capture saw the browsers' media")
        XCTAssertNil(alice["error"], "\(alice)")
        XCTAssertNil(callee["error"], "\(callee)")
        let types = BrowserPhone.messageTypes(alice)
        XCTAssertEqual(Array(types.prefix(2)), ["welcome", "trying"], "\(types)")
        XCTAssertTrue(types.contains("answered"), "\(types)")
        let incoming = callee["incoming"] as? [String: Any]
        XCTAssertEqual(incoming?["from"] as? String, "alice", "\(callee)")
        XCTAssertEqual(incoming?["to"] as? String, "bob", "\(callee)")
        BrowserPhone.assertTone(alice, "browser_rx", hertz: 700, tolerance: 15)
        BrowserPhone.assertTone(callee, "browser_rx", hertz: 1000, tolerance: 20)
        // Alice hung up: Bob hears a normal end.
        XCTAssertEqual((callee["ended"] as? [String: Any])?["code"] as? Int, 200, "\(callee)")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    func testAnUnansweredUserIsReportedWhenTheyReject() async throws {
        let fixture = try await GatewayFixture(
            trunks: [TrunkSpec(port: freePort(udp: true))],
            extraUsers: #"  - { name: bob, password: "bob-secret", extension: "1002" }"#, browsers: true)
        // Nobody is logged in as bob: the call ends at once with 480.
        let alone = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                "--password", "alice-secret", "--call", "bob"])
        XCTAssertEqual(BrowserPhone.messageTypes(alone), ["welcome", "trying", "hangup"], "\(alone)")
        XCTAssertEqual((alone["ended"] as? [String: Any])?["code"] as? Int, 480, "\(alone)")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// Bob's browser rings but never answers: after the dialplan's
    /// ring_timeout Alice hears 408 (the protocol's "nobody answered") and
    /// Bob's browser hears the call end.
    func testNobodyAnswersWithinTheRingTimeoutIs408() async throws {
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-ring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("ring.lua").path
        try """
            call:bridge("user:" .. call.to, {ring_timeout = 2})

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(
            trunks: [TrunkSpec(port: freePort(udp: true))],
            extraUsers: #"  - { name: bob, password: "bob-secret" }"#, browsers: true, dialplan: script)
        // Bob's browser gets the call but waits far longer than the ring timeout.
        async let bob = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "bob", "--password", "bob-secret",
                                          "--answer", "--answer-delay", "6"])
        try await waitForLogin("bob", fixture)
        let alice = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                "--password", "alice-secret", "--call", "bob"])
        let ended = alice["ended"] as? [String: Any]
        XCTAssertEqual(ended?["code"] as? Int, 408, "\(alice)")
        XCTAssertTrue(BrowserPhone.messageTypes(alice).contains("ringing"), "bob's browser rang first: \(alice)")
        let callee = try await bob
        XCTAssertNotNil(callee["incoming"], "\(callee)")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    private func waitForLogin(_ user: String, _ fixture: GatewayFixture) async throws {
        for _ in 0..<200 {
            if fixture.gateway.loggedInUsers.contains(user) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("\(user)'s browser did not log in")
    }
}
