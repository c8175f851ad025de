// A blind transfer the trunk asks for (REFER, RFC 3515) on a browser's call,
// through the real SIP core on a recording transport with fake media: the
// target runs through the dialplan as the browser user's call, the referrer
// hears 202 and sipfrag NOTIFYs, the new far end gets the call's media, and
// the browser hears nothing at all. No sockets.
import NIOCore
import SDP
import SIP
import SIPTestSupport
import Signaling
import XCTest
@testable import Gateway

final class TransferTests: XCTestCase {
    var env: FakeCallEnvironment!
    var alice: FakeBrowser!
    lazy var seen = Seen(transport: env.transport)

    override func setUp() async throws {
        env = try FakeCallEnvironment()
        alice = env.login("alice")
    }

    /// Alice's call to a trunk, answered; the trunk's side of its dialog.
    func answeredCall() async throws -> (BrowserOriginatedCall, PeerDialogText, FakeMedia) {
        let request = try BrowserCallRequest(id: "c1", user: "alice", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        let invite = try await next(.invite)
        try await env.deliver(sipResponse(to: invite, 200, contact: "sip:far@127.0.0.1:5070",
                                          body: FakeMedia.plain(.sendrecv, port: 31000).text))
        let alice = self.alice!
        _ = await env.settle { alice.said.contains("answered") }
        seen.clear()
        return (call, PeerDialogText(invite: invite), try XCTUnwrap(env.medias.withLockedValue { $0.first }))
    }

    func refer(_ peer: inout PeerDialogText, to target: String, extra: [String] = []) async throws {
        try await env.deliver(peer.request("REFER", headers: ["Refer-To: <\(target)>",
                                                             "Referred-By: <sip:far@127.0.0.1>"] + extra))
    }

    func testAReferredNumberIsDialledAndTheBrowserNowTalksToIt() async throws {
        let (call, peer0, media) = try await answeredCall()
        var peer = peer0
        let oldCallID = peer.invite.headers.callID
        try await refer(&peer, to: "sip:+15559876543@127.0.0.1")
        let invite = try await next(.invite)
        XCTAssertEqual(invite.uri.user, "+15559876543", "the dialplan's E.164 target")
        XCTAssertNotEqual(invite.headers.callID, oldCallID, "a new dialog")
        XCTAssertEqual(seen.responses(202).count, 1, "the REFER is accepted")
        XCTAssertEqual(seen.notifies(), ["SIP/2.0 100 Trying"])
        let first = try XCTUnwrap(seen.requests(.notify).first)
        XCTAssertEqual(first.headers["Event"], "refer;id=\(peer.cseq)")
        XCTAssertEqual(first.headers["Subscription-State"], "active;expires=60")
        XCTAssertEqual(first.headers["Content-Type"], "message/sipfrag;version=2.0")
        XCTAssertEqual(first.headers.callID, oldCallID, "in the referrer's dialog")

        try await env.deliver(sipResponse(to: invite, 180, tag: "new"))
        _ = await env.settle { [seen] in seen.notifies().count == 2 }
        try await env.deliver(sipResponse(to: invite, 200, tag: "new", contact: "sip:new@127.0.0.1:5070",
                                          body: FakeMedia.plain(.sendrecv, port: 32000).text))
        _ = await env.settle { [seen] in seen.notifies().count == 3 && !seen.requests(.bye).isEmpty }
        XCTAssertEqual(seen.notifies(), ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK"])
        XCTAssertEqual(seen.requests(.notify).last?.headers["Subscription-State"], "terminated;reason=noresource")
        XCTAssertEqual(seen.requests(.ack).first?.headers.callID, invite.headers.callID)
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [oldCallID], "the referrer's dialog ends")
        XCTAssertTrue(media.calls.contains("transferOffer"), "\(media.calls)")
        XCTAssertTrue(media.calls.contains("acceptTransferAnswer 32000"), "\(media.calls)")
        XCTAssertEqual(alice.said, ["answered"], "the browser hears nothing of it")

        // The new far end is the call now: the browser's hangup reaches it.
        seen.clear()
        try await env.onLoop { call.end(reason: "browser hung up") }
        _ = await env.settle { [seen] in !seen.requests(.bye).isEmpty }
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [invite.headers.callID])
        _ = await env.settle { media.isClosed }
        XCTAssertTrue(media.isClosed)
    }

    func testATargetTheDialplanRefusesIsReportedAndTheCallGoesOn() async throws {
        let (_, peer0, media) = try await answeredCall()
        var peer = peer0
        // Alice may not call abroad (the default dialplan's toll-fraud guard).
        try await refer(&peer, to: "sip:+4930123456@127.0.0.1")
        _ = await env.settle { [seen] in seen.notifies().count == 2 }
        XCTAssertEqual(seen.responses(202).count, 1)
        XCTAssertEqual(seen.notifies().first, "SIP/2.0 100 Trying")
        XCTAssertTrue(seen.notifies().last?.hasPrefix("SIP/2.0 403") == true, "\(seen.notifies())")
        XCTAssertTrue(seen.requests(.invite).isEmpty, "nothing goes out")
        XCTAssertTrue(seen.requests(.bye).isEmpty, "the call stays")
        XCTAssertFalse(media.calls.contains("transferOffer"))
        XCTAssertEqual(alice.said, ["answered"])
    }

    func testTheReferrerMayLeaveAtOnceAndAFailedTransferThenEndsTheCall() async throws {
        let (_, peer0, _) = try await answeredCall()
        var peer = peer0
        try await refer(&peer, to: "sip:+15559876543@127.0.0.1")
        let invite = try await next(.invite)
        try await env.deliver(peer.request("BYE"))
        _ = await env.settle { [seen] in !seen.responses(200).isEmpty }
        XCTAssertEqual(alice.said, ["answered"], "the call waits for the transfer")
        try await env.deliver(sipResponse(to: invite, 486, tag: "new"))
        let alice = self.alice!
        _ = await env.settle { alice.said.count == 2 }
        XCTAssertEqual(alice.said, ["answered", "hangup 486"])
        let env = self.env!
        _ = await env.settle { env.callsInProgress == 0 }
        XCTAssertEqual(env.callsInProgress, 0)
    }

    func testAnAnswerTheMediaCannotTakeIsHungUpAndTheCallGoesOn() async throws {
        let (_, peer0, media) = try await answeredCall()
        media.refusals.withLockedValue { $0 = ["transfer"] }
        var peer = peer0
        try await refer(&peer, to: "sip:+15559876543@127.0.0.1")
        let invite = try await next(.invite)
        try await env.deliver(sipResponse(to: invite, 200, tag: "new", contact: "sip:new@127.0.0.1:5070",
                                          body: FakeMedia.plain(.sendrecv, port: 32000).text))
        _ = await env.settle { [seen] in seen.notifies().count == 2 }
        XCTAssertEqual(seen.notifies().last, "SIP/2.0 488 Not Acceptable Here")
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [invite.headers.callID], "only the new dialog ends")
        XCTAssertEqual(alice.said, ["answered"])
    }

    func testTheBrowserHangingUpDuringTheTransferCancelsIt() async throws {
        let (call, peer0, _) = try await answeredCall()
        var peer = peer0
        try await refer(&peer, to: "sip:+15559876543@127.0.0.1")
        let invite = try await next(.invite)
        try await env.deliver(sipResponse(to: invite, 180, tag: "new"))
        _ = await env.settle { [seen] in seen.notifies().count == 2 }
        try await env.onLoop { call.end(reason: "browser hung up") }
        _ = await env.settle { [seen] in !seen.requests(.cancel).isEmpty && !seen.requests(.bye).isEmpty }
        XCTAssertEqual(seen.requests(.cancel).first?.headers.callID, invite.headers.callID)
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [peer.invite.headers.callID])
    }

    /// The browser as transferee of an attended transfer (RFC 5589 §7): the
    /// target is dialled with the Replaces the Refer-To carried.
    func testAReferWithReplacesDialsTheTargetWithIt() async throws {
        let (_, peer0, _) = try await answeredCall()
        var peer = peer0
        try await refer(&peer, to: "sip:+15559876543@127.0.0.1?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2")
        let invite = try await next(.invite)
        XCTAssertEqual(invite.uri.user, "+15559876543")
        XCTAssertEqual(invite.headers["Replaces"], "abc@host;to-tag=1;from-tag=2")
        XCTAssertTrue(invite.headers.all("Require").contains("replaces"))
        XCTAssertEqual(seen.responses(202).count, 1)
    }

    func testReferWithoutAUsableTargetIsRefused() async throws {
        let (_, peer0, _) = try await answeredCall()
        var peer = peer0
        try await env.deliver(peer.request("REFER"))
        _ = await env.settle { [seen] in !seen.responses(400).isEmpty }
        XCTAssertEqual(seen.responses(400).first?.reasonPhrase, "Missing Refer-To")
        try await refer(&peer, to: "tel:+15559876543")
        _ = await env.settle { [seen] in !seen.responses(416).isEmpty }
        XCTAssertEqual(seen.responses(416).count, 1)
        XCTAssertTrue(seen.requests(.invite).isEmpty)
        XCTAssertTrue(seen.requests(.notify).isEmpty)
        XCTAssertEqual(alice.said, ["answered"])
    }

    // MARK: the browser's own transfer (REFER toward the far end)

    func testTheBrowserTransferSendsAReferToTheNumberTheDialplanRoutes() async throws {
        let (call, peer0, _) = try await answeredCall()
        var peer = peer0
        try await env.onLoop { call.browserTransfer(to: "+15559876543") }
        let refer = try await next(.refer)
        XCTAssertEqual(refer.headers["Refer-To"], "<sip:+15559876543@127.0.0.1:5070>", "on the call's trunk")
        XCTAssertEqual(refer.headers.callID, peer.invite.headers.callID, "in the call's dialog")
        try await env.deliver(sipResponse(to: refer, 202, tag: nil))
        try await env.deliver(peer.request("NOTIFY", body: "SIP/2.0 100 Trying\n",
                                           headers: ["Event: refer", "Subscription-State: active;expires=60"]))
        XCTAssertEqual(alice.said, ["answered"], "nothing yet while the new call is tried")
        try await env.deliver(peer.request("NOTIFY", body: "SIP/2.0 200 OK\n",
                                           headers: ["Event: refer", "Subscription-State: terminated"]))
        let alice = self.alice!
        _ = await env.settle { alice.said.count == 3 }
        XCTAssertEqual(alice.said, ["answered", "transferred", "hangup 200"])
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [peer.invite.headers.callID], "we leave the call")
        let env = self.env!
        _ = await env.settle { env.callsInProgress == 0 }
        XCTAssertEqual(env.callsInProgress, 0)
    }

    func testAReferTheFarEndRefusesIsAnErrorAndTheCallGoesOn() async throws {
        let (call, _, _) = try await answeredCall()
        try await env.onLoop { call.browserTransfer(to: "+15559876543") }
        let refer = try await next(.refer)
        try await env.deliver(sipResponse(to: refer, 603, tag: nil))
        let alice = self.alice!
        _ = await env.settle { alice.said.count == 2 }
        XCTAssertEqual(alice.said, ["answered", "error 603"])
        XCTAssertTrue(seen.requests(.bye).isEmpty, "the call goes on")
        // A second try is allowed once the first is over.
        try await env.onLoop { call.browserTransfer(to: "+15559876543") }
        _ = try await next(.refer)
    }

    func testATargetTheDialplanRefusesSendsNoRefer() async throws {
        let (call, _, _) = try await answeredCall()
        try await env.onLoop { call.browserTransfer(to: "999") }
        let alice = self.alice!
        _ = await env.settle { alice.said.count == 2 }
        XCTAssertEqual(alice.said.first, "answered")
        XCTAssertTrue(alice.said.last?.hasPrefix("error 4") ?? false, "\(alice.said)")
        XCTAssertTrue(seen.requests(.refer).isEmpty)
        XCTAssertTrue(seen.requests(.bye).isEmpty)
    }

    func testATransferBeforeTheAnswerIsRefused() async throws {
        let request = try BrowserCallRequest(id: "c2", user: "alice", to: "+15551234567", sdp: browserOfferSDP, headers: [:])
        let call = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { call.start() }
        _ = try await next(.invite)
        try await env.onLoop { call.browserTransfer(to: "+15559876543") }
        XCTAssertEqual(alice.said.last, "error 400")
        XCTAssertTrue(seen.requests(.refer).isEmpty)
        try await env.onLoop { call.end(reason: "test over") }
    }

    func testAnAttendedTransferRefersTheFirstFarEndToTheSecondWithReplaces() async throws {
        let (first, second, peer0, invite2) = try await twoAnsweredCalls()
        var peer = peer0
        let alice = self.alice!
        try await env.onLoop { first.browserAttendedTransfer(replacing: second) }
        let refer = try await next(.refer)
        XCTAssertEqual(refer.headers.callID, peer.invite.headers.callID, "sent to the first call's far end")
        let callID2 = try XCTUnwrap(invite2.headers.callID)
        let ourTag2 = try XCTUnwrap(invite2.headers.from?.tag)
        let replaces = BrowserTransfer.percentEncoded("\(callID2);to-tag=far2;from-tag=\(ourTag2)")
        XCTAssertEqual(refer.headers["Refer-To"], "<sip:target@127.0.0.1:5071?Replaces=\(replaces)>")
        XCTAssertTrue(replaces.contains("%3Bto-tag%3Dfar2%3Bfrom-tag%3D"), replaces)
        try await env.deliver(sipResponse(to: refer, 202, tag: nil))
        try await env.deliver(peer.request("NOTIFY", body: "SIP/2.0 200 OK\n",
                                           headers: ["Event: refer", "Subscription-State: terminated"]))
        _ = await env.settle { alice.said.filter { $0 == "transferred" }.count == 2 }
        XCTAssertEqual(alice.said.filter { $0 == "transferred" }.count, 2, "\(alice.said)")
        XCTAssertEqual(alice.said.filter { $0 == "hangup 200" }.count, 2, "\(alice.said)")
        XCTAssertEqual(Set(seen.requests(.bye).compactMap(\.headers.callID)),
                       Set([peer.invite.headers.callID, callID2].compactMap { $0 }), "both calls are left")
        let env = self.env!
        _ = await env.settle { env.callsInProgress == 0 }
        XCTAssertEqual(env.callsInProgress, 0)
    }

    func testAnAttendedTransferWithACallNotOnATrunkIsRefused() async throws {
        let (first, _, _) = try await answeredCall()
        final class Other: CallControl, @unchecked Sendable {
            func clientHangup(_ client: SignalingClient) {}
            func clientGone(_ client: SignalingClient) {}
            func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient) {}
        }
        try await env.onLoop { first.browserAttendedTransfer(replacing: Other()) }
        XCTAssertEqual(alice.said.last, "error 501")
        XCTAssertTrue(seen.requests(.refer).isEmpty)
    }

    // MARK: an attended transfer the gateway joins itself

    /// Alice's two answered calls to a trunk: the first's far end, and the second's INVITE (its far end's tag is far2).
    func twoAnsweredCalls() async throws -> (BrowserOriginatedCall, BrowserOriginatedCall, PeerDialogText, SIPRequest) {
        let (first, peer, _) = try await answeredCall()
        let request = try BrowserCallRequest(id: "c2", user: "alice", to: "+15557654321", sdp: browserOfferSDP, headers: [:])
        let second = BrowserOriginatedCall(environment: env, client: alice, request: request)
        try await env.onLoop { second.start() }
        let invite2 = try await next(.invite)
        try await env.deliver(sipResponse(to: invite2, 200, tag: "far2", contact: "sip:target@127.0.0.1:5071",
                                          body: FakeMedia.plain(.sendrecv, port: 31002).text))
        let alice = self.alice!
        _ = await env.settle { alice.said.filter { $0 == "answered" }.count == 2 }
        return (first, second, peer, invite2)
    }

    /// Two answered calls, the REFER refused with `referRefusal`, the second
    /// far end re-pointed (its 200 in), our re-INVITE to the first out.
    func joinHalfDone(referRefusal: Int) async throws
        -> (BrowserOriginatedCall, BrowserOriginatedCall, PeerDialogText, SIPRequest, SIPRequest, SIPRequest) {
        let (first, second, peer, invite2) = try await twoAnsweredCalls()
        try await env.onLoop { first.browserAttendedTransfer(replacing: second) }
        try await env.deliver(sipResponse(to: try await next(.refer), referRefusal, tag: nil))
        let toSecond = try await next(.invite)
        try await env.deliver(sipResponse(to: toSecond, 200, body: FakeMedia.plain(.sendrecv, port: 31002).text))
        let toFirst = try await next(.invite)
        return (first, second, peer, invite2, toSecond, toFirst)
    }

    /// The first call's far end refuses the REFER: the gateway re-INVITEs
    /// the second's far end, then the first's, toward the relay's two legs;
    /// both browser calls end `transferred` without BYE, and the joined
    /// call lives on until one side hangs up, when the other hears BYE.
    func testARefusedAttendedTransferIsJoinedInTheGateway() async throws {
        let (first, second, peer0, invite2) = try await twoAnsweredCalls()
        var peer = peer0
        try await env.onLoop { first.browserAttendedTransfer(replacing: second) }
        let refer = try await next(.refer)
        try await env.deliver(sipResponse(to: refer, 405, tag: nil))
        let toSecond = try await next(.invite)
        XCTAssertEqual(toSecond.headers.callID, invite2.headers.callID, "the other call's far end first")
        XCTAssertTrue(String(decoding: toSecond.body, as: UTF8.self).contains("m=audio 40002 "), "the relay's callee leg")
        try await env.deliver(sipResponse(to: toSecond, 200, body: FakeMedia.plain(.sendrecv, port: 31002).text))
        let toFirst = try await next(.invite)
        XCTAssertEqual(toFirst.headers.callID, peer.invite.headers.callID)
        XCTAssertTrue(String(decoding: toFirst.body, as: UTF8.self).contains("m=audio 40000 "), "the relay's caller leg")
        XCTAssertEqual(alice.said.filter { $0 == "transferred" }.count, 0, "nothing before both far ends answered")
        try await env.deliver(sipResponse(to: toFirst, 200, body: FakeMedia.plain(.sendrecv, port: 31000).text))
        let alice = self.alice!
        _ = await env.settle { alice.said.filter { $0 == "hangup 200" }.count == 2 }
        XCTAssertEqual(alice.said.filter { $0 == "transferred" }.count, 2, "\(alice.said)")
        XCTAssertEqual(alice.said.filter { $0 == "hangup 200" }.count, 2, "\(alice.said)")
        XCTAssertFalse(alice.said.contains { $0.hasPrefix("error") }, "\(alice.said)")
        XCTAssertTrue(seen.requests(.bye).isEmpty, "the two dialogs live on, joined")
        let relay = try XCTUnwrap(env.relays.withLockedValue { $0.first })
        let steps = relay.calls.withLockedValue { $0 }
        XCTAssertTrue(steps.contains("continueSession caller 42 1") && steps.contains("continueSession callee 42 1"),
                      "each far end's o= line goes on: \(steps)")
        XCTAssertEqual(steps.filter { !$0.hasPrefix("continueSession") },
                       ["calleeOfferWithoutCallerOffer PCMU,PCMA,G722", "acceptCalleeAnswer", "acceptCallerAnswer"])
        let medias = env.medias.withLockedValue { $0 }
        XCTAssertTrue(medias.allSatisfy { $0.closed.withLockedValue { $0 } }, "both browsers' media closed")
        let env = self.env!
        _ = await env.settle { env.callsInProgress == 1 }
        XCTAssertEqual(env.callsInProgress, 1, "the joined call")

        // An offer inside the joined call is answered by the relay, on its leg.
        try await env.deliver(peer.request("INVITE", body: FakeMedia.plain(.sendonly, port: 31000).text))
        _ = await env.settle { [seen] in !seen.responses(200).isEmpty }
        XCTAssertTrue(relay.calls.withLockedValue { $0 }.contains("answerReoffer caller"))

        try await env.deliver(peer.request("BYE"))
        _ = await env.settle { [seen] in !seen.requests(.bye).isEmpty }
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [invite2.headers.callID], "the other side hears BYE")
        _ = await env.settle { env.callsInProgress == 0 }
        XCTAssertEqual(env.callsInProgress, 0)
        XCTAssertTrue(relay.closed.withLockedValue { $0 })
    }

    /// The second far end takes the relay's offer, the first refuses it:
    /// the second is put back on its call's media with an o= version above
    /// the relay's, the relay closes, and both calls go on.
    func testAJoinTheFirstFarEndRefusesPutsTheOtherBack() async throws {
        let (first, second, peer, invite2, toSecond, toFirst) = try await joinHalfDone(referRefusal: 603)
        XCTAssertEqual(toFirst.headers.callID, peer.invite.headers.callID)
        try await env.deliver(sipResponse(to: toFirst, 488))
        let back = try await next(.invite)
        XCTAssertEqual(back.headers.callID, invite2.headers.callID, "the second far end is put back")
        let version = try SessionDescription.parse(String(decoding: back.body, as: UTF8.self)).origin.sessionVersion
        let relayVersion = try SessionDescription.parse(String(decoding: toSecond.body, as: UTF8.self)).origin.sessionVersion
        XCTAssertGreaterThan(version, relayVersion, "RFC 3264 §8: a newer version than the relay's offer")
        try await env.deliver(sipResponse(to: back, 200, body: FakeMedia.plain(.sendrecv, port: 31002).text))
        let alice = self.alice!
        _ = await env.settle { alice.said.contains { $0.hasPrefix("error") } }
        XCTAssertEqual(alice.said.filter { $0.hasPrefix("error") }, ["error 603"], "the REFER's code: \(alice.said)")
        XCTAssertFalse(alice.said.contains("transferred") || alice.said.contains("hangup 200"), "\(alice.said)")
        XCTAssertTrue(seen.requests(.bye).isEmpty, "both calls go on")
        let relay = try XCTUnwrap(env.relays.withLockedValue { $0.first })
        _ = await env.settle { relay.closed.withLockedValue { $0 } }
        XCTAssertTrue(relay.closed.withLockedValue { $0 })
        let medias = env.medias.withLockedValue { $0 }
        XCTAssertEqual(medias.count, 2)
        XCTAssertTrue(medias[1].calls.contains("phoneDescription after \(relayVersion)"), "\(medias[1].calls)")
        _ = await env.settle { medias[1].calls.contains { $0.hasPrefix("acceptPhoneReanswer") } }
        XCTAssertTrue(medias[1].calls.contains("acceptPhoneReanswer sendrecv"), "\(medias[1].calls)")
        // The calls are as before: a new transfer may be asked.
        try await env.onLoop { first.browserAttendedTransfer(replacing: second) }
        _ = try await next(.refer)
    }

    /// The browser hangs up the second call while the first far end is
    /// being re-pointed: nobody is left to join, so the first far end is
    /// put back on its call's media, which goes on.
    func testACallEndingDuringTheJoinPutsTheOtherBack() async throws {
        let (_, second, peer, invite2, _, toFirst) = try await joinHalfDone(referRefusal: 405)
        try await env.onLoop { second.end(reason: "the browser hung up") }
        let bye = try await next(.bye)
        XCTAssertEqual(bye.headers.callID, invite2.headers.callID)
        try await env.deliver(sipResponse(to: toFirst, 200, body: FakeMedia.plain(.sendrecv, port: 31000).text))
        let back = try await next(.invite)
        XCTAssertEqual(back.headers.callID, peer.invite.headers.callID, "the first far end is put back")
        let alice = self.alice!
        _ = await env.settle { alice.said.contains { $0.hasPrefix("error") } }
        XCTAssertEqual(alice.said.filter { $0.hasPrefix("error") }, ["error 405"], "\(alice.said)")
        XCTAssertFalse(alice.said.contains("transferred"), "\(alice.said)")
        XCTAssertEqual(seen.requests(.bye).count, 1, "the first call goes on")
        let relay = try XCTUnwrap(env.relays.withLockedValue { $0.first })
        _ = await env.settle { relay.closed.withLockedValue { $0 } }
        XCTAssertTrue(relay.closed.withLockedValue { $0 })
        let env = self.env!
        _ = await env.settle { env.callsInProgress == 1 }
        XCTAssertEqual(env.callsInProgress, 1, "only the first call")
    }

    /// A far end that refuses the join itself leaves everything as it was:
    /// nothing is sent to the first call's far end, and the browser hears
    /// both reasons.
    func testAJoinTheOtherFarEndRefusesChangesNothing() async throws {
        let (first, second, _, _) = try await twoAnsweredCalls()
        try await env.onLoop { first.browserAttendedTransfer(replacing: second) }
        try await env.deliver(sipResponse(to: try await next(.refer), 405, tag: nil))
        let toSecond = try await next(.invite)
        try await env.deliver(sipResponse(to: toSecond, 488))
        let alice = self.alice!
        _ = await env.settle { alice.said.contains { $0.hasPrefix("error") } }
        XCTAssertEqual(alice.said.filter { $0.hasPrefix("error") }, ["error 405"], "\(alice.said)")
        XCTAssertNil(seen.unreturned(.invite), "no re-INVITE to the first far end, none to put anyone back")
        XCTAssertTrue(seen.requests(.bye).isEmpty)
        let relay = try XCTUnwrap(env.relays.withLockedValue { $0.first })
        _ = await env.settle { relay.closed.withLockedValue { $0 } }
        XCTAssertTrue(relay.closed.withLockedValue { $0 })
    }

    // MARK: INVITE with Replaces (RFC 3891)

    func testAnInviteWithReplacesTakesOverTheFarEndsDialog() async throws {
        let (_, peer, media) = try await answeredCall()
        let callID = try XCTUnwrap(peer.invite.headers.callID)
        let ourTag = try XCTUnwrap(peer.invite.headers.from?.tag)
        let invite = """
            INVITE sip:tieline@127.0.0.1:5060 SIP/2.0
            Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKreplacer;rport
            Max-Forwards: 70
            From: <sip:transferee@127.0.0.1>;tag=newpeer
            To: <sip:tieline@127.0.0.1>
            Call-ID: replacer-call
            CSeq: 1 INVITE
            Contact: <sip:transferee@127.0.0.1:5070>
            Replaces: \(callID);to-tag=\(ourTag);from-tag=far
            Content-Type: application/sdp
            Content-Length: \(FakeMedia.plain(.sendrecv, port: 33000).text.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)

            \(FakeMedia.plain(.sendrecv, port: 33000).text)
            """
        try await env.deliver(invite)
        _ = await env.settle { [seen] in seen.responses(200).contains { $0.headers.callID == "replacer-call" } }
        let ok = try XCTUnwrap(seen.responses(200).first { $0.headers.callID == "replacer-call" })
        XCTAssertEqual(ok.headers.cseq?.method, .invite)
        XCTAssertTrue(media.calls.contains("answerReplacement 33000"), "\(media.calls)")
        _ = await env.settle { [seen] in !seen.requests(.bye).isEmpty }
        XCTAssertEqual(seen.requests(.bye).map(\.headers.callID), [callID], "the replaced dialog is ended")
        XCTAssertEqual(alice.said, ["answered"], "the browser hears nothing")
    }

    // MARK: helpers

    /// The next request of `method` the gateway sent that no `next` returned yet.
    func next(_ method: SIPMethod, file: StaticString = #filePath, line: UInt = #line) async throws -> SIPRequest {
        let seen = self.seen
        _ = await env.settle { seen.unreturned(method) != nil }
        let request = try XCTUnwrap(seen.unreturned(method), "no \(method) sent (seen: \(seen.all))", file: file, line: line)
        seen.returned(method)
        return request
    }
}

/// Everything the gateway sent so far, kept across looks.
final class Seen: @unchecked Sendable {
    private let transport: RecordingTransport
    private let box = SentBox()
    init(transport: RecordingTransport) { self.transport = transport }

    private func update() { box.add(transport.take()) }
    private var returnedCount: [String: Int] = [:]
    func clear() {
        update()
        box.messages = []
        returnedCount = [:]
    }
    func unreturned(_ method: SIPMethod) -> SIPRequest? {
        requests(method).dropFirst(returnedCount[method.rawValue] ?? 0).first
    }
    func returned(_ method: SIPMethod) { returnedCount[method.rawValue, default: 0] += 1 }
    var all: [String] {
        update()
        return box.messages.map {
            switch $0 {
            case .request(let request): request.method.rawValue
            case .response(let response): "\(response.statusCode)"
            }
        }
    }
    func requests(_ method: SIPMethod) -> [SIPRequest] { update(); return box.messages.requests(method) }
    func responses(_ code: Int) -> [SIPResponse] { update(); return box.messages.responses(code) }
    /// The sipfrag status lines of our NOTIFYs so far.
    func notifies() -> [String] {
        requests(.notify).map { String(decoding: $0.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
