import NIOCore

/// A re-INVITE or UPDATE the peer sent inside a dialog (RFC 3261 §14.2,
/// RFC 3311 §5.2). The application answers it exactly once: `accept` sends
/// the 200 with our SDP (a re-INVITE's 200 is retransmitted until its ACK,
/// §13.3.1.4, and the request's Contact becomes the dialog's remote target,
/// §12.2.2); `reject` leaves the session as it was (§14.2). Requests that
/// overlap an unfinished offer/answer never get here: the dialog answers
/// them 500 or 491 itself. Confined to the user agent's loop.
public final class InDialogOffer: @unchecked Sendable {
    public let transaction: ServerTransaction
    /// The offer; empty for a re-INVITE that asks us to offer (§14.2), whose
    /// answer then comes in the ACK.
    public let body: [UInt8]
    public private(set) var isAnswered = false
    private weak var dialog: Dialog?

    init(transaction: ServerTransaction, dialog: Dialog) {
        self.transaction = transaction
        self.body = transaction.request.body
        self.dialog = dialog
    }

    public var request: SIPRequest { transaction.request }
    public var method: SIPMethod { request.method }

    /// 200 OK with `body` (our answer, or our offer for an offerless
    /// re-INVITE, whose answer the ACK brings to `onAckAnswer`).
    public func accept(body answer: [UInt8], contentType: String = "application/sdp",
                       onAckAnswer: (([UInt8]) -> Void)? = nil) {
        guard !isAnswered, let dialog, let userAgent = dialog.userAgent else { return }
        isAnswered = true
        dialog.incomingOffer = nil
        if let contact = request.headers.contacts.first?.uri { dialog.updateRemoteTarget(contact) }
        dialog.notePeerAllow(request.headers)
        var response = SIPResponse.to(request, statusCode: 200)
        response.headers.add("Contact", "<\(userAgent.contactURI(dialog.transport))>")
        response.headers.add("Allow", SIPUserAgent.allowedMethods)
        // RFC 4028 §9: every accepted re-INVITE or UPDATE is a session refresh.
        let sessionTimer = dialog.answerSessionTimer(request, headers: &response.headers)
        if !answer.isEmpty {
            response.headers.add("Content-Type", contentType)
            response.body = answer
            dialog.localDescription = (answer, contentType)
        }
        transaction.respond(response)
        if method == .invite {
            // An offerless re-INVITE: our 2xx carries the offer, its ACK the answer.
            if body.isEmpty, !answer.isEmpty {
                dialog.offerInAnswer = request.headers.cseq?.sequence ?? 0
                dialog.onAckAnswer = onAckAnswer
            }
            dialog.startAnswerRetransmission(SIPTransportLayer.buffer(.response(response)),
                                             cseq: request.headers.cseq?.sequence ?? 0,
                                             timers: userAgent.transactions.timers)
        }
        if let sessionTimer { dialog.startSessionTimer(sessionTimer) }
    }

    /// A final non-2xx (488 for an offer we cannot take): nothing changes.
    public func reject(_ statusCode: Int, reason: String? = nil) {
        guard !isAnswered else { return }
        isAnswered = true
        dialog?.incomingOffer = nil
        transaction.respond(statusCode, reason: reason)
    }
}

/// Our own re-INVITE or UPDATE (RFC 3261 §14.1, RFC 3311 §5.1), until its
/// final response.
struct OutgoingOffer {
    var method: SIPMethod
    var transaction: ClientTransaction?
}

/// How our own offer in a dialog ended.
public enum OfferOutcome: Sendable {
    /// 2xx: the answer is in the response body (ACK already sent for a re-INVITE).
    case answered(SIPResponse)
    /// 491 (§14.1): both sides offered at once; the caller tries again after
    /// a random wait (2.1–4 s when we own the Call-ID, else 0–2 s).
    case glare
    /// Any other failure; the session stays as it was (a 481 or 408 means the
    /// dialog is gone, and it ends).
    case failed(Int, String)
}

extension Dialog {
    /// A re-INVITE or UPDATE from the peer: overlapping requests are refused
    /// here, the rest go to `onOffer`.
    func receiveOffer(_ transaction: ServerTransaction) {
        let request = transaction.request
        if let limits = sessionLimits(for: request), limits.isTooSmall(request) {
            // RFC 4028 §9: the peer retries with our Min-SE; nothing changes meanwhile.
            return transaction.respond(422, reason: "Session Interval Too Small",
                                       headers: [("Min-SE", "\(limits.minSE)")])
        }
        if request.method == .update && request.body.isEmpty { return acceptRefresh(transaction) }
        if let pending = incomingOffer, !pending.isAnswered {
            // §14.2 / RFC 3311 §5.2: an offer of theirs is still unanswered.
            let wait = Int.random(in: 0...10)
            return transaction.respond(500, reason: "Server Internal Error", headers: [("Retry-After", "\(wait)")])
        }
        if outgoingOffer != nil {
            // Ours is outstanding: glare (§14.2, RFC 3311 §5.2).
            return transaction.respond(491, reason: "Request Pending")
        }
        guard let onOffer else { return transaction.respond(488, reason: "Not Acceptable Here") }
        let offer = InDialogOffer(transaction: transaction, dialog: self)
        incomingOffer = offer
        onOffer(offer)
    }

    /// Sends our offer in a re-INVITE (or an UPDATE) and reports the outcome
    /// once. Refused with `.glare` at once while another offer/answer of this
    /// dialog is unfinished.
    public func sendOffer(_ body: [UInt8], method: SIPMethod = .invite, contentType: String = "application/sdp",
                          completion: @escaping (OfferOutcome) -> Void) {
        sendModification(body, method: method, contentType: contentType, completion: completion)
    }

    /// A re-INVITE or UPDATE of ours: an offer unless it is a bodyless
    /// UPDATE (a session refresh, RFC 4028), which takes no part in
    /// offer/answer and so never meets glare. A 422 is retried once with
    /// the interval it demands (RFC 4028 §7.3).
    func sendModification(_ body: [UInt8], method: SIPMethod, contentType: String, retriedWithMinSE: Bool = false,
                          completion: @escaping (OfferOutcome) -> Void) {
        guard !isTerminated, let userAgent else { return completion(.failed(481, "dialog ended")) }
        let isOffer = method == .invite || !body.isEmpty
        if isOffer, outgoingOffer != nil || incomingOffer.map({ !$0.isAnswered }) == true {
            return completion(.glare)
        }
        var request = makeRequest(method)
        request.headers.add("Contact", "<\(userAgent.contactURI(transport))>")
        request.headers.add("Allow", SIPUserAgent.allowedMethods)
        addSessionTimerHeaders(&request)
        if !body.isEmpty { request.headers.add("Content-Type", contentType) }
        request.body = body
        userAgent.stampVia(&request, transport: transport)
        let sequence = localSeq
        let asked = sessionTimer?.interval
        if isOffer { outgoingOffer = OutgoingOffer(method: method) }
        var reported = false
        withNextHop { [weak self, weak userAgent] hop in
            // The dialog may have ended while its route's name was looked up.
            guard let self, let userAgent, !self.isTerminated, !isOffer || self.outgoingOffer != nil else {
                return completion(.failed(481, "dialog ended"))
            }
            let transaction = userAgent.transactions.send(request, to: hop) { [weak self] event in
                guard let self else { return }
                // A retransmitted 2xx is answered by the user agent from `ack`.
                if reported { return }
                switch event {
                case .response(let response) where response.statusCode < 200:
                    return
                case .response(let response):
                    reported = true
                    if isOffer { self.outgoingOffer = nil }
                    if response.statusCode == 422, !retriedWithMinSE, self.raiseSessionInterval(response) {
                        return self.sendModification(body, method: method, contentType: contentType,
                                                     retriedWithMinSE: true, completion: completion)
                    }
                    self.offerAnswered(response, cseq: sequence, method: method, asked: asked,
                                       sent: (body, contentType), completion: completion)
                case .timeout:
                    reported = true
                    if isOffer { self.outgoingOffer = nil }
                    completion(.failed(408, "Request Timeout"))
                    self.bye()  // §14.1: no response to a re-INVITE ends the dialog.
                case .transportError(let error):
                    reported = true
                    if isOffer { self.outgoingOffer = nil }
                    completion(.failed(503, error))
                }
            }
            if isOffer { self.outgoingOffer?.transaction = transaction }
        }
    }

    private func offerAnswered(_ response: SIPResponse, cseq: UInt32, method: SIPMethod, asked: Int?,
                               sent: (body: [UInt8], contentType: String), completion: (OfferOutcome) -> Void) {
        let code = response.statusCode
        guard (200..<300).contains(code) else {
            if code == 491 { return completion(.glare) }
            completion(.failed(code, response.reasonPhrase))
            // §12.2.1.2: 481 and 408 end the dialog.
            if code == 481 || code == 408 { bye() }
            return
        }
        if let contact = response.headers.contacts.first?.uri { updateRemoteTarget(contact) }
        if method == .invite, let userAgent {
            // §13.2.2.4: the ACK of a 2xx is transaction-less, with the INVITE's CSeq number.
            var ack = makeRequest(.ack)
            ack.headers.set("CSeq", "\(cseq) ACK")
            userAgent.stampVia(&ack, transport: transport)
            self.ack = (cseq, SIPTransportLayer.buffer(.request(ack)))
            resendAck()
        }
        if !sent.body.isEmpty { localDescription = sent }
        sessionRefreshed(response, asked: asked)
        completion(.answered(response))
    }
}
