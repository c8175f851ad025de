// Our REFER (RFC 3515) in a dialog: the request, the 202, the sipfrag
// NOTIFYs of the implicit subscription and how each ends.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct OutgoingReferTests {
    let target = SIPURI(scheme: "sip", user: "2002", host: "pbx.example.com")

    func notify(_ script: PeerDialogScript, cseq: Int, status: String?, state: String, event: String = "refer;id=1") -> String {
        var text = script.request("NOTIFY", cseq: cseq, branch: "n\(cseq)",
                                  headers: ["Event: \(event)", "Subscription-State: \(state)"])
        guard let status else { return text }
        // Put a sipfrag body in place of the empty one.
        let body = "\(status)\r\n"
        text = text.replacingOccurrences(of: "Content-Length: 0\n\n",
                                         with: "Content-Type: message/sipfrag;version=2.0\nContent-Length: \(body.utf8.count)\n\n")
        return text + body
    }

    @Test func aReferIsAcceptedAndItsNotifiesReportTheNewCall() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var progress: [ReferProgress] = []
        let refer = try #require(dialog.refer(to: target) { progress.append($0) })
        let request = try #require(h.requests(h.transport.take(), .refer).first)
        #expect(request.headers["Refer-To"] == "<sip:2002@pbx.example.com>")
        #expect(request.headers["Referred-By"] != nil)
        #expect(request.headers.contacts.count == 1)
        #expect(request.headers.cseq?.sequence == refer.cseq)
        h.deliver(sipResponse(to: request, 202, tag: nil))
        #expect(progress == [.accepted])
        h.deliver(notify(script, cseq: 2, status: "SIP/2.0 100 Trying", state: "active;expires=60"))
        h.deliver(notify(script, cseq: 3, status: "SIP/2.0 180 Ringing", state: "active;expires=60"))
        h.deliver(notify(script, cseq: 4, status: "SIP/2.0 200 OK", state: "terminated;reason=noresource"))
        #expect(h.responses(h.transport.take(), 200).filter { $0.headers.cseq?.method == .notify }.count == 3)
        #expect(progress == [.accepted, .trying(100), .trying(180), .succeeded(200)])
        #expect(refer.isFinished)
        // A NOTIFY after the end has no subscription to go to.
        h.deliver(notify(script, cseq: 5, status: "SIP/2.0 200 OK", state: "terminated"))
        #expect(h.responses(h.transport.take(), 481).count == 1)
        dialog.bye()
    }

    @Test func aRefusedReferAndAFailedNewCallAreFailures() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var progress: [ReferProgress] = []
        dialog.refer(to: target) { progress.append($0) }
        let first = try #require(h.requests(h.transport.take(), .refer).first)
        h.deliver(sipResponse(to: first, 603, tag: nil))
        #expect(progress == [.failed(603, "Decline")])
        dialog.refer(to: target) { progress.append($0) }
        let second = try #require(h.requests(h.transport.take(), .refer).first)
        h.deliver(sipResponse(to: second, 202, tag: nil))
        h.deliver(notify(script, cseq: 2, status: "SIP/2.0 486 Busy Here", state: "terminated"))
        #expect(progress.last == .failed(486, "Busy Here"))
        #expect(!dialog.isTerminated, "a failed transfer leaves the call as it was")
        dialog.bye()
    }

    @Test func silenceAfterTheAcceptTimesOutAndOneAtATime() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var progress: [ReferProgress] = []
        dialog.refer(to: target, timeout: .seconds(30)) { progress.append($0) }
        var second: [ReferProgress] = []
        #expect(dialog.refer(to: target) { second.append($0) } == nil)
        #expect(second == [.failed(491, "a transfer is already under way")])
        let request = try #require(h.requests(h.transport.take(), .refer).first)
        h.deliver(sipResponse(to: request, 202, tag: nil))
        h.deliver(notify(script, cseq: 2, status: "junk", state: "active"))
        #expect(progress == [.accepted], "a NOTIFY without a status line is no news")
        h.advance(.seconds(30))
        #expect(progress.last == .failed(408, "no final NOTIFY for the REFER"))
        dialog.bye()
    }

    @Test func aNotifyWithoutOurSubscriptionGets481() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        h.deliver(notify(script, cseq: 2, status: "SIP/2.0 200 OK", state: "terminated"))
        #expect(h.responses(h.transport.take(), 481).count == 1)
        dialog.bye()
    }

    @Test func sipfragStatusLines() {
        #expect(OutgoingRefer.sipfragStatus(Array("SIP/2.0 180 Ringing\r\n".utf8))! == (180, "Ringing"))
        #expect(OutgoingRefer.sipfragStatus(Array("SIP/2.0 200 OK".utf8))?.code == 200)
        for junk in ["", "SIP/2.0", "SIP/2.0 20 OK", "HTTP/1.1 200 OK", "SIP/2.0 900 What", "SIP/2.0 abc x"] {
            #expect(OutgoingRefer.sipfragStatus(Array(junk.utf8)) == nil, "\(junk)")
        }
    }
}
