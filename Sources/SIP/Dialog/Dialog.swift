import NIOCore

/// Why a dialog ended.
public enum DialogEnd: Sendable, Equatable, CustomStringConvertible {
    case localBye
    case remoteBye
    /// We answered and the ACK never came (RFC 3261 §13.3.1.4).
    case ackTimeout
    /// Shut down with the user agent.
    case shutdown
    /// We were not the refresher and no refresh came in time (RFC 4028 §10).
    case sessionExpired
    /// The caller required 100rel and never acknowledged our 1xx (RFC 3262 §3).
    case noPrack

    public var description: String {
        switch self {
        case .localBye: "local hangup"
        case .remoteBye: "remote hangup"
        case .ackTimeout: "no ACK for 200 OK"
        case .shutdown: "shutdown"
        case .sessionExpired: "session timer expired"
        case .noPrack: "no PRACK for a reliable provisional response"
        }
    }
}

/// A SIP dialog (RFC 3261 §12) as UAC or UAS. Confined to the user agent's loop.
public final class Dialog: @unchecked Sendable {
    public struct ID: Hashable, Sendable {
        public var callID: String
        public var localTag: String
        public var remoteTag: String
    }

    public let id: ID
    /// True when we sent the INVITE.
    public let isCaller: Bool
    public let local: NameAddress
    public let remote: NameAddress
    public private(set) var remoteTarget: SIPURI
    public let routeSet: [NameAddress]
    public private(set) var localSeq: UInt32
    var remoteSeq: UInt32?
    /// Where in-dialog requests go when there is no route set: the peer the
    /// dialog was made with. Trunks sit behind NAT and SBCs often advertise a
    /// Contact only reachable through them, so this is the robust next hop.
    let peer: SIPEndpoint
    /// The first route, once resolved (`withNextHop`).
    private var resolvedHop: SIPEndpoint?
    private var resolvingHop: EventLoopFuture<SIPEndpoint>?
    public private(set) var isTerminated = false
    public var onTerminated: ((DialogEnd) -> Void)?
    /// A re-INVITE or UPDATE whose offer the application answers (see
    /// `InDialogOffer`); when nil, 488 and the session stays as it was.
    public var onOffer: ((InDialogOffer) -> Void)?
    /// INFO requests (e.g. DTMF); when nil, 200.
    public var onInfo: ((ServerTransaction) -> Void)?
    /// A REFER (RFC 3515), checked; when nil, 603 Decline.
    public var onRefer: ((IncomingRefer) -> Void)?
    /// The answer in the ACK to a 2xx that carried our offer (late offer:
    /// an INVITE or re-INVITE without SDP, RFC 3261 §13.2.1, RFC 3264 §4).
    /// Empty when the ACK had none, a protocol error the application ends
    /// the call for.
    public var onAckAnswer: (([UInt8]) -> Void)?
    /// A new INVITE whose Replaces (RFC 3891) names this confirmed dialog:
    /// the application answers it (the call goes on with its sender) and
    /// ends this dialog. When nil, 603 Decline.
    public var onReplaced: ((IncomingInvite) -> Void)?
    weak var userAgent: SIPUserAgent?

    // UAC: the ACK for the latest 2xx to our INVITE or re-INVITE (by CSeq
    // number), resent when that 2xx is retransmitted.
    var ack: (cseq: UInt32, bytes: ByteBuffer)?
    // UAS: the 2xx to an INVITE or re-INVITE (by CSeq number), retransmitted until its ACK arrives.
    var pendingAnswer: (cseq: UInt32, bytes: ByteBuffer)?
    /// The CSeq number of a 2xx of ours that carried an offer: its ACK has the answer.
    var offerInAnswer: UInt32?
    private var answerTimer: SIPTimer?
    private var answerGiveUp: SIPTimer?
    /// In-dialog offer/answer (RFC 3261 §14, RFC 3311): the peer's offer we
    /// have not answered yet, and ours the peer has not answered.
    var incomingOffer: InDialogOffer?
    var outgoingOffer: OutgoingOffer?
    /// Our REFER whose NOTIFYs we expect (`OutgoingRefer`).
    var outgoingRefer: OutgoingRefer?

    /// RFC 4028: the session timer in force, if any (`Dialog+SessionTimer`).
    public internal(set) var sessionTimer: SessionTimer?
    /// Our Min-SE and interval for refreshes either way; nil while this
    /// dialog runs no timer.
    var sessionPolicy: SessionTimerPolicy?
    var refreshTask: SIPTimer?
    var expiryTask: SIPTimer?
    /// Our latest session description (in the INVITE or its 2xx, or in an
    /// accepted in-dialog offer or answer): a re-INVITE refresh repeats it.
    public internal(set) var localDescription: (body: [UInt8], contentType: String)?
    /// The peer's last Allow named UPDATE, so a refresh can go without a body.
    var peerAllowsUpdate = false

    init(id: ID, isCaller: Bool, local: NameAddress, remote: NameAddress, remoteTarget: SIPURI,
         routeSet: [NameAddress], localSeq: UInt32, remoteSeq: UInt32?, peer: SIPEndpoint, userAgent: SIPUserAgent) {
        self.id = id
        self.isCaller = isCaller
        self.local = local
        self.remote = remote
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
        self.localSeq = localSeq
        self.remoteSeq = remoteSeq
        self.peer = peer
        self.userAgent = userAgent
    }

    public var callID: String { id.callID }
    public var transport: SIPTransport { peer.transport }

    /// Builds an in-dialog request (§12.2.1.1). Loose routing is assumed when
    /// the first route has `lr`; otherwise the strict-routing rewrite applies.
    public func makeRequest(_ method: SIPMethod) -> SIPRequest {
        if method != .ack { localSeq &+= 1 }
        var uri = remoteTarget
        var routes = routeSet.map(\.description)
        if let first = routeSet.first, !first.uri.parameters.contains("lr") {
            uri = first.uri
            routes.removeFirst()
            routes.append("<\(remoteTarget)>")
        }
        var headers = SIPHeaders()
        headers.add("Max-Forwards", "70")
        for route in routes { headers.add("Route", route) }
        headers.add("From", local.description)
        headers.add("To", remote.description)
        headers.add("Call-ID", id.callID)
        headers.add("CSeq", "\(localSeq) \(method.rawValue)")
        return SIPRequest(method: method, uri: uri, headers: headers)
    }

    /// Hands `send` where the next in-dialog request goes: the first route
    /// (§12.2.1.1), else the peer. A route naming a host is resolved once,
    /// off the loop; requests made meanwhile wait for it, in order. An
    /// unresolvable route falls back to the peer.
    func withNextHop(_ send: @escaping (SIPEndpoint) -> Void) {
        guard let first = routeSet.first, let userAgent else { return send(peer) }
        if let resolvedHop { return send(resolvedHop) }
        if let literal = SIPResolver.literal(first.uri, defaultTransport: peer.transport) {
            resolvedHop = literal
            return send(literal)
        }
        let resolving = resolvingHop
            ?? userAgent.resolver.resolve(first.uri, defaultTransport: peer.transport, on: userAgent.eventLoop)
        resolvingHop = resolving
        let peer = self.peer
        resolving.whenComplete { [weak self] result in
            let hop = (try? result.get()) ?? peer
            self?.resolvedHop = hop
            send(hop)
        }
    }

    /// Hangs up with BYE (§15.1.1). The dialog ends at once; the BYE's own
    /// outcome does not keep it alive.
    public func bye() {
        guard !isTerminated else { return }
        sendBye()
        terminate(.localBye)
    }

    func sendBye() {
        guard let userAgent else { return }
        var request = makeRequest(.bye)
        userAgent.stampVia(&request, transport: transport)
        withNextHop { [weak userAgent] hop in userAgent?.transactions.send(request, to: hop) { _ in } }
    }

    func terminate(_ reason: DialogEnd) {
        guard !isTerminated else { return }
        isTerminated = true
        answerTimer?.cancel()
        answerGiveUp?.cancel()
        stopSessionTimer()
        pendingAnswer = nil
        incomingOffer = nil
        outgoingOffer?.transaction?.terminate()
        outgoingOffer = nil
        outgoingRefer?.cancel()
        userAgent?.removeDialog(self)
        let callback = onTerminated
        onTerminated = nil
        onOffer = nil
        onInfo = nil
        onRefer = nil
        onAckAnswer = nil
        onReplaced = nil
        callback?(reason)
    }

    // MARK: UAS 2xx reliability (§13.3.1.4)

    func startAnswerRetransmission(_ bytes: ByteBuffer, cseq: UInt32, timers: SIPTimers) {
        answerTimer?.cancel()
        answerGiveUp?.cancel()
        pendingAnswer = (cseq, bytes)
        guard let userAgent else { return }
        if !transport.isReliable { scheduleAnswerRetransmit(interval: timers.t1, timers: timers) }
        answerGiveUp = userAgent.transactions.schedule(in: timers.transactionTimeout) { [weak self] in
            guard let self, self.pendingAnswer != nil else { return }
            // No ACK: the dialog is confirmed-then-ended with a BYE.
            self.pendingAnswer = nil
            self.sendBye()
            self.terminate(.ackTimeout)
        }
    }

    private func scheduleAnswerRetransmit(interval: TimeAmount, timers: SIPTimers) {
        guard let userAgent else { return }
        answerTimer = userAgent.transactions.schedule(in: interval) { [weak self] in
            guard let self, let pending = self.pendingAnswer, let userAgent = self.userAgent else { return }
            _ = userAgent.transport.send(pending.bytes, to: self.peer)
            self.scheduleAnswerRetransmit(interval: min(interval * 2, timers.t2), timers: timers)
        }
    }

    /// An ACK with this CSeq number: the 2xx it acknowledges (or an older
    /// one it supersedes) needs no more retransmission.
    func ackReceived(cseq: UInt32?, body: [UInt8] = []) {
        guard let pending = pendingAnswer else { return }
        if let cseq, cseq < pending.cseq { return }
        pendingAnswer = nil
        answerTimer?.cancel()
        answerGiveUp?.cancel()
        if let offered = offerInAnswer, cseq == nil || cseq == offered {
            offerInAnswer = nil
            onAckAnswer?(body)
        }
    }

    /// Whether a 2xx still waits for its ACK (tests and leak checks).
    public var isAwaitingAck: Bool { pendingAnswer != nil }

    /// A retransmitted 2xx from the callee gets the same ACK again (§13.2.2.4).
    func resendAck() {
        guard let bytes = ack?.bytes, let userAgent else { return }
        withNextHop { [weak userAgent] hop in _ = userAgent?.transport.send(bytes, to: hop) }
    }

    /// §12.2: a target refresh request (re-INVITE, UPDATE) or its 2xx names
    /// where the peer is now reached.
    func updateRemoteTarget(_ uri: SIPURI) { remoteTarget = uri }
}
