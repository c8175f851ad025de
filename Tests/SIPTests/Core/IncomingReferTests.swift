// A REFER inside a dialog (RFC 3515) as the SIP core answers it: the
// checks made before the application sees it, the 202 and the implicit
// subscription's sipfrag NOTIFYs, RFC 4488's Refer-Sub: false.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct IncomingReferTests {
    /// An answered call whose dialog hands each REFER to `taken`.
    private func referrableCall(_ h: SIPCoreHarness, script: inout PeerDialogScript,
                                taken: @escaping (IncomingRefer) -> Void) throws -> Dialog {
        let dialog = try h.answeredCall(script: &script)
        dialog.onRefer = taken
        _ = h.transport.take()
        return dialog
    }

    @Test func aReferIsAcceptedAndItsProgressGoesInNotifies() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var refers: [IncomingRefer] = []
        _ = try referrableCall(h, script: &script) { refers.append($0) }
        h.deliver(script.request("REFER", cseq: 2, branch: "refer1", headers: [
            "Refer-To: <sip:2002@pbx.example.com;user=phone?Foo=bar>",
            "Referred-By: <sip:pbx@pbx.example.com>",
        ]))
        let refer = try #require(refers.first)
        #expect(refer.target.description == "sip:2002@pbx.example.com;user=phone", "URI headers are not part of the target")
        #expect(refer.replaces == nil)
        #expect(refer.referredBy == "<sip:pbx@pbx.example.com>")
        #expect(refer.wantsNotifications)
        #expect(h.transport.take().isEmpty, "nothing goes out until the application decides")

        refer.accept()
        let sent = h.transport.take()
        let accepted = try #require(h.responses(sent, 202).first)
        #expect(accepted.headers.cseq?.method == .refer)
        let trying = try #require(h.requests(sent, .notify).first)
        #expect(trying.headers["Event"] == "refer;id=2", "the subscription is named by the REFER's CSeq")
        #expect(trying.headers["Subscription-State"] == "active;expires=60")
        #expect(trying.headers["Content-Type"] == "message/sipfrag;version=2.0")
        #expect(String(decoding: trying.body, as: UTF8.self) == "SIP/2.0 100 Trying\r\n")
        #expect(trying.uri.description == "sip:phone@127.0.0.1:5070", "to the remote target")
        h.deliver(sipResponse(to: trying, 200, tag: nil))

        refer.notify(180, reason: "Ringing")
        let ringing = try #require(h.requests(h.transport.take(), .notify).first)
        #expect(String(decoding: ringing.body, as: UTF8.self) == "SIP/2.0 180 Ringing\r\n")
        #expect(ringing.headers.cseq!.sequence > trying.headers.cseq!.sequence)
        h.deliver(sipResponse(to: ringing, 200, tag: nil))

        refer.notify(200, reason: "OK")
        let done = try #require(h.requests(h.transport.take(), .notify).first)
        #expect(done.headers["Subscription-State"] == "terminated;reason=noresource")
        #expect(String(decoding: done.body, as: UTF8.self) == "SIP/2.0 200 OK\r\n")
        #expect(refer.isFinished)
        refer.notify(487, reason: "Request Terminated")
        #expect(h.requests(h.transport.take(), .notify).isEmpty, "nothing after the final NOTIFY")
    }

    @Test func referSubFalseGetsNoNotifies() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var refers: [IncomingRefer] = []
        _ = try referrableCall(h, script: &script) { refers.append($0) }
        h.deliver(script.request("REFER", cseq: 2, branch: "refer2", headers: [
            "Refer-To: sip:2002@pbx.example.com", "Refer-Sub: false",
        ]))
        let refer = try #require(refers.first)
        #expect(!refer.wantsNotifications)
        refer.accept()
        refer.notify(200, reason: "OK")
        let sent = h.transport.take()
        let accepted = try #require(h.responses(sent, 202).first)
        #expect(accepted.headers["Refer-Sub"] == "false", "RFC 4488 §4: the answer says so too")
        #expect(h.requests(sent, .notify).isEmpty)
    }

    @Test func replacesIsDecodedForAnAttendedTransfer() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var refers: [IncomingRefer] = []
        _ = try referrableCall(h, script: &script) { refers.append($0) }
        h.deliver(script.request("REFER", cseq: 2, branch: "refer3", headers: [
            "Refer-To: <sip:2003@pbx.example.com?Replaces=abc%40host%3Bto-tag%3D7%3Bfrom-tag%3D8>",
        ]))
        let refer = try #require(refers.first)
        #expect(refer.replaces == "abc@host;to-tag=7;from-tag=8")
        #expect(refer.target.description == "sip:2003@pbx.example.com")
    }

    @Test func malformedRefersAreAnsweredByTheCore() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var refers: [IncomingRefer] = []
        _ = try referrableCall(h, script: &script) { refers.append($0) }
        let cases: [([String], Int)] = [
            ([], 400),
            (["Refer-To: <sip:1@a.example>", "Refer-To: <sip:2@b.example>"], 400),
            (["Refer-To: <tel:+4930123>"], 416),
            (["Refer-To: <sip:pbx.example.com>"], 416),
            (["Refer-To: not a uri <<"], 416),
        ]
        for (index, (headers, code)) in cases.enumerated() {
            h.deliver(script.request("REFER", cseq: 10 + index, branch: "bad\(index)", headers: headers))
            let sent = h.transport.take()
            #expect(h.responses(sent, code).count == 1, "\(headers) → \(code): \(sent)")
            #expect(h.requests(sent, .notify).isEmpty)
        }
        #expect(refers.isEmpty, "the application never sees them")
    }

    @Test func aDialogThatTakesNoReferDeclinesIt() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        _ = try h.answeredCall(script: &script)
        _ = h.transport.take()
        h.deliver(script.request("REFER", cseq: 2, branch: "refer4", headers: ["Refer-To: <sip:2002@pbx.example.com>"]))
        #expect(h.responses(h.transport.take(), 603).count == 1)
    }

    @Test func aReferOutsideAnyDialogIsNotTaken() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        script.ourTag = "no-such-dialog"
        h.deliver(script.request("REFER", cseq: 2, branch: "refer5", headers: ["Refer-To: <sip:2002@pbx.example.com>"]))
        #expect(h.responses(h.transport.take(), 481).count == 1)
    }

    @Test func theSubscriptionStopsWhenTheReferrerSays481() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        var refers: [IncomingRefer] = []
        _ = try referrableCall(h, script: &script) { refers.append($0) }
        h.deliver(script.request("REFER", cseq: 2, branch: "refer6", headers: ["Refer-To: <sip:2002@pbx.example.com>"]))
        let refer = try #require(refers.first)
        refer.accept()
        let trying = try #require(h.requests(h.transport.take(), .notify).first)
        h.deliver(sipResponse(to: trying, 481, tag: nil))
        #expect(refer.isFinished)
        refer.notify(200, reason: "OK")
        #expect(h.requests(h.transport.take(), .notify).isEmpty)
    }

    @Test func allowNamesRefer() {
        #expect(SIPUserAgent.allowedMethods.contains("REFER"))
    }
}
