import NIOCore

/// INVITE and non-INVITE server transactions (RFC 3261 §17.2 with the
/// Accepted state of RFC 6026 §7.1). The transaction user answers through
/// `respond`; retransmitted requests are absorbed here. Confined to the
/// transaction layer's loop.
public final class ServerTransaction: @unchecked Sendable {
    enum State { case trying, proceeding, accepted, completed, confirmed, terminated }

    let key: TransactionKey
    public let request: SIPRequest
    /// Where the request came from.
    public let source: SIPEndpoint
    /// Where responses go (RFC 3261 §18.2.2, RFC 3581 §4).
    let replyTo: SIPEndpoint
    let isInvite: Bool
    private(set) var state: State
    private unowned let layer: TransactionLayer
    private var lastResponse: ByteBuffer?
    private var retransmitTimer: SIPTimer?
    private var timeoutTimer: SIPTimer?
    private var interval: TimeAmount
    /// The final status sent, 0 until then.
    public private(set) var finalStatus = 0

    init(layer: TransactionLayer, key: TransactionKey, request: SIPRequest, source: SIPEndpoint) {
        self.layer = layer
        self.key = key
        self.request = request
        self.source = source
        self.isInvite = request.method == .invite
        self.state = isInvite ? .proceeding : .trying
        self.interval = layer.timers.t1
        self.replyTo = Self.responseDestination(request: request, source: source)
    }

    var timers: SIPTimers { layer.timers }
    public var isTerminated: Bool { state == .terminated }
    /// True once a final response went out.
    public var isCompleted: Bool { finalStatus >= 200 }

    /// Sends a response, moving through the states of §17.2.1 / §17.2.2.
    public func respond(_ response: SIPResponse) {
        guard state == .trying || state == .proceeding else {
            // RFC 6026 §7.1: in Accepted the TU keeps retransmitting its 2xx.
            if state == .accepted, response.statusCode >= 200, response.statusCode < 300 {
                send(SIPTransportLayer.buffer(.response(response)))
            }
            return
        }
        let bytes = SIPTransportLayer.buffer(.response(response))
        lastResponse = bytes
        send(bytes)
        let code = response.statusCode
        if code < 200 {
            state = .proceeding
            return
        }
        finalStatus = code
        if isInvite && code < 300 {
            // Timer L: absorb INVITE retransmissions while the TU retransmits 2xx.
            state = .accepted
            timeoutTimer = layer.schedule(in: timers.transactionTimeout) { [weak self] in self?.terminate() }
        } else if isInvite {
            state = .completed
            if !replyTo.transport.isReliable { scheduleResponseRetransmit() }
            // Timer H: give up waiting for the ACK.
            timeoutTimer = layer.schedule(in: timers.transactionTimeout) { [weak self] in
                guard let self else { return }
                self.layer.ackTimedOut(self)
                self.terminate()
            }
        } else {
            state = .completed
            // Timer J: absorb request retransmissions.
            let wait: TimeAmount = replyTo.transport.isReliable ? .zero : timers.transactionTimeout
            if wait == .zero { terminate() } else {
                timeoutTimer = layer.schedule(in: wait) { [weak self] in self?.terminate() }
            }
        }
    }

    /// Convenience: a response built from the request with the given status.
    public func respond(_ statusCode: Int, reason: String? = nil, toTag: String? = nil,
                        headers extra: [(String, String)] = []) {
        var response = SIPResponse.to(request, statusCode: statusCode, reasonPhrase: reason, toTag: toTag)
        for (name, value) in extra { response.headers.add(name, value) }
        respond(response)
    }

    /// Timer G: resend the final non-2xx response until the ACK comes.
    private func scheduleResponseRetransmit() {
        retransmitTimer = layer.schedule(in: interval) { [weak self] in
            guard let self, self.state == .completed, let bytes = self.lastResponse else { return }
            self.send(bytes)
            self.interval = min(self.interval * 2, self.timers.t2)
            self.scheduleResponseRetransmit()
        }
    }

    private func send(_ bytes: ByteBuffer) {
        layer.transport.send(bytes, to: replyTo).whenFailure { [weak self] error in
            self?.layer.logger.debug("response to \(self?.replyTo.description ?? "?") failed: \(error)")
        }
    }

    /// A retransmission of the request, or the ACK for a non-2xx response.
    func receive(_ request: SIPRequest) {
        if request.method == .ack {
            guard state == .completed else { return }
            state = .confirmed
            retransmitTimer?.cancel()
            timeoutTimer?.cancel()
            // Timer I: absorb ACK retransmissions.
            let wait: TimeAmount = replyTo.transport.isReliable ? .zero : timers.t4
            if wait == .zero { terminate() } else {
                timeoutTimer = layer.schedule(in: wait) { [weak self] in self?.terminate() }
            }
            return
        }
        switch state {
        case .proceeding, .completed:
            if let lastResponse { send(lastResponse) }
        default:
            break
        }
    }

    func terminate() {
        guard state != .terminated else { return }
        state = .terminated
        retransmitTimer?.cancel()
        timeoutTimer?.cancel()
        layer.remove(self)
    }

    /// RFC 3261 §18.2.2 with RFC 3581: reliable transports answer on the
    /// connection the request came in on; UDP answers the source address when
    /// the client asked for rport, else the received address and Via port.
    static func responseDestination(request: SIPRequest, source: SIPEndpoint) -> SIPEndpoint {
        if source.transport.isReliable { return source }
        guard let via = request.headers.topVia, !via.hasRport else { return source }
        var destination = source
        if let address = try? SocketAddress(ipAddress: source.ipAddress, port: via.port ?? 5060) {
            destination.address = address
        }
        return destination
    }
}
