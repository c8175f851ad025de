import NIOCore

// A dialog's session timer (RFC 4028 §10): the refresher sends a re-INVITE
// or UPDATE at half the interval; the other side hangs up when none comes.
// Any re-INVITE or UPDATE either way that gets a 2xx is a refresh and
// re-arms it. Timers run on the transaction layer's clock, like the 2xx
// retransmission, and `terminate` stops them.
extension Dialog {
    func startSessionTimer(_ timer: SessionTimer) {
        stopSessionTimer()
        sessionTimer = timer
        guard !isTerminated, let userAgent else { return }
        let interval = Int64(timer.interval) * 1000
        if timer.isLocalRefresher {
            scheduleRefresh(in: .milliseconds(interval / 2))
        } else {
            // §10: BYE slightly before the expiry, by the minimum of 32 s and
            // a third of the interval, so our BYE does not race the refresh.
            let margin = min(32_000, interval / 3)
            expiryTask = userAgent.transactions.schedule(in: .milliseconds(interval - margin)) { [weak self] in
                self?.sessionExpired()
            }
        }
    }

    func stopSessionTimer() {
        refreshTask?.cancel()
        expiryTask?.cancel()
        refreshTask = nil
        expiryTask = nil
    }

    private func scheduleRefresh(in delay: TimeAmount) {
        refreshTask?.cancel()
        refreshTask = userAgent?.transactions.schedule(in: delay) { [weak self] in self?.refreshSession() }
    }

    private func sessionExpired() {
        guard !isTerminated else { return }
        sendBye()
        terminate(.sessionExpired)
    }

    /// A bodyless UPDATE where the peer allows it: no offer, so no glare
    /// and no media work on either side (RFC 4028 takes either method).
    /// Otherwise a re-INVITE repeats our last description unchanged
    /// (RFC 3264 §8: the same version changes nothing).
    private func refreshSession() {
        refreshTask = nil
        guard !isTerminated, sessionTimer?.isLocalRefresher == true else { return }
        if let description = localDescription, !peerAllowsUpdate {
            sendModification(description.body, method: .invite, contentType: description.contentType,
                             completion: refreshed(by: .invite))
        } else {
            sendModification([], method: .update, contentType: "", completion: refreshed(by: .update))
        }
    }

    /// A 2xx has re-armed the timer already (`sessionRefreshed`); 408 and
    /// 481 have ended the dialog. What is left is tried again.
    private func refreshed(by method: SIPMethod) -> (OfferOutcome) -> Void {
        { [weak self] outcome in
            guard let self, !self.isTerminated, let timer = self.sessionTimer, timer.isLocalRefresher else { return }
            switch outcome {
            case .answered:
                return
            case .glare:
                self.scheduleRefresh(in: self.glareWait)
            case .failed(let code, _) where method == .update && (code == 405 || code == 501)
                && self.localDescription != nil:
                // Its Allow said UPDATE, or it said nothing: re-INVITE from now on.
                self.peerAllowsUpdate = false
                self.refreshSession()
            case .failed:
                // The peer answered, so it is there; the next cycle tries again.
                self.scheduleRefresh(in: .milliseconds(Int64(timer.interval) * 500))
            }
        }
    }

    /// RFC 3261 §14.1: after 491, 2.1–4 s when we own the Call-ID, else 0–2 s.
    var glareWait: TimeAmount {
        .milliseconds(isCaller ? Int64.random(in: 2100...4000) : Int64.random(in: 0...2000))
    }

    // MARK: our requests

    /// §7.4: a refresh restates the interval and keeps the refresher (in our
    /// request, `uac` is us), with the Min-SE we insist on.
    func addSessionTimerHeaders(_ request: inout SIPRequest) {
        guard let timer = sessionTimer, let policy = sessionPolicy else { return }
        let refresher: SessionRefresher = timer.isLocalRefresher ? .uac : .uas
        request.headers.add("Session-Expires", SessionExpires(interval: timer.interval, refresher: refresher).description)
        // A Min-SE above the interval would contradict it (a peer granted us less).
        if policy.minSE <= timer.interval { request.headers.add("Min-SE", "\(policy.minSE)") }
        request.headers.add("Supported", "timer")
    }

    /// A 422 to our re-INVITE or UPDATE: ask again with its Min-SE (§7.1).
    /// False when it names none we could use.
    func raiseSessionInterval(_ response: SIPResponse) -> Bool {
        guard var timer = sessionTimer, let policy = sessionPolicy, let demanded = response.headers.minSE,
              demanded > timer.interval else { return false }
        sessionPolicy = policy.raised(toMinSE: demanded)
        timer.interval = demanded
        sessionTimer = timer
        return true
    }

    /// A 2xx to our re-INVITE or UPDATE sent while a timer ran with `asked`
    /// seconds: a refresh (§7.2), whatever else it did.
    func sessionRefreshed(_ response: SIPResponse, asked: Int?) {
        notePeerAllow(response.headers)
        guard let asked, !isTerminated else { return }
        startSessionTimer(SessionTimerPolicy.timer(from: response, asked: asked))
    }

    // MARK: the peer's requests

    /// The policy a re-INVITE or UPDATE of the peer is judged by.
    func sessionLimits(for request: SIPRequest) -> SessionTimerPolicy? {
        SessionTimerPolicy.limits(sessionPolicy, for: request)
    }

    /// The session timer fields of our 2xx to the peer's re-INVITE or UPDATE
    /// (§9), added to `headers`; returns the timer to start once it is sent.
    func answerSessionTimer(_ request: SIPRequest, headers: inout SIPHeaders) -> SessionTimer? {
        guard let limits = sessionLimits(for: request),
              let answer = limits.answer(request, initiate: sessionPolicy != nil, running: sessionTimer)
        else { return nil }
        sessionPolicy = limits
        for (name, value) in answer.headers { headers.add(name, value) }
        return answer.timer
    }

    /// A bodyless UPDATE is no offer (RFC 3311 §5.2): a refresh, or a new
    /// target, that we answer ourselves without asking the application.
    func acceptRefresh(_ transaction: ServerTransaction) {
        guard let userAgent else { return }
        let request = transaction.request
        if let contact = request.headers.contacts.first?.uri { updateRemoteTarget(contact) }
        notePeerAllow(request.headers)
        var response = SIPResponse.to(request, statusCode: 200)
        response.headers.add("Contact", "<\(userAgent.contactURI(transport))>")
        response.headers.add("Allow", SIPUserAgent.allowedMethods)
        let timer = answerSessionTimer(request, headers: &response.headers)
        transaction.respond(response)
        if let timer { startSessionTimer(timer) }
    }

    /// An Allow of the peer's, in a request or a 2xx: whether it takes UPDATE.
    func notePeerAllow(_ headers: SIPHeaders) {
        guard headers.contains("Allow") else { return }
        peerAllowsUpdate = headers.all("Allow").contains { $0.uppercased() == "UPDATE" }
    }
}
