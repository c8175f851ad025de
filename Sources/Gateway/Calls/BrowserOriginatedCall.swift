import Config
import Dialplan
import Logging
import Media
import NIOCore
import SDP
import SIP
import Signaling

/// A call a browser places: the dialplan runs first and decides; a bridge to
/// a trunk makes the B2BUA's two legs. The browser's offer is answered by a
/// media endpoint once (ICE-lite, so the browser's checks can start), the
/// endpoint's plain offer goes to the trunk, and the trunk's answers are
/// mapped back: 180 → `ringing`, 183 with SDP → `progress`, 200 →
/// `answered`, BYE → `hangup`. A failed attempt goes back to the dialplan,
/// which may try another trunk with the same media (failover); when it gives
/// up the browser hears `hangup` with the last status. The browser's answer
/// SDP is made once and never changes.
///
/// All state is one `State` in a box bound to the call's loop: every read
/// and write checks that it runs there.
final class BrowserOriginatedCall: CallControl, AttendedTransferParty, Sendable {
    /// Where the call is, with what each phase holds.
    enum Phase {
        /// The dialplan decides (or the chosen trunk's name is looked up);
        /// nothing goes toward a far end yet.
        case routing
        /// The media endpoint is being made and given the browser's offer.
        case preparingMedia
        /// A trunk attempt: the INVITE is out.
        case dialing(OutgoingInvite)
        /// A bridge to another browser user rings.
        case ringingUser(BrowserCallerLeg)
        case talking(FarEnd)
        case ended
    }

    enum FarEnd {
        case trunk(Dialog)
        case user(BrowserCallerLeg)
        /// The dialplan answered; its own media is the far end.
        case application(any CallApplication)
    }

    /// The far end's SDP, applied to the media once per attempt. Reports
    /// wait until it is applied, so `progress` always comes before
    /// `answered` and media can flow when either is sent.
    enum PhoneSDP {
        case none
        case applying([() -> Void])
        case applied
    }

    struct State {
        var phase = Phase.routing
        var run: DialplanRun?
        /// The browser side's offer/answer: the endpoint, made once, and its answer.
        var media: (any MediaEndpoint)?
        var browserAnswer: String?
        var phoneSDP = PhoneSDP.none
        /// A far end answered at some point (the ending's status is 200 then).
        var wasAnswered = false
        /// Bridge attempts so far: a script that retries failures in a loop
        /// must not send INVITEs without end.
        var attempts = 0
        var recorder: CallRecorder?
        /// A media endpoint is being made (`prepareMedia`); an end meanwhile
        /// waits in `deferredEnd` until it exists and can be closed first.
        var makingMedia = false
        var deferredEnd: (status: Int, reason: String)?
        /// How the answering trunk takes digits (`dtmf`).
        var trunkDTMF = TrunkConfig.DTMFMode.auto
        /// A transfer the trunk asked for (REFER), under way.
        var transfer: BlindTransfer?
        /// The trunk the far end is on (for the browser's `transfer`).
        var farEndTrunk: TrunkConfig?
        /// The browser's own `transfer`: our REFER to the far end, and whether it was accepted.
        var referOut: OutgoingRefer?
        var referAccepted = false
        /// The gateway joins this call's far end to another's (`TransferBridge`).
        var joining = false
    }

    static let maximumAttempts = 16

    let environment: any CallEnvironment
    let client: any BrowserConnection
    let request: BrowserCallRequest
    let logger: Logger
    let state: NIOLoopBoundBox<State>
    let hold: HoldControl

    init(environment: any CallEnvironment, client: any BrowserConnection, request: BrowserCallRequest) {
        self.environment = environment
        self.client = client
        self.request = request
        var logger = environment.logger
        logger[metadataKey: "call"] = "\(request.user)/\(request.id)"
        self.logger = logger
        // Made off the loop (a WebSocket handler places the call), used only on it.
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), as: State.self, eventLoop: environment.loop)
        hold = HoldControl(loop: environment.loop, logger: logger)
    }

    var loop: any EventLoop { environment.loop }
    var isEnded: Bool { if case .ended = state.value.phase { true } else { false } }

    func start() {
        environment.callStarted(self)
        state.value.recorder = CallRecorder(
            store: environment.recordStore, instance: environment.config.records.instanceName,
            callID: "\(request.user)/\(request.id)", direction: .browserToTrunk, from: request.user, to: request.to,
            user: request.user, trunk: nil)
        let run = environment.makeDialplanRun(DialplanCall(browser: request), log: logger)
        state.value.run = run
        perform(run.start())
    }

    /// Carries out what the dialplan asks, until it waits on something or the call ends.
    func perform(_ first: DialplanStep) {
        var step = first
        while !isEnded, let run = state.value.run {
            if case .bridge = step {
                state.value.attempts += 1
                guard state.value.attempts <= Self.maximumAttempts else {
                    logger.error("dialplan tried more than \(Self.maximumAttempts) bridges; ending the call")
                    return finish(code: 500, reason: "too many bridge attempts")
                }
            }
            if case .bridge = step, case .talking(.application) = state.value.phase {
                step = run.resume(.bridged(code: 501, reason: "a call the dialplan answered cannot be bridged yet",
                                           answered: false))
                continue
            }
            switch step {
            case .bridge(.trunk(let name, let number), let options):
                guard let trunk = environment.config.trunk(named: name) else {
                    step = run.resume(.bridged(code: 404, reason: "no trunk named \(name)", answered: false))
                    continue
                }
                return bridge(trunk: trunk, number: number, options: options)
            case .bridge(.user(let name), let options):
                return bridge(user: name, options: options)
            case .bridge(.uri(let text), let options):
                guard let (trunk, number) = Self.directTarget(text, publicAddress: environment.config.sip.publicAddress) else {
                    step = run.resume(.bridged(code: 416, reason: "not a SIP URI with a user and a host: \(text)",
                                               answered: false))
                    continue
                }
                return bridge(trunk: trunk, number: number, options: options)
            case .hangup(let code, let reason):
                return finish(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code))
            case .finished where state.value.wasAnswered:
                // The script answered the call itself and is done with it.
                return finish(code: 200, reason: "the dialplan ended the call")
            case .finished:
                let (code, reason) = run.fallbackResponse
                return finish(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code))
            case .failed(let error):
                logger.error("dialplan failed: \(error)")
                return finish(code: 500, reason: "dialplan error")
            case .answer, .play, .echo, .collectDigits:
                return runApplication(step)
            }
        }
    }

    /// A bridge attempt failed before an answer: the dialplan hears why and
    /// decides what comes next.
    ///
    /// After early media from this attempt the browser already hears its
    /// media address and codec, which cannot be taken back, so the call ends
    /// with the failure instead of failing over. The dialplan is resumed from
    /// the loop, not from inside the failure's own call chain, so a script
    /// that retries at once cannot grow the stack.
    func attemptFailed(code: Int, reason: String) {
        guard !isEnded, state.value.run != nil else { return }
        if case .none = state.value.phoneSDP {} else { return finish(code: code, reason: reason) }
        state.value.phase = .routing
        loop.execute { [self] in
            guard !isEnded, let run = state.value.run else { return }
            perform(run.resume(.bridged(code: code, reason: reason, answered: false)))
        }
    }

    /// The media endpoint for the caller's browser, made once (bound and the
    /// browser's offer answered off the loop), then `next` on the loop.
    func withMedia(_ next: @escaping (any MediaEndpoint) -> Void) {
        if let media = state.value.media { return next(media) }
        state.value.phase = .preparingMedia
        state.value.makingMedia = true
        let offer = request.offer
        let next = LoopBound(next)
        let environment = self.environment
        Task {
            switch await environment.prepareMedia({ try await $0.answerBrowserOffer(offer) }) {
            case .failure(let failure):
                loop.execute { self.mediaNotPrepared(failure) }
            case .success(let (media, answer)):
                loop.execute {
                    guard self.mediaPrepared(media) else { return }
                    self.state.value.browserAnswer = answer.serialize()
                    self.state.value.phase = .routing
                    next.value(media)
                }
            }
        }
    }

    /// The far end's SDP from a 183 or the 200 (once; a 200 after early
    /// media usually repeats it). The browser hears nothing of a change.
    func acceptPhoneAnswer(_ body: [UInt8], then report: @escaping () -> Void) {
        switch state.value.phoneSDP {
        case .applied: return report()
        case .applying(let waiting): state.value.phoneSDP = .applying(waiting + [report]); return
        case .none: break
        }
        guard let media = state.value.media, !body.isEmpty else {
            return finish(code: 488, reason: "the far end answered without SDP", sendBye: true)
        }
        state.value.phoneSDP = .applying([report])
        Task {
            do {
                try await media.acceptPhoneAnswer(SessionDescription.parse(String(decoding: body, as: UTF8.self)))
                loop.execute {
                    guard case .applying(let waiting) = self.state.value.phoneSDP else { return }
                    self.state.value.phoneSDP = .applied
                    if !self.isEnded { waiting.forEach { $0() } }
                }
            } catch {
                loop.execute { self.finish(code: 488, reason: "the far end's media cannot be used: \(error)", sendBye: true) }
            }
        }
    }

    func watch(_ media: any MediaEndpoint) {
        Task {
            for await event in media.events {
                switch event {
                case .ended(let reason):
                    loop.execute {
                        self.finish(code: self.state.value.wasAnswered ? 200 : 480, reason: "media ended: \(reason)",
                                    sendBye: true)
                    }
                case .dtmf(let report):
                    if report.origin == .phone { client.send(.dtmf(call: request.id, digit: report.digit)) }
                case .browserConnected(let profile):
                    loop.execute { self.logger.debug("browser media connected with \(profile)") }
                }
            }
        }
    }

    // MARK: from the browser

    func clientHangup(_ client: SignalingClient) { loop.execute { self.end(reason: "browser hung up") } }
    func clientGone(_ client: SignalingClient) { loop.execute { self.end(reason: "browser connection closed") } }

    func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient) {
        loop.execute { [self] in
            guard let media = state.value.media else { return }
            if case .talking(.trunk(let dialog)) = state.value.phase {
                media.playDTMF(digits, milliseconds: durationMilliseconds, mode: state.value.trunkDTMF, dialog: dialog,
                               loop: loop, for: self.client, call: request.id)
            } else {
                media.playDTMF(digits, milliseconds: durationMilliseconds, for: self.client, call: request.id)
            }
        }
    }

    func clientHold(_ held: Bool, from client: SignalingClient) {
        loop.execute { self.browserHold(held) }
    }

    /// `hold`/`unhold`: a trunk hears a re-INVITE; a browser user or the
    /// dialplan's own media hear the music without any signaling.
    func browserHold(_ held: Bool) {
        hold.request(held, target: { [self] in
            guard case .talking(let farEnd) = state.value.phase, let media = state.value.media,
                  !state.value.joining else { return nil }
            if case .trunk(let dialog) = farEnd {
                return HoldControl.Target(media: media, address: environment.publicMediaAddress, dialog: dialog)
            }
            return HoldControl.Target(media: media, address: environment.publicMediaAddress, dialog: nil)
        }, report: { [self] result in
            guard !isEnded else { return }
            switch result {
            case .success(let held): client.send(.held(call: request.id, held: held))
            case .failure(let failure): client.send(.error(code: 400, reason: "cannot hold: \(failure)", call: request.id))
            }
        })
    }

    func clientTransfer(to target: String, from client: SignalingClient) {
        loop.execute { self.browserTransfer(to: target) }
    }

    /// `transfer`: the far end on a trunk is asked (REFER) to call the
    /// target, which the dialplan routes first as this user's call.
    func browserTransfer(to number: String) {
        guard case .talking(let farEnd) = state.value.phase else {
            return client.send(.error(code: 400, reason: "a call is transferred once it is answered", call: request.id))
        }
        guard case .trunk(let dialog) = farEnd, let trunk = state.value.farEndTrunk else {
            return client.send(.error(code: 501, reason: "only a call to a trunk can be transferred", call: request.id))
        }
        guard state.value.transfer == nil, state.value.referOut == nil, !state.value.joining else {
            return client.send(.error(code: 491, reason: "a transfer is already under way", call: request.id))
        }
        let target = BrowserTransfer.referTarget(environment: environment, user: request.user,
                                                 callID: "\(request.user)/\(request.id)", number: number,
                                                 trunk: trunk, logger: logger)
        guard case .success(let uri) = target else {
            if case .failure(let failure) = target {
                client.send(.error(code: failure.code, reason: "cannot transfer: \(failure.reason)", call: request.id))
            }
            return
        }
        refer(dialog, to: uri) {}
    }

    /// Sends the browser's REFER in the far end's dialog: once the far end
    /// reports its new call answered, the browser leaves (and `also` runs);
    /// a failure goes to `otherwise`, else back to the browser, and the call goes on.
    private func refer(_ dialog: Dialog, to uri: SIPURI, also: @escaping () -> Void,
                       otherwise: ((TransferFailure) -> Void)? = nil) {
        state.value.referOut = BrowserTransfer.refer(dialog, to: uri, logger: logger, accepted: { [self] in
            state.value.referAccepted = true
        }, done: { [self] result in
            state.value.referOut = nil
            guard !isEnded else { return }
            switch result {
            case .success:
                transferredAway()
                also()
            case .failure(let failure):
                state.value.referAccepted = false
                if let otherwise { return otherwise(failure) }
                client.send(.error(code: failure.code, reason: "the transfer failed: \(failure.reason)", call: request.id))
            }
        })
    }

    func clientAttendedTransfer(replacing other: any CallControl, from client: SignalingClient) {
        loop.execute { self.browserAttendedTransfer(replacing: other) }
    }

    /// `transfer` with `replaces`: this call's far end is asked (REFER) to
    /// call the other call's far end, replacing that call (RFC 5589 §7);
    /// once it reports success both calls end `transferred`.
    func browserAttendedTransfer(replacing other: any CallControl) {
        guard case .talking(let farEnd) = state.value.phase else {
            return client.send(.error(code: 400, reason: "a call is transferred once it is answered", call: request.id))
        }
        guard case .trunk(let dialog) = farEnd else {
            return client.send(.error(code: 501, reason: "only a call to a trunk can be transferred", call: request.id))
        }
        guard state.value.transfer == nil, state.value.referOut == nil, !state.value.joining else {
            return client.send(.error(code: 491, reason: "a transfer is already under way", call: request.id))
        }
        guard let party = other as? AttendedTransferParty, party.loop.inEventLoop, let target = party.transferDialog else {
            return client.send(.error(code: 501, reason: "the other call is not with a SIP far end that can be joined",
                                      call: request.id))
        }
        refer(dialog, to: BrowserTransfer.replacesTarget(target), also: { party.transferredAway() }, otherwise: { [self] failure in
            // The far end cannot do it: the gateway joins the two far ends itself.
            TransferBridge.join(self, with: party, environment: environment, user: request.user, logger: logger) { [self] result in
                guard case .failure(let joining) = result, !isEnded else { return }
                client.send(.error(code: failure.code, reason: "the transfer failed: \(failure.reason); "
                    + "joining the calls in the gateway failed too: \(joining.reason)", call: request.id))
            }
        })
    }

    var transferDialog: Dialog? {
        guard case .talking(.trunk(let dialog)) = state.value.phase, state.value.transfer == nil,
              state.value.referOut == nil, !state.value.joining else { return nil }
        return dialog
    }

    var bridgeLeg: BridgeLeg? {
        guard let dialog = transferDialog, let media = state.value.media else { return nil }
        return BridgeLeg(dialog: dialog, trunk: state.value.farEndTrunk, media: media,
                         address: environment.publicMediaAddress)
    }

    var isJoining: Bool {
        get { state.value.joining }
        set { state.value.joining = newValue }
    }

    func handedOver() {
        guard !isEnded else { return }
        state.value.joining = false
        logger.info("the far end is joined to another call in the gateway")
        client.send(.transferred(call: request.id))
        finish(code: 200, reason: "transferred")
    }

    /// The far end took the call elsewhere: the browser is told and leaves it.
    func transferredAway() {
        guard !isEnded else { return }
        state.value.referAccepted = false
        logger.info("transferred away by the browser")
        client.send(.transferred(call: request.id))
        finish(code: 200, reason: "transferred", sendBye: true)
    }

    /// The browser ended the call: CANCEL before the answer, BYE after; no `hangup` goes back.
    func end(reason: String) {
        guard !isEnded else { return }
        logger.info("call ended: \(reason)")
        leave(phase: state.value.phase, sendBye: true, reason: reason)
        releaseMedia(status: state.value.wasAnswered ? 200 : 487, reason: reason)
    }

    /// The call is over from the gateway's side: the browser hears `hangup`.
    func finish(code: Int, reason: String, sendBye: Bool = false) {
        guard !isEnded else { return }
        logger.info("call ended: \(code) \(reason)")
        leave(phase: state.value.phase, sendBye: sendBye, reason: reason)
        client.send(.hangup(call: request.id, code: code, reason: reason))
        releaseMedia(status: code, reason: reason)
    }

    /// Ends what the phase holds toward the far end and enters `.ended`.
    private func leave(phase: Phase, sendBye: Bool, reason: String) {
        state.value.phase = .ended
        state.value.transfer?.cancel()
        state.value.transfer = nil
        state.value.referOut?.cancel()
        state.value.referOut = nil
        switch phase {
        case .dialing(let invite) where sendBye: invite.cancel()
        case .talking(.trunk(let dialog)) where sendBye: dialog.bye()
        case .ringingUser(let leg), .talking(.user(let leg)): leg.callerLeft(reason)
        case .talking(.application(let application)): application.close()
        default: break
        }
    }

    /// Takes the endpoint `prepareMedia` made (nil: none) and says whether
    /// the call goes on with it. A call that ended meanwhile ends now: the
    /// endpoint closed first, then the record and the gateway's table.
    func mediaPrepared(_ media: (any MediaEndpoint)?) -> Bool {
        state.value.makingMedia = false
        if let media {
            state.value.media = media
            watch(media)
        }
        guard isEnded else { return true }
        let end = state.value.deferredEnd
        state.value.deferredEnd = nil
        releaseMedia(status: end?.status, reason: end?.reason ?? "")
        return false
    }

    /// `prepareMedia` gave no endpoint: the browser hears why, unless the
    /// call ended meanwhile.
    func mediaNotPrepared(_ failure: MediaPreparationFailure) {
        guard mediaPrepared(nil) else { return }
        switch failure {
        case .noPorts: finish(code: 503, reason: "no media ports free")
        case .refused(let error): finish(code: 488, reason: "the offer cannot be used: \(error)")
        }
    }

    /// Closes the media endpoint; with a status, the record is ended too
    /// (after the endpoint being made, if one is).
    func releaseMedia(status: Int? = nil, reason: String = "") {
        if state.value.makingMedia, let status {
            state.value.deferredEnd = (status, reason)
            return
        }
        let media = state.value.media
        state.value.media = nil
        environment.closeMedia(media, of: self, recorder: state.value.recorder, status: status, reason: reason)
    }
}

/// A value made on the call's loop and used only there again, carried
/// through a task that hops off it.
struct LoopBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
