import NIOCore

/// What the SIP core needs of a transport (RFC 3261 §18): send a message's
/// bytes to an endpoint, hand up what arrives, and say where it listens.
/// `SIPTransportLayer` is the one on sockets; tests drive transactions,
/// dialogs and sessions through one that only records what was sent, on an
/// `EmbeddedEventLoop` whose clock they move by hand.
public protocol SIPMessageTransport: AnyObject {
    var eventLoop: any EventLoop { get }
    /// Parsed messages, with where they came from.
    var onMessage: ((ReceivedMessage) -> Void)? { get set }
    /// Input that did not parse (a 400 may be built from `error.request`).
    var onParseError: ((SIPParseError, SIPEndpoint) -> Void)? { get set }
    func send(_ bytes: ByteBuffer, to endpoint: SIPEndpoint) -> EventLoopFuture<Void>
    /// The address a listener of this transport is bound to, if any.
    func localAddress(_ transport: SIPTransport) -> SocketAddress?
    /// Open stream connections, for leak checks.
    var connectionCount: Int { get }
    func close() -> EventLoopFuture<Void>
}

extension SIPMessageTransport {
    public func send(_ message: SIPMessage, to endpoint: SIPEndpoint) -> EventLoopFuture<Void> {
        send(SIPTransportLayer.buffer(message), to: endpoint)
    }
}
