import NIOCore

/// What a client transaction tells its transaction user.
public enum ClientTransactionEvent: Sendable {
    case response(SIPResponse)
    /// Timer B or F fired: no final response (the TU acts as if 408).
    case timeout
    /// The transport failed (the TU acts as if 503, RFC 3261 §8.1.3.1).
    case transportError(String)
}

/// INVITE and non-INVITE client transactions (RFC 3261 §17.1 with the
/// Accepted state of RFC 6026 §7.2). Confined to the transaction layer's loop.
final class ClientTransaction: @unchecked Sendable {
    enum State { case calling, proceeding, accepted, completed, terminated }

    let key: TransactionKey
    let request: SIPRequest
    let destination: SIPEndpoint
    let isInvite: Bool
    private(set) var state: State = .calling
    private unowned let layer: TransactionLayer
    private let onEvent: (ClientTransactionEvent) -> Void
    private let requestBytes: ByteBuffer
    private var ackBytes: ByteBuffer?
    private var retransmitTimer: SIPTimer?
    private var timeoutTimer: SIPTimer?
    private var interval: TimeAmount
    /// The last provisional or final status seen, for CANCEL decisions.
    private(set) var lastStatus = 0

    init(layer: TransactionLayer, key: TransactionKey, request: SIPRequest, destination: SIPEndpoint,
         onEvent: @escaping (ClientTransactionEvent) -> Void) {
        self.layer = layer
        self.key = key
        self.request = request
        self.destination = destination
        self.isInvite = request.method == .invite
        self.onEvent = onEvent
        self.requestBytes = SIPTransportLayer.buffer(.request(request))
        self.interval = layer.timers.t1
    }

    var timers: SIPTimers { layer.timers }

    func start() {
        transmit(requestBytes)
        if !destination.transport.isReliable { scheduleRetransmit() }
        // Timer B (INVITE) or F (non-INVITE).
        timeoutTimer = layer.schedule(in: timers.transactionTimeout) { [weak self] in self?.timedOut() }
    }

    private func transmit(_ bytes: ByteBuffer) {
        layer.transport.send(bytes, to: destination).whenFailure { [weak self] error in
            self?.transportFailed(error)
        }
    }

    /// Timer A (INVITE: doubling without bound) or E (non-INVITE: doubling up to T2).
    private func scheduleRetransmit() {
        retransmitTimer = layer.schedule(in: interval) { [weak self] in
            guard let self else { return }
            switch self.state {
            case .calling:
                self.transmit(self.requestBytes)
                self.interval = self.isInvite ? self.interval * 2 : min(self.interval * 2, self.timers.t2)
                self.scheduleRetransmit()
            case .proceeding where !self.isInvite:
                // §17.1.2.2: in Proceeding, Timer E fires every T2.
                self.transmit(self.requestBytes)
                self.interval = self.timers.t2
                self.scheduleRetransmit()
            default:
                break
            }
        }
    }

    func receive(_ response: SIPResponse) {
        let code = response.statusCode
        switch state {
        case .calling, .proceeding:
            lastStatus = code
            if code < 200 {
                if isInvite { retransmitTimer?.cancel() }
                state = .proceeding
                onEvent(.response(response))
            } else if isInvite && code < 300 {
                enterAccepted()
                onEvent(.response(response))
            } else {
                enterCompleted(response)
                onEvent(.response(response))
            }
        case .accepted:
            // RFC 6026: retransmitted or forked 2xx go to the TU, which ACKs them.
            if code >= 200 && code < 300 { onEvent(.response(response)) }
        case .completed:
            // A retransmitted final response: the ACK is resent, the TU is not told again.
            if isInvite, code >= 300, let ackBytes { transmit(ackBytes) }
        case .terminated:
            break
        }
    }

    private func enterAccepted() {
        state = .accepted
        cancelTimers()
        // Timer M: absorb 2xx retransmissions for 64·T1.
        timeoutTimer = layer.schedule(in: timers.transactionTimeout) { [weak self] in self?.terminate() }
    }

    private func enterCompleted(_ response: SIPResponse) {
        state = .completed
        cancelTimers()
        if isInvite {
            // §17.1.1.3: the ACK for a non-2xx final response belongs to the transaction.
            let ack = Self.ackForNon2xx(request: request, response: response)
            ackBytes = SIPTransportLayer.buffer(.request(ack))
            transmit(ackBytes!)
        }
        // Timer D (INVITE) or K (non-INVITE).
        let wait = isInvite ? timers.timerD(destination.transport)
                            : (destination.transport.isReliable ? .zero : timers.t4)
        if wait == .zero { terminate() } else {
            timeoutTimer = layer.schedule(in: wait) { [weak self] in self?.terminate() }
        }
    }

    private func timedOut() {
        guard state == .calling || state == .proceeding else { return }
        terminate()
        onEvent(.timeout)
    }

    private func transportFailed(_ error: Error) {
        guard state == .calling || state == .proceeding else { return }
        terminate()
        onEvent(.transportError("\(error)"))
    }

    private func cancelTimers() {
        retransmitTimer?.cancel()
        timeoutTimer?.cancel()
        retransmitTimer = nil
        timeoutTimer = nil
    }

    func terminate() {
        guard state != .terminated else { return }
        state = .terminated
        cancelTimers()
        layer.remove(self)
    }

    /// §17.1.1.3: same Request-URI, Call-ID, From, CSeq number and top Via
    /// as the INVITE, To from the response, Route from the INVITE.
    static func ackForNon2xx(request: SIPRequest, response: SIPResponse) -> SIPRequest {
        var headers = SIPHeaders()
        if let via = request.headers.all("Via").first { headers.add("Via", via) }
        headers.add("Max-Forwards", "70")
        for route in request.headers.all("Route") { headers.add("Route", route) }
        if let from = request.headers["From"] { headers.add("From", from) }
        if let to = response.headers["To"] { headers.add("To", to) }
        if let callID = request.headers["Call-ID"] { headers.add("Call-ID", callID) }
        headers.add("CSeq", "\(request.headers.cseq?.sequence ?? 1) ACK")
        return SIPRequest(method: .ack, uri: request.uri, headers: headers)
    }
}
