// Every ending of a browser's call to a trunk, driven through the real SIP core on a
// recording transport, fake media and a fake browser connection: no sockets.
import NIOCore
import SIP
import SIPTestSupport
import Signaling
import XCTest
@testable import Gateway

final class BrowserOriginatedCallTests: XCTestCase {
    var env: FakeCallEnvironment!
    var alice: FakeBrowser!

    override func setUp() async throws {
        env = try FakeCallEnvironment()
        alice = env.login("alice")
    }

    /// Places alice's call to `number` and returns it with the INVITE that reached the trunk.
    func place(_ number: String = "+15551234567") async throws -> (BrowserOriginatedCall, SIPRequest) {
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: number, sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        let invite = try await nextRequest(.invite)
        return (call, invite)
    }

    func nextRequest(_ method: SIPMethod, file: StaticString = #filePath, line: UInt = #line) async throws -> SIPRequest {
        let box = SentBox()
        let transport = env.transport
        _ = await env.settle { box.add(transport.take()); return !box.requests(method).isEmpty }
        return try XCTUnwrap(box.requests(method).first, "no \(method) sent", file: file, line: line)
    }

    func waitFor(_ said: String, from browser: FakeBrowser? = nil, file: StaticString = #filePath, line: UInt = #line) async {
        let browser = browser ?? alice!
        let heard = await env.settle { browser.said.contains(said) }
        XCTAssertTrue(heard, "expected \(said), the browser heard \(browser.said)", file: file, line: line)
    }

    func assertEndedCleanly(file: StaticString = #filePath, line: UInt = #line) async throws {
        let media = env.medias.withLockedValue { $0 }
        let env = self.env!
        let clean = await env.settle { media.allSatisfy(\.isClosed) && env.callsInProgress == 0 }
        XCTAssertTrue(clean, "media closed and the call gone", file: file, line: line)
        let leakFree = try await env.leakFree()
        XCTAssertTrue(leakFree, "no dialog or INVITE left", file: file, line: line)
    }

    static let phoneSDP = FakeMedia.plain(.sendrecv, port: 31000).text

    func testAnsweredThenTheFarEndHangsUp() async throws {
        let (_, invite) = try await place()
        XCTAssertEqual(invite.uri.user, "+15551234567")
        XCTAssertTrue(String(decoding: invite.body, as: UTF8.self).contains("o=tieline 42 1 IN"), "the offer is version 1")
        try await env.deliver(sipResponse(to: invite, 180))
        await waitFor("ringing")
        try await env.deliver(sipResponse(to: invite, 200, contact: "sip:far@127.0.0.1:5070", body: Self.phoneSDP))
        _ = try await nextRequest(.ack)
        await waitFor("answered")
        XCTAssertEqual(alice.said, ["ringing", "answered"])
        XCTAssertTrue(env.medias.withLockedValue { $0[0].calls }.contains("acceptPhoneAnswer"))
        // The far end hangs up: 200 to its BYE, `hangup` 200 to the browser.
        var script = PeerDialogText(invite: invite)
        try await env.deliver(script.request("BYE"))
        await waitFor("hangup 200")
        try await assertEndedCleanly()
    }

    func testBusyIsNotRetriedOnTheNextTrunk() async throws {
        let (_, invite) = try await place()
        try await env.deliver(sipResponse(to: invite, 486))
        await waitFor("hangup 486")
        let sent = env.transport.take()
        XCTAssertEqual(sent.requests(.ack).count, 1, "the 486 is acknowledged")
        XCTAssertTrue(sent.requests(.invite).isEmpty, "486 does not fail over")
        try await assertEndedCleanly()
    }

    func testA503FailsOverToTheNextTrunkWithTheSameMedia() async throws {
        let (_, first) = try await place()
        try await env.deliver(sipResponse(to: first, 503))
        let second = try await nextRequest(.invite)
        XCTAssertEqual(second.uri.port, 5071, "the backup trunk")
        XCTAssertNotEqual(second.headers.callID, first.headers.callID)
        try await env.deliver(sipResponse(to: second, 200, body: Self.phoneSDP))
        await waitFor("answered")
        XCTAssertEqual(env.medias.withLockedValue { $0.count }, 1, "one media endpoint for both attempts")
    }

    func testHangingUpWhileRingingCancels() async throws {
        let (call, invite) = try await place()
        try await env.deliver(sipResponse(to: invite, 180))
        await waitFor("ringing")
        try await env.onLoop { call.end(reason: "browser hung up") }
        let cancel = try await nextRequest(.cancel)
        try await env.deliver(sipResponse(to: cancel, 200))
        try await env.deliver(sipResponse(to: invite, 487))
        _ = try await nextRequest(.ack)
        XCTAssertEqual(alice.said, ["ringing"], "no hangup goes back to a browser that hung up")
        try await assertEndedCleanly()
    }

    func testHangingUpAfterTheAnswerSendsBye() async throws {
        let (call, invite) = try await place()
        try await env.deliver(sipResponse(to: invite, 200, body: Self.phoneSDP))
        await waitFor("answered")
        try await env.onLoop { call.end(reason: "browser hung up") }
        let bye = try await nextRequest(.bye)
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEndedCleanly()
    }

    func testMediaFailureEndsTheCallOnBothSides() async throws {
        let (_, invite) = try await place()
        try await env.deliver(sipResponse(to: invite, 200, body: Self.phoneSDP))
        await waitFor("answered")
        env.medias.withLockedValue { $0[0] }.fail("consent expired")
        _ = try await nextRequest(.bye)
        await waitFor("hangup 200")
        try await assertEndedCleanly()
    }

    func testEarlyMediaThenAFailureEndsWithoutFailover() async throws {
        let (_, invite) = try await place()
        try await env.deliver(sipResponse(to: invite, 183, body: Self.phoneSDP))
        await waitFor("progress")
        try await env.deliver(sipResponse(to: invite, 503))
        await waitFor("hangup 503")
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty, "the browser already hears this attempt's media")
        try await assertEndedCleanly()
    }

    func testNoMediaPortsGives503() async throws {
        env.mediaFails = true
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        await waitFor("hangup 503")
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty)
        try await assertEndedCleanly()
    }

    /// The browser hangs up while its media endpoint is still being made:
    /// the call counts as gone only once that endpoint exists and is closed.
    func testAHangupWhileTheMediaIsMadeClosesItBeforeTheCallCountsAsGone() async throws {
        env.holdsMedia = true
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        let env = self.env!
        let held = await env.settle { env.mediaIsHeld }
        XCTAssertTrue(held, "makeMedia was asked")
        try await env.onLoop { call.end(reason: "browser hung up") }
        XCTAssertEqual(env.callsInProgress, 1, "the call still holds an endpoint being made")
        env.letMediaBeMade()
        try await assertEndedCleanly()
        XCTAssertEqual(env.medias.withLockedValue { $0.map(\.closeCount) }, [1])
        XCTAssertTrue(env.transport.take().requests(.invite).isEmpty, "no INVITE for a call already over")
    }

    func testAHoldIsAnsweredRecvonlyWithTheNextVersionAndRetransmittedUntilTheAck() async throws {
        let (_, invite) = try await place()
        try await env.deliver(sipResponse(to: invite, 200, contact: "sip:far@127.0.0.1:5070", body: Self.phoneSDP))
        await waitFor("answered")
        _ = env.transport.take()
        var script = PeerDialogText(invite: invite)
        try await env.deliver(script.request("INVITE", body: FakeMedia.plain(.sendonly, port: 31000).text))
        let answer = try await nextResponse(200)
        let sdp = String(decoding: answer.body, as: UTF8.self)
        XCTAssertTrue(sdp.contains("a=recvonly"), sdp)
        XCTAssertTrue(sdp.contains("o=tieline 42 2 IN"), "the version rises with the change: \(sdp)")
        // The ACK is lost: the 200 comes again after T1.
        await env.advance(.milliseconds(500))
        _ = try await nextResponse(200)
        try await env.deliver(script.ack())
        await env.advance(.seconds(5))
        XCTAssertTrue(env.transport.take().responses(200).isEmpty, "no more retransmissions after the ACK")
        XCTAssertEqual(alice.said, ["answered"], "the browser hears nothing of the hold")
    }

    func testTheDialplansOwnAnswerPlaysAndHangsUp() async throws {
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "601", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        await waitFor("hangup 200")
        XCTAssertEqual(alice.said, ["answered", "hangup 200"])
        XCTAssertTrue(env.medias.withLockedValue { $0[0].calls }.contains("startApplication"))
        try await assertEndedCleanly()
    }

    func nextResponse(_ code: Int, file: StaticString = #filePath, line: UInt = #line) async throws -> SIPResponse {
        let box = SentBox()
        let transport = env.transport
        _ = await env.settle { box.add(transport.take()); return !box.messages.responses(code).isEmpty }
        return try XCTUnwrap(box.messages.responses(code).first, "no \(code) sent", file: file, line: line)
    }
}

/// Collects what was sent across several looks.
final class SentBox: @unchecked Sendable {
    var messages: [SIPMessage] = []
    func add(_ more: [SIPMessage]) { messages += more }
    func requests(_ method: SIPMethod) -> [SIPRequest] { messages.requests(method) }
}

/// The trunk's own requests inside the dialog our INVITE made.
struct PeerDialogText {
    let invite: SIPRequest
    var cseq = 100

    init(invite: SIPRequest) { self.invite = invite }

    mutating func request(_ method: String, body: String = "", headers: [String] = []) -> String {
        cseq += 1
        return text(method, cseq: cseq, body: body, headers: headers)
    }

    func ack() -> String { text("ACK", cseq: cseq, body: "") }

    private func text(_ method: String, cseq: Int, body: String, headers: [String] = []) -> String {
        let from = invite.headers["From"] ?? ""
        let to = invite.headers["To"] ?? ""
        var text = "\(method) sip:tieline@127.0.0.1:5060 SIP/2.0\n"
        text += "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK\(method.lowercased())\(cseq);rport\n"
        text += "From: \(to);tag=far\nTo: \(from)\nCall-ID: \(invite.headers.callID ?? "")\n"
        text += "CSeq: \(cseq) \(method)\nContact: <sip:far@127.0.0.1:5070>\nMax-Forwards: 70\n"
        for header in headers { text += header + "\n" }
        if !body.isEmpty, !headers.contains(where: { $0.lowercased().hasPrefix("content-type:") }) {
            text += "Content-Type: application/sdp\n"
        }
        text += "Content-Length: \(body.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)\n\n" + body
        return text
    }
}
