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
    /// The caller cancelled (487 already sent).
    public var onCancelled: (() -> Void)?
    private weak var userAgent: SIPUserAgent?

    init(userAgent: SIPUserAgent, transaction: ServerTransaction) {
        self.userAgent = userAgent
        self.transaction = transaction
        self.request = transaction.request
    }

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
        transaction.respond(response)
    }

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
        dialog.notePeerAllow(request.headers)
        transaction.respond(response)
        dialog.startAnswerRetransmission(SIPTransportLayer.buffer(.response(response)),
                                         cseq: request.headers.cseq?.sequence ?? 0, timers: userAgent.transactions.timers)
        if let timerAnswer {
            dialog.sessionPolicy = sessionLimits
            dialog.startSessionTimer(timerAnswer.timer)
        }
        userAgent.removeIncoming(self)
        return dialog
    }

    public func reject(_ statusCode: Int, reason: String? = nil, headers extra: [(String, String)] = []) {
        guard state == .pending else { return }
        state = .rejected
        onCancelled = nil
        transaction.respond(statusCode, reason: reason, toTag: localTag, headers: extra)
        userAgent?.removeIncoming(self)
    }

    /// CANCEL arrived before a final response (§9.2): 487 and done.
    func cancelled() {
        guard state == .pending else { return }
        state = .cancelled
        transaction.respond(487, reason: "Request Terminated", toTag: localTag)
        userAgent?.removeIncoming(self)
        let callback = onCancelled
        onCancelled = nil
        callback?()
    }
}
