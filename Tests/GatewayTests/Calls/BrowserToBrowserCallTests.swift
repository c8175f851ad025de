// A browser user calling another (`bridge("user:NAME")`): the caller's call
// rings the callee's connections through an `IncomingBrowserCall` whose
// caller is the first browser, and the two media endpoints are joined in
// process. Fake media and browsers, no sockets.
import NIOCore
import SDP
import Signaling
import XCTest
@testable import Gateway

final class BrowserToBrowserCallTests: XCTestCase {
    var env: FakeCallEnvironment!
    var alice: FakeBrowser!
    var bob: FakeBrowser!

    override func setUp() async throws {
        env = try FakeCallEnvironment()
        alice = env.login("alice")
        bob = env.login("bob")
    }

    /// Alice dials bob's extension; returns her call once bob's connection rings.
    func aliceCallsBob() async throws -> (BrowserOriginatedCall, IncomingBrowserCall) {
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "1002", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        let bob = self.bob!
        let rang = await env.settle { !bob.rung.withLockedValue { $0 }.isEmpty }
        XCTAssertTrue(rang, "bob's connection rings: \(bob.said)")
        let incoming = try XCTUnwrap(bob.rung.withLockedValue { $0 }.first?.control as? IncomingBrowserCall)
        return (call, incoming)
    }

    /// The endpoints made: alice's first, then bob's.
    func medias() -> [FakeMedia] { env.medias.withLockedValue { $0 } }

    func testBobAnswersAndTheTwoEndpointsAreJoined() async throws {
        let (_, incoming) = try await aliceCallsBob()
        XCTAssertEqual(medias().count, 2)
        XCTAssertEqual(medias()[1].calls.first, "join", "bob's endpoint is joined to alice's before it answers her offer")
        let bob = self.bob!
        try await env.onLoop { incoming.browserAnswered(browserOfferSDP, by: bob) }
        let alice = self.alice!
        let answered = await env.settle { alice.said.contains("answered") }
        XCTAssertTrue(answered, "alice hears the answer: \(alice.said)")
        XCTAssertTrue(medias()[0].calls.contains("acceptPhoneAnswer"), "alice's endpoint takes bob's answer")
        XCTAssertFalse(medias()[0].calls.contains("unjoin"))
        // Bob hangs up: alice hears the end, both endpoints close, both calls end.
        try await env.onLoop { incoming.left(bob, reason: "browser hung up") }
        let over = await env.settle { alice.said.contains("hangup 200") }
        XCTAssertTrue(over, "\(alice.said)")
        try await assertBothEnded()
    }

    func testBobDeclinesAndAlicesEndpointIsUnjoinedForWhatComesNext() async throws {
        let (_, incoming) = try await aliceCallsBob()
        let bob = self.bob!
        try await env.onLoop { incoming.browserRejected(486, by: bob) }
        let alice = self.alice!
        let over = await env.settle { alice.said.contains("hangup 486") }
        XCTAssertTrue(over, "alice hears bob's busy: \(alice.said)")
        XCTAssertTrue(medias()[0].calls.contains("unjoin"), "alice's endpoint is free for a trunk: \(medias()[0].calls)")
        try await assertBothEnded()
    }

    func testAJoinTheMediaRefusesEndsTheCallWith488() async throws {
        env.mediaRefuses = ["join"]
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "1002", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        let alice = self.alice!
        let over = await env.settle { alice.said.contains("hangup 488") }
        XCTAssertTrue(over, "alice hears 488: \(alice.said)")
        XCTAssertTrue(bob.said.isEmpty, "nothing rang bob: \(bob.said)")
        try await assertBothEnded()
    }

    /// Every endpoint closed once, no call left in the table.
    func assertBothEnded(file: StaticString = #filePath, line: UInt = #line) async throws {
        let env = self.env!
        let done = await env.settle { env.callsInProgress == 0 && env.medias.withLockedValue { $0 }.allSatisfy(\.isClosed) }
        XCTAssertTrue(done, "both calls ended and their media closed", file: file, line: line)
        XCTAssertEqual(medias().map(\.closeCount), Array(repeating: 1, count: medias().count), file: file, line: line)
    }
}
