// Reliable provisional responses (RFC 3262, PRACK and 100rel) in the SIP
// core, both ways, through the recording transport and a hand-moved clock.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct ReliableProvisionalTests {
    static let ourSDP = "v=0\r\no=tieline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"

    @Test func rseqAndRAckValues() throws {
        let good = try parsedHeaders(["RSeq: 988789", "RAck: 776656 1 INVITE"])
        #expect(good.rseq == 988_789)
        #expect(good.rack?.rseq == 776_656 && good.rack?.cseq == 1 && good.rack?.method == "INVITE")
        for junk in ["RSeq: 0", "RSeq: -1", "RSeq: 4294967296", "RSeq: one", "RAck: 1 INVITE", "RAck: x 1 INVITE"] {
            let headers = try parsedHeaders([junk])
            #expect(headers.rseq == nil && headers.rack == nil, "\(junk)")
        }
        #expect(try parsedHeaders(["Require: timer, 100REL"]).names("100rel"))
        #expect(try !parsedHeaders(["Supported: 100rel"]).names("100rel"))
    }

    // MARK: UAC: we PRACK the trunk's reliable 1xx

    @Test func ourInviteSupports100relOrRequiresIt() throws {
        let h = SIPCoreHarness()
        _ = placeCall(h)
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(invite.headers.names("100rel", in: "Supported"))
        #expect(invite.headers.names("timer", in: "Supported"))
        #expect(!invite.headers.names("100rel"))
        _ = placeCall(h, reliable: .required)
        let strict = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(strict.headers.names("100rel"))
        _ = placeCall(h, reliable: .off)
        let plain = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(!plain.headers.names("100rel", in: "Supported") && !plain.headers.names("100rel"))
    }

    @Test func aReliable183IsPrackedOnceAndPassedOnOnce() throws {
        let h = SIPCoreHarness()
        var provisionals: [SIPResponse] = []
        var dialog: Dialog?
        _ = placeCall(h) { event in
            switch event {
            case .provisional(let response): provisionals.append(response)
            case .answered(_, let answered): dialog = answered
            case .failed: break
            }
        }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        let reliable183 = reply(invite, 183, ["Require: 100rel", "RSeq: 4711", "Record-Route: <sip:127.0.0.2:5060;lr>"],
                                body: PeerDialogScript.sdp)
        h.deliver(reliable183)
        let sent = h.transport.take()
        let prack = try #require(h.requests(sent, .prack).first)
        #expect(prack.headers["RAck"] == "4711 1 INVITE")
        #expect(prack.headers.cseq?.sequence == 2 && prack.headers.cseq?.method == .prack)
        #expect(prack.headers.to?.tag == "callee")
        #expect(prack.headers.callID == invite.headers.callID)
        #expect(prack.uri.description == "sip:callee@127.0.0.1:5070", "sent to the 183's Contact")
        #expect(prack.headers["Route"] == "<sip:127.0.0.2:5060;lr>", "through the early dialog's route set")
        #expect(provisionals.count == 1 && provisionals.first?.body.isEmpty == false)
        // The 183 again (our PRACK was slow): neither a new PRACK nor a second event.
        h.deliver(reliable183)
        #expect(h.requests(h.transport.take(), .prack).isEmpty)
        #expect(provisionals.count == 1)
        // One out of order (RSeq jumps) is dropped; the next in order is PRACKed.
        h.deliver(reply(invite, 180, ["Require: 100rel", "RSeq: 4713"]))
        #expect(h.requests(h.transport.take(), .prack).isEmpty)
        h.deliver(reply(invite, 180, ["Require: 100rel", "RSeq: 4712"]))
        let second = try #require(h.requests(h.transport.take(), .prack).first)
        #expect(second.headers["RAck"] == "4712 1 INVITE" && second.headers.cseq?.sequence == 3)
        #expect(provisionals.map(\.statusCode) == [183, 180])
        // The 200 makes the dialog; its next request counts on from the PRACKs.
        h.deliver(reply(invite, 200, [], body: PeerDialogScript.sdp))
        let ack = try #require(h.requests(h.transport.take(), .ack).first)
        #expect(ack.headers.cseq?.sequence == 1, "the ACK carries the INVITE's CSeq number")
        let answered = try #require(dialog)
        answered.bye()
        let bye = try #require(h.requests(h.transport.take(), .bye).first)
        #expect(bye.headers.cseq?.sequence == 4)
    }

    @Test func anUnreliable180AndOneWithoutRSeqAreNotPracked() throws {
        let h = SIPCoreHarness()
        var provisionals = 0
        _ = placeCall(h) { if case .provisional = $0 { provisionals += 1 } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 180))
        h.deliver(reply(invite, 180, ["Require: 100rel"]))
        #expect(h.requests(h.transport.take(), .prack).isEmpty)
        #expect(provisionals == 2)
    }

    @Test func aChallengeAfterAPrackGetsAHigherCSeq() throws {
        let h = SIPCoreHarness()
        let parameters = OutgoingInvite.Parameters(
            requestURI: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1", port: 5070),
            from: NameAddress(uri: SIPURI(scheme: "sip", user: "alice", host: "127.0.0.1")),
            to: NameAddress(uri: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1")),
            destination: h.peer, body: Array(Self.ourSDP.utf8),
            credentials: SIPCredentials(username: "alice", password: "secret"))
        _ = h.userAgent.invite(parameters) { _ in }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 183, ["Require: 100rel", "RSeq: 1"]))
        #expect(h.requests(h.transport.take(), .prack).first?.headers.cseq?.sequence == 2)
        h.deliver(reply(invite, 407, ["Proxy-Authenticate: Digest realm=\"trunk\", nonce=\"abc\", algorithm=MD5"]))
        let retry = try #require(h.requests(h.transport.take(), .invite).first)
        #expect(retry.headers.cseq?.sequence == 3)
        // The new INVITE's reliable 1xx count afresh.
        h.deliver(reply(retry, 183, ["Require: 100rel", "RSeq: 1"]))
        let prack = try #require(h.requests(h.transport.take(), .prack).first)
        #expect(prack.headers["RAck"] == "1 3 INVITE" && prack.headers.cseq?.sequence == 4)
    }

    // MARK: UAS: our 1xx to a caller that requires 100rel

    @Test func ourRingingIsReliableAndRetransmittedUntilPracked() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let incoming = try receiveInvite(h, &script, headers: ["Require: 100rel"])
        #expect(incoming.sendsReliableProvisionals)
        incoming.provisional(180)
        let ringing = try #require(h.responses(h.transport.take(), 180).first)
        #expect(ringing.headers.names("100rel"))
        let rseq = try #require(ringing.headers.rseq)
        h.advance(h.timers.t1)
        #expect(h.responses(h.transport.take(), 180).count == 1, "retransmitted after T1")
        h.advance(h.timers.t1 * 2)
        #expect(h.responses(h.transport.take(), 180).count == 1, "and after 2·T1")
        // A second 1xx waits for the first one's PRACK (§3).
        incoming.provisional(183, body: Array(Self.ourSDP.utf8))
        #expect(h.responses(h.transport.take(), 183).isEmpty)
        // A PRACK naming another RSeq: 481, still retransmitting.
        script.ourTag = incoming.localTag
        h.deliver(script.request("PRACK", cseq: 2, branch: "pr0", headers: ["RAck: \(rseq &+ 5) 1 INVITE"]))
        #expect(h.responses(h.transport.take(), 481).count == 1)
        h.deliver(script.request("PRACK", cseq: 3, branch: "pr1", headers: ["RAck: \(rseq) 1 INVITE"]))
        let sent = h.transport.take()
        #expect(h.responses(sent, 200).first?.headers.cseq?.method == .prack)
        let progress = try #require(h.responses(sent, 183).first)
        #expect(progress.headers.rseq == rseq &+ 1)
        h.advance(h.timers.t1 * 4)
        #expect(h.responses(h.transport.take(), 180).isEmpty, "the acknowledged 180 is not sent again")
        // The 183 carried an answer: the 200 waits for its PRACK (§3).
        let dialog = try #require(incoming.answer(body: Array(Self.ourSDP.utf8)))
        #expect(h.responses(h.transport.take(), 200).isEmpty)
        h.deliver(script.request("PRACK", cseq: 4, branch: "pr2", headers: ["RAck: \(rseq &+ 1) 1 INVITE"]))
        let answered = h.transport.take()
        #expect(h.responses(answered, 200).map { $0.headers.cseq?.method } == [.prack, .invite])
        h.deliver(script.request("ACK", cseq: 1, branch: "ack1"))
        #expect(!dialog.isAwaitingAck && !dialog.isTerminated)
        // The caller's BYE counts on from its PRACKs.
        h.deliver(script.request("BYE", cseq: 5, branch: "bye1"))
        #expect(h.responses(h.transport.take(), 200).count == 1)
        #expect(dialog.isTerminated)
        #expect(h.userAgent.counts.incomingInvites == 0 && h.userAgent.counts.dialogs == 0)
    }

    @Test func withoutABodyThe200GoesAtOnceAndALatePrackIsAnswered() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let incoming = try receiveInvite(h, &script, headers: ["Require: 100rel"])
        incoming.provisional(180)
        let rseq = try #require(h.responses(h.transport.take(), 180).first?.headers.rseq)
        let dialog = try #require(incoming.answer(body: Array(Self.ourSDP.utf8)))
        #expect(h.responses(h.transport.take(), 200).count == 1)
        h.advance(h.timers.t1 * 2)
        #expect(h.responses(h.transport.take(), 180).isEmpty, "no 1xx after the final response")
        script.ourTag = incoming.localTag
        h.deliver(script.request("PRACK", cseq: 2, branch: "late", headers: ["RAck: \(rseq) 1 INVITE"]))
        #expect(h.responses(h.transport.take(), 200).first?.headers.cseq?.method == .prack)
        h.deliver(script.request("ACK", cseq: 1, branch: "ack1"))
        #expect(!dialog.isAwaitingAck)
        dialog.bye()
    }

    @Test func noPrackAt64T1Rejects504() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let incoming = try receiveInvite(h, &script, headers: ["Require: 100rel"])
        incoming.provisional(180)
        _ = h.transport.take()
        h.advance(h.timers.transactionTimeout)
        let sent = h.transport.take()
        #expect(h.responses(sent, 504).count == 1)
        #expect(incoming.state == .rejected)
        #expect(h.userAgent.counts.incomingInvites == 0)
    }

    @Test func aHeldAnswerWhosePrackNeverComesEndsTheDialog() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let incoming = try receiveInvite(h, &script, headers: ["Require: 100rel"])
        incoming.provisional(183, body: Array(Self.ourSDP.utf8))
        _ = h.transport.take()
        var ended: DialogEnd?
        let dialog = try #require(incoming.answer(body: Array(Self.ourSDP.utf8)))
        dialog.onTerminated = { ended = $0 }
        h.advance(h.timers.transactionTimeout)
        let sent = h.transport.take()
        #expect(h.responses(sent, 504).count == 1 && h.responses(sent, 200).isEmpty)
        #expect(ended == .noPrack)
        #expect(h.userAgent.counts.incomingInvites == 0 && h.userAgent.counts.dialogs == 0)
    }

    @Test func aCallerWithoutRequireGetsPlainProvisionals() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let incoming = try receiveInvite(h, &script, headers: ["Supported: 100rel"])
        #expect(!incoming.sendsReliableProvisionals)
        incoming.provisional(180)
        let ringing = try #require(h.responses(h.transport.take(), 180).first)
        #expect(ringing.headers.rseq == nil && !ringing.headers.names("100rel"))
        // A stray PRACK for an INVITE with no reliable 1xx: 481.
        script.ourTag = incoming.localTag
        h.deliver(script.request("PRACK", cseq: 2, branch: "stray", headers: ["RAck: 1 1 INVITE"]))
        #expect(h.responses(h.transport.take(), 481).count == 1)
        incoming.reject(486)
    }

    @Test func optionsAndAllowName100relAndPrack() throws {
        #expect(SIPUserAgent.allowedMethods.contains("PRACK"))
        #expect(SIPUserAgent.supportedExtensions.contains("100rel"))
    }

    // MARK: helpers

    func parsedHeaders(_ lines: [String]) throws -> SIPHeaders { try SessionTimerTests().parsedHeaders(lines) }

    func placeCall(_ h: SIPCoreHarness, reliable: OutgoingInvite.ReliableProvisionals = .supported,
                   events: @escaping (OutgoingInvite.Event) -> Void = { _ in }) -> OutgoingInvite {
        var parameters = OutgoingInvite.Parameters(
            requestURI: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1", port: 5070),
            from: NameAddress(uri: SIPURI(scheme: "sip", user: "alice", host: "127.0.0.1")),
            to: NameAddress(uri: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1")),
            destination: h.peer, body: Array(Self.ourSDP.utf8))
        parameters.reliableProvisionals = reliable
        return h.userAgent.invite(parameters, onEvent: events)
    }

    func receiveInvite(_ h: SIPCoreHarness, _ script: inout PeerDialogScript, headers: [String]) throws -> IncomingInvite {
        var invite: IncomingInvite?
        h.userAgent.onInvite = { invite = $0 }
        h.deliver(script.request("INVITE", cseq: 1, branch: "inv1", body: PeerDialogScript.sdp, headers: headers))
        let incoming = try #require(invite)
        #expect(h.responses(h.transport.take(), 100).count == 1)
        return incoming
    }

    /// The peer's response with its To tag "callee" (SessionTimerTests builds it).
    func reply(_ request: SIPRequest, _ code: Int, _ extra: [String] = [], body: String = "") -> String {
        SessionTimerTests().reply(request, code, extra, body: body)
    }
}
