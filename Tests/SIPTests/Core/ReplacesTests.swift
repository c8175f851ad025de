// INVITE with Replaces (RFC 3891) in the SIP core: the header, and a new
// INVITE reaching the dialog it names instead of the application's routing.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct ReplacesTests {
    @Test func headerValues() {
        #expect(Replaces(parsing: "98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff")
                == Replaces(callID: "98732@sip.example.com", toTag: "ff87ff", fromTag: "r33th4x0r"))
        #expect(Replaces(parsing: "abc ; to-tag=1 ; from-tag=2 ; early-only")?.earlyOnly == true)
        for junk in ["", "abc", "abc;to-tag=1", "abc;from-tag=2", ";to-tag=1;from-tag=2", "abc;to-tag=;from-tag=2"] {
            #expect(Replaces(parsing: junk) == nil, "\(junk)")
        }
    }

    /// A second caller's INVITE naming `dialog` (our tag as to-tag).
    func replacingInvite(_ dialog: Dialog, extra: String = "", callID: String = "replacer-1") -> String {
        var script = PeerDialogScript()
        script.callID = callID
        script.fromTag = "new-peer"
        let value = "\(dialog.id.callID);to-tag=\(dialog.id.localTag);from-tag=\(dialog.id.remoteTag)\(extra)"
        return script.request("INVITE", cseq: 1, branch: "rep-\(callID)", body: PeerDialogScript.sdp,
                              contact: "sip:transferee@127.0.0.1:5072", headers: ["Replaces: \(value)"])
    }

    @Test func anInviteWithReplacesGoesToTheDialogItNames() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var routed = 0
        h.userAgent.onInvite = { _ in routed += 1 }
        var taken: IncomingInvite?
        dialog.onReplaced = { taken = $0 }
        h.deliver(replacingInvite(dialog))
        let invite = try #require(taken)
        #expect(routed == 0, "not through routing")
        #expect(invite.replacing === dialog)
        let replacement = try #require(invite.answer(body: Array("v=0\r\n".utf8)))
        #expect(h.responses(h.transport.take(), 200).count == 1)
        #expect(replacement.id.callID == "replacer-1")
        dialog.bye()
        replacement.bye()
    }

    @Test func refusals() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        h.userAgent.onInvite = { _ in Issue.record("routed") }
        // No taker: 603.
        h.deliver(replacingInvite(dialog, callID: "r1"))
        #expect(h.responses(h.transport.take(), 603).count == 1)
        dialog.onReplaced = { _ in Issue.record("taken") }
        // early-only on an answered dialog: 486.
        h.deliver(replacingInvite(dialog, extra: ";early-only", callID: "r2"))
        #expect(h.responses(h.transport.take(), 486).count == 1)
        // A dialog we do not have: 481; a malformed header: 400.
        var stranger = PeerDialogScript()
        stranger.callID = "r3"
        h.deliver(stranger.request("INVITE", cseq: 1, branch: "r3", body: PeerDialogScript.sdp,
                                   headers: ["Replaces: nosuch;to-tag=a;from-tag=b"]))
        #expect(h.responses(h.transport.take(), 481).count == 1)
        stranger.callID = "r4"
        h.deliver(stranger.request("INVITE", cseq: 1, branch: "r4", body: PeerDialogScript.sdp,
                                   headers: ["Replaces: nosuch"]))
        #expect(h.responses(h.transport.take(), 400).count == 1)
        #expect(h.userAgent.counts.incomingInvites == 0)
        #expect(SIPUserAgent.supportedExtensions.contains("replaces"))
        dialog.bye()
    }
}
