// The browser's `hold` and `unhold` (docs/signaling.md), through the real SIP
// core on a recording transport with fake media: the trunk hears re-INVITEs with
// our new offer (sendonly, then sendrecv), its answers go to the media, and the
// browser hears `held` and `unheld`. No sockets.
import NIOCore
import SDP
import SIP
import SIPTestSupport
import Signaling
import XCTest
@testable import Gateway

final class HoldTests: XCTestCase {
    var env: FakeCallEnvironment!
    var alice: FakeBrowser!

    override func setUp() async throws {
        env = try FakeCallEnvironment()
        alice = env.login("alice")
    }

    /// Alice's call to a trunk, answered and acknowledged.
    func answeredCall() async throws -> (BrowserOriginatedCall, SIPRequest, FakeMedia) {
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        let invite = try await nextRequest(.invite)
        try await env.deliver(sipResponse(to: invite, 200, contact: "sip:far@127.0.0.1:5070",
                                          body: FakeMedia.plain(.sendrecv, port: 31000).text))
        await waitFor("answered")
        _ = env.transport.take()
        let media = try XCTUnwrap(env.medias.withLockedValue { $0.first })
        return (call, invite, media)
    }

    func testHoldSendsASendonlyReInviteAndUnholdASendrecvOneEachAnsweredByTheTrunk() async throws {
        let (call, _, media) = try await answeredCall()
        try await env.onLoop { call.browserHold(true) }
        let hold = try await nextRequest(.invite)
        let offer = String(decoding: hold.body, as: UTF8.self)
        XCTAssertTrue(offer.contains("a=sendonly"), offer)
        XCTAssertEqual(hold.headers["Content-Type"], "application/sdp")
        XCTAssertFalse(alice.said.contains("held"), "held only once the trunk answered")
        try await env.deliver(sipResponse(to: hold, 200, contact: "sip:far@127.0.0.1:5070",
                                          body: FakeMedia.plain(.recvonly, port: 31000).text))
        await waitFor("held")
        XCTAssertTrue(media.calls.contains("hold"), "\(media.calls)")
        XCTAssertTrue(media.calls.contains("acceptPhoneReanswer recvonly"), "\(media.calls)")
        let ack = try await nextRequest(.ack)
        XCTAssertEqual(ack.headers.cseq?.sequence, hold.headers.cseq?.sequence, "the re-INVITE's 2xx is acknowledged")

        try await env.onLoop { call.browserHold(false) }
        let resume = try await nextRequest(.invite)
        XCTAssertTrue(String(decoding: resume.body, as: UTF8.self).contains("a=sendrecv"))
        XCTAssertGreaterThan(resume.headers.cseq?.sequence ?? 0, hold.headers.cseq?.sequence ?? 0)
        try await env.deliver(sipResponse(to: resume, 200, contact: "sip:far@127.0.0.1:5070",
                                          body: FakeMedia.plain(.sendrecv, port: 31000).text))
        await waitFor("unheld")
        XCTAssertEqual(alice.said, ["answered", "held", "unheld"])
        XCTAssertTrue(media.calls.contains("resume"), "\(media.calls)")
    }

    func testAHoldTheTrunkRefusesStillHoldsOnOurSide() async throws {
        let (call, _, media) = try await answeredCall()
        try await env.onLoop { call.browserHold(true) }
        let hold = try await nextRequest(.invite)
        try await env.deliver(sipResponse(to: hold, 488))
        await waitFor("held")
        XCTAssertTrue(media.calls.contains("hold"), "the music plays and the browser's audio stays back")
        XCTAssertFalse(media.calls.contains { $0.hasPrefix("acceptPhoneReanswer") })
        XCTAssertTrue(env.transport.take().requests(.bye).isEmpty, "a refused re-INVITE does not end the call")
    }

    func testRequestsWhileOneIsCarriedOutFoldIntoTheLast() async throws {
        let (call, _, _) = try await answeredCall()
        try await env.onLoop {
            call.browserHold(true)
            call.browserHold(false)
            call.browserHold(true)
        }
        let first = try await nextRequest(.invite)
        try await env.deliver(sipResponse(to: first, 200, contact: "sip:far@127.0.0.1:5070",
                                          body: FakeMedia.plain(.recvonly, port: 31000).text))
        await waitFor("held")
        // The hold, un-held and held again meanwhile: already where the browser wants it.
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty, "one re-INVITE for three requests ending held")
        XCTAssertEqual(alice.said, ["answered", "held"])
        // Holding what is held is answered at once, without SIP.
        try await env.onLoop { call.browserHold(true) }
        let alice = self.alice!
        _ = await env.settle { alice.said.count == 3 }
        XCTAssertEqual(alice.said, ["answered", "held", "held"])
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty)
    }

    func testGlareIsRetriedAfterTheWaitTheOwnerOfTheCallIDKeeps() async throws {
        let (call, _, _) = try await answeredCall()
        try await env.onLoop { call.browserHold(true) }
        let first = try await nextRequest(.invite)
        try await env.deliver(sipResponse(to: first, 491))
        await env.advance(.milliseconds(2000))
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty, "the caller waits at least 2.1 s (RFC 3261 §14.1)")
        await env.advance(.milliseconds(2100))
        let second = try await nextRequest(.invite)
        XCTAssertTrue(String(decoding: second.body, as: UTF8.self).contains("a=sendonly"))
        try await env.deliver(sipResponse(to: second, 200, contact: "sip:far@127.0.0.1:5070",
                                          body: FakeMedia.plain(.recvonly, port: 31000).text))
        await waitFor("held")
    }

    func testAHoldBeforeTheAnswerIsAnError() async throws {
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        _ = try await nextRequest(.invite)
        try await env.onLoop { call.browserHold(true) }
        await waitFor("error 400")
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty, "no re-INVITE before the answer")
    }

    func testTheMediaRefusingTheHoldIsAnErrorAndNothingIsSent() async throws {
        let (call, _, _) = try await answeredCall()
        env.medias.withLockedValue { $0[0].refusals.withLockedValue { $0 = ["hold"] } }
        try await env.onLoop { call.browserHold(true) }
        await waitFor("error 400")
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty)
        // Not held: unhold is answered at once.
        try await env.onLoop { call.browserHold(false) }
        await waitFor("unheld")
    }

    func nextRequest(_ method: SIPMethod, file: StaticString = #filePath, line: UInt = #line) async throws -> SIPRequest {
        let box = SentBox()
        let transport = env.transport
        _ = await env.settle { box.add(transport.take()); return !box.requests(method).isEmpty }
        return try XCTUnwrap(box.requests(method).first, "no \(method) sent", file: file, line: line)
    }

    func waitFor(_ said: String, file: StaticString = #filePath, line: UInt = #line) async {
        let alice = self.alice!
        let heard = await env.settle { alice.said.contains(said) }
        XCTAssertTrue(heard, "expected \(said), the browser heard \(alice.said)", file: file, line: line)
    }
}
