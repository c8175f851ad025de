// Session timers (RFC 4028) in the SIP core: the header fields, both ends of
// the negotiation, our refreshes and the peer's, and the BYE when none comes,
// through the recording transport and a hand-moved clock.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct SessionTimerTests {
    static let ourSDP = "v=0\r\no=tieline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"

    // MARK: header fields

    @Test func sessionExpiresValues() {
        #expect(SessionExpires(parsing: "1800;refresher=uac") == SessionExpires(interval: 1800, refresher: .uac))
        #expect(SessionExpires(parsing: " 90 ; Refresher = UAS ") == SessionExpires(interval: 90, refresher: .uas))
        #expect(SessionExpires(parsing: "1800") == SessionExpires(interval: 1800))
        #expect(SessionExpires(parsing: "1800;ext=1;refresher=uac") == SessionExpires(interval: 1800, refresher: .uac))
        #expect(SessionExpires(parsing: "1800;refresher=both") == SessionExpires(interval: 1800))
        #expect(SessionExpires(parsing: "4294967295")?.interval == 4_294_967_295)
        for junk in ["", " ", "abc", "-90", "+90", "0", "4294967296", "99999999999999999999", "18 00",
                     ";refresher=uac", "90s", "0x5A"] {
            #expect(SessionExpires(parsing: junk) == nil, "\(junk)")
        }
        #expect(SessionExpires(interval: 90, refresher: .uac).description == "90;refresher=uac")
        #expect(SessionExpires(interval: 1800).description == "1800")
    }

    @Test func headerFieldsInAMessage() throws {
        let compact = try parsedHeaders(["x: 300;REFRESHER=uas", "Min-SE: 120;ext=1", "k: 100rel, Timer"])
        #expect(compact.sessionExpires == SessionExpires(interval: 300, refresher: .uas))
        #expect(compact.minSE == 120)
        #expect(compact.supportsTimer)
        let required = try parsedHeaders(["Session-Expires: 1800", "Require: timer"])
        #expect(required.sessionExpires == SessionExpires(interval: 1800))
        #expect(required.supportsTimer)
        let junk = try parsedHeaders(["Session-Expires: soon;refresher=uac", "Min-SE: -1", "Supported: replaces"])
        #expect(junk.sessionExpires == nil)
        #expect(junk.minSE == nil)
        #expect(!junk.supportsTimer)
        let none = try parsedHeaders([])
        #expect(none.sessionExpires == nil && none.minSE == nil && !none.supportsTimer)
    }

    @Test func policyKeepsTheRFCFloor() {
        let standard = SessionTimerPolicy()
        #expect(standard.interval == 1800 && standard.minSE == 90)
        let tooSmall = SessionTimerPolicy(interval: 30, minSE: 10)
        #expect(tooSmall.interval == 90 && tooSmall.minSE == 90)
        let trunk = SessionTimerPolicy(interval: 600, minSE: 300)
        #expect(trunk.interval == 600 && trunk.minSE == 300)
        let inverted = SessionTimerPolicy(interval: 120, minSE: 300)
        #expect(inverted.interval == 300)
    }

    // MARK: UAC: our INVITE

    @Test func ourInviteAsksForATimer() throws {
        let h = SIPCoreHarness()
        _ = placeCall(h, headers: [("Supported", "replaces")])
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(invite.headers.all("Supported") == ["replaces", "timer", "100rel"])
        #expect(invite.headers.filter { $0.name == "Supported" }.count == 1, "merged into one field")
        #expect(invite.headers["Session-Expires"] == "1800", "no refresher: the UAS chooses")
        #expect(invite.headers.minSE == 90)

        _ = placeCall(h, sessionTimer: .on(SessionTimerPolicy(interval: 600, minSE: 120)))
        let perTrunk = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(perTrunk.headers["Session-Expires"] == "600")
        #expect(perTrunk.headers.minSE == 120)

        _ = placeCall(h, sessionTimer: .off)
        let off = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(off.headers["Session-Expires"] == nil && off.headers["Min-SE"] == nil && !off.headers.supportsTimer)

        h.userAgent.sessionTimer = nil
        _ = placeCall(h)
        let agentOff = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(agentOff.headers["Session-Expires"] == nil)
    }

    @Test func a422IsRetriedOnceWithItsMinSE() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        _ = placeCall(h) { if case .failed(let failure) = $0 { failures.append(failure) } }
        let first = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(first, 422, ["Min-SE: 3600"]))
        let sent = h.transport.take()
        #expect(h.requests(sent, .ack).count == 1, "the 422's own ACK")
        let second = try #require(h.requests(sent, .invite).first)
        #expect(second.headers.cseq?.sequence == 2)
        #expect(second.headers.callID == first.headers.callID)
        #expect(second.headers.from?.tag == first.headers.from?.tag)
        #expect(second.headers["Session-Expires"] == "3600")
        #expect(second.headers.minSE == 3600, "§7.1: the largest Min-SE of any 422")
        #expect(failures.isEmpty)
        // Only once: a second 422 ends the attempt.
        h.deliver(reply(second, 422, ["Min-SE: 7200"]))
        #expect(h.requests(h.transport.take(), .invite).isEmpty)
        #expect(failures.map(\.statusCode) == [422])
    }

    @Test func a422WithoutAUsableMinSEFails() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        _ = placeCall(h) { if case .failed(let failure) = $0 { failures.append(failure) } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 422, ["Min-SE: 90"]))  // not more than we asked for
        #expect(h.requests(h.transport.take(), .invite).isEmpty)
        #expect(failures.map(\.statusCode) == [422])
    }

    @Test func theTwoHundredSaysWhoRefreshes() throws {
        let h1 = SIPCoreHarness(), h2 = SIPCoreHarness(), h3 = SIPCoreHarness()
        let theyRefresh = try answeredOutgoingCall(h1, ["Session-Expires: 120;refresher=uas", "Require: timer"])
        #expect(theyRefresh.sessionTimer == SessionTimer(interval: 120, isLocalRefresher: false))
        let weRefresh = try answeredOutgoingCall(h2, ["Session-Expires: 120;refresher=uac", "Require: timer"])
        #expect(weRefresh.sessionTimer == SessionTimer(interval: 120, isLocalRefresher: true))
        // No Session-Expires: the peer runs no timer, we refresh alone with what we asked for.
        let alone = try answeredOutgoingCall(h3, [])
        #expect(alone.sessionTimer == SessionTimer(interval: 1800, isLocalRefresher: true))
    }

    // MARK: UAS: our 2xx

    @Test func tooSmallAnIntervalGets422() throws {
        let h = SIPCoreHarness()
        var invites = 0
        h.userAgent.onInvite = { _ in invites += 1 }
        var script = PeerDialogScript()
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv1", body: PeerDialogScript.sdp,
                                 headers: ["Supported: timer", "Session-Expires: 60"]))
        let refused = try #require(h.responses(h.transport.take(), 422).first)
        #expect(refused.headers.minSE == 90)
        #expect(refused.headers.to?.tag != nil)
        #expect(invites == 0, "the application never saw it")
        // A caller without the extension cannot retry: raised to our Min-SE instead (§8.1).
        script.callID = "core-test-2"
        let (ok, dialog) = try answer(h, script: &script, headers: ["Session-Expires: 60"])
        #expect(ok.headers["Session-Expires"] == "90;refresher=uas")
        #expect(ok.headers["Require"] == nil)
        #expect(dialog.sessionTimer == SessionTimer(interval: 90, isLocalRefresher: true))
    }

    @Test func twoHundredToACallerWithTimers() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let (ok, dialog) = try answer(h, script: &script,
                                      headers: ["Supported: timer", "Session-Expires: 1800", "Min-SE: 90"])
        #expect(ok.headers["Session-Expires"] == "1800;refresher=uac", "it did not choose: it refreshes")
        #expect(ok.headers.all("Require") == ["timer"])
        #expect(dialog.sessionTimer == SessionTimer(interval: 1800, isLocalRefresher: false))

        var chosen = PeerDialogScript()
        chosen.callID = "core-test-2"
        let (ok2, dialog2) = try answer(h, script: &chosen,
                                        headers: ["Supported: timer", "Session-Expires: 4000;refresher=uas"])
        #expect(ok2.headers["Session-Expires"] == "1800;refresher=uas", "lowered to ours, its choice kept")
        #expect(dialog2.sessionTimer == SessionTimer(interval: 1800, isLocalRefresher: true))
    }

    @Test func twoHundredToACallerWithoutTimers() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let (ok, dialog) = try answer(h, script: &script, headers: [])
        #expect(ok.headers["Session-Expires"] == "1800;refresher=uas", "§9: we may add one, and refresh it")
        #expect(ok.headers["Require"] == nil)
        #expect(dialog.sessionTimer == SessionTimer(interval: 1800, isLocalRefresher: true))
        // With the agent's timer off, a caller that asks none gets none.
        h.userAgent.sessionTimer = nil
        var other = PeerDialogScript()
        other.callID = "core-test-2"
        let (plain, plainDialog) = try answer(h, script: &other, headers: [])
        #expect(plain.headers["Session-Expires"] == nil)
        #expect(plainDialog.sessionTimer == nil)
    }

    @Test func requireTimerIsNoLongerABadExtension() throws {
        let h = SIPCoreHarness()
        var invites = 0
        h.userAgent.onInvite = { _ in invites += 1 }
        var script = PeerDialogScript()
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv1", body: PeerDialogScript.sdp,
                                 headers: ["Require: timer", "Session-Expires: 90"]))
        #expect(invites == 1)
        #expect(h.responses(h.transport.take(), 420).isEmpty)
        script.callID = "core-test-2"
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv2", body: PeerDialogScript.sdp,
                                 headers: ["Require: timer, precondition"]))
        let refused = try #require(h.responses(h.transport.take(), 420).first)
        #expect(refused.headers["Unsupported"] == "precondition")
        #expect(invites == 1)
    }

    // MARK: we refresh

    @Test func weRefreshWithUpdateAtHalfTheInterval() throws {
        let h = SIPCoreHarness()
        let dialog = try answeredOutgoingCall(h, ["Session-Expires: 90;refresher=uac", "Require: timer",
                                                  "Allow: INVITE, ACK, BYE, CANCEL, UPDATE"])
        h.advance(.milliseconds(44_900))
        #expect(h.transport.take().isEmpty)
        h.advance(.milliseconds(100))
        let update = try #require(h.requests(h.transport.take(), .update).first)
        #expect(update.body.isEmpty && update.headers["Content-Type"] == nil, "a refresh, not an offer")
        #expect(update.headers["Session-Expires"] == "90;refresher=uac")
        #expect(update.headers.minSE == 90)
        #expect(update.headers.supportsTimer)
        #expect(update.headers.cseq?.sequence == 2)
        // Its 2xx re-arms the timer: the next one half an interval later.
        h.deliver(reply(update, 200, ["Session-Expires: 90;refresher=uac", "Require: timer"]))
        h.advance(.milliseconds(44_900))
        #expect(h.requests(h.transport.take(), .update).isEmpty)
        h.advance(.milliseconds(100))
        let next = try #require(h.requests(h.transport.take(), .update).first)
        #expect(next.headers.cseq?.sequence == 3)
        #expect(!dialog.isTerminated)
    }

    @Test func withoutUpdateWeRefreshWithAReInviteOfOurLastSDP() throws {
        let h = SIPCoreHarness()
        let dialog = try answeredOutgoingCall(h, ["Session-Expires: 90;refresher=uac", "Require: timer",
                                                  "Allow: INVITE, ACK, BYE, CANCEL"])
        h.advance(.seconds(45))
        let reinvite = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(String(decoding: reinvite.body, as: UTF8.self) == Self.ourSDP)
        #expect(reinvite.headers["Content-Type"] == "application/sdp")
        #expect(reinvite.headers["Session-Expires"] == "90;refresher=uac")
        // A 2xx without Session-Expires: the peer dropped the timer; we go on alone.
        h.deliver(reply(reinvite, 200, [], body: PeerDialogScript.sdp))
        let ack = try #require(h.requests(h.transport.take(), .ack).first)
        #expect(ack.headers.cseq?.sequence == reinvite.headers.cseq?.sequence)
        #expect(dialog.sessionTimer == SessionTimer(interval: 90, isLocalRefresher: true))
        h.advance(.seconds(45))
        let next = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(next.body == reinvite.body)
    }

    @Test func aRefreshThatMeetsGlareIsRetried() throws {
        let h = SIPCoreHarness()
        _ = try answeredOutgoingCall(h, ["Session-Expires: 90;refresher=uac", "Allow: INVITE, ACK, BYE"])
        h.advance(.seconds(45))
        let reinvite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(reinvite, 491))
        #expect(h.requests(h.transport.take(), .invite).isEmpty)
        // We own the Call-ID: 2.1 to 4 s (RFC 3261 §14.1).
        h.advance(.milliseconds(2000))
        #expect(h.requests(h.transport.take(), .invite).isEmpty)
        h.advance(.milliseconds(2000))
        let again = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(again.body == reinvite.body)
    }

    @Test func a422ToARefreshRaisesTheInterval() throws {
        let h = SIPCoreHarness()
        _ = try answeredOutgoingCall(h, ["Session-Expires: 90;refresher=uac", "Allow: INVITE, ACK, BYE, UPDATE"])
        h.advance(.seconds(45))
        let update = try #require(h.requests(h.transport.take(), .update).first)
        h.deliver(reply(update, 422, ["Min-SE: 120"]))
        let raised = try #require(h.requests(h.transport.take(), .update).first)
        #expect(raised.headers["Session-Expires"] == "120;refresher=uac")
        #expect(raised.headers.minSE == 120)
        h.deliver(reply(raised, 200, ["Session-Expires: 120;refresher=uac"]))
        h.advance(.milliseconds(59_900))
        #expect(h.requests(h.transport.take(), .update).isEmpty)
        h.advance(.milliseconds(100))
        #expect(h.requests(h.transport.take(), .update).count == 1)
    }

    @Test func aRefreshWithoutAnswerEndsTheDialog() throws {
        let h = SIPCoreHarness()
        let dialog = try answeredOutgoingCall(h, ["Session-Expires: 90;refresher=uac", "Allow: INVITE, ACK, BYE, UPDATE"])
        var ended: DialogEnd?
        dialog.onTerminated = { ended = $0 }
        h.advance(.seconds(45))
        #expect(h.requests(h.transport.take(), .update).count == 1)
        h.advance(h.timers.transactionTimeout)  // Timer F
        #expect(h.requests(h.transport.take(), .bye).count == 1)
        #expect(dialog.isTerminated)
        #expect(ended == .localBye)
    }

    // MARK: the peer refreshes

    @Test func withoutARefreshTheNonRefresherHangsUp() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script, headers: ["Supported: timer", "Session-Expires: 90"])
        var ended: DialogEnd?
        dialog.onTerminated = { ended = $0 }
        #expect(dialog.sessionTimer == SessionTimer(interval: 90, isLocalRefresher: false))
        // §10: min(32 s, 90 s / 3) = 30 s before the expiry.
        h.advance(.milliseconds(59_900))
        #expect(h.requests(h.transport.take(), .bye).isEmpty)
        #expect(ended == nil)
        h.advance(.milliseconds(100))
        #expect(h.requests(h.transport.take(), .bye).count == 1)
        #expect(ended == .sessionExpired)
        #expect(dialog.isTerminated)
        #expect(DialogEnd.sessionExpired.description == "session timer expired")
    }

    @Test func aLongIntervalEnds32SecondsEarly() throws {
        let h = SIPCoreHarness()
        let dialog = try answeredOutgoingCall(h, ["Session-Expires: 1800;refresher=uas", "Require: timer"])
        h.advance(.milliseconds(1_767_900))
        #expect(h.requests(h.transport.take(), .bye).isEmpty)
        h.advance(.milliseconds(100))
        #expect(h.requests(h.transport.take(), .bye).count == 1)
        #expect(dialog.isTerminated)
    }

    @Test func anUpdateFromThePeerRearmsTheTimer() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script, headers: ["Supported: timer", "Session-Expires: 90"])
        var asked = 0
        dialog.onOffer = { _ in asked += 1 }
        h.advance(.seconds(50))
        h.deliver(script.request("UPDATE", cseq: 2, branch: "upd", headers: [
            "Supported: timer", "Session-Expires: 90;refresher=uac", "Min-SE: 90",
        ]))
        let ok = try #require(h.responses(h.transport.take(), 200).first)
        #expect(ok.headers["Session-Expires"] == "90;refresher=uac")
        #expect(ok.headers.all("Require") == ["timer"])
        #expect(ok.body.isEmpty)
        #expect(asked == 0, "a bodyless UPDATE is no offer: the dialog answers it")
        // 60 s from the refresh, not from the INVITE.
        h.advance(.milliseconds(59_900))
        #expect(h.requests(h.transport.take(), .bye).isEmpty)
        #expect(!dialog.isTerminated)
        h.advance(.milliseconds(100))
        #expect(h.requests(h.transport.take(), .bye).count == 1)
        #expect(dialog.isTerminated)
    }

    @Test func anAcceptedReInviteFromThePeerRearmsTheTimer() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script, headers: ["Supported: timer", "Session-Expires: 90"])
        dialog.onOffer = { $0.accept(body: Array(Self.ourSDP.utf8)) }
        h.advance(.seconds(40))
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp,
                                 headers: ["Supported: timer", "Session-Expires: 90;refresher=uac"]))
        let ok = try #require(h.responses(h.transport.take(), 200).first)
        #expect(ok.headers["Session-Expires"] == "90;refresher=uac")
        #expect(ok.headers.all("Require") == ["timer"])
        h.deliver(script.request("ACK", cseq: 2, branch: "ack2"))
        h.advance(.seconds(59))
        #expect(h.requests(h.transport.take(), .bye).isEmpty)
        #expect(!dialog.isTerminated)
        h.advance(.seconds(1))
        #expect(h.requests(h.transport.take(), .bye).count == 1)
    }

    @Test func aRefusedReInviteIsNoRefresh() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script, headers: ["Supported: timer", "Session-Expires: 90"])
        dialog.onOffer = { $0.reject(488) }
        h.advance(.seconds(40))
        h.deliver(script.request("INVITE", cseq: 2, branch: "reinv", body: PeerDialogScript.sdp,
                                 headers: ["Supported: timer", "Session-Expires: 90;refresher=uac"]))
        #expect(h.responses(h.transport.take(), 488).count == 1)
        h.deliver(script.request("ACK", cseq: 2, branch: "reinv"))
        h.advance(.seconds(20))
        #expect(h.requests(h.transport.take(), .bye).count == 1)
        #expect(dialog.isTerminated)
    }

    @Test func anInDialogIntervalBelowOurMinSEGets422() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script, headers: ["Supported: timer", "Session-Expires: 90"])
        h.deliver(script.request("UPDATE", cseq: 2, branch: "upd", headers: ["Supported: timer", "Session-Expires: 30"]))
        let refused = try #require(h.responses(h.transport.take(), 422).first)
        #expect(refused.headers.minSE == 90)
        #expect(dialog.sessionTimer == SessionTimer(interval: 90, isLocalRefresher: false))
    }

    // MARK: helpers

    func parsedHeaders(_ lines: [String]) throws -> SIPHeaders {
        let head = [
            "OPTIONS sip:tieline@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKst1",
            "Max-Forwards: 70", "From: <sip:phone@127.0.0.1>;tag=a", "To: <sip:tieline@127.0.0.1>",
            "Call-ID: st-1", "CSeq: 1 OPTIONS",
        ]
        let text = (head + lines + ["Content-Length: 0", "", ""]).joined(separator: "\r\n")
        return try SIPParser.parse(Array(text.utf8)).headers
    }

    func placeCall(_ h: SIPCoreHarness, headers: [(String, String)] = [],
                   sessionTimer: SessionTimerSetting = .userAgentDefault,
                   events: @escaping (OutgoingInvite.Event) -> Void = { _ in }) -> OutgoingInvite {
        let parameters = OutgoingInvite.Parameters(
            requestURI: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1", port: 5070),
            from: NameAddress(uri: SIPURI(scheme: "sip", user: "alice", host: "127.0.0.1")),
            to: NameAddress(uri: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1")),
            destination: h.peer, body: Array(Self.ourSDP.utf8), headers: headers, sessionTimer: sessionTimer)
        return h.userAgent.invite(parameters, onEvent: events)
    }

    /// Our INVITE answered by a 200 with these extra lines, and ACKed.
    func answeredOutgoingCall(_ h: SIPCoreHarness, _ extra: [String]) throws -> Dialog {
        var dialog: Dialog?
        _ = placeCall(h) { if case .answered(_, let answered) = $0 { dialog = answered } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 200, extra, body: PeerDialogScript.sdp))
        #expect(h.requests(h.transport.take(), .ack).count == 1)
        return try #require(dialog)
    }

    /// The peer's INVITE with these extra lines, answered by us; the 200 and the dialog (ACK delivered).
    func answer(_ h: SIPCoreHarness, script: inout PeerDialogScript,
                headers: [String]) throws -> (SIPResponse, Dialog) {
        var invite: IncomingInvite?
        h.userAgent.onInvite = { invite = $0 }
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv-\(script.callID)", body: PeerDialogScript.sdp,
                                 headers: headers))
        let incoming = try #require(invite)
        let dialog = try #require(incoming.answer(body: Array(Self.ourSDP.utf8)))
        script.ourTag = dialog.id.localTag
        let ok = try #require(h.responses(h.transport.take(), 200).first)
        h.deliver(script.request("ACK", cseq: 1, branch: "ack-\(script.callID)"))
        return (ok, dialog)
    }

    /// The peer's response to one of our requests, with extra header lines.
    func reply(_ request: SIPRequest, _ code: Int, _ extra: [String] = [], body: String = "") -> String {
        var text = "SIP/2.0 \(code) \(SIPResponse.defaultReasonPhrase(code))\n"
        text += "Via: \(request.headers.all("Via").first ?? "")\n"
        text += "From: \(request.headers["From"] ?? "")\n"
        let to = request.headers["To"] ?? ""
        text += "To: \(to)\(to.contains("tag=") ? "" : ";tag=callee")\n"
        text += "Call-ID: \(request.headers.callID ?? "")\n"
        text += "CSeq: \(request.headers["CSeq"] ?? "")\n"
        text += "Contact: <sip:callee@127.0.0.1:5070>\n"
        for line in extra { text += line + "\n" }
        if !body.isEmpty { text += "Content-Type: application/sdp\n" }
        text += "Content-Length: \(body.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)\n\n" + body
        return text
    }
}
