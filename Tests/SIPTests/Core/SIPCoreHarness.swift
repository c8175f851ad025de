// The SIP core without sockets: a transport that records what the user agent
// sends and lets a test deliver what "arrives", on an EmbeddedEventLoop whose
// clock the test moves, so timers A-M and 2xx retransmission run in no time.
import Logging
import NIOCore
import NIOEmbedded
@testable import SIP

final class RecordingTransport: SIPMessageTransport, @unchecked Sendable {
    let embedded: EmbeddedEventLoop
    var eventLoop: any EventLoop { embedded }
    var onMessage: ((ReceivedMessage) -> Void)?
    var onParseError: ((SIPParseError, SIPEndpoint) -> Void)?
    var connectionCount: Int { 0 }
    /// Everything sent, oldest first, parsed back.
    private(set) var sent: [(message: SIPMessage, to: SIPEndpoint)] = []

    init(loop: EmbeddedEventLoop) { embedded = loop }

    func send(_ bytes: ByteBuffer, to endpoint: SIPEndpoint) -> EventLoopFuture<Void> {
        let message = try! SIPParser.parse(Array(bytes.readableBytesView))
        sent.append((message, endpoint))
        return embedded.makeSucceededFuture(())
    }

    func localAddress(_ transport: SIPTransport) -> SocketAddress? {
        try? SocketAddress(ipAddress: "127.0.0.1", port: transport == .udp ? 5060 : 5060)
    }

    func close() -> EventLoopFuture<Void> { embedded.makeSucceededFuture(()) }

    /// What was sent since the last call.
    func take() -> [SIPMessage] {
        defer { sent.removeAll() }
        return sent.map(\.message)
    }
}

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

    func deliver(_ text: String) {
        let message = try! SIPParser.parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        transport.onMessage?(ReceivedMessage(message: message, source: peer))
    }

    func advance(_ amount: TimeAmount) { loop.advanceTime(by: amount) }

    /// Sent responses with this status, since the last `take`.
    func responses(_ messages: [SIPMessage], _ code: Int) -> [SIPResponse] {
        messages.compactMap { if case .response(let r) = $0, r.statusCode == code { return r } else { return nil } }
    }

    func requests(_ messages: [SIPMessage], _ method: SIPMethod) -> [SIPRequest] {
        messages.compactMap { if case .request(let r) = $0, r.method == method { return r } else { return nil } }
    }
}

/// A peer's requests in one dialog, as text. `ourTag` is our To tag once known.
struct PeerDialogScript {
    var callID = "core-test-1"
    var fromTag = "peer-tag"
    var ourTag: String?
    var contact = "sip:phone@127.0.0.1:5070"

    static let sdp = "v=0\no=phone 7 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=sendrecv\n"

    func request(_ method: String, cseq: Int, branch: String, body: String = "", contact: String? = nil,
                 cseqMethod: String? = nil) -> String {
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
        if !body.isEmpty { text += "Content-Type: application/sdp\n" }
        text += "Content-Length: \(body.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)\n\n" + body
        return text
    }
}
