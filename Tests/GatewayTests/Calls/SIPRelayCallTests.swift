// A trunk's call the dialplan relays to another SIP peer (`SIPRelayCall`),
// driven through the real SIP core on a recording transport: the caller's
// INVITE, CANCEL, ACK and in-dialog requests arrive as text, the callee's
// responses too; the relay's media is fake. No sockets.
import Config
import Dialplan
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SDP
import SIP
import SIPTestSupport
import XCTest
@testable import Gateway
@testable import Media

final class SIPRelayCallTests: XCTestCase {
    var env: FakeCallEnvironment!
    var caller = TrunkScript()
    let sent = SentBox()
    var scripts: URL!

    /// Relays to the backup trunk; on 503 or 488 to a SIP URI; else hangs up with the callee's code.
    static let script = """
        local r = call:bridge("trunk:backup", {number = "+15550199", relay = true})
        if not r.ok and (r.code == 503 or r.code == 488) then
          r = call:bridge("sip:2001@127.0.0.1:5072", {relay = true, codecs = {"PCMA"}})
        end
        if not r.ok and r.code == 404 then
          r = call:bridge("trunk:carrier", {number = "+15550199"})
        end
        if not r.ok then call:hangup(r.code, "callee said " .. r.code) end

        """
    static let callerOffer = FakeMedia.plain(.sendrecv, port: 31000).text
    static let calleeAnswer = FakeMedia.plain(.sendrecv, port: 32000).text

    override func setUp() async throws {
        scripts = FileManager.default.temporaryDirectory.appendingPathComponent("relay-call-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        let path = scripts.appendingPathComponent("relay.lua").path
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        env = try FakeCallEnvironment(dialplan: path)
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: scripts)
    }

    // MARK: the call

    func testTheCalleesAnswerAnswersTheCallerAndTheCallersByeEndsBoth() async throws {
        let callee = try await relayedCall()
        XCTAssertEqual(callee.uri.user, "+15550199")
        XCTAssertEqual(callee.uri.port, 5071, "the backup trunk")
        XCTAssertEqual(callee.headers.from?.uri.user, IncomingBrowserCallTests.callerNumber, "the caller's number goes on")
        XCTAssertEqual(callee.headers.from?.displayName, "Carol", "and the caller's name")
        XCTAssertTrue(String(decoding: callee.body, as: UTF8.self).contains("m=audio 40002 "), "the relay's offer")
        try await env.deliver(sipResponse(to: callee, 180))
        _ = try await response(180)
        try await env.deliver(sipResponse(to: callee, 200, contact: "sip:far@127.0.0.1:5071", body: Self.calleeAnswer))
        _ = try await request(.ack)
        let ok = try await response(200)
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("m=audio 40000 "), "the relay's answer to the caller")
        XCTAssertEqual(relayCalls(), ["calleeOffer PCMU,PCMA,G722", "acceptCalleeAnswer"])
        caller.ourTag = ok.headers.to?.tag
        try await env.deliver(caller.ack())
        // The caller hangs up: its BYE is answered and the callee hears ours.
        try await env.deliver(caller.request("BYE"))
        _ = try await response(200, to: .bye)
        let bye = try await request(.bye)
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEnded(status: 200, reason: "the caller hung up")
    }

    func testTheCalleesByeEndsTheCallerWithBye() async throws {
        let callee = try await answeredCall()
        var far = PeerDialogText(invite: callee)
        try await env.deliver(far.request("BYE"))
        let bye = try await request(.bye)
        XCTAssertEqual(bye.headers.callID, TrunkScript.callID, "the BYE goes to the caller's dialog")
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEnded(status: 200, reason: "the callee hung up")
    }

    func testEarlyMediaFromTheCalleeReachesTheCallerIn183AndThe200RepeatsIt() async throws {
        let callee = try await relayedCall()
        try await env.deliver(sipResponse(to: callee, 183, body: Self.calleeAnswer))
        let early = try await response(183)
        XCTAssertTrue(String(decoding: early.body, as: UTF8.self).contains("m=audio 40000 "), "our answer, early")
        try await env.deliver(sipResponse(to: callee, 200, body: Self.calleeAnswer))
        let ok = try await response(200)
        XCTAssertEqual(ok.body, early.body, "the same answer in the 200")
        XCTAssertEqual(relayCalls().filter { $0 == "acceptCalleeAnswer" }.count, 1, "the callee's SDP is taken once")
    }

    /// A 200 without SDP (allowed after a reliable 183 with it) right behind
    /// the 183 waits for the 183's SDP to be applied and answers the caller with it.
    func testA200WithoutSDPAfterA183WithItAnswersTheCallerWithTheEarlyAnswer() async throws {
        let callee = try await relayedCall()
        try await env.deliver(sipResponse(to: callee, 183, body: Self.calleeAnswer))
        try await env.deliver(sipResponse(to: callee, 200))
        let ok = try await response(200)
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("m=audio 40000 "), "our answer in the 200")
        XCTAssertEqual(relayCalls().filter { $0 == "acceptCalleeAnswer" }.count, 1)
    }

    func testA503FailsOverToTheNextTargetWithTheSameRelay() async throws {
        let first = try await relayedCall()
        try await env.deliver(sipResponse(to: first, 503))
        let second = try await request(.invite, after: first)
        XCTAssertEqual(second.uri.port, 5072, "the script's SIP URI")
        XCTAssertEqual(second.uri.user, "2001")
        try await env.deliver(sipResponse(to: second, 200, body: Self.calleeAnswer))
        _ = try await response(200)
        XCTAssertEqual(env.relays.withLockedValue { $0.count }, 1, "one relay for both attempts")
        XCTAssertEqual(relayCalls().filter { $0.hasPrefix("calleeOffer") }, ["calleeOffer PCMU,PCMA,G722", "calleeOffer PCMA"],
                       "the second target's codecs get an offer of their own")
    }

    /// A callee whose 200 carries SDP we cannot use is left (BYE) and the
    /// dialplan hears 488: the next target answers the caller.
    func testAnAnswerThatCannotBeRelayedFailsOverToTheNextTarget() async throws {
        let first = try await relayedCall()
        try await env.deliver(sipResponse(to: first, 200, contact: "sip:far@127.0.0.1:5071", body: "this is not SDP"))
        let bye = try await request(.bye)
        XCTAssertEqual(bye.headers.callID, first.headers.callID, "the unusable callee is left")
        try await env.deliver(sipResponse(to: bye, 200))
        let second = try await request(.invite, after: first)
        XCTAssertEqual(second.uri.port, 5072, "the script's next target")
        XCTAssertTrue(sentNow().responses(488).isEmpty, "the caller hears nothing of the failed attempt")
        try await env.deliver(sipResponse(to: second, 200, body: Self.calleeAnswer))
        let ok = try await response(200)
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("m=audio 40000 "), "the second callee's media")
        XCTAssertEqual(relayCalls().filter { $0 == "acceptCalleeAnswer" }.count, 1, "only the usable answer reached the relay")
    }

    /// Early SDP we cannot use is only a preview: the caller hears 183
    /// without it, and the 200's SDP answers it.
    func testUnusableEarlySDPGivesProgressWithoutItAndThe200Answers() async throws {
        let callee = try await relayedCall()
        try await env.deliver(sipResponse(to: callee, 183, body: "this is not SDP"))
        let early = try await response(183)
        XCTAssertTrue(early.body.isEmpty, "no early media from an unusable preview")
        try await env.deliver(sipResponse(to: callee, 200, body: Self.calleeAnswer))
        let ok = try await response(200)
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("m=audio 40000 "), "our answer in the 200")
        XCTAssertEqual(sentNow().requests(.invite).count, 1, "no failover: the first callee is the call")
    }

    func testABridgeWithoutRelayAfterARelayedOneIsRefused403() async throws {
        let first = try await relayedCall()
        try await env.deliver(sipResponse(to: first, 404))
        let refusal = try await response(403)
        XCTAssertEqual(refusal.reasonPhrase, "callee said 403")
        XCTAssertEqual(sentNow().requests(.invite).count, 1, "nothing went out without relay = true")
        try await assertEnded(status: 403, reason: "callee said 403")
    }

    func testBusyCalleeGivesTheCallerBusy() async throws {
        let callee = try await relayedCall()
        try await env.deliver(sipResponse(to: callee, 486))
        let busy = try await response(486)
        XCTAssertEqual(busy.reasonPhrase, "callee said 486")
        try await assertEnded(status: 486, reason: "callee said 486")
    }

    func testTheCallersCancelCancelsTheCallee() async throws {
        let callee = try await relayedCall()
        try await env.deliver(sipResponse(to: callee, 180))
        _ = try await response(180)
        try await env.deliver(caller.cancel())
        _ = try await response(487)
        let cancel = try await request(.cancel)
        try await env.deliver(sipResponse(to: cancel, 200))
        try await env.deliver(sipResponse(to: callee, 487))
        try await assertEnded(status: 487, reason: "the caller cancelled")
    }

    func testAReofferOnOneLegIsAnsweredThereAndNotPassedOn() async throws {
        _ = try await answeredCall()
        let hold = FakeMedia.plain(.sendonly, port: 31000).text
        try await env.deliver(caller.request("INVITE", body: hold))
        let answer = try await response(200, cseq: 2)
        XCTAssertFalse(answer.body.isEmpty, "answered with SDP")
        XCTAssertEqual(relayCalls().last, "answerReoffer caller")
        XCTAssertTrue(sentNow().requests(.invite).count == 1, "the callee got no re-INVITE")
    }

    /// Digits sent as SIP INFO on one leg reach the other as they came;
    /// the sender hears 200 at once.
    func testInfoDigitsCrossToTheOtherLeg() async throws {
        let callee = try await answeredCall()
        try await env.deliver(caller.request("INFO", body: "Signal=5\nDuration=160\n", contentType: "application/dtmf-relay"))
        _ = try await response(200, to: .info)
        let info = try await request(.info)
        XCTAssertEqual(info.headers.callID, callee.headers.callID, "sent in the callee's dialog")
        XCTAssertEqual(info.headers["Content-Type"], "application/dtmf-relay")
        XCTAssertEqual(String(decoding: info.body, as: UTF8.self), "Signal=5\r\nDuration=160\r\n")
        try await env.deliver(sipResponse(to: info, 200))
        var far = PeerDialogText(invite: callee)
        try await env.deliver(far.request("INFO", body: "9", headers: ["Content-Type: application/dtmf"]))
        let back = try await request(.info, after: info)
        XCTAssertEqual(back.headers.callID, TrunkScript.callID, "sent in the caller's dialog")
        XCTAssertEqual(String(decoding: back.body, as: UTF8.self), "9")
    }

    /// Late offer (RFC 3261 §13.2.1): the callee is offered every allowed
    /// codec, its answer makes our offer in the caller's 200 (no early
    /// media before it), and the caller's ACK brings the answer.
    func testALateOfferGetsOurOfferInThe200AndTheAcksAnswerStartsTheRelay() async throws {
        let callee = try await { () async throws -> SIPRequest in
            try await startCall(offer: "")
            return try await request(.invite)
        }()
        XCTAssertEqual(relayCalls(), ["calleeOfferWithoutCallerOffer PCMU,PCMA,G722"])
        try await env.deliver(sipResponse(to: callee, 183, body: Self.calleeAnswer))
        let early = try await response(183)
        XCTAssertTrue(early.body.isEmpty, "no SDP before our offer in the 200")
        try await env.deliver(sipResponse(to: callee, 200, body: Self.calleeAnswer))
        let ok = try await response(200)
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("m=audio 40000 "), "our offer in the 200")
        caller.ourTag = ok.headers.to?.tag
        try await env.deliver(caller.ack(body: Self.callerOffer))
        let relay = try XCTUnwrap(env.relays.withLockedValue { $0.first })
        _ = await env.settle { relay.calls.withLockedValue { $0.last } == "acceptCallerAnswer" }
        XCTAssertEqual(relayCalls(), ["calleeOfferWithoutCallerOffer PCMU,PCMA,G722", "acceptCalleeAnswer",
                                      "acceptCallerAnswer"])
    }

    func testALateOffersAckWithoutAnAnswerEndsBothLegs() async throws {
        try await startCall(offer: "")
        let callee = try await request(.invite)
        try await env.deliver(sipResponse(to: callee, 200, body: Self.calleeAnswer))
        let ok = try await response(200)
        caller.ourTag = ok.headers.to?.tag
        try await env.deliver(caller.ack())
        let byes = try await { () async throws -> Int in
            _ = try await request(.bye)
            return sentNow().requests(.bye).count
        }()
        XCTAssertGreaterThanOrEqual(byes, 1)
        for bye in sentNow().requests(.bye) { try await env.deliver(sipResponse(to: bye, 200)) }
        try await assertEnded(status: 488, reason: "the caller's ACK has no usable answer to our offer")
    }

    func testAnOfferThatIsNoSDPIsRefused488() async throws {
        _ = try await startCall(offer: "this is not SDP")
        let refusal = try await response(488)
        XCTAssertEqual(refusal.reasonPhrase, "a call without a usable SDP offer cannot be relayed")
        XCTAssertTrue(env.relays.withLockedValue { $0.isEmpty }, "no relay made")
        try await assertEnded(status: 488, reason: "a call without a usable SDP offer cannot be relayed")
    }

    func testNoMediaPortsGives503() async throws {
        env.mediaFails = true
        _ = try await startCall()
        _ = try await response(503)
        try await assertEnded(status: 503, reason: "no media ports free")
    }

    // MARK: helpers

    @discardableResult
    func startCall(offer: String = SIPRelayCallTests.callerOffer) async throws -> SIPRelayCall {
        let env = self.env!
        let taken = NIOLockedValueBox<IncomingInvite?>(nil)
        try await env.onLoop { env.userAgent.onInvite = { invite in taken.withLockedValue { $0 = invite } } }
        try await env.deliver(caller.invite(body: offer))
        let invite = try XCTUnwrap(taken.withLockedValue { $0 })
        return try await env.onLoop { () -> SIPRelayCall in
            let trunk = env.config.trunk(named: "carrier")
            let dialplanCall = DialplanCall(trunkInvite: invite.request, trunk: "carrier", calledNumber: IncomingBrowserCallTests.did)
            let run = env.makeDialplanRun(dialplanCall, log: env.logger)
            let call = SIPRelayCall(environment: env, invite: invite, trunk: trunk, calledNumber: IncomingBrowserCallTests.did,
                                    run: run, logger: env.logger)
            call.start(run.start())
            return call
        }
    }

    /// The caller's INVITE taken, the callee's INVITE out.
    func relayedCall() async throws -> SIPRequest {
        try await startCall()
        return try await request(.invite)
    }

    func answeredCall() async throws -> SIPRequest {
        let callee = try await relayedCall()
        try await env.deliver(sipResponse(to: callee, 200, contact: "sip:far@127.0.0.1:5071", body: Self.calleeAnswer))
        let ok = try await response(200)
        caller.ourTag = ok.headers.to?.tag
        try await env.deliver(caller.ack())
        return callee
    }

    func sentNow() -> [SIPMessage] {
        sent.add(env.transport.take())
        return sent.messages
    }

    func relayCalls() -> [String] { env.relays.withLockedValue { $0.first?.calls.withLockedValue { $0 } ?? [] } }

    /// The first request `method` we sent (after `earlier`, when given).
    func request(_ method: SIPMethod, after earlier: SIPRequest? = nil,
                 file: StaticString = #filePath, line: UInt = #line) async throws -> SIPRequest {
        let sent = self.sent, transport = env.transport
        let find: @Sendable () -> SIPRequest? = {
            sent.requests(method).first { earlier == nil || $0.headers.callID != earlier?.headers.callID }
        }
        _ = await env.settle { sent.add(transport.take()); return find() != nil }
        return try XCTUnwrap(find(), "no \(method) sent; sent: \(sent.messages.summary)", file: file, line: line)
    }

    /// Our response `code` to the caller's `method` (numbered `cseq`, when given).
    func response(_ code: Int, to method: SIPMethod = .invite, cseq: UInt32? = nil,
                  file: StaticString = #filePath, line: UInt = #line) async throws -> SIPResponse {
        let sent = self.sent, transport = env.transport
        let find: @Sendable () -> SIPResponse? = {
            sent.messages.responses(code).first { response in
                response.headers.callID == TrunkScript.callID && response.headers.cseq?.method == method
                    && (cseq == nil || response.headers.cseq?.sequence == cseq)
            }
        }
        _ = await env.settle { sent.add(transport.take()); return find() != nil }
        return try XCTUnwrap(find(), "no \(code) to \(method.rawValue) sent; sent: \(sent.messages.summary)",
                             file: file, line: line)
    }

    func assertEnded(status: Int, reason: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let env = self.env!
        let done = await env.settle {
            env.callsInProgress == 0 && env.relays.withLockedValue { $0 }.allSatisfy { $0.closed.withLockedValue { $0 } }
        }
        XCTAssertTrue(done, "the call ended and its relay closed", file: file, line: line)
        XCTAssertEqual(env.records.ends, ["\(status) \(reason)"], file: file, line: line)
        XCTAssertEqual(env.records.started.withLockedValue { $0.map(\.direction) }, [.trunkToTrunk], file: file, line: line)
        // Let the transactions run out (Timer J and friends).
        for _ in 0..<40 { await env.advance(.seconds(1)) }
        let leakFree = try await env.leakFree()
        XCTAssertTrue(leakFree, "no dialog or INVITE left", file: file, line: line)
    }
}
