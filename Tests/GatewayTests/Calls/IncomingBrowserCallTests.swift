// Every ending of a trunk's call to a browser user (`IncomingBrowserCall` with a
// `SIPCallerLeg`), driven through the real SIP core on a recording transport: the
// trunk's INVITE, CANCEL, ACKs and in-dialog requests arrive as text, the user's
// connections are fake browsers, the media is fake. No sockets; the ring timer and
// the SIP timers run on the testing loop's clock, which the tests move.
// docs/signaling.md ("Being called: trunk to browser") is the specification.
import Config
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Records
import SDP
import SIP
import SIPTestSupport
import Signaling
import XCTest
@testable import Gateway
@testable import Media

final class IncomingBrowserCallTests: XCTestCase {
    var env: FakeCallEnvironment!
    /// Everything the user agent sent the trunk since the test began.
    let sent = SentBox()
    var trunk = TrunkScript()

    override func setUp() async throws {
        env = try FakeCallEnvironment()
    }

    static let trunkOffer = FakeMedia.plain(.sendrecv, port: 31000).text
    static let callerNumber = "+15557654321"
    static let did = "+15550100"
    /// What every connection is rung with: the fake media's WebRTC offer.
    static let browserOffer = FakeMedia.plain(.sendrecv, port: 40000).serialize()

    // MARK: nobody to ring, no media

    func testNobodyLoggedInGives480AndMakesNoMedia() async throws {
        let alice = env.login("alice")
        _ = try await callFromTrunk(to: "bob")
        let rejection = try await response(480)
        XCTAssertEqual(rejection.reasonPhrase, "Temporarily Unavailable")
        XCTAssertEqual(finalResponses(), [480])
        XCTAssertTrue(env.medias.withLockedValue { $0.isEmpty }, "no media made for nobody")
        XCTAssertTrue(alice.said.isEmpty, "another user's connection hears nothing")
        try await assertEnded(status: 480)
        XCTAssertEqual(env.records.ends, ["480 Temporarily Unavailable"])
    }

    func testNoMediaPortsGives503() async throws {
        env.mediaFails = true
        let bob = env.login("bob")
        _ = try await callFromTrunk()
        let rejection = try await response(503)
        XCTAssertEqual(rejection.reasonPhrase, "No Media Ports")
        XCTAssertEqual(finalResponses(), [503])
        XCTAssertTrue(bob.said.isEmpty, "nothing rang")
        try await assertEnded(status: 503)
    }

    func testAnOfferTheMediaRefusesGives488() async throws {
        env.mediaRefuses = ["answerPhoneOffer"]
        let bob = env.login("bob")
        _ = try await callFromTrunk()
        let rejection = try await response(488)
        XCTAssertEqual(rejection.reasonPhrase, "Not Acceptable Here")
        XCTAssertEqual(finalResponses(), [488])
        XCTAssertEqual(env.medias.withLockedValue { $0.map(\.calls) }, [["answerPhoneOffer"]])
        XCTAssertTrue(bob.said.isEmpty, "nothing rang")
        try await assertEnded(status: 488)  // the endpoint made for the offer is closed again
    }

    /// Late offer (RFC 3261 §13.2.1): the browser rings as always; the 200
    /// carries our offer and the ACK's answer starts the phone side.
    func testALateOfferGetsOurOfferInThe200AndItsAckTheAnswer() async throws {
        let bob = env.login("bob")
        let call = try await callFromTrunk(offer: "")
        await waitFor("incoming", from: bob)
        let media = try onlyMedia()
        XCTAssertEqual(media.calls, ["phoneOffer", "browserOffer"], "an offer of ours, not an answer")
        try await answer(call, by: bob)
        let ok = try await response(200)
        XCTAssertTrue(String(decoding: ok.body, as: UTF8.self).contains("m=audio"), "our offer in the 200")
        trunk.ourTag = try XCTUnwrap(ok.headers.to?.tag)
        try await env.deliver(trunk.ack(body: Self.trunkOffer))
        let applied = await env.settle { media.calls.last == "acceptPhoneAnswer" }
        XCTAssertTrue(applied, "\(media.calls)")
        XCTAssertEqual(bob.said, ["incoming", "answered"])
        try await env.onLoop { call.left(bob, reason: "browser hung up") }
        let bye = try await request(.bye)
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEnded(status: 200, answered: true)
    }

    /// RFC 3264 §5: an ACK without the answer leaves our offer unanswered: BYE.
    func testALateOfferWhoseAckHasNoAnswerEndsTheCall() async throws {
        let bob = env.login("bob")
        let call = try await callFromTrunk(offer: "")
        await waitFor("incoming", from: bob)
        try await answer(call, by: bob)
        let ok = try await response(200)
        trunk.ourTag = try XCTUnwrap(ok.headers.to?.tag)
        try await env.deliver(trunk.ack())
        let bye = try await request(.bye)
        XCTAssertEqual(bye.headers.callID, TrunkScript.callID)
        await waitFor("hangup 488", from: bob)
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEnded(status: 200, answered: true)
    }

    // MARK: answered

    func testEveryConnectionRingsTheFirstAnswerWinsThenTheTrunkHangsUp() async throws {
        let (call, browsers) = try await ringing(2)
        let (first, second) = (browsers[0], browsers[1])
        for browser in browsers {
            XCTAssertEqual(browser.messages.withLockedValue { $0 },
                           [.incoming(call: call.id, from: Self.callerNumber, fromName: "Carol", to: "bob",
                                      sdp: Self.browserOffer)])
            XCTAssertTrue(browser.rung.withLockedValue { $0 }.first?.control === call, "rung with the call as control")
        }
        let media = try onlyMedia()
        XCTAssertEqual(media.calls, ["answerPhoneOffer", "browserOffer"])
        XCTAssertTrue(finalResponses().isEmpty, "no final response while ringing")
        let record = try XCTUnwrap(env.records.started.withLockedValue { $0.first })
        XCTAssertEqual(record.direction, .trunkToBrowser)
        XCTAssertEqual(record.callID, call.id)
        XCTAssertEqual(record.from, Self.callerNumber)
        XCTAssertEqual(record.to, Self.did)
        XCTAssertEqual(record.user, "bob")
        XCTAssertEqual(record.trunk, "carrier")
        XCTAssertEqual(record.sipCallID, TrunkScript.callID)

        // `ringing` from both connections: one 180 for the call.
        try await env.onLoop { () -> Void in
            call.browserRinging(first)
            call.browserRinging(second)
        }
        XCTAssertEqual(sentNow().responses(180).count, 1, "180 once per call")

        try await answer(call, by: first)
        let ok = try await response(200)
        let body = String(decoding: ok.body, as: UTF8.self)
        XCTAssertEqual(ok.headers.contentType, "application/sdp")
        XCTAssertTrue(body.contains("m=audio 30000 RTP/AVP"), "our answer to the trunk's offer: \(body)")
        XCTAssertTrue(body.contains("c=IN IP4 192.0.2.1"), "on the media's public address: \(body)")
        await waitFor("answered", from: first)
        XCTAssertEqual(first.said, ["incoming", "answered"])
        XCTAssertEqual(second.hangups, ["200 answered elsewhere"])
        XCTAssertEqual(media.calls, ["answerPhoneOffer", "browserOffer", "acceptBrowserAnswer"])
        XCTAssertEqual(env.records.answered.withLockedValue { $0.count }, 1, "the answer is recorded at once")

        // An answer after the other won: "answered elsewhere" (again), nothing to the trunk.
        try await answer(call, by: second)
        XCTAssertEqual(second.hangups, ["200 answered elsewhere", "200 answered elsewhere"])

        // The ACK stops the 200's retransmissions.
        trunk.ourTag = try XCTUnwrap(ok.headers.to?.tag)
        try await env.deliver(trunk.ack())
        await env.advance(.seconds(4))
        XCTAssertEqual(sentNow().responses(200).filter { $0.headers.cseq?.method == .invite }.count, 1,
                       "no retransmission after the ACK")

        // The trunk hangs up: 200 to its BYE, `hangup` 200 to the answering connection.
        try await env.deliver(trunk.request("BYE"))
        _ = try await response(200, to: .bye)
        await waitFor("hangup 200", from: first)
        XCTAssertEqual(first.hangups, ["200 the caller hung up"])
        XCTAssertEqual(second.hangups.count, 2, "the other connection hears nothing more")
        XCTAssertTrue(sentNow().requests(.bye).isEmpty, "no BYE of ours")
        try await assertEnded(status: 200, answered: true)
        XCTAssertEqual(env.records.ends, ["200 the caller hung up"])
    }

    func testTheBrowserHangingUpAfterTheAnswerSendsBye() async throws {
        let (call, browsers, _) = try await answeredCall()
        try await env.onLoop { call.left(browsers[0], reason: "browser hung up") }
        let bye = try await request(.bye)
        XCTAssertEqual(bye.headers.callID, TrunkScript.callID)
        XCTAssertEqual(bye.headers.to?.tag, TrunkScript.fromTag, "inside the trunk's dialog")
        XCTAssertEqual(bye.uri.port, 5070, "to the trunk's Contact")
        try await env.deliver(sipResponse(to: bye, 200))
        XCTAssertEqual(browsers[1].hangups, ["200 answered elsewhere"], "the other connection heard only that")
        try await assertEnded(status: 200, answered: true)
    }

    func testTheAnsweringConnectionClosingSendsBye() async throws {
        let (call, browsers, _) = try await answeredCall()
        try await env.onLoop { call.left(browsers[0], reason: "browser connection closed") }
        let bye = try await request(.bye)
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEnded(status: 200, answered: true)
    }

    func testAnotherConnectionClosingAfterTheAnswerChangesNothing() async throws {
        let (call, browsers, _) = try await answeredCall()
        try await env.onLoop { call.left(browsers[1], reason: "browser connection closed") }
        XCTAssertTrue(sentNow().requests(.bye).isEmpty, "the call goes on")
        XCTAssertEqual(env.ended.withLockedValue { $0 }, 0)
        try await env.deliver(trunk.request("BYE"))
        await waitFor("hangup 200", from: browsers[0])
        try await assertEnded(status: 200, answered: true)
    }

    func testNoAckForThe200EndsTheCallWithBye() async throws {
        let (call, browsers) = try await ringing(1)
        try await answer(call, by: browsers[0])
        _ = try await response(200)
        await waitFor("answered", from: browsers[0])
        // 64·T1 of 200s without an ACK (and past the 30 s ring timeout, which the answer cancelled).
        await env.advance(.seconds(32))
        let bye = try await request(.bye)
        XCTAssertGreaterThan(sentNow().responses(200).count, 1, "the 200 was retransmitted first")
        try await env.deliver(sipResponse(to: bye, 200))
        await waitFor("hangup 200", from: browsers[0])
        XCTAssertEqual(browsers[0].hangups, ["200 no ACK for 200 OK"])
        try await assertEnded(status: 200, answered: true)
    }

    // MARK: ended before the answer

    func testTheTrunkCancellingWhileRingingGives487() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { call.browserRinging(browsers[0]) }
        let provisional = try await response(180)
        trunk.ourTag = provisional.headers.to?.tag
        try await env.deliver(trunk.cancel())
        _ = try await response(200, to: .cancel)
        let terminated = try await response(487)
        XCTAssertEqual(terminated.headers.to?.tag, trunk.ourTag, "the To tag of the 180")
        XCTAssertEqual(finalResponses(), [487])
        for browser in browsers {
            await waitFor("hangup 487", from: browser)
            XCTAssertEqual(browser.hangups, ["487 the caller hung up"])
        }
        try await env.deliver(trunk.ackOfFailure())
        try await assertEnded(status: 487)
        XCTAssertEqual(env.records.ends, ["487 the caller hung up"])
    }

    func testNobodyAnsweringInTimeGives480NoAnswer() async throws {
        let (_, browsers) = try await ringing(2, ringTimeout: 5)
        await env.advance(.milliseconds(4900))
        XCTAssertTrue(finalResponses().isEmpty, "still ringing just before the timeout")
        XCTAssertTrue(browsers.allSatisfy { $0.hangups.isEmpty })
        await env.advance(.milliseconds(100))
        let noAnswer = try await response(480)
        XCTAssertEqual(noAnswer.reasonPhrase, "No Answer")
        XCTAssertEqual(finalResponses(), [480])
        for browser in browsers {
            await waitFor("hangup 408", from: browser)
            XCTAssertEqual(browser.hangups, ["408 not answered in time"])
        }
        try await assertEnded(status: 480)
        XCTAssertEqual(env.records.ends, ["480 not answered in time"])
    }

    func testTheRingTimeoutIsTheInviteTimeoutWhenNoneIsGiven() async throws {
        let (_, browsers) = try await ringing(1)
        await env.advance(.seconds(29))
        XCTAssertTrue(finalResponses().isEmpty, "sip.invite_timeout_s is 30 here")
        await env.advance(.seconds(1))
        _ = try await response(480)
        await waitFor("hangup 408", from: browsers[0])
        try await assertEnded(status: 480)
    }

    func testEveryConnectionRejectingBusyGivesTheTrunk486() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { call.browserRejected(486, by: browsers[0]) }
        XCTAssertTrue(finalResponses().isEmpty, "the other connection still rings")
        try await env.onLoop { call.browserRejected(486, by: browsers[1]) }
        _ = try await response(486)
        XCTAssertEqual(finalResponses(), [486])
        for browser in browsers { XCTAssertEqual(browser.said, ["incoming"], "a connection that rejected hears nothing") }
        try await assertEnded(status: 486)
    }

    func testTheLastRejectionIsWhatTheTrunkHears() async throws {
        let (call, browsers) = try await ringing(3)
        try await env.onLoop { () -> Void in
            call.browserRejected(486, by: browsers[0])
            call.browserRejected(503, by: browsers[1])
            // Leaving is no rejection: the 503 stays the last one.
            call.left(browsers[2], reason: "browser connection closed")
        }
        _ = try await response(503)
        XCTAssertEqual(finalResponses(), [503])
        for browser in browsers { XCTAssertEqual(browser.said, ["incoming"]) }
        try await assertEnded(status: 503)
    }

    func testADeclineEndsTheCallForEveryConnection() async throws {
        let (call, browsers) = try await ringing(3)
        try await env.onLoop { call.browserRejected(603, by: browsers[0]) }
        _ = try await response(603)
        XCTAssertEqual(finalResponses(), [603])
        for other in browsers.dropFirst() { XCTAssertEqual(other.hangups, ["603 declined"]) }
        try await assertEnded(status: 603)
    }

    func testConnectionsClosingWhileRingingEndTheCallWhenTheLastGoes() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { call.left(browsers[0], reason: "browser connection closed") }
        XCTAssertTrue(finalResponses().isEmpty, "the other connection still rings")
        XCTAssertEqual(env.ended.withLockedValue { $0 }, 0, "the call goes on")
        try await env.onLoop { call.left(browsers[1], reason: "browser connection closed") }
        let rejection = try await response(480)
        XCTAssertNotEqual(rejection.reasonPhrase, "No Answer", "not the timeout's")
        XCTAssertEqual(finalResponses(), [480])
        for browser in browsers { XCTAssertEqual(browser.said, ["incoming"], "nothing to connections that left") }
        try await assertEnded(status: 480)
    }

    func testAfterOneConnectionClosesTheOtherCanStillAnswer() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { call.left(browsers[0], reason: "browser connection closed") }
        try await answer(call, by: browsers[1])
        let ok = try await response(200)
        await waitFor("answered", from: browsers[1])
        XCTAssertEqual(browsers[0].said, ["incoming"], "no `answered elsewhere` to a connection that left")
        trunk.ourTag = ok.headers.to?.tag
        try await env.deliver(trunk.ack())
        try await env.deliver(trunk.request("BYE"))
        await waitFor("hangup 200", from: browsers[1])
        try await assertEnded(status: 200, answered: true)
    }

    // MARK: an answer the media cannot use, an answer withdrawn

    func testAnAnswerTheMediaRefusesGets488AndTheConnectionKeepsRinging() async throws {
        let (call, browsers) = try await ringing(2)
        let media = try onlyMedia()
        media.refusals.withLockedValue { $0 = ["acceptBrowserAnswer"] }
        try await answer(call, by: browsers[0])
        await waitFor("error 488", from: browsers[0])
        let error = browsers[0].messages.withLockedValue { $0 }.last
        XCTAssertEqual(error?.call, call.id, "the error names the call")
        XCTAssertTrue(finalResponses().isEmpty, "no 200 for an answer that could not be used")
        XCTAssertEqual(browsers[1].said, ["incoming"], "the other connection rings on, undisturbed")

        media.refusals.withLockedValue { $0 = [] }
        try await answer(call, by: browsers[1])
        let ok = try await response(200)
        await waitFor("answered", from: browsers[1])
        XCTAssertEqual(browsers[0].hangups, ["200 answered elsewhere"], "the first connection was still ringing")
        trunk.ourTag = ok.headers.to?.tag
        try await env.deliver(trunk.ack())
        try await env.deliver(trunk.request("BYE"))
        await waitFor("hangup 200", from: browsers[1])
        try await assertEnded(status: 200, answered: true)
    }

    func testAConnectionWhoseAnswerWasRefusedMayAnswerAgain() async throws {
        let (call, browsers) = try await ringing(1)
        let media = try onlyMedia()
        media.refusals.withLockedValue { $0 = ["acceptBrowserAnswer"] }
        try await answer(call, by: browsers[0])
        await waitFor("error 488", from: browsers[0])
        media.refusals.withLockedValue { $0 = [] }
        try await answer(call, by: browsers[0])
        _ = try await response(200)
        await waitFor("answered", from: browsers[0])
        XCTAssertEqual(browsers[0].said, ["incoming", "error 488", "answered"])
        XCTAssertEqual(media.calls.filter { $0 == "acceptBrowserAnswer" }.count, 2)
    }

    func testARejectWhileItsAnswerIsAppliedWithdrawsThatAnswer() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { () -> Void in
            call.browserAnswered(browserOfferSDP, by: browsers[0])
            call.browserRejected(486, by: browsers[0])
        }
        try await answer(call, by: browsers[1])
        let ok = try await response(200)
        await waitFor("answered", from: browsers[1])
        XCTAssertEqual(sentNow().responses(200).count, 1, "one answer to the trunk: the second connection's")
        XCTAssertEqual(browsers[0].said, ["incoming"], "the withdrawn connection is neither answered nor told")
        trunk.ourTag = ok.headers.to?.tag
        try await env.deliver(trunk.ack())
        try await env.deliver(trunk.request("BYE"))
        await waitFor("hangup 200", from: browsers[1])
        try await assertEnded(status: 200, answered: true)
        XCTAssertEqual(browsers[0].said, ["incoming"])
    }

    func testTheOnlyConnectionClosingWhileItsAnswerIsAppliedGives480() async throws {
        let (call, browsers) = try await ringing(1)
        try await env.onLoop { () -> Void in
            call.browserAnswered(browserOfferSDP, by: browsers[0])
            call.left(browsers[0], reason: "browser connection closed")
        }
        _ = try await response(480)
        try await assertEnded(status: 480)
        let media = try onlyMedia()
        _ = await env.settle { media.calls.contains("acceptBrowserAnswer") }
        try await env.onLoop {}
        XCTAssertEqual(finalResponses(), [480], "the answer applied too late is never sent")
        XCTAssertEqual(browsers[0].said, ["incoming"])
    }

    // MARK: media

    func testMediaEndingWhileTalkingSendsByeAndHangsUpTheBrowser() async throws {
        let (_, browsers, _) = try await answeredCall()
        try onlyMedia().fail("consent expired")
        let bye = try await request(.bye)
        try await env.deliver(sipResponse(to: bye, 200))
        await waitFor("hangup 200", from: browsers[0])
        XCTAssertEqual(browsers[0].hangups.count, 1)
        XCTAssertEqual(sentNow().requests(.bye).count, 1, "one BYE")
        try await assertEnded(status: 200, answered: true)
    }

    func testMediaEndingWhileRingingGives480() async throws {
        let (_, browsers) = try await ringing(2)
        try onlyMedia().fail("DTLS alert")
        let failed = try await response(480)
        XCTAssertEqual(failed.reasonPhrase, "Media Failed")
        for browser in browsers {
            await waitFor("hangup 200", from: browser)
            XCTAssertEqual(browser.hangups, ["200 media ended: DTLS alert"])
        }
        XCTAssertTrue(sentNow().requests(.bye).isEmpty, "no dialog, no BYE")
        try await assertEnded(status: 480)
    }

    /// A trunk call without RTP events (`dtmf: auto`): the trunk's INFO digit
    /// reaches the answering browser, the browser's digits go as INFO, and an
    /// INFO with another body is refused with 415.
    func testDigitsGoBySIPInfoBothWaysWhenTheCallHasNoRTPEvents() async throws {
        env.mediaRefuses = ["dtmf"]
        let (call, browsers, _) = try await answeredCall()
        try await env.deliver(trunk.request("INFO", body: "Signal=4\nDuration=160\n", contentType: "application/dtmf-relay"))
        _ = try await response(200, to: .info, cseq: trunk.cseq)
        await waitFor("dtmf 4", from: browsers[0])
        XCTAssertFalse(browsers[1].said.contains("dtmf 4"), "only the answering browser hears it")
        try await env.onLoop { call.browserDTMF("1", milliseconds: 100, by: browsers[0]) }
        let info = try await request(.info)
        XCTAssertEqual(info.headers["Content-Type"], "application/dtmf-relay")
        XCTAssertEqual(String(decoding: info.body, as: UTF8.self), "Signal=1\r\nDuration=100\r\n")
        try await env.deliver(trunk.request("INFO", body: "hello", contentType: "text/plain"))
        _ = try await response(415, to: .info, cseq: trunk.cseq)
    }

    func testAReInviteIsAnsweredThroughTheMediaAndARefusedOneGets488() async throws {
        let (_, browsers, _) = try await answeredCall()
        let media = try onlyMedia()
        // A hold: answered recvonly by the media.
        try await env.deliver(trunk.request("INVITE", body: FakeMedia.plain(.sendonly, port: 31000).text))
        let held = try await response(200, to: .invite, cseq: 2)
        let sdp = String(decoding: held.body, as: UTF8.self)
        XCTAssertTrue(sdp.contains("a=recvonly"), sdp)
        XCTAssertTrue(media.calls.contains("answerPhoneReoffer recvonly"), "\(media.calls)")
        try await env.deliver(trunk.ack())

        // An offer the media refuses: 488, and the call goes on as it was.
        media.refusals.withLockedValue { $0 = ["answerPhoneReoffer"] }
        try await env.deliver(trunk.request("INVITE", body: FakeMedia.plain(.sendrecv, port: 31002).text))
        _ = try await response(488, to: .invite, cseq: 3)
        try await env.deliver(trunk.ackOfFailure(cseq: 3))
        XCTAssertTrue(sentNow().requests(.bye).isEmpty, "the call goes on")
        XCTAssertEqual(env.ended.withLockedValue { $0 }, 0)
        XCTAssertEqual(browsers[0].said, ["incoming", "answered"], "the browser hears nothing of either")

        try await env.deliver(trunk.request("BYE"))
        _ = try await response(200, to: .bye)
        await waitFor("hangup 200", from: browsers[0])
        try await assertEnded(status: 200, answered: true)
    }

    func testAnOfferlessReInviteGetsTheCurrentDescription() async throws {
        let (_, browsers, _) = try await answeredCall()
        try await env.deliver(trunk.request("INVITE"))
        let offer = try await response(200, to: .invite, cseq: 2)
        let sdp = String(decoding: offer.body, as: UTF8.self)
        XCTAssertTrue(sdp.contains("m=audio 30000 RTP/AVP"), sdp)
        XCTAssertEqual(browsers[0].said, ["incoming", "answered"])
    }

    func testDigitsFromThePhoneGoToTheAnsweringConnection() async throws {
        let (_, browsers, _) = try await answeredCall()
        let media = try onlyMedia()
        media.sink.yield(.dtmf(DTMFReport(origin: .browser, digit: "1", milliseconds: 100)))
        media.sink.yield(.dtmf(DTMFReport(origin: .phone, digit: "5", milliseconds: 100)))
        await waitFor("dtmf 5", from: browsers[0])
        XCTAssertEqual(browsers[0].said, ["incoming", "answered", "dtmf 5"], "the browser's own digit is not sent back")
        XCTAssertEqual(browsers[1].said, ["incoming", "hangup 200"])
    }

    /// A CANCEL while the media endpoint is still being made: 487 at once, but
    /// the call counts as gone (and its record ends) only once that endpoint
    /// exists and is closed again, so a stop or a leak check never misses it.
    func testACancelWhileTheMediaIsMadeEndsTheCallOnlyAfterItIsClosed() async throws {
        env.holdsMedia = true
        let bob = env.login("bob")
        _ = try await callFromTrunk()
        let env = self.env!
        let held = await env.settle { env.mediaIsHeld }
        XCTAssertTrue(held, "makeMedia was asked")
        try await env.deliver(trunk.cancel())
        _ = try await response(487)
        XCTAssertEqual(env.ended.withLockedValue { $0 }, 0, "the call still holds an endpoint being made")
        XCTAssertTrue(env.records.ended.withLockedValue { $0.isEmpty }, "no record end before the media's")
        env.letMediaBeMade()
        try await assertEnded(status: 487)
        XCTAssertEqual(try onlyMedia().closeCount, 1)
        XCTAssertTrue(bob.said.isEmpty, "nothing rang")
    }

    // MARK: what docs/signaling.md says, where the call first did otherwise

    /// "the answering browser sends `hangup`, or its connection closes | BYE | nothing".
    /// (Our BYE once reported "local hangup" back into the call before its own end.)
    func testTheBrowserThatHungUpHearsNothingMore() async throws {
        let (call, browsers, _) = try await answeredCall()
        try await env.onLoop { call.left(browsers[0], reason: "browser hung up") }
        let bye = try await request(.bye)
        try await env.deliver(sipResponse(to: bye, 200))
        try await assertEnded(status: 200, answered: true)
        XCTAssertEqual(browsers[0].said, ["incoming", "answered"], "no `hangup` back to the browser that hung up")
        XCTAssertEqual(env.records.ends, ["200 browser hung up"])
    }

    /// "media ends | BYE after the answer | `hangup` 200 `media ended: ...`", not
    /// "local hangup" from our own BYE.
    func testMediaEndingWhileTalkingTellsTheBrowserWhy() async throws {
        let (_, browsers, _) = try await answeredCall()
        try onlyMedia().fail("consent expired")
        _ = try await request(.bye)
        await waitFor("hangup 200", from: browsers[0])
        XCTAssertEqual(browsers[0].hangups, ["200 media ended: consent expired"])
        try await assertEnded(status: 200, answered: true)
        XCTAssertEqual(env.records.ends, ["200 media ended: consent expired"])
    }

    /// "`reject` 6xx | that 6xx | every other `hangup` with the code": the declining
    /// connection leaves the ringing set before the others are told.
    func testTheConnectionThatDeclinedHearsNoHangup() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { call.browserRejected(603, by: browsers[0]) }
        _ = try await response(603)
        XCTAssertEqual(browsers[1].hangups, ["603 declined"])
        XCTAssertEqual(browsers[0].said, ["incoming"], "the connection that declined hears nothing back")
    }

    /// A connection that answers while another's answer is being applied hears
    /// "answered elsewhere" at once and leaves the ringing set, so it hears it once.
    func testAConnectionAnsweringWhileAnotherAnswerIsAppliedHearsOneHangup() async throws {
        let (call, browsers) = try await ringing(2)
        try await env.onLoop { () -> Void in
            call.browserAnswered(browserOfferSDP, by: browsers[0])
            call.browserAnswered(browserOfferSDP, by: browsers[1])
        }
        _ = try await response(200)
        await waitFor("answered", from: browsers[0])
        XCTAssertEqual(browsers[1].hangups, ["200 answered elsewhere"])
    }

    // MARK: helpers

    /// The one place the caller leg and the call are made (their API is still moving).
    // MARK: an attended transfer the gateway joins itself

    /// Bob answers the trunk's call, calls a number too, and joins the two;
    /// the trunk refuses the REFER, so the gateway re-INVITEs the other
    /// call's far end and then the trunk toward its relay, and both of
    /// bob's calls end `transferred`. The trunk's BYE then reaches the other far end.
    func testARefusedAttendedTransferOfATrunksCallIsJoinedInTheGateway() async throws {
        let (incoming, browsers, _) = try await answeredCall()
        let bob = browsers[0]
        let request = try BrowserCallRequest(id: "out1", user: "bob", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let outgoing = BrowserOriginatedCall(environment: env, client: bob, request: request)
        try await env.onLoop { outgoing.start() }
        let invite = try await self.request(.invite)
        try await env.deliver(sipResponse(to: invite, 200, tag: "far2", contact: "sip:target@127.0.0.1:5071",
                                          body: FakeMedia.plain(.sendrecv, port: 31002).text))
        _ = await env.settle { bob.said.filter { $0 == "answered" }.count == 2 }
        try await env.onLoop { incoming.browserAttendedTransfer(replacing: outgoing, by: bob) }
        let refer = try await self.request(.refer)
        XCTAssertEqual(refer.headers.callID, TrunkScript.callID, "the REFER goes to the trunk's caller")
        try await env.deliver(sipResponse(to: refer, 405, tag: nil))
        let sent = self.sent, transport = env.transport
        _ = await env.settle { sent.add(transport.take()); return sent.requests(.invite).count == 2 }
        let toOther = try XCTUnwrap(sent.requests(.invite).last)
        XCTAssertEqual(toOther.headers.callID, invite.headers.callID, "the other call's far end first")
        try await env.deliver(sipResponse(to: toOther, 200, body: FakeMedia.plain(.sendrecv, port: 31002).text))
        _ = await env.settle { sent.add(transport.take()); return sent.requests(.invite).count == 3 }
        let toTrunk = try XCTUnwrap(sent.requests(.invite).last)
        XCTAssertEqual(toTrunk.headers.callID, TrunkScript.callID, "then the trunk's caller")
        XCTAssertTrue(String(decoding: toTrunk.body, as: UTF8.self).contains("m=audio 40000 "), "the relay's caller leg")
        try await env.deliver(sipResponse(to: toTrunk, 200, body: FakeMedia.plain(.sendrecv, port: 31000).text))
        _ = await env.settle { bob.said.filter { $0 == "hangup 200" }.count == 2 }
        XCTAssertEqual(bob.said.filter { $0 == "transferred" }.count, 2, "\(bob.said)")
        XCTAssertEqual(bob.hangups.filter { $0 == "200 transferred" }.count, 2, "\(bob.hangups)")
        XCTAssertTrue(sent.requests(.bye).isEmpty, "the dialogs live on, joined")
        let calls = self.env!
        _ = await calls.settle { calls.callsInProgress == 1 }
        XCTAssertEqual(calls.callsInProgress, 1, "the joined call")

        try await env.deliver(trunk.request("BYE"))
        _ = await env.settle { sent.add(transport.take()); return !sent.requests(.bye).isEmpty }
        XCTAssertEqual(sent.requests(.bye).map(\.headers.callID), [invite.headers.callID], "the other far end hears BYE")
        let env = self.env!
        _ = await env.settle { env.callsInProgress == 0 }
        XCTAssertEqual(env.callsInProgress, 0)
        let relay = try XCTUnwrap(env.relays.withLockedValue { $0.first })
        XCTAssertTrue(relay.closed.withLockedValue { $0 })
        XCTAssertEqual(env.records.ended.withLockedValue { $0.map(\.status) }, [200, 200, 200],
                       "bob's two calls and the joined call")
    }

    static func makeCall(_ env: FakeCallEnvironment, invite: IncomingInvite, user: String,
                         ringTimeout: Double?) -> IncomingBrowserCall {
        let caller = SIPCallerLeg(invite: invite, trunk: env.config.trunks.first, calledNumber: did,
                                  answerAddress: env.config.media.publicAddress)
        return IncomingBrowserCall(environment: env, caller: caller, user: user, ringTimeout: ringTimeout)
    }

    /// The trunk's INVITE to bob's DID as routing hands it over (`routeTrunkCall`): the
    /// user agent's new INVITE becomes a `SIPCallerLeg`, and the call to `user` starts.
    func callFromTrunk(to user: String = "bob", ringTimeout: Double? = nil,
                       offer: String = IncomingBrowserCallTests.trunkOffer,
                       file: StaticString = #filePath, line: UInt = #line) async throws -> IncomingBrowserCall {
        let env = self.env!
        let taken = NIOLockedValueBox<IncomingInvite?>(nil)
        try await env.onLoop { env.userAgent.onInvite = { invite in taken.withLockedValue { $0 = invite } } }
        try await env.deliver(trunk.invite(body: offer))
        let invite = try XCTUnwrap(taken.withLockedValue { $0 }, "the user agent took the INVITE", file: file, line: line)
        XCTAssertEqual(sentNow().allResponses.map(\.statusCode), [100], "100 Trying at once", file: file, line: line)
        return try await env.onLoop { () -> IncomingBrowserCall in
            let call = IncomingBrowserCallTests.makeCall(env, invite: invite, user: user, ringTimeout: ringTimeout)
            call.start()
            return call
        }
    }

    /// `count` connections of `user` logged in, and the call ringing every one of them.
    func ringing(_ count: Int, user: String = "bob", ringTimeout: Double? = nil,
                 file: StaticString = #filePath, line: UInt = #line) async throws -> (IncomingBrowserCall, [FakeBrowser]) {
        let browsers = (0..<count).map { _ in env.login(user) }
        let call = try await callFromTrunk(to: user, ringTimeout: ringTimeout, file: file, line: line)
        for browser in browsers { await waitFor("incoming", from: browser, file: file, line: line) }
        return (call, browsers)
    }

    /// Rung on two connections, answered on the first, the 200 OK acknowledged.
    func answeredCall(file: StaticString = #filePath, line: UInt = #line) async throws
        -> (IncomingBrowserCall, [FakeBrowser], SIPResponse) {
        let (call, browsers) = try await ringing(2, file: file, line: line)
        try await answer(call, by: browsers[0])
        let ok = try await response(200, file: file, line: line)
        await waitFor("answered", from: browsers[0], file: file, line: line)
        await waitFor("hangup 200", from: browsers[1], file: file, line: line)
        trunk.ourTag = try XCTUnwrap(ok.headers.to?.tag, "our To tag", file: file, line: line)
        try await env.deliver(trunk.ack())
        return (call, browsers, ok)
    }

    /// A connection's `answer`, as the signaling layer hands it to the call on the loop.
    func answer(_ call: IncomingBrowserCall, by browser: FakeBrowser, sdp: String = browserOfferSDP) async throws {
        try await env.onLoop { call.browserAnswered(sdp, by: browser) }
    }

    func onlyMedia(file: StaticString = #filePath, line: UInt = #line) throws -> FakeMedia {
        let medias = env.medias.withLockedValue { $0 }
        XCTAssertEqual(medias.count, 1, "one media endpoint per call", file: file, line: line)
        return try XCTUnwrap(medias.first, file: file, line: line)
    }

    /// What the user agent sent so far, with what came since the last look.
    func sentNow() -> [SIPMessage] {
        sent.add(env.transport.take())
        return sent.messages
    }

    /// The distinct final responses to the trunk's INVITE, in order.
    func finalResponses() -> [Int] {
        var codes: [Int] = []
        for response in sentNow().allResponses where response.statusCode >= 200
            && response.headers.cseq?.method == .invite && response.headers.cseq?.sequence == 1
            && !codes.contains(response.statusCode) {
            codes.append(response.statusCode)
        }
        return codes
    }

    /// Waits for our response `code` to the trunk's `method` (numbered `cseq`, when given).
    func response(_ code: Int, to method: SIPMethod = .invite, cseq: UInt32? = nil,
                  file: StaticString = #filePath, line: UInt = #line) async throws -> SIPResponse {
        let sent = self.sent, transport = env.transport
        let find: @Sendable () -> SIPResponse? = {
            sent.messages.responses(code).first { response in
                response.headers.cseq?.method == method && (cseq == nil || response.headers.cseq?.sequence == cseq)
            }
        }
        _ = await env.settle { sent.add(transport.take()); return find() != nil }
        return try XCTUnwrap(find(), "no \(code) to \(method.rawValue) sent; sent: \(sent.messages.summary)",
                             file: file, line: line)
    }

    /// Waits for a request of ours to the trunk.
    func request(_ method: SIPMethod, file: StaticString = #filePath, line: UInt = #line) async throws -> SIPRequest {
        let sent = self.sent, transport = env.transport
        _ = await env.settle { sent.add(transport.take()); return !sent.requests(method).isEmpty }
        return try XCTUnwrap(sent.requests(method).first, "no \(method.rawValue) sent; sent: \(sent.messages.summary)",
                             file: file, line: line)
    }

    /// Waits until `browser` heard `said` (as `FakeBrowser.said` names it: "incoming", "hangup 487" ...).
    func waitFor(_ said: String, from browser: FakeBrowser, file: StaticString = #filePath, line: UInt = #line) async {
        let heard = await env.settle { browser.said.contains(said) }
        XCTAssertTrue(heard, "expected \(said), \(browser) heard \(browser.said)", file: file, line: line)
    }

    /// The call is over: `callEnded` once, the call table empty, every media endpoint
    /// closed once, no dialog or INVITE session left, the record ended with `status`.
    func assertEnded(status: Int, answered: Bool = false,
                     file: StaticString = #filePath, line: UInt = #line) async throws {
        let env = self.env!
        let done = await env.settle {
            env.ended.withLockedValue { $0 } > 0 && env.medias.withLockedValue { $0 }.allSatisfy { $0.isClosed }
        }
        XCTAssertTrue(done, "the call ended and its media closed", file: file, line: line)
        XCTAssertEqual(env.ended.withLockedValue { $0 }, 1, "environment.callEnded once", file: file, line: line)
        XCTAssertEqual(env.callsInProgress, 0, "the call table is empty", file: file, line: line)
        for media in env.medias.withLockedValue({ $0 }) {
            XCTAssertEqual(media.closeCount, 1, "each media endpoint closed once", file: file, line: line)
        }
        let leakFree = try await env.leakFree()
        XCTAssertTrue(leakFree, "no dialog or INVITE session left", file: file, line: line)
        XCTAssertEqual(env.records.ended.withLockedValue { $0.map { $0.status } }, [status], "the record's end",
                       file: file, line: line)
        XCTAssertEqual(env.records.answered.withLockedValue { $0.count }, answered ? 1 : 0, "the record's answer",
                       file: file, line: line)
    }
}

/// The trunk's side of its call, as text: the INVITE to bob's DID, its CANCEL and
/// ACKs, and its requests inside the dialog our 200 makes.
struct TrunkScript {
    static let callID = "trunk-call-1"
    static let fromTag = "trunk"
    static let inviteURI = "sip:+15550100@127.0.0.1:5060"
    /// Where our Contact says we are.
    static let ourContact = "sip:tieline@127.0.0.1:5060"
    /// Our To tag, once a response of ours named it.
    var ourTag: String?
    /// The CSeq number of the trunk's latest request.
    private(set) var cseq: UInt32 = 1

    static func branch(_ kind: String, _ number: UInt32) -> String { "z9hG4bKtrunk\(kind)\(number)" }

    func invite(body: String) -> String {
        text("INVITE", uri: Self.inviteURI, branch: Self.branch("invite", 1), cseq: 1, toTag: nil, body: body)
    }

    /// The CANCEL of the INVITE: its branch and CSeq number (RFC 3261 §9.1).
    func cancel() -> String {
        text("CANCEL", uri: Self.inviteURI, branch: Self.branch("invite", 1), cseq: 1, toTag: nil)
    }

    /// The ACK of our 2xx to the latest INVITE: a transaction of its own (§13.2.2.4).
    func ack(body: String = "") -> String {
        text("ACK", uri: Self.ourContact, branch: Self.branch("ack", cseq), cseq: cseq, toTag: ourTag, body: body)
    }

    /// The ACK of a non-2xx final response to the INVITE numbered `number`: part of
    /// that INVITE's transaction (§17.1.1.3).
    func ackOfFailure(cseq number: UInt32 = 1) -> String {
        text("ACK", uri: number == 1 ? Self.inviteURI : Self.ourContact, branch: Self.branch("invite", number),
             cseq: number, toTag: ourTag)
    }

    /// A request inside the dialog (BYE, a re-INVITE ...), with the next CSeq number.
    mutating func request(_ method: String, body: String = "", contentType: String = "application/sdp") -> String {
        cseq += 1
        return text(method, uri: Self.ourContact, branch: Self.branch(method.lowercased(), cseq), cseq: cseq,
                    toTag: ourTag, body: body, contentType: contentType)
    }

    private func text(_ method: String, uri: String, branch: String, cseq: UInt32, toTag: String?,
                      body: String = "", contentType: String = "application/sdp") -> String {
        var text = "\(method) \(uri) SIP/2.0\n"
        text += "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=\(branch);rport\n"
        text += "Max-Forwards: 70\n"
        text += "From: \"Carol\" <sip:\(IncomingBrowserCallTests.callerNumber)@127.0.0.1>;tag=\(Self.fromTag)\n"
        text += "To: <sip:\(IncomingBrowserCallTests.did)@127.0.0.1>\(toTag.map { ";tag=\($0)" } ?? "")\n"
        text += "Call-ID: \(Self.callID)\n"
        text += "CSeq: \(cseq) \(method)\n"
        if method == "INVITE" || method == "UPDATE" { text += "Contact: <sip:carrier@127.0.0.1:5070>\n" }
        if !body.isEmpty { text += "Content-Type: \(contentType)\n" }
        text += "Content-Length: \(body.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)\n\n" + body
        return text
    }
}

private extension FakeBrowser {
    /// Every `hangup` heard, as "code reason".
    var hangups: [String] {
        messages.withLockedValue { $0 }.compactMap { message -> String? in
            if case .hangup(_, let code, let reason) = message { return "\(code) \(reason)" }
            return nil
        }
    }
}

extension Array where Element == SIPMessage {
    var allResponses: [SIPResponse] {
        compactMap { message -> SIPResponse? in
            if case .response(let response) = message { return response }
            return nil
        }
    }

    /// "INVITE, 100 INVITE, 200 BYE ...", for failure messages.
    var summary: String {
        map { message -> String in
            switch message {
            case .request(let request): request.method.rawValue
            case .response(let response): "\(response.statusCode) \(response.headers.cseq?.method.rawValue ?? "?")"
            }
        }.joined(separator: ", ")
    }
}
