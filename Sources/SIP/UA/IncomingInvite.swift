import NIOCore

/// A new INVITE as the UAS sees it until it is answered, rejected or
/// cancelled (RFC 3261 §13.3). Answering makes a `Dialog`.
public final class IncomingInvite: @unchecked Sendable {
    public enum State: Sendable, Equatable { case pending, answered, rejected, cancelled }

    public let request: SIPRequest
    public let transaction: ServerTransaction
    /// Our To tag, the same on every response (one dialog per INVITE).
    public let localTag = SIPIdentifiers.tag()
    public private(set) var state = State.pending
    /// The dialog this INVITE's Replaces names (RFC 3891), when it has one.
    public internal(set) weak var replacing: Dialog?
    /// The caller cancelled (487 already sent).
    public var onCancelled: (() -> Void)?
    private weak var userAgent: SIPUserAgent?
    /// RFC 3262: set when the caller requires reliable provisional responses.
    private let reliable: ReliableProvisionals?
    /// An answer whose 2xx waits for a PRACK (RFC 3262 §3).
    private var heldDialog: Dialog?

    init(userAgent: SIPUserAgent, transaction: ServerTransaction) {
        self.userAgent = userAgent
        self.transaction = transaction
        self.request = transaction.request
        if transaction.request.headers.names("100rel") {
            reliable = ReliableProvisionals(transaction: transaction, transactions: userAgent.transactions)
        } else {
            reliable = nil
        }
        reliable?.onGiveUp = { [weak self] in self?.noPrack() }
    }

    /// Whether the caller asked for 100rel: our 1xx are then sent reliably.
    public var sendsReliableProvisionals: Bool { reliable != nil }

    public var source: SIPEndpoint { transaction.source }

    /// 180 Ringing, or 183 Session Progress with early media SDP.
    public func provisional(_ statusCode: Int = 180, body: [UInt8] = [], contentType: String = "application/sdp") {
        guard state == .pending, let userAgent else { return }
        var response = SIPResponse.to(request, statusCode: statusCode, toTag: localTag)
        response.headers.add("Contact", "<\(userAgent.contactURI(source.transport))>")
        if !body.isEmpty {
            response.headers.add("Content-Type", contentType)
            response.body = body
        }
        if let reliable { return reliable.send(response) }
        transaction.respond(response)
    }

    /// Whether the INVITE came without an offer (late offer): the body of
    /// `answer` is then our offer, and the dialog's `onAckAnswer` gets the answer.
    public var isLateOffer: Bool { request.body.isEmpty }

    /// 200 OK with our Contact and the answer; the dialog starts here and the
    /// 2xx is retransmitted until the ACK comes (§13.3.1.4).
    @discardableResult
    public func answer(body: [UInt8], contentType: String = "application/sdp",
                       headers extra: [(String, String)] = []) -> Dialog? {
        guard state == .pending, let userAgent,
              let callID = request.headers.callID, let from = request.headers.from,
              let remoteTag = from.tag, var to = request.headers.to else {
            if state == .pending { reject(400, reason: "Missing From tag") }
            return nil
        }
        state = .answered
        onCancelled = nil  // nothing left to cancel; also breaks the owner's reference cycle
        to.parameters.set("tag", localTag)
        var response = SIPResponse.to(request, statusCode: 200, toTag: localTag)
        for route in request.headers.all("Record-Route") { response.headers.add("Record-Route", route) }
        response.headers.add("Contact", "<\(userAgent.contactURI(source.transport))>")
        response.headers.add("Allow", SIPUserAgent.allowedMethods)
        response.headers.add("Server", userAgent.configuration.userAgent)
        // RFC 4028 §9 (a too small interval got 422 before the application saw the INVITE).
        let sessionLimits = SessionTimerPolicy.limits(userAgent.sessionTimer, for: request)
        let timerAnswer = sessionLimits?.answer(request, initiate: userAgent.sessionTimer != nil)
        for (name, value) in timerAnswer?.headers ?? [] { response.headers.add(name, value) }
        for (name, value) in extra { response.headers.add(name, value) }
        if !body.isEmpty {
            response.headers.add("Content-Type", contentType)
            response.body = body
        }
        let dialog = Dialog(
            id: Dialog.ID(callID: callID, localTag: localTag, remoteTag: remoteTag),
            isCaller: false, local: to, remote: from,
            remoteTarget: request.headers.contacts.first?.uri ?? from.uri,
            routeSet: request.headers.recordRoutes,  // §12.1.1: in order for the UAS
            localSeq: 0, remoteSeq: request.headers.cseq?.sequence,
            peer: transaction.replyTo, userAgent: userAgent)
        userAgent.addDialog(dialog)
        if !body.isEmpty { dialog.localDescription = (body, contentType) }
        // Late offer: no SDP in the INVITE, so ours in the 2xx is the offer.
        if request.body.isEmpty, !body.isEmpty { dialog.offerInAnswer = request.headers.cseq?.sequence ?? 0 }
        dialog.notePeerAllow(request.headers)
        let sendAnswer = { [weak self, weak dialog, weak userAgent] in
            guard let self, let dialog, let userAgent, !dialog.isTerminated else { return }
            self.heldDialog = nil
            if let prackSeq = self.reliable?.lastPrackSeq { dialog.remoteSeq = max(dialog.remoteSeq ?? 0, prackSeq) }
            self.transaction.respond(response)
            dialog.startAnswerRetransmission(SIPTransportLayer.buffer(.response(response)),
                                             cseq: self.request.headers.cseq?.sequence ?? 0,
                                             timers: userAgent.transactions.timers)
            if let timerAnswer {
                dialog.sessionPolicy = sessionLimits
                dialog.startSessionTimer(timerAnswer.timer)
            }
            userAgent.removeIncoming(self)
        }
        if let reliable {
            // Kept known to the user agent until the 2xx is out, so the PRACK finds us.
            heldDialog = dialog
            reliable.answerWhenAllowed(sendAnswer)
        } else {
            sendAnswer()
        }
        return dialog
    }

    /// A PRACK for one of our reliable 1xx (RFC 3262 §3).
    func receivePrack(_ prack: ServerTransaction) {
        guard let reliable else { return prack.respond(481, reason: "Call/Transaction Does Not Exist") }
        reliable.receive(prack, inviteSeq: request.headers.cseq?.sequence ?? 0)
    }

    /// A reliable 1xx was never acknowledged (§3): 504, and a held answer's dialog ends.
    private func noPrack() {
        if let dialog = heldDialog {
            heldDialog = nil
            transaction.respond(504, reason: "Server Time-out", toTag: localTag)
            dialog.terminate(.noPrack)
            userAgent?.removeIncoming(self)
            return
        }
        reject(504, reason: "Server Time-out")
    }

    public func reject(_ statusCode: Int, reason: String? = nil, headers extra: [(String, String)] = []) {
        guard state == .pending else { return }
        state = .rejected
        onCancelled = nil
        reliable?.stop()
        transaction.respond(statusCode, reason: reason, toTag: localTag, headers: extra)
        userAgent?.removeIncoming(self)
    }

    /// CANCEL arrived before a final response (§9.2): 487 and done.
    func cancelled() {
        if let dialog = heldDialog {
            // Cancelled while the 2xx waited for a PRACK: that 2xx never goes.
            heldDialog = nil
            reliable?.stop()
            transaction.respond(487, reason: "Request Terminated", toTag: localTag)
            userAgent?.removeIncoming(self)
            return dialog.terminate(.remoteBye)
        }
        guard state == .pending else { return }
        state = .cancelled
        reliable?.stop()
        transaction.respond(487, reason: "Request Terminated", toTag: localTag)
        userAgent?.removeIncoming(self)
        let callback = onCancelled
        onCancelled = nil
        callback?()
    }
}
