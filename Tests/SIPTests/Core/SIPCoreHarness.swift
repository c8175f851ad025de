// The SIP core without sockets: a transport that records what the user agent
// sends and lets a test deliver what "arrives", on an EmbeddedEventLoop whose
// clock the test moves, so timers A-M and 2xx retransmission run in no time.
import Logging
import NIOCore
import NIOEmbedded
import SIPTestSupport
import Testing
@testable import SIP

struct SIPCoreHarness {
    let loop = EmbeddedEventLoop()
    let transport: RecordingTransport
    let userAgent: SIPUserAgent
    /// The peer everything comes from (never contacted: nothing leaves the process).
    let peer = SIPEndpoint(transport: .udp, address: try! SocketAddress(ipAddress: "127.0.0.1", port: 5070))
    let timers = SIPTimers()

    init() {
        transport = RecordingTransport(loop: loop)
        userAgent = SIPUserAgent(transport: transport, configuration: .init(publicAddress: "127.0.0.1"),
                                 logger: Logger(label: "sip-core-test"))
    }

    func deliver(_ text: String) { transport.deliver(text, from: peer) }

    func advance(_ amount: TimeAmount) { loop.advanceTime(by: amount) }

    func responses(_ messages: [SIPMessage], _ code: Int) -> [SIPResponse] { messages.responses(code) }

    /// An answered incoming call: INVITE in, 200 out, ACK in. Returns the dialog.
    /// `headers`: extra lines for the INVITE, e.g. "Supported: timer".
    func answeredCall(script: inout PeerDialogScript, headers: [String] = []) throws -> Dialog {
        var invite: IncomingInvite?
        userAgent.onInvite = { invite = $0 }
        deliver(script.request("INVITE", cseq: 1, branch: "inv1", body: PeerDialogScript.sdp, headers: headers))
        let incoming = try #require(invite)
        let dialog = try #require(incoming.answer(body: Array("v=0\r\n".utf8)))
        script.ourTag = dialog.id.localTag
        deliver(script.request("ACK", cseq: 1, branch: "ack1"))
        _ = transport.take()
        #expect(!dialog.isAwaitingAck)
        return dialog
    }
    func requests(_ messages: [SIPMessage], _ method: SIPMethod) -> [SIPRequest] { messages.requests(method) }
}

/// A peer's requests in one dialog, as text. `ourTag` is our To tag once known.
struct PeerDialogScript {
    var callID = "core-test-1"
    var fromTag = "peer-tag"
    var ourTag: String?
    var contact = "sip:phone@127.0.0.1:5070"

    static let sdp = "v=0\no=phone 7 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=sendrecv\n"

    func request(_ method: String, cseq: Int, branch: String, body: String = "", contact: String? = nil,
                 cseqMethod: String? = nil, headers: [String] = []) -> String {
        let to = ourTag.map { "<sip:tieline@127.0.0.1>;tag=\($0)" } ?? "<sip:tieline@127.0.0.1>"
        var text = """
        \(method) sip:tieline@127.0.0.1:5060 SIP/2.0
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK\(branch);rport
        Max-Forwards: 70
        From: <sip:phone@127.0.0.1>;tag=\(fromTag)
        To: \(to)
        Call-ID: \(callID)
        CSeq: \(cseq) \(cseqMethod ?? method)
        Contact: <\(contact ?? self.contact)>

        """
        for line in headers { text += line + "\n" }
        if !body.isEmpty { text += "Content-Type: application/sdp\n" }
        text += "Content-Length: \(body.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)\n\n" + body
        return text
    }
}
