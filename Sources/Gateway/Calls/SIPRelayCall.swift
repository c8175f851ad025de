import Config
import Dialplan
import Logging
import Media
import NIOCore
import SDP
import SIP

/// A trunk's call the dialplan sends out again to a trunk or a SIP URI
/// (`bridge(..., {relay = true})`): an SBC-style bridge of two SIP
/// dialogs with the media anchored in the gateway (`RelayEndpoint`:
/// passthrough when both legs agree on a codec, G.711 transcoded between
/// its laws when not).
///
/// The caller's offer makes the callee's; the callee's answer (in a 183 or
/// the 200) makes the caller's, sent in a 183 (early media) or the 200.
/// A failed attempt goes back to the dialplan, which may try another
/// target with the same media (failover) as long as the caller has heard
/// no early media. Either side's BYE ends the other; a CANCEL from the
/// caller cancels the callee's INVITE. Offers inside the call (hold, a new
/// address, session refreshes) are answered on the leg that made them,
/// with the codec agreed at the start.
///
/// All state is one `State` in a box bound to the call's loop.
final class SIPRelayCall: Sendable {
    enum Phase {
        /// The dialplan decides, or the target's address is looked up.
        case routing
        /// The relay's media is being made.
        case preparingMedia
        /// The INVITE toward the callee is out.
        case dialing(OutgoingInvite)
        /// The callee answered; the caller's answer is being made.
        case answering(callee: Dialog)
        case talking(caller: Dialog, callee: Dialog)
        case ended
    }

    struct State {
        var phase = Phase.routing
        var run: DialplanRun?
        var media: (any RelayEndpoint)?
        /// Our offer toward callees (made once from the caller's offer).
        var calleeOffer: CalleeOffer?
        /// Our answer for the caller, once a callee's answer made it.
        var callerAnswer: [UInt8]?
        /// The caller heard our answer in a 183 (no failover after that).
        var earlyMedia = false
        var attempts = 0
        var recorder: CallRecorder?
    }

    static let maximumAttempts = 16

    /// Our offer toward callees, and the codecs it was made for (a failover
    /// to a trunk with other codecs gets an offer of its own).
    struct CalleeOffer {
        var codecs: [PhoneCodec]
        var body: [UInt8]
    }

    let environment: any CallEnvironment
    let invite: IncomingInvite
    let sourceTrunk: TrunkConfig?
    let calledNumber: String
    let logger: Logger
    let state: NIOLoopBoundBox<State>

    init(environment: any CallEnvironment, invite: IncomingInvite, trunk: TrunkConfig?, calledNumber: String,
         run: DialplanRun, logger: Logger) {
        self.environment = environment
        self.invite = invite
        sourceTrunk = trunk
        self.calledNumber = calledNumber
        self.logger = logger
        var first = State()
        first.run = run
        state = NIOLoopBoundBox(first, eventLoop: environment.loop)
    }

    var loop: any EventLoop { environment.loop }
    var isEnded: Bool { if case .ended = state.value.phase { true } else { false } }
    private var address: String { environment.publicMediaAddress }

    /// Takes over the trunk's call at the dialplan's first relayed bridge.
    func start(_ step: DialplanStep) {
        environment.callStarted(self)
        state.value.recorder = CallRecorder(
            store: environment.recordStore, instance: environment.config.records.instanceName,
            callID: invite.request.headers.callID ?? "", direction: .trunkToTrunk,
            from: invite.request.headers.from?.uri.user ?? "", to: calledNumber, user: nil, trunk: sourceTrunk?.name,
            sipCallID: invite.request.headers.callID)
        invite.onCancelled = { [self] in finish(code: 487, reason: "the caller cancelled") }
        perform(step)
    }

    /// Carries out what the dialplan asks, until it waits or the call ends.
    func perform(_ first: DialplanStep) {
        var step = first
        while !isEnded, let run = state.value.run {
            switch step {
            case .bridge(let target, let options) where options.relay && target.isSIP:
                state.value.attempts += 1
                guard state.value.attempts <= Self.maximumAttempts else {
                    logger.error("dialplan tried more than \(Self.maximumAttempts) bridges; ending the call")
                    return finish(code: 500, reason: "too many bridge attempts")
                }
                switch self.target(target, options: options) {
                case .success(let (trunk, number)): return bridge(trunk: trunk, number: number, options: options)
                case .failure(let failure):
                    step = run.resume(.bridged(code: failure.code, reason: failure.reason, answered: false))
                }
            case .bridge(.user, _):
                // A relay attempt failed; the browser leg takes the caller over.
                return handOverToUser(step)
            case .bridge:
                step = run.resume(.bridged(code: 403, reason: "calls from trunks are not sent out again",
                                           answered: false))
            case .hangup(let code, let reason):
                return finish(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code))
            case .finished:
                let (code, reason) = run.fallbackResponse
                return finish(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code))
            case .failed(let error):
                logger.error("dialplan failed: \(error)")
                return finish(code: 500, reason: "Dialplan Error")
            case .answer, .play, .echo, .collectDigits:
                return finish(code: 501, reason: "Not Implemented")
            }
        }
    }

    private func target(_ target: BridgeTarget, options: BridgeOptions) -> Result<(TrunkConfig, String), TransferFailure> {
        switch target {
        case .trunk(let name, let number):
            guard let trunk = environment.config.trunk(named: name) else {
                return .failure(TransferFailure(code: 404, reason: "no trunk named \(name)"))
            }
            return .success((trunk, number))
        case .uri(let text):
            guard let direct = BrowserOriginatedCall.directTarget(text, publicAddress: environment.config.sip.publicAddress) else {
                return .failure(TransferFailure(code: 416, reason: "not a SIP URI with a user and a host: \(text)"))
            }
            return .success(direct)
        case .user:
            return .failure(TransferFailure(code: 501, reason: "a user is not relayed"))
        }
    }

    // MARK: the callee

    private func bridge(trunk: TrunkConfig, number: String, options: BridgeOptions) {
        // The relay's legs are plain RTP: a trunk that insists on SRTP is not given a plain call.
        if trunk.mediaEncryption == .required || sourceTrunk?.mediaEncryption == .required {
            let which = trunk.mediaEncryption == .required ? trunk.name : sourceTrunk?.name ?? "?"
            return attemptFailed(code: 488, reason: "trunk \(which) requires SRTP, which a relayed call does not carry yet")
        }
        logger.info("relaying the trunk's call to \(number) via \(trunk.name)")
        let direct = environment.config.trunk(named: trunk.name) == nil
        state.value.recorder?.routed(to: direct ? trunk.name : number, trunk: direct ? nil : trunk.name, sipCallID: nil)
        withOffer(codecs: BrowserOriginatedCall.phoneCodecs(trunk: trunk, options: options)) { [self] offer in
            environment.endpoint(for: trunk).whenComplete { [self] result in
                guard case .routing = state.value.phase, !isEnded else { return }
                switch result {
                case .success(let endpoint): dial(endpoint, trunk: trunk, number: number, options: options, offer: offer)
                case .failure(let error): attemptFailed(code: 503, reason: "trunk \(trunk.name) cannot be reached: \(error)")
                }
            }
        }
    }

    /// The relay's media and our offer toward callees, made once.
    private func withOffer(codecs: [PhoneCodec], _ next: @escaping ([UInt8]) -> Void) {
        if let offer = state.value.calleeOffer, offer.codecs == codecs { return next(offer.body) }
        // No body at all is a late offer (RFC 3261 §13.2.1): the callee is
        // offered every allowed codec, and the caller our offer in the 200.
        let callerOffer: SessionDescription?
        if invite.isLateOffer {
            callerOffer = nil
        } else if let text = String(validating: invite.request.body, as: UTF8.self),
                  let parsed = try? SessionDescription.parse(text) {
            callerOffer = parsed
        } else {
            return finish(code: 488, reason: "a call without a usable SDP offer cannot be relayed")
        }
        if let existing = state.value.media { return offer(from: existing, callerOffer: callerOffer, codecs: codecs, next) }
        state.value.phase = .preparingMedia
        let next = LoopBound(next)
        environment.makeRelay().whenComplete { [self] result in
            switch result {
            case .success(let media) where isEnded:
                media.close(reason: "call ended", on: loop) { _ in }
            case .success(let media):
                state.value.media = media
                state.value.phase = .routing
                offer(from: media, callerOffer: callerOffer, codecs: codecs, next.value)
            case .failure:
                finish(code: 503, reason: "no media ports free")
            }
        }
    }

    private func offer(from media: any RelayEndpoint, callerOffer: SessionDescription?, codecs: [PhoneCodec],
                       _ next: ([UInt8]) -> Void) {
        do {
            let offer = if let callerOffer {
                try media.calleeOffer(callerOffer: callerOffer, address: address, allowed: codecs)
            } else {
                try media.calleeOfferWithoutCallerOffer(address: address, allowed: codecs)
            }
            let body = Array(offer.serialize().utf8)
            state.value.calleeOffer = CalleeOffer(codecs: codecs, body: body)
            next(body)
        } catch {
            // A later target whose codecs cannot reach the caller's is that
            // attempt's failure; the first one's is the call's.
            if state.value.calleeOffer != nil { return attemptFailed(code: 488, reason: "\(error)") }
            finish(code: 488, reason: "\(error)")
        }
    }

    private func dial(_ endpoint: SIPEndpoint, trunk: TrunkConfig, number: String, options: BridgeOptions,
                      offer: [UInt8]) {
        let from = invite.request.headers.from
        var parameters = environment.inviteParameters(trunk: trunk, endpoint: endpoint, number: number,
                                                      callerID: options.callerID ?? from?.uri.user, body: offer)
        parameters.present(callerName: options.callerName ?? from?.displayName, privacy: options.privacy,
                           asserted: trunk.assertedIdentity)
        if let seconds = options.ringTimeout { parameters.ringTimeout = .milliseconds(Int64(seconds * 1000)) }
        parameters.headers += options.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let outgoing = environment.userAgent.invite(parameters) { [self] event in
            switch event {
            case .provisional(let response): provisional(response)
            case .answered(let response, let dialog): answered(response, dialog: dialog)
            case .failed(let failure) where failure.noResponse:
                let silence = TimeAmount(trunk.responseTimeout).nanoseconds / 1_000_000
                attemptFailed(code: 408, reason: "no response from trunk \(trunk.name) in \(silence) ms")
            case .failed(let failure):
                attemptFailed(code: failure.statusCode, reason: failure.reason)
            }
        }
        if case .routing = state.value.phase, !isEnded { state.value.phase = .dialing(outgoing) }
    }

    private func provisional(_ response: SIPResponse) {
        guard !isEnded else { return }
        // A caller without an offer gets no early media: our offer waits for the 200.
        guard !response.body.isEmpty, response.statusCode == 183 || response.statusCode == 180, !invite.isLateOffer else {
            return invite.provisional(response.statusCode == 183 ? 183 : 180)
        }
        let code = response.statusCode == 183 ? 183 : 180
        acceptCalleeAnswer(response.body, then: { [self] answer in
            state.value.earlyMedia = true
            invite.provisional(183, body: answer)
        }, otherwise: { [self] problem in
            // Early SDP we cannot use is only a preview (RFC 3264 §8 lets
            // the 200 answer anew): the caller hears the progress without
            // early media, and the 200 decides (or the next target).
            logger.warning("the callee's early SDP cannot be relayed, progress without it: \(problem)")
            invite.provisional(code)
        })
    }

    private func answered(_ response: SIPResponse, dialog callee: Dialog) {
        guard !isEnded else { return callee.bye() }
        state.value.phase = .answering(callee: callee)
        callee.onTerminated = { [self] reason in ended(by: .callee, reason: reason) }
        acceptCalleeAnswer(response.body, then: { [self] answer in
            guard let caller = invite.answer(body: answer) else { return finish(code: 487, reason: "the caller left") }
            state.value.phase = .talking(caller: caller, callee: callee)
            state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: callee.callID)
            state.value.recorder?.answered()
            caller.onTerminated = { [self] reason in ended(by: .caller, reason: reason) }
            if invite.isLateOffer { caller.onAckAnswer = { [self] body in callerAnswered(body) } }
            caller.onOffer = { [self] offer in reoffer(offer, from: .caller) }
            callee.onOffer = { [self] offer in reoffer(offer, from: .callee) }
            // Digits sent as INFO cross; transfers are not relayed (yet).
            caller.passInfo(to: callee)
            callee.passInfo(to: caller)
            caller.onRefer = { $0.reject(603, reason: "Decline") }
            callee.onRefer = { $0.reject(603, reason: "Decline") }
        }, otherwise: { [self] problem in
            // This callee answered with media we cannot relay: it hears
            // BYE and the dialplan its next target, as for a 488 (unless
            // the caller already has early media from it: then it ends).
            guard case .answering(let current) = state.value.phase, current === callee else { return }
            logger.warning("the callee's answer cannot be relayed, leaving it: \(problem)")
            callee.onTerminated = nil
            callee.bye()
            attemptFailed(code: 488, reason: "the callee's answer cannot be relayed: \(problem)")
        })
    }

    /// A late offer's answer, in the caller's ACK: the relay starts, or the
    /// call ends when it cannot (no body, or none of the codecs offered).
    private func callerAnswered(_ body: [UInt8]) {
        guard !isEnded, let media = state.value.media else { return }
        guard let text = String(validating: body, as: UTF8.self), let answer = try? SessionDescription.parse(text) else {
            return finish(code: 488, reason: "the caller's ACK has no usable answer to our offer")
        }
        do {
            try media.acceptCallerAnswer(answer)
        } catch {
            finish(code: 488, reason: "the caller's answer cannot be relayed: \(error)")
        }
    }

    /// The callee's SDP (once per attempt): the relay starts and our answer
    /// for the caller is made (a 200 after a 183 gets the same answer).
    private func acceptCalleeAnswer(_ body: [UInt8], then next: ([UInt8]) -> Void,
                                    otherwise: (String) -> Void) {
        if let answer = state.value.callerAnswer { return next(answer) }
        guard let media = state.value.media else { return finish(code: 500, reason: "the relay's media is gone") }
        guard let text = String(validating: body, as: UTF8.self), let answer = try? SessionDescription.parse(text) else {
            return otherwise(body.isEmpty ? "no SDP" : "its SDP does not parse")
        }
        do {
            let ours = Array(try media.acceptCalleeAnswer(answer, address: address, attempt: state.value.attempts)
                .serialize().utf8)
            state.value.callerAnswer = ours
            next(ours)
        } catch {
            otherwise("\(error)")
        }
    }

    /// A failed attempt: the dialplan hears why (from the loop, so a retry
    /// loop cannot grow the stack), unless the caller already has our answer.
    private func attemptFailed(code: Int, reason: String) {
        guard !isEnded, state.value.run != nil else { return }
        if state.value.earlyMedia { return finish(code: code, reason: reason) }
        state.value.phase = .routing
        state.value.callerAnswer = nil
        loop.execute { [self] in
            guard !isEnded, let run = state.value.run else { return }
            perform(run.resume(.bridged(code: code, reason: reason, answered: false)))
        }
    }

    // MARK: in the call

    private func reoffer(_ offer: InDialogOffer, from side: RelaySide) {
        guard !isEnded, let media = state.value.media else { return offer.reject(488, reason: "Not Acceptable Here") }
        media.answer(offer, from: side, address: address)
    }

    private func ended(by side: RelaySide, reason: DialogEnd) {
        let who = side == .caller ? "the caller" : "the callee"
        finish(code: 200, reason: reason == .remoteBye ? "\(who) hung up" : "\(who)'s dialog ended: \(reason)")
    }

    // MARK: the end

    /// Ends the call once: the side still there hears BYE, CANCEL or a
    /// final response; the media is closed and the record written.
    func finish(code: Int, reason: String) {
        guard !isEnded else { return }
        let phase = state.value.phase
        state.value.phase = .ended
        state.value.run = nil
        invite.onCancelled = nil
        switch phase {
        case .talking(let caller, let callee):
            for dialog in [caller, callee] {
                dialog.onTerminated = nil
                dialog.onOffer = nil
                dialog.onInfo = nil
                if !dialog.isTerminated { dialog.bye() }
            }
        case .answering(let callee):
            callee.onTerminated = nil
            if !callee.isTerminated { callee.bye() }
        case .dialing(let outgoing):
            outgoing.cancel()
        case .routing, .preparingMedia, .ended:
            break
        }
        if invite.state == .pending { invite.reject(code == 200 ? 500 : code, reason: reason) }
        let recorder = LoopBound(state.value.recorder)
        let media = state.value.media
        state.value.media = nil
        logger.info("relayed call ended: \(code) \(reason)")
        guard let media else {
            recorder.value?.ended(status: code, reason: reason, media: nil)
            return environment.callEnded(self)
        }
        media.close(reason: "call ended", on: loop) { [self] statistics in
            recorder.value?.ended(status: code, reason: reason, media: statistics)
            environment.callEnded(self)
        }
    }

    /// The script turned to a browser user after a relay attempt failed:
    /// the relay's media goes, and the browser side takes the caller over
    /// with the rest of the script's say (its outcome is the call's).
    private func handOverToUser(_ step: DialplanStep) {
        guard case .bridge(.user(let user), _) = step, !state.value.earlyMedia else {
            return finish(code: 500, reason: "the caller already heard the relayed call's media")
        }
        let media = state.value.media
        state.value.media = nil
        state.value.phase = .ended
        state.value.run = nil
        invite.onCancelled = nil
        media?.close(reason: "handed over", on: loop) { _ in }
        state.value.recorder?.ended(status: 480, reason: "no relayed bridge answered; the call went to user:\(user)",
                                    media: nil)
        environment.callEnded(self)
        let caller = SIPCallerLeg(invite: invite, trunk: sourceTrunk, calledNumber: calledNumber,
                                  answerAddress: environment.config.media.publicAddress)
        IncomingBrowserCall(environment: environment, caller: caller, user: user).start()
    }
}

extension BridgeTarget {
    /// A trunk or a SIP URI: what a relay may reach.
    var isSIP: Bool {
        switch self {
        case .trunk, .uri: true
        case .user: false
        }
    }
}
