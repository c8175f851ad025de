import NIOCore

/// Digest credentials for a peer that challenges us.
public struct SIPCredentials: Sendable, CustomStringConvertible {
    public var username: String
    public var password: String
    /// When set, only challenges for this realm are answered.
    public var realm: String?

    public init(username: String, password: String, realm: String? = nil) {
        self.username = username
        self.password = password
        self.realm = realm
    }

    public var description: String { "SIPCredentials(\(username), password: <redacted>)" }
}

/// How an INVITE we sent ended before or at answer.
public struct CallFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var statusCode: Int
    public var reason: String
    /// Nothing at all came back (`responseTimeout`): the peer is silent.
    public var noResponse = false
    public init(statusCode: Int, reason: String, noResponse: Bool = false) {
        self.statusCode = statusCode
        self.reason = reason
        self.noResponse = noResponse
    }
    public var description: String { "\(statusCode) \(reason)" }
}

/// An INVITE as the UAC sees it until answered or failed (RFC 3261 §13.2):
/// digest challenges answered (§22.2), CANCEL when asked (§9.1), ACK for the
/// 2xx (§13.2.2.4), and exactly one of `.answered` or `.failed` reported.
public final class OutgoingInvite: @unchecked Sendable {
    public enum Event: Sendable {
        /// 180/183; early media SDP, if any, is in the body.
        case provisional(SIPResponse)
        case answered(SIPResponse, Dialog)
        case failed(CallFailure)
    }

    /// RFC 3262 toward this peer: `supported` lets it send reliable 1xx,
    /// `required` insists (some carriers send early media only then).
    public enum ReliableProvisionals: String, Sendable { case off, supported, required }

    public struct Parameters: Sendable {
        public var requestURI: SIPURI
        public var from: NameAddress
        public var to: NameAddress
        public var destination: SIPEndpoint
        public var body: [UInt8]
        public var contentType: String
        public var headers: [(String, String)]
        public var credentials: SIPCredentials?
        /// CANCEL and report 408 when no final response came in this time.
        public var ringTimeout: TimeAmount?
        /// Report 408 when no response at all (not even 100 Trying) came in
        /// this time, long before Timer B: the peer is not there, and the
        /// caller can try the next one (Kamailio's fr_timer does the same).
        public var responseTimeout: TimeAmount?
        /// Session timer (RFC 4028) for this call, e.g. a trunk's own interval.
        public var sessionTimer: SessionTimerSetting
        /// 100rel in our INVITE (RFC 3262 §4).
        public var reliableProvisionals: ReliableProvisionals = .supported

        public init(requestURI: SIPURI, from: NameAddress, to: NameAddress, destination: SIPEndpoint,
                    body: [UInt8] = [], contentType: String = "application/sdp",
                    headers: [(String, String)] = [], credentials: SIPCredentials? = nil,
                    ringTimeout: TimeAmount? = nil, responseTimeout: TimeAmount? = nil,
                    sessionTimer: SessionTimerSetting = .userAgentDefault) {
            self.requestURI = requestURI
            self.from = from
            self.to = to
            self.destination = destination
            self.body = body
            self.contentType = contentType
            self.headers = headers
            self.credentials = credentials
            self.ringTimeout = ringTimeout
            self.responseTimeout = responseTimeout
            self.sessionTimer = sessionTimer
        }
    }

    public let parameters: Parameters
    public let callID = SIPIdentifiers.callID()
    public let localTag = SIPIdentifiers.tag()
    private weak var userAgent: SIPUserAgent?
    private var onEvent: ((Event) -> Void)?
    private var cseq: UInt32 = 1
    private var current: SIPRequest?
    private var transaction: ClientTransaction?
    private var digest = DigestClient()
    /// Authorization headers by realm, carried on every retry.
    private var authorizations: [(realm: String, name: String, value: String, nonce: String)] = []
    private var gotProvisional = false
    private var cancelRequested = false
    private var cancelSent = false
    private var finished = false
    private var ringTimer: SIPTimer?
    private var responseTimer: SIPTimer?
    private var dialog: Dialog?
    /// What we ask for (RFC 4028 §7.1), raised once by a 422 (§7.3).
    private var sessionPolicy: SessionTimerPolicy?
    private var raisedForMinSE = false
    /// RFC 3262 §4, per early dialog (the 1xx's To tag): the RSeq last
    /// acknowledged, and the requests (PRACKs) made in it.
    private var earlyDialogs: [String: (rseq: UInt32, dialog: Dialog)] = [:]
    /// The highest CSeq number used so far, PRACKs included.
    private var highestSeq: UInt32 = 1

    init(userAgent: SIPUserAgent, parameters: Parameters, onEvent: @escaping (Event) -> Void) {
        self.userAgent = userAgent
        self.parameters = parameters
        self.onEvent = onEvent
        switch parameters.sessionTimer {
        case .userAgentDefault: sessionPolicy = userAgent.sessionTimer
        case .off: sessionPolicy = nil
        case .on(let policy): sessionPolicy = policy
        }
    }

    func start() {
        guard let userAgent else { return }
        userAgent.addOutgoing(self)
        if let timeout = parameters.ringTimeout {
            ringTimer = userAgent.transactions.schedule(in: timeout) { [weak self] in
                self?.ringTimedOut()
            }
        }
        if let timeout = parameters.responseTimeout {
            responseTimer = userAgent.transactions.schedule(in: timeout) { [weak self] in
                self?.responseTimedOut(after: timeout)
            }
        }
        sendInvite()
    }

    private func sendInvite() {
        guard let userAgent else { return }
        earlyDialogs = [:]  // a new INVITE: its reliable 1xx count afresh
        var headers = SIPHeaders()
        headers.add("Max-Forwards", "70")
        var from = parameters.from
        from.parameters.set("tag", localTag)
        headers.add("From", from.description)
        headers.add("To", parameters.to.description)
        headers.add("Call-ID", callID)
        headers.add("CSeq", "\(cseq) INVITE")
        headers.add("Contact", "<\(userAgent.contactURI(parameters.destination.transport))>")
        headers.add("Allow", SIPUserAgent.allowedMethods)
        for (name, value) in parameters.headers { headers.add(name, value) }
        if let sessionPolicy { Self.addSessionTimer(sessionPolicy, to: &headers) }
        switch parameters.reliableProvisionals {
        case .off: break
        case .supported: Self.addOptionTag("100rel", to: "Supported", in: &headers)
        case .required: Self.addOptionTag("100rel", to: "Require", in: &headers)
        }
        for authorization in authorizations { headers.add(authorization.name, authorization.value) }
        if !parameters.body.isEmpty { headers.add("Content-Type", parameters.contentType) }
        var request = SIPRequest(method: .invite, uri: parameters.requestURI, headers: headers, body: parameters.body)
        userAgent.stampVia(&request, transport: parameters.destination.transport)
        current = request
        transaction = userAgent.transactions.send(request, to: parameters.destination) { [weak self] event in
            self?.handle(event)
        }
    }

    private func handle(_ event: ClientTransactionEvent) {
        switch event {
        case .timeout:
            fail(408, cancelRequested ? "Request Terminated" : "Request Timeout")
        case .transportError(let error):
            fail(503, "Transport error: \(error)")
        case .response(let response):
            handle(response)
        }
        cleanupIfDone()
    }

    private func handle(_ response: SIPResponse) {
        let code = response.statusCode
        switch code {
        case 100..<200:
            gotProvisional = true
            responseTimer?.cancel()
            if cancelRequested && !cancelSent { sendCancel() }
            guard code > 100, !finished else { return }
            if response.headers.names("100rel"), !acknowledgeReliable(response) { return }
            onEvent?(.provisional(response))
        case 200..<300:
            answered(response)
        case 401, 407:
            if !finished, !cancelRequested, retryWithCredentials(response) { return }
            fail(code, response.reasonPhrase)
        case 422:
            if !finished, !cancelRequested, retryWithMinSE(response) { return }
            fail(code, response.reasonPhrase)
        default:
            fail(code, response.reasonPhrase)
        }
    }

    /// Answers the challenge in a new INVITE with the next CSeq (§22.2).
    /// Gives up when a realm's credentials were already refused and the
    /// server does not say the nonce was merely stale.
    private func retryWithCredentials(_ response: SIPResponse) -> Bool {
        guard let credentials = parameters.credentials, let request = current else { return false }
        let headerName = response.statusCode == 407 ? "Proxy-Authenticate" : "WWW-Authenticate"
        let authorizationName = response.statusCode == 407 ? "Proxy-Authorization" : "Authorization"
        let challenges = response.headers.all(headerName).flatMap { DigestChallenge.parseAll($0) }
            .filter { credentials.realm == nil || $0.realm == credentials.realm }
        guard let challenge = DigestClient.choose(challenges) else { return false }
        if let previous = authorizations.firstIndex(where: { $0.realm == challenge.realm && $0.name == authorizationName }) {
            // Same realm again: wrong credentials, unless the nonce went stale.
            guard challenge.stale, authorizations[previous].nonce != challenge.nonce else { return false }
            authorizations.remove(at: previous)
        }
        guard authorizations.count < 4,
              let value = try? digest.authorization(for: challenge, method: "INVITE", uri: request.uri.description,
                                                    username: credentials.username, password: credentials.password,
                                                    body: request.body) else { return false }
        authorizations.append((challenge.realm, authorizationName, value, challenge.nonce))
        cseq = max(cseq, highestSeq) + 1
        highestSeq = cseq
        sendInvite()
        return true
    }

    /// §7.1: Supported: timer (merged with the application's), the interval
    /// we want and our Min-SE. No refresher parameter: §7.1 leaves the choice
    /// to the UAS, so a trunk that insists on refreshing itself (many SBCs
    /// do) can, and the dialog follows whatever the 2xx says.
    private static func addSessionTimer(_ policy: SessionTimerPolicy, to headers: inout SIPHeaders) {
        addOptionTag("timer", to: "Supported", in: &headers)
        guard !headers.contains("Session-Expires") else { return }  // the application chose its own
        headers.add("Session-Expires", "\(policy.interval)")
        headers.add("Min-SE", "\(policy.minSE)")
    }

    private static func addOptionTag(_ tag: String, to name: String, in headers: inout SIPHeaders) {
        var tags = headers.all(name)
        if !tags.contains(where: { $0.lowercased() == tag }) { tags.append(tag) }
        headers.set(name, tags.joined(separator: ", "))
    }

    /// A reliable 1xx (RFC 3262 §4): PRACKed once, in its early dialog, and
    /// passed on; a retransmission or one out of order is dropped (false).
    /// One without a valid RSeq is taken as an unreliable 1xx.
    private func acknowledgeReliable(_ response: SIPResponse) -> Bool {
        guard let userAgent, let rseq = response.headers.rseq, let to = response.headers.to, let tag = to.tag
        else { return true }
        let early: Dialog
        if let known = earlyDialogs[tag] {
            guard rseq == known.rseq &+ 1 else { return false }
            early = known.dialog
        } else {
            var from = parameters.from
            from.parameters.set("tag", localTag)
            early = Dialog(
                id: Dialog.ID(callID: callID, localTag: localTag, remoteTag: tag), isCaller: true,
                local: from, remote: to, remoteTarget: response.headers.contacts.first?.uri ?? parameters.requestURI,
                routeSet: response.headers.recordRoutes.reversed(), localSeq: max(cseq, highestSeq), remoteSeq: nil,
                peer: parameters.destination, userAgent: userAgent)
        }
        earlyDialogs[tag] = (rseq, early)
        var prack = early.makeRequest(.prack)
        highestSeq = max(highestSeq, early.localSeq)
        prack.headers.add("RAck", "\(rseq) \(cseq) INVITE")
        userAgent.stampVia(&prack, transport: parameters.destination.transport)
        early.withNextHop { [weak userAgent] hop in userAgent?.transactions.send(prack, to: hop) { _ in } }
        return true
    }

    /// A 422 (RFC 4028 §7.3): once, a new INVITE with the next CSeq asking
    /// for the Min-SE it names, as for a digest challenge.
    private func retryWithMinSE(_ response: SIPResponse) -> Bool {
        guard !raisedForMinSE, let policy = sessionPolicy, let demanded = response.headers.minSE,
              demanded > policy.interval else { return false }
        raisedForMinSE = true
        sessionPolicy = policy.raised(toMinSE: demanded)
        cseq = max(cseq, highestSeq) + 1
        highestSeq = cseq
        sendInvite()
        return true
    }

    private func answered(_ response: SIPResponse) {
        guard let userAgent, let request = current else { return }
        guard let remoteTag = response.headers.to?.tag, let to = response.headers.to else {
            fail(502, "2xx without To tag")
            return
        }
        if let dialog {
            // A retransmission of the same 2xx, or a second fork (ACK, then BYE).
            if dialog.id.remoteTag == remoteTag { dialog.resendAck(); return }
            let fork = makeDialog(response, to: to, remoteTag: remoteTag, request: request, userAgent: userAgent)
            fork.bye()
            return
        }
        let dialog = makeDialog(response, to: to, remoteTag: remoteTag, request: request, userAgent: userAgent)
        self.dialog = dialog
        if finished || cancelRequested {
            // Cancelled or timed out while the 2xx was on its way (§9.1: the
            // 2xx won the race with our CANCEL): acknowledged, then ended.
            dialog.bye()
            fail(487, "Request Terminated")
            return
        }
        dialog.notePeerAllow(response.headers)
        if !parameters.body.isEmpty { dialog.localDescription = (parameters.body, parameters.contentType) }
        // A UAS may start a timer we did not ask for (RFC 4028 §9); it is followed.
        if let policy = sessionPolicy ?? (response.headers.sessionExpires != nil ? SessionTimerPolicy() : nil) {
            dialog.sessionPolicy = policy
            dialog.startSessionTimer(SessionTimerPolicy.timer(from: response, asked: policy.interval))
        }
        finish()
        onEvent?(.answered(response, dialog))
        onEvent = nil
    }

    private func makeDialog(_ response: SIPResponse, to: NameAddress, remoteTag: String,
                            request: SIPRequest, userAgent: SIPUserAgent) -> Dialog {
        var from = parameters.from
        from.parameters.set("tag", localTag)
        let dialog = Dialog(
            id: Dialog.ID(callID: callID, localTag: localTag, remoteTag: remoteTag),
            isCaller: true, local: from, remote: to,
            remoteTarget: response.headers.contacts.first?.uri ?? parameters.requestURI,
            routeSet: response.headers.recordRoutes.reversed(),  // §12.1.2: reversed for the UAC
            localSeq: max(cseq, highestSeq), remoteSeq: nil, peer: parameters.destination, userAgent: userAgent)
        userAgent.addDialog(dialog)
        // §13.2.2.4: the ACK is a new transaction-less request with the INVITE's CSeq number.
        var ack = dialog.makeRequest(.ack)
        ack.headers.set("CSeq", "\(cseq) ACK")
        for authorization in authorizations { ack.headers.add(authorization.name, authorization.value) }
        userAgent.stampVia(&ack, transport: parameters.destination.transport)
        dialog.ack = (cseq, SIPTransportLayer.buffer(.request(ack)))
        dialog.resendAck()
        return dialog
    }

    /// Hang up before answer (CANCEL) or after (BYE).
    public func cancel() {
        if let dialog, !dialog.isTerminated { dialog.bye(); return }
        guard !finished, !cancelRequested else { return }
        cancelRequested = true
        if gotProvisional {
            sendCancel()
        } else {
            // §9.1: no CANCEL before a provisional response. Report now; a
            // later 1xx still gets its CANCEL, a later 2xx its ACK and BYE.
            fail(487, "Request Terminated")
        }
        cleanupIfDone()
    }

    private func sendCancel() {
        guard let userAgent, let request = current, !cancelSent else { return }
        cancelSent = true
        var headers = SIPHeaders()
        if let via = request.headers.all("Via").first { headers.add("Via", via) }
        headers.add("Max-Forwards", "70")
        for route in request.headers.all("Route") { headers.add("Route", route) }
        for name in ["From", "To", "Call-ID"] { if let value = request.headers[name] { headers.add(name, value) } }
        headers.add("CSeq", "\(cseq) CANCEL")
        let cancel = SIPRequest(method: .cancel, uri: request.uri, headers: headers)
        userAgent.transactions.send(cancel, to: parameters.destination) { _ in }
        // §9.1: if the INVITE still has no final response 64·T1 after the
        // CANCEL, the transaction is abandoned rather than kept forever.
        let invite = transaction
        _ = userAgent.transactions.schedule(in: userAgent.transactions.timers.transactionTimeout) { [weak self] in
            guard let invite, invite.state == .calling || invite.state == .proceeding else { return }
            invite.terminate()
            self?.fail(487, "Request Terminated")
            self?.cleanupIfDone()
        }
    }

    /// Nothing came back: reported now. The INVITE is not abandoned (a late
    /// 1xx still gets its CANCEL, a late 2xx its ACK and BYE).
    private func responseTimedOut(after timeout: TimeAmount) {
        guard !finished, !gotProvisional else { return }
        cancelRequested = true
        fail(408, "No response in \(timeout.nanoseconds / 1_000_000) ms", noResponse: true)
    }

    private func ringTimedOut() {
        guard !finished else { return }
        cancelRequested = true
        if gotProvisional { sendCancel() }
        fail(408, "No Answer")
    }

    private func fail(_ code: Int, _ reason: String, noResponse: Bool = false) {
        guard !finished else { return }
        finish()
        let callback = onEvent
        onEvent = nil
        callback?(.failed(CallFailure(statusCode: code, reason: reason, noResponse: noResponse)))
    }

    private func finish() {
        finished = true
        ringTimer?.cancel()
        responseTimer?.cancel()
    }

    /// The session stays known to the user agent while its INVITE transaction
    /// can still bring a 1xx (owed a CANCEL) or a 2xx (owed an ACK and BYE).
    private func cleanupIfDone() {
        guard finished else { return }
        if let transaction, transaction.state == .calling || transaction.state == .proceeding { return }
        userAgent?.removeOutgoing(self)
    }
}

extension SIPUserAgent {
    /// Places an INVITE. Events arrive on the user agent's event loop.
    @discardableResult
    public func invite(_ parameters: OutgoingInvite.Parameters,
                       onEvent: @escaping (OutgoingInvite.Event) -> Void) -> OutgoingInvite {
        let session = OutgoingInvite(userAgent: self, parameters: parameters, onEvent: onEvent)
        eventLoop.preconditionInEventLoop()
        session.start()
        return session
    }
}
