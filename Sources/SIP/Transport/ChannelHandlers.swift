import NIOCore

/// UDP: one datagram is one message (RFC 3261 §18.3).
final class SIPDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let layer: SIPTransportLayer

    init(layer: SIPTransportLayer) { self.layer = layer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        // Lone CRLF keepalives (RFC 5626 §3.5.1) carry nothing to parse.
        if envelope.data.readableBytes <= 4 { return }
        layer.receive(envelope.data, from: SIPEndpoint(transport: .udp, address: envelope.remoteAddress))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and the like: a UDP socket stays usable.
        layer.logger.debug("UDP socket error: \(error)")
    }
}

/// TCP/TLS: frames messages by Content-Length (RFC 3261 §18.3).
struct SIPStreamDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxMessageSize: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let maxSize = maxMessageSize
        let frame = try buffer.withUnsafeReadableBytes { bytes throws -> SIPStreamFrame in
            try SIPStreamFramer.nextFrame(bytes, maxMessageSize: maxSize)
        }
        switch frame {
        case .needMoreData:
            return .needMoreData
        case .keepalive(let count):
            buffer.moveReaderIndex(forwardBy: count)
            // A double-CRLF ping gets a single CRLF pong (RFC 5626 §4.4.1).
            if count >= 4 {
                context.writeAndFlush(NIOAny(ByteBuffer(string: "\r\n")), promise: nil)
            }
            return .continue
        case .message(let length):
            let message = buffer.readSlice(length: length)!
            context.fireChannelRead(wrapInboundOut(message))
            return .continue
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

final class SIPStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let layer: SIPTransportLayer
    let transport: SIPTransport
    /// Outgoing connections are registered by the layer when it opens them.
    let registered: Bool
    private var remote: SocketAddress?

    init(layer: SIPTransportLayer, transport: SIPTransport, registered: Bool) {
        self.layer = layer
        self.transport = transport
        self.registered = registered
    }

    func channelActive(context: ChannelHandlerContext) {
        remote = context.channel.remoteAddress
        if !registered { layer.connectionOpened(context.channel, transport: transport) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        layer.connectionClosed(context.channel, transport: transport, remote: remote)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let remote else { return }
        layer.receive(unwrapInboundIn(data), from: SIPEndpoint(transport: transport, address: remote))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A framing error (no Content-Length, oversized) leaves the stream
        // unsynchronised: the only safe thing is to close it.
        layer.logger.info("closing SIP \(transport) connection from \(remote.map { "\($0)" } ?? "?"): \(error)")
        context.close(promise: nil)
    }
}
