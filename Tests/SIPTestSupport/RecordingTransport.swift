// The SIP core without sockets: a transport that records what the user agent
// sends and lets a test deliver what "arrives". Used on an EmbeddedEventLoop
// (SIP core tests, the clock moved by hand) or an NIOAsyncTestingEventLoop
// (call tests, whose media work hops through tasks). Nothing leaves the process.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SIP

public final class RecordingTransport: SIPMessageTransport, @unchecked Sendable {
    public let eventLoop: any EventLoop
    public var onMessage: ((ReceivedMessage) -> Void)?
    public var onParseError: ((SIPParseError, SIPEndpoint) -> Void)?
    public var connectionCount: Int { 0 }
    private let sent = NIOLockedValueBox<[(message: SIPMessage, to: SIPEndpoint)]>([])

    public init(loop: any EventLoop) { eventLoop = loop }

    public func send(_ bytes: ByteBuffer, to endpoint: SIPEndpoint) -> EventLoopFuture<Void> {
        let message = try! SIPParser.parse(Array(bytes.readableBytesView))
        sent.withLockedValue { $0.append((message, endpoint)) }
        return eventLoop.makeSucceededFuture(())
    }

    public func localAddress(_ transport: SIPTransport) -> SocketAddress? {
        try? SocketAddress(ipAddress: "127.0.0.1", port: 5060)
    }

    public func close() -> EventLoopFuture<Void> { eventLoop.makeSucceededFuture(()) }

    /// What was sent since the last call, oldest first.
    public func take() -> [SIPMessage] {
        sent.withLockedValue { sent in
            defer { sent.removeAll() }
            return sent.map(\.message)
        }
    }

    /// The same, with where each message went.
    public func takeAddressed() -> [(message: SIPMessage, to: SIPEndpoint)] {
        sent.withLockedValue { sent in
            defer { sent.removeAll() }
            return sent
        }
    }

    /// Hands a message to the user agent as if it came from `source`; call it on the loop.
    public func deliver(_ text: String, from source: SIPEndpoint) {
        let message = try! SIPParser.parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        onMessage?(ReceivedMessage(message: message, source: source))
    }
}

public extension Array where Element == SIPMessage {
    func responses(_ code: Int) -> [SIPResponse] {
        compactMap { if case .response(let r) = $0, r.statusCode == code { return r } else { return nil } }
    }

    func requests(_ method: SIPMethod) -> [SIPRequest] {
        compactMap { if case .request(let r) = $0, r.method == method { return r } else { return nil } }
    }
}

/// The far end's response to one of our requests, as text (its To tag added).
public func sipResponse(to request: SIPRequest, _ code: Int, tag: String? = "far", contact: String? = nil,
                        body: String = "", cseqMethod: String? = nil) -> String {
    var text = "SIP/2.0 \(code) \(SIPResponse.defaultReasonPhrase(code))\n"
    text += "Via: \(request.headers.all("Via").first ?? "")\n"
    text += "From: \(request.headers["From"] ?? "")\n"
    let to = request.headers["To"] ?? ""
    text += "To: \(to)\(tag.map { to.contains("tag=") ? "" : ";tag=\($0)" } ?? "")\n"
    text += "Call-ID: \(request.headers.callID ?? "")\n"
    text += "CSeq: \(request.headers.cseq?.sequence ?? 1) \(cseqMethod ?? request.method.rawValue)\n"
    if let contact { text += "Contact: <\(contact)>\n" }
    if !body.isEmpty { text += "Content-Type: application/sdp\n" }
    text += "Content-Length: \(body.replacingOccurrences(of: "\n", with: "\r\n").utf8.count)\n\n" + body
    return text
}
