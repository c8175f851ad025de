// Transactions and INVITE sessions against the clock (RFC 3261 §17 with RFC 6026, §9.1
// CANCEL rules, §13.2.2.4 ACK of 2xx), through the recording transport: no sockets.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct TransactionTimerTests {
    func placeCall(_ h: SIPCoreHarness, ringTimeout: TimeAmount? = nil, responseTimeout: TimeAmount? = nil,
                   events: @escaping (OutgoingInvite.Event) -> Void) -> OutgoingInvite {
        let parameters = OutgoingInvite.Parameters(
            requestURI: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1", port: 5070),
            from: NameAddress(uri: SIPURI(scheme: "sip", user: "alice", host: "127.0.0.1")),
            to: NameAddress(uri: SIPURI(scheme: "sip", user: "15550100", host: "127.0.0.1")),
            destination: h.peer, body: Array("v=0\r\n".utf8), ringTimeout: ringTimeout,
            responseTimeout: responseTimeout)
        return h.userAgent.invite(parameters, onEvent: events)
    }

    /// The callee's response to our INVITE, with its To tag.
    func reply(_ request: SIPRequest, _ code: Int, tag: String? = "callee", contact: Bool = true,
               cseqMethod: String? = nil) -> String {
        var text = "SIP/2.0 \(code) \(SIPResponse.defaultReasonPhrase(code))\n"
        text += "Via: \(request.headers.all("Via").first ?? "")\n"
        text += "From: \(request.headers["From"] ?? "")\n"
        text += "To: \(request.headers["To"] ?? "")\(tag.map { ";tag=\($0)" } ?? "")\n"
        text += "Call-ID: \(request.headers.callID ?? "")\n"
        let cseq = request.headers.cseq?.sequence ?? 1
        text += "CSeq: \(cseq) \(cseqMethod ?? request.method.rawValue)\n"
        if contact { text += "Contact: <sip:callee@127.0.0.1:5070>\n" }
        return text + "Content-Length: 0\n\n"
    }

    @Test func timerADoublesAndTimerBGivesUpWith408() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        _ = placeCall(h) { if case .failed(let failure) = $0 { failures.append(failure) } }
        #expect(h.requests(h.transport.take(), .invite).count == 1)
        // Timer A: T1, 2·T1, 4·T1 ... between retransmissions (§17.1.1.2).
        var gaps: [Int64] = []
        var elapsed: Int64 = 0
        var last: Int64 = 0
        while elapsed < h.timers.transactionTimeout.nanoseconds {
            h.advance(.milliseconds(100))
            elapsed += 100_000_000
            if !h.requests(h.transport.take(), .invite).isEmpty {
                gaps.append((elapsed - last) / 1_000_000)
                last = elapsed
            }
        }
        #expect(Array(gaps.prefix(4)) == [500, 1000, 2000, 4000])
        #expect(failures == [CallFailure(statusCode: 408, reason: "Request Timeout")])
        #expect(h.userAgent.counts.clientTransactions == 0)
        #expect(h.userAgent.counts.outgoingInvites == 0)
    }

    /// A silent peer: no response at all within `responseTimeout` is a 408
    /// now, not at Timer B; a 2xx that still comes is acknowledged and hung up.
    @Test func noResponseWithinTheResponseTimeoutFailsEarly() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        _ = placeCall(h, responseTimeout: .seconds(3)) { if case .failed(let failure) = $0 { failures.append(failure) } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.advance(.milliseconds(2900))
        #expect(failures.isEmpty)
        h.advance(.milliseconds(100))
        #expect(failures == [CallFailure(statusCode: 408, reason: "No response in 3000 ms", noResponse: true)])
        h.deliver(reply(invite, 200))
        let sent = h.transport.take()
        #expect(h.requests(sent, .ack).count == 1)
        #expect(h.requests(sent, .bye).count == 1)
        #expect(failures.count == 1)
    }

    @Test func anyProvisionalResponseStopsTheResponseTimeout() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        _ = placeCall(h, responseTimeout: .seconds(3)) { if case .failed(let failure) = $0 { failures.append(failure) } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 100, tag: nil, contact: false))
        h.advance(.seconds(10))
        #expect(failures.isEmpty, "a trunk that said 100 Trying is there; its answer may take long")
    }

    @Test func cancelWaitsForAProvisionalResponse() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        let call = placeCall(h) { if case .failed(let failure) = $0 { failures.append(failure) } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        call.cancel()
        // §9.1: no CANCEL before a provisional; the caller hears 487 at once.
        #expect(h.requests(h.transport.take(), .cancel).isEmpty)
        #expect(failures.map(\.statusCode) == [487])
        // The 180 that comes later gets its CANCEL; the 487 to the INVITE its ACK.
        h.deliver(reply(invite, 180))
        let cancel = try #require(h.requests(h.transport.take(), .cancel).first)
        #expect(cancel.headers.topVia?.branch == invite.headers.topVia?.branch)
        h.deliver(reply(cancel, 200, cseqMethod: "CANCEL"))
        h.deliver(reply(invite, 487, contact: false))
        let ack = try #require(h.requests(h.transport.take(), .ack).first)
        #expect(ack.headers.topVia?.branch == invite.headers.topVia?.branch)  // non-2xx ACK: same transaction
        #expect(failures.count == 1)  // reported once
        h.advance(.seconds(40))
        #expect(h.userAgent.counts == SIPUserAgent.Counts())
    }

    @Test func aTwoHundredRacingTheCancelIsAckedThenHungUp() throws {
        let h = SIPCoreHarness()
        var events: [String] = []
        let call = placeCall(h) { event in
            switch event {
            case .provisional: events.append("provisional")
            case .answered: events.append("answered")
            case .failed(let failure): events.append("failed \(failure.statusCode)")
            }
        }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 180))
        call.cancel()
        #expect(h.requests(h.transport.take(), .cancel).count == 1)
        // The callee answered before it saw the CANCEL (§9.1): ACK, then BYE.
        h.deliver(reply(invite, 200))
        let sent = h.transport.take()
        #expect(h.requests(sent, .ack).count == 1)
        #expect(h.requests(sent, .bye).count == 1)
        #expect(events.filter { $0 == "answered" }.isEmpty)
        #expect(events.filter { $0.hasPrefix("failed") }.count == 1)
    }

    @Test func retransmitted2xxGetsTheSameAckAndIsReportedOnce() throws {
        let h = SIPCoreHarness()
        var answered = 0
        _ = placeCall(h) { if case .answered = $0 { answered += 1 } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 200))
        h.deliver(reply(invite, 200))
        let acks = h.requests(h.transport.take(), .ack)
        #expect(acks.count == 2)
        #expect(acks[0].headers.topVia?.branch == acks[1].headers.topVia?.branch)
        #expect(acks[0].uri.user == "callee")  // §13.2.2.4: to the remote target from the Contact
        #expect(answered == 1)
        // Timer M ends the transaction; the dialog stays.
        h.advance(h.timers.transactionTimeout)
        #expect(h.userAgent.counts.clientTransactions == 0)
        #expect(h.userAgent.counts.dialogs == 1)
    }

    @Test func ringTimeoutCancelsAndReports408() throws {
        let h = SIPCoreHarness()
        var failures: [CallFailure] = []
        _ = placeCall(h, ringTimeout: .seconds(5)) { if case .failed(let failure) = $0 { failures.append(failure) } }
        let invite = try #require(h.requests(h.transport.take(), .invite).first)
        h.deliver(reply(invite, 180))
        h.advance(.seconds(5))
        #expect(h.requests(h.transport.take(), .cancel).count == 1)
        #expect(failures.map(\.statusCode) == [408])
    }

    @Test func serverInviteRetransmitsItsFailureUntilTheAckThenTimerH() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        h.userAgent.onInvite = { $0.reject(486, reason: "Busy Here") }
        h.deliver(script.request("INVITE", cseq: 1, branch: "busy", body: PeerDialogScript.sdp))
        #expect(h.responses(h.transport.take(), 486).count == 1)
        // Timer G: the 486 again after T1 and 2·T1 (§17.2.1).
        h.advance(h.timers.t1)
        #expect(h.responses(h.transport.take(), 486).count == 1)
        h.advance(h.timers.t1 * 2)
        #expect(h.responses(h.transport.take(), 486).count == 1)
        // A retransmitted INVITE gets it too, and the ACK stops it all.
        h.deliver(script.request("INVITE", cseq: 1, branch: "busy", body: PeerDialogScript.sdp))
        #expect(h.responses(h.transport.take(), 486).count == 1)
        script.ourTag = "x"
        h.deliver(script.request("ACK", cseq: 1, branch: "busy"))
        h.advance(.seconds(10))
        #expect(h.responses(h.transport.take(), 486).isEmpty)
        #expect(h.userAgent.counts.serverTransactions == 0)
    }

    @Test func cancelOfARingingInviteGives487And200() throws {
        let h = SIPCoreHarness()
        let script = PeerDialogScript()
        var cancelled = false
        h.userAgent.onInvite = { invite in
            invite.provisional(180)
            invite.onCancelled = { cancelled = true }
        }
        h.deliver(script.request("INVITE", cseq: 1, branch: "ring", body: PeerDialogScript.sdp))
        _ = h.transport.take()
        h.deliver(script.request("CANCEL", cseq: 1, branch: "ring"))
        let sent = h.transport.take()
        #expect(h.responses(sent, 200).first?.headers.cseq?.method == .cancel)
        #expect(h.responses(sent, 487).count == 1)
        #expect(cancelled)
        // A CANCEL for nothing we know: 481.
        h.deliver(script.request("CANCEL", cseq: 1, branch: "unknown"))
        #expect(h.responses(h.transport.take(), 481).count == 1)
    }

    @Test func byeEndsTheDialogAndOutOfOrderRequestsGet500() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var dialog: Dialog?
        h.userAgent.onInvite = { dialog = $0.answer(body: Array("v=0\r\n".utf8)) }
        h.deliver(script.request("INVITE", cseq: 5, branch: "i", body: PeerDialogScript.sdp))
        let answered = try #require(dialog)
        script.ourTag = answered.id.localTag
        h.deliver(script.request("ACK", cseq: 5, branch: "a"))
        var ended: DialogEnd?
        answered.onTerminated = { ended = $0 }
        _ = h.transport.take()
        h.deliver(script.request("INFO", cseq: 4, branch: "old"))
        #expect(h.responses(h.transport.take(), 500).count == 1)  // §12.2.2: CSeq went backwards
        h.deliver(script.request("BYE", cseq: 6, branch: "b"))
        #expect(h.responses(h.transport.take(), 200).count == 1)
        #expect(ended == .remoteBye)
        h.deliver(script.request("BYE", cseq: 7, branch: "b2"))
        #expect(h.responses(h.transport.take(), 481).count == 1)
    }
}
