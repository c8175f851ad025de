// In-dialog offer/answer in the SIP core (RFC 3261 §12-14, RFC 3311, RFC 6026), driven
// through a recording transport and a hand-moved clock: no sockets, no waiting.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct InDialogOfferTests {
    @Test func reInviteTwoHundredIsRetransmittedUntilTheAck() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var offers: [InDialogOffer] = []
        dialog.onOffer = { offer in
            offers.append(offer)
            offer.accept(body: Array("v=0\r\no=tieline 1 2 IN IP4 127.0.0.1\r\n".utf8))
        }
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp))
        #expect(offers.count == 1)
        #expect(h.responses(h.transport.take(), 200).count == 1)
        // Lost: T1, then 2·T1 later, the 200 goes again (§13.3.1.4).
        h.advance(h.timers.t1)
        #expect(h.responses(h.transport.take(), 200).count == 1)
        h.advance(h.timers.t1 * 2)
        #expect(h.responses(h.transport.take(), 200).count == 1)
        // The peer retransmits its re-INVITE: absorbed, the application is not asked again.
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp))
        #expect(offers.count == 1)
        h.deliver(script.request("ACK", cseq: 2, branch: "ack2"))
        #expect(!dialog.isAwaitingAck)
        h.advance(.seconds(10))
        #expect(h.responses(h.transport.take(), 200).isEmpty)
        #expect(!dialog.isTerminated)
    }

    @Test func reInviteWithoutAckEndsTheCallWithBye() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var ended: DialogEnd?
        dialog.onTerminated = { ended = $0 }
        dialog.onOffer = { $0.accept(body: Array("v=0\r\n".utf8)) }
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp))
        h.advance(h.timers.transactionTimeout)
        let sent = h.transport.take()
        #expect(h.requests(sent, .bye).count == 1)
        #expect(h.responses(sent, 200).count >= 6)
        #expect(ended == .ackTimeout)
    }

    @Test func targetRefreshMovesTheNextRequest() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        dialog.onOffer = { $0.accept(body: Array("v=0\r\n".utf8)) }
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp,
                                 contact: "sip:phone@127.0.0.1:5099"))
        h.deliver(script.request("ACK", cseq: 2, branch: "ack2"))
        _ = h.transport.take()
        dialog.bye()
        let bye = try #require(h.requests(h.transport.take(), .bye).first)
        #expect(bye.uri.port == 5099)
    }

    @Test func rejectedOfferKeepsTheTarget() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        dialog.onOffer = { $0.reject(488, reason: "Not Acceptable Here") }
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp,
                                 contact: "sip:phone@127.0.0.1:5099"))
        #expect(h.responses(h.transport.take(), 488).count == 1)
        h.deliver(script.request("ACK", cseq: 2, branch: "reinv"))  // the non-2xx ACK shares the INVITE's branch
        dialog.bye()
        let bye = try #require(h.requests(h.transport.take(), .bye).first)
        #expect(bye.uri.port == 5070)
        #expect(!dialog.isAwaitingAck)
    }

    @Test func noHandlerMeans488AndTheCallStays() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        h.deliver(script.request("UPDATE", cseq: 2, branch: "upd", body: PeerDialogScript.sdp))
        #expect(h.responses(h.transport.take(), 488).count == 1)
        #expect(!dialog.isTerminated)
    }

    @Test func overlappingOfferGets500WithRetryAfter() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var pending: InDialogOffer?
        dialog.onOffer = { pending = $0 }  // answered later (the media plane is asked first)
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp))
        h.deliver(script.request("UPDATE", cseq: 3, branch: "upd", body: PeerDialogScript.sdp))
        let refused = try #require(h.responses(h.transport.take(), 500).first)
        let retry = try #require(refused.headers["Retry-After"].flatMap { Int($0) })
        #expect((0...10).contains(retry))
        try #require(pending).accept(body: Array("v=0\r\n".utf8))
        #expect(h.responses(h.transport.take(), 200).count == 1)
    }

    @Test func updateIsAnsweredOnceByItsTransaction() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        dialog.onOffer = { $0.accept(body: Array("v=0\r\n".utf8)) }
        h.deliver(script.request("UPDATE", cseq: 2, branch: "upd", body: PeerDialogScript.sdp))
        #expect(h.responses(h.transport.take(), 200).count == 1)
        #expect(!dialog.isAwaitingAck)  // UPDATE has no ACK
        // A retransmitted UPDATE gets the same 200 from the transaction (§17.2.2).
        h.deliver(script.request("UPDATE", cseq: 2, branch: "upd", body: PeerDialogScript.sdp))
        #expect(h.responses(h.transport.take(), 200).count == 1)
        h.advance(.seconds(40))
        #expect(h.transport.take().isEmpty)
    }

    @Test func glareBothWays() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        dialog.onOffer = { $0.accept(body: Array("v=0\r\n".utf8)) }
        var outcomes: [OfferOutcome] = []
        dialog.sendOffer(Array("v=0\r\n".utf8)) { outcomes.append($0) }
        let ours = try #require(h.requests(h.transport.take(), .invite).first)
        // Theirs crosses ours: 491 (§14.2).
        h.deliver(script.request("INVITE", cseq: 2, branch: "theirs", body: PeerDialogScript.sdp))
        #expect(h.responses(h.transport.take(), 491).count == 1)
        // A second offer of ours while the first is out is refused at once.
        dialog.sendOffer(Array("v=0\r\n".utf8)) { outcomes.append($0) }
        #expect(outcomes.count == 1)
        if case .glare = outcomes[0] {} else { Issue.record("expected glare, got \(outcomes[0])") }
        // The peer answers ours 491 too: glare reported, the session unchanged.
        h.deliver(response(to: ours, code: 491, script: script))
        #expect(outcomes.count == 2)
        if case .glare = outcomes[1] {} else { Issue.record("expected glare, got \(outcomes[1])") }
        #expect(!dialog.isTerminated)
    }

    @Test func ourReInviteIsAckedAndItsRetransmittedTwoHundredTooButReportedOnce() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var outcomes: [OfferOutcome] = []
        dialog.sendOffer(Array("v=0\r\n".utf8)) { outcomes.append($0) }
        let ours = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(ours.headers.cseq?.sequence == 1)  // our first request in the dialog
        // Timer A: retransmitted after T1 without an answer.
        h.advance(h.timers.t1)
        #expect(h.requests(h.transport.take(), .invite).count == 1)
        let ok = response(to: ours, code: 200, script: script, contact: "sip:phone@127.0.0.1:5098")
        h.deliver(ok)
        h.deliver(ok)
        let acks = h.requests(h.transport.take(), .ack)
        #expect(acks.count == 2)
        #expect(acks.allSatisfy { $0.headers.cseq?.sequence == 1 && $0.uri.port == 5098 })
        #expect(outcomes.count == 1)
        if case .answered = outcomes.first {} else { Issue.record("expected answered") }
    }

    @Test func reInviteTimeoutEndsTheDialog() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var outcome: OfferOutcome?
        dialog.sendOffer(Array("v=0\r\n".utf8)) { outcome = $0 }
        h.advance(h.timers.transactionTimeout)
        if case .failed(408, _) = outcome {} else { Issue.record("expected 408, got \(String(describing: outcome))") }
        #expect(dialog.isTerminated)
        #expect(h.requests(h.transport.take(), .bye).count == 1)
    }

    /// The peer's response to one of our requests, as text.
    func response(to request: SIPRequest, code: Int, script: PeerDialogScript, contact: String? = nil) -> String {
        let via = request.headers.all("Via").first ?? ""
        var text = "SIP/2.0 \(code) \(SIPResponse.defaultReasonPhrase(code))\n"
        text += "Via: \(via)\n"
        text += "From: \(request.headers["From"] ?? "")\n"
        text += "To: \(request.headers["To"] ?? "")\n"
        text += "Call-ID: \(script.callID)\n"
        text += "CSeq: \(request.headers["CSeq"] ?? "")\n"
        if let contact { text += "Contact: <\(contact)>\n" }
        text += "Content-Length: 0\n\n"
        return text
    }
}
