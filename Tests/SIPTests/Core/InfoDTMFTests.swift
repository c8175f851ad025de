// DTMF in SIP INFO bodies as PBXs and carriers send them, and an INFO sent
// inside a dialog, through the recording transport.
import NIOCore
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct InfoDTMFTests {
    @Test func digitsInEitherBodyType() {
        let relay = "application/dtmf-relay"
        #expect(InfoDTMF.digit(contentType: relay, body: Array("Signal=5\r\nDuration=160\r\n".utf8)) == "5")
        #expect(InfoDTMF.digit(contentType: "Application/DTMF-Relay; charset=x", body: Array("signal= #\r\n".utf8)) == "#")
        #expect(InfoDTMF.digit(contentType: relay, body: Array("Duration=160\nSignal=10\n".utf8)) == "*")
        #expect(InfoDTMF.digit(contentType: relay, body: Array("Signal=11".utf8)) == "#")
        #expect(InfoDTMF.digit(contentType: "application/dtmf", body: Array("7\r\n".utf8)) == "7")
        #expect(InfoDTMF.digit(contentType: "application/dtmf", body: Array("d".utf8)) == "D")
        #expect(InfoDTMF.digit(contentType: relay, body: Array("Signal=55".utf8)) == nil)
        #expect(InfoDTMF.digit(contentType: relay, body: Array("Duration=160".utf8)) == nil)
        #expect(InfoDTMF.digit(contentType: "text/plain", body: Array("Signal=5".utf8)) == nil)
        #expect(InfoDTMF.digit(contentType: nil, body: Array("Signal=5".utf8)) == nil)
        #expect(InfoDTMF.digit(contentType: relay, body: [0xFF, 0xFE, 0x00]) == nil)
    }

    @Test func anInfoGoesInTheDialogWithTheNextCSeq() throws {
        let h = SIPCoreHarness()
        var script = PeerDialogScript()
        let dialog = try h.answeredCall(script: &script)
        var statuses: [Int] = []
        dialog.sendInfo(body: InfoDTMF.relayBody("9", milliseconds: 120), contentType: InfoDTMF.relayType) {
            statuses.append($0)
        }
        let info = try #require(h.requests(h.transport.take(), .info).first)
        #expect(info.headers["Content-Type"] == "application/dtmf-relay")
        #expect(String(decoding: info.body, as: UTF8.self) == "Signal=9\r\nDuration=120\r\n")
        #expect(info.headers.cseq?.method == .info)
        #expect(info.uri.description == "sip:phone@127.0.0.1:5070", "to the remote target")
        h.deliver(sipResponse(to: info, 200, tag: nil))
        #expect(statuses == [200])
    }
}
