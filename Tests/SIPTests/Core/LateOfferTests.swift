// Late offer (RFC 3261 §13.2.1, §14.2; RFC 3264 §4): an INVITE or re-INVITE
// without SDP gets our offer in the 2xx, and the answer comes in the ACK.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct LateOfferTests {
    static let ourOffer = Array("v=0\r\no=tieline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0 8\r\n".utf8)

    @Test func anOfferlessInviteGetsTheAnswerFromItsAck() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var invite: IncomingInvite?
        h.userAgent.onInvite = { invite = $0 }
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv1"))
        let incoming = try #require(invite)
        #expect(incoming.isLateOffer)
        let dialog = try #require(incoming.answer(body: Self.ourOffer))
        var answers: [[UInt8]] = []
        dialog.onAckAnswer = { answers.append($0) }
        let ok = try #require(h.responses(h.transport.take(), 200).first)
        #expect(ok.body == Self.ourOffer, "the 200 carries our offer")
        script.ourTag = dialog.id.localTag
        h.deliver(script.request("ACK", cseq: 1, branch: "ack1", body: PeerDialogScript.sdp))
        #expect(answers.count == 1)
        #expect(String(decoding: answers.first ?? [], as: UTF8.self).contains("m=audio 4000 RTP/AVP 0"))
        // A retransmitted ACK is not a second answer.
        h.deliver(script.request("ACK", cseq: 1, branch: "ack1", body: PeerDialogScript.sdp))
        #expect(answers.count == 1)
        #expect(!dialog.isAwaitingAck)
        dialog.bye()
    }

    @Test func anAckWithoutTheAnswerIsReportedEmpty() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var invite: IncomingInvite?
        h.userAgent.onInvite = { invite = $0 }
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv1"))
        let incoming = try #require(invite)
        let dialog = try #require(incoming.answer(body: Self.ourOffer))
        var answers: [[UInt8]] = []
        dialog.onAckAnswer = { answers.append($0) }
        script.ourTag = dialog.id.localTag
        h.deliver(script.request("ACK", cseq: 1, branch: "ack1"))
        #expect(answers == [[]], "the application learns the offer went unanswered")
        dialog.bye()
    }

    @Test func anInviteWithAnOfferHasNoAckAnswer() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var answers = 0
        dialog.onAckAnswer = { _ in answers += 1 }
        h.deliver(script.request("ACK", cseq: 1, branch: "ack1", body: PeerDialogScript.sdp))
        #expect(answers == 0)
        dialog.bye()
    }

    @Test func anOfferlessReInviteGetsOurOfferAndItsAckTheAnswer() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var offers: [InDialogOffer] = []
        dialog.onOffer = { offers.append($0) }
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv"))
        let offer = try #require(offers.first)
        #expect(offer.body.isEmpty)
        var answers: [[UInt8]] = []
        offer.accept(body: Self.ourOffer) { answers.append($0) }
        #expect(h.responses(h.transport.take(), 200).first?.body == Self.ourOffer)
        h.deliver(script.request("ACK", cseq: 2, branch: "ack2", body: PeerDialogScript.sdp))
        #expect(answers.count == 1 && !(answers.first?.isEmpty ?? true))
        // An ordinary re-INVITE afterwards (with its own offer): no ACK answer.
        h.deliver(script.request("INVITE", cseq: 3, branch: "reinv2", body: PeerDialogScript.sdp))
        try #require(offers.count == 2)
        offers[1].accept(body: Self.ourOffer)
        h.deliver(script.request("ACK", cseq: 3, branch: "ack3"))
        #expect(answers.count == 1)
        dialog.bye()
    }
}
