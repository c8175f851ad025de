import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import SDP
import SIP
import Signaling

/// A call to a browser user, from a trunk or from another browser (the
/// `CallerLeg`): every logged-in connection of the user gets `incoming`
/// with the gateway's WebRTC offer; the first `answer` wins and the others
/// hear "answered elsewhere". 4xx/5xx rejects withdraw one connection, 6xx
/// ends the call for all; when nobody is left the caller gets the last
/// rejection (480 if none). All state is one `State` bound to the call's loop.
final class IncomingBrowserCall: CallControl, AttendedTransferParty, Sendable {
    enum Phase {
        /// The media endpoint is being made and given the caller's offer.
        case preparing
        case ringing(Ringing)
        /// The answering connection's SDP is being applied to the media.
        case answering(Ringing, by: any BrowserConnection)
        case talking(with: any BrowserConnection)
        case ended
    }

    /// The connections still ringing, and what they said so far.
    struct Ringing {
        var connections: [ObjectIdentifier: any BrowserConnection] = [:]
        var sentRinging = false
        var lastRejection: Int?
        var timer: Scheduled<Void>?
    }

    struct State {
        var phase = Phase.preparing
        var media: (any MediaEndpoint)?
        /// Our answer to the caller's offer, sent when a browser answers.
        var phoneAnswer: [UInt8] = []
        var recorder: CallRecorder?
        /// An end while the media endpoint is made (`preparing`) waits for
        /// it, so the endpoint is closed before the call counts as gone.
        var makingMedia = false
        var deferredEnd: (status: Int, reason: String)?
        /// A transfer the caller asked for (REFER), under way.
        var transfer: BlindTransfer?
        /// The browser's own `transfer`: our REFER to the caller, and whether it was accepted.
        var referOut: OutgoingRefer?
        var referAccepted = false
        /// The gateway joins the caller to another call's far end (`TransferBridge`).
        var joining = false
    }

    let environment: any CallEnvironment
    let user: String
    let id: String
    let logger: Logger
    /// How long the browsers ring: the dialplan's `ring_timeout`, else `sip.invite_timeout`.
    let ringTimeout: TimeAmount
    private let callerBox: NIOLoopBound<CallerLeg>
    let state: NIOLoopBoundBox<State>
    let hold: HoldControl

    private static let counter = NIOLockedValueBox(0)

    init(environment: any CallEnvironment, caller: CallerLeg, user: String, ringTimeout seconds: Double? = nil) {
        self.environment = environment
        self.user = user
        ringTimeout = seconds.map { .milliseconds(Int64($0 * 1000)) } ?? TimeAmount(environment.config.sip.inviteTimeout)
        id = "in-" + String(Self.counter.withLockedValue { $0 += 1; return $0 })
        var logger = environment.logger
        logger[metadataKey: "call"] = "\(id)"
        self.logger = logger
        callerBox = NIOLoopBound(caller, eventLoop: environment.loop)
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), as: State.self, eventLoop: environment.loop)
        hold = HoldControl(loop: environment.loop, logger: logger)
    }

    var loop: any EventLoop { environment.loop }
    private var isEnded: Bool { if case .ended = state.value.phase { true } else { false } }

    func start() {
        environment.callStarted(self)
        let caller = callerBox.value
        // A browser's call to a browser has its own record (the caller's side).
        if caller is SIPCallerLeg {
            state.value.recorder = CallRecorder(
                store: environment.recordStore, instance: environment.config.records.instanceName,
                callID: id, direction: .trunkToBrowser, from: caller.callerNumber, to: caller.calledNumber,
                user: user, trunk: caller.trunkName, sipCallID: caller.sipCallID)
        }
        caller.onCancelled = { [self] in finish(toBrowsers: 487, reason: "the caller hung up", sip: nil) }
        caller.onDTMF = { [self] digit in
            if case .talking(let client) = state.value.phase { client.send(.dtmf(call: id, digit: digit)) }
        }
        caller.onRefer = { [self] refer in referred(refer) }
        caller.onLateAnswer = { [self] body in lateAnswer(body) }
        caller.onReplaced = { [self] invite in replaced(by: invite) }
        let connections = environment.connections(of: user)
        guard !connections.isEmpty else {
            return finish(toBrowsers: 480, reason: "", sip: (480, "Temporarily Unavailable"))
        }
        let offerText = caller.offer
        let address = caller.answerAddress
        let peer = caller.mediaPeer
        // Late offer (RFC 3261 §13.2.1): an INVITE without SDP gets our
        // offer in the 200 (the codecs of the caller's trunk) and brings
        // its answer in the ACK (`SIPCallerLeg.onLateAnswer`).
        let lateOfferCodecs = offerText.isEmpty ? caller.lateOfferCodecs : nil
        let encryption = caller.mediaEncryption
        // The caller's trunk's codecs, in its order (Opus only where it lists it).
        let preference = caller.lateOfferCodecs
        let environment = self.environment
        state.value.makingMedia = true
        Task {
            let prepared = await environment.prepareMedia(near: peer) { media in
                if let peer { try await media.join(peer) }
                if let codecs = lateOfferCodecs {
                    return (media.phoneOffer(address: address, codecs: codecs, encryption: encryption),
                            media.browserOffer().serialize())
                }
                let answer = try await media.answerPhoneOffer(SessionDescription.parse(offerText), address: address,
                                                              preference: preference, encryption: encryption)
                return (answer, media.browserOffer().serialize())
            }
            switch prepared {
            case .failure(.noPorts):
                loop.execute {
                    guard self.mediaPrepared(nil) else { return }
                    self.finish(toBrowsers: 503, reason: "", sip: (503, "No Media Ports"))
                }
            case .failure(.refused):
                loop.execute {
                    guard self.mediaPrepared(nil) else { return }
                    self.finish(toBrowsers: 488, reason: "", sip: (488, "Not Acceptable Here"))
                }
            case .success(let (media, (answer, browserOffer))):
                loop.execute {
                    guard self.mediaPrepared(media) else { return }
                    self.state.value.phoneAnswer = Array(answer.serialize().utf8)
                    self.ring(connections, offer: browserOffer)
                }
            }
        }
    }

    private func ring(_ connections: [any BrowserConnection], offer: String) {
        let caller = callerBox.value
        var ringing = Ringing()
        for client in connections where client.ring(id, from: caller.callerNumber, fromName: caller.callerName,
                                                    to: user, sdp: offer, control: self) {
            ringing.connections[ObjectIdentifier(client)] = client
        }
        guard !ringing.connections.isEmpty else {
            return finish(toBrowsers: 480, reason: "", sip: (480, "Temporarily Unavailable"))
        }
        logger.info("ringing \(user) on \(ringing.connections.count) connection(s)")
        ringing.timer = loop.scheduleTask(in: ringTimeout) { [self] in
            finish(toBrowsers: 408, reason: "not answered in time", sip: callerBox.value.noAnswer)
        }
        state.value.phase = .ringing(ringing)
    }

    // MARK: from the browsers

    func clientRinging(_ client: SignalingClient) { loop.execute { self.browserRinging(client) } }
    func clientAnswer(_ sdp: String, from client: SignalingClient) { loop.execute { self.browserAnswered(sdp, by: client) } }
    func clientReject(_ code: Int, from client: SignalingClient) { loop.execute { self.browserRejected(code, by: client) } }
    func clientHangup(_ client: SignalingClient) { loop.execute { self.left(client, reason: "browser hung up") } }
    func clientGone(_ client: SignalingClient) { loop.execute { self.left(client, reason: "browser connection closed") } }

    func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient) {
        loop.execute { self.browserDTMF(digits, milliseconds: durationMilliseconds, by: client) }
    }

    /// The answering browser's digits, toward the caller (on the loop).
    func browserDTMF(_ digits: String, milliseconds: Int, by client: any BrowserConnection) {
        guard case .talking(let answering) = state.value.phase, answering === client,
              let media = state.value.media else { return }
        callerBox.value.playDTMF(digits, milliseconds: milliseconds, media: media, loop: loop, for: client, call: id)
    }

    func clientHold(_ held: Bool, from client: SignalingClient) {
        loop.execute { self.browserHold(held, by: client) }
    }

    /// The answering browser's `hold`/`unhold`: a trunk caller hears a
    /// re-INVITE, a browser caller just the music.
    func browserHold(_ held: Bool, by client: any BrowserConnection) {
        guard case .talking(let answering) = state.value.phase, answering === client else {
            return client.send(.error(code: 400, reason: "only the answering connection holds the call", call: id))
        }
        hold.request(held, target: { [self] in
            guard case .talking = state.value.phase, let media = state.value.media, !state.value.joining else { return nil }
            let caller = callerBox.value
            return HoldControl.Target(media: media, address: caller.answerAddress, dialog: caller.dialog)
        }, report: { [self] result in
            guard case .talking(let answering) = state.value.phase else { return }
            switch result {
            case .success(let held): answering.send(.held(call: id, held: held))
            case .failure(let failure): answering.send(.error(code: 400, reason: "cannot hold: \(failure)", call: id))
            }
        })
    }

    func clientTransfer(to target: String, from client: SignalingClient) {
        loop.execute { self.browserTransfer(to: target, by: client) }
    }

    /// The answering browser's `transfer`: the caller's side is asked
    /// (REFER) to call the target, which the dialplan routes first.
    func browserTransfer(to number: String, by client: any BrowserConnection) {
        guard case .talking(let answering) = state.value.phase, answering === client else {
            return client.send(.error(code: 400, reason: "only the answering connection transfers the call", call: id))
        }
        let caller = callerBox.value
        guard let dialog = caller.dialog, let trunk = (caller as? SIPCallerLeg)?.trunk else {
            return client.send(.error(code: 501, reason: "only a call from a trunk can be transferred", call: id))
        }
        guard state.value.transfer == nil, state.value.referOut == nil, !state.value.joining else {
            return client.send(.error(code: 491, reason: "a transfer is already under way", call: id))
        }
        let target = BrowserTransfer.referTarget(environment: environment, user: user, callID: id, number: number,
                                                 trunk: trunk, logger: logger)
        guard case .success(let uri) = target else {
            if case .failure(let failure) = target {
                client.send(.error(code: failure.code, reason: "cannot transfer: \(failure.reason)", call: id))
            }
            return
        }
        refer(dialog, to: uri) {}
    }

    /// Sends the browser's REFER in the caller's dialog: once the far end
    /// reports its new call answered, the browser leaves (and `also` runs);
    /// a failure goes to `otherwise`, else back to the answering browser, and the call goes on.
    private func refer(_ dialog: Dialog, to uri: SIPURI, also: @escaping () -> Void,
                       otherwise: ((TransferFailure) -> Void)? = nil) {
        state.value.referOut = BrowserTransfer.refer(dialog, to: uri, logger: logger, accepted: { [self] in
            state.value.referAccepted = true
        }, done: { [self] result in
            state.value.referOut = nil
            guard case .talking(let answering) = state.value.phase else { return }
            switch result {
            case .success:
                transferredAway(answering)
                also()
            case .failure(let failure):
                state.value.referAccepted = false
                if let otherwise { return otherwise(failure) }
                answering.send(.error(code: failure.code, reason: "the transfer failed: \(failure.reason)", call: id))
            }
        })
    }

    /// An INVITE with Replaces (RFC 3891) takes over the caller's side: an
    /// attended transfer the PBX completed, or a pickup. The browser keeps
    /// its media session and hears nothing of it.
    private func replaced(by invite: IncomingInvite) {
        guard case .talking = state.value.phase, let media = state.value.media,
              let trunk = (callerBox.value as? SIPCallerLeg)?.trunk else { return invite.reject(603, reason: "Decline") }
        logger.info("the caller's dialog is replaced by an INVITE from \(invite.source)")
        media.takeReplacement(invite, address: callerBox.value.answerAddress, loop: loop) { [self] dialog in
            guard let dialog else { return }
            guard case .talking = state.value.phase else { return dialog.bye() }
            callerBox.value.transferred(to: dialog, trunk: trunk)
            state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: dialog.callID)
        }
    }

    func clientAttendedTransfer(replacing other: any CallControl, from client: SignalingClient) {
        loop.execute { self.browserAttendedTransfer(replacing: other, by: client) }
    }

    /// `transfer` with `replaces` from the answering browser: the caller's
    /// side is asked (REFER) to call the other call's far end, replacing
    /// that call (RFC 5589 §7); once it reports success both calls end.
    func browserAttendedTransfer(replacing other: any CallControl, by client: any BrowserConnection) {
        guard case .talking(let answering) = state.value.phase, answering === client else {
            return client.send(.error(code: 400, reason: "only the answering connection transfers the call", call: id))
        }
        guard let dialog = callerBox.value.dialog, callerBox.value is SIPCallerLeg else {
            return client.send(.error(code: 501, reason: "only a call from a trunk can be transferred", call: id))
        }
        guard state.value.transfer == nil, state.value.referOut == nil, !state.value.joining else {
            return client.send(.error(code: 491, reason: "a transfer is already under way", call: id))
        }
        guard let party = other as? AttendedTransferParty, party.loop.inEventLoop, let target = party.transferDialog else {
            return client.send(.error(code: 501, reason: "the other call is not with a SIP far end that can be joined",
                                      call: id))
        }
        refer(dialog, to: BrowserTransfer.replacesTarget(target), also: { party.transferredAway() }, otherwise: { [self] failure in
            // The far end cannot do it: the gateway joins the two far ends itself.
            TransferBridge.join(self, with: party, environment: environment, user: user, logger: logger) { [self] result in
                guard case .failure(let joining) = result, case .talking(let answering) = state.value.phase else { return }
                answering.send(.error(code: failure.code, reason: "the transfer failed: \(failure.reason); "
                    + "joining the calls in the gateway failed too: \(joining.reason)", call: id))
            }
        })
    }

    var transferDialog: Dialog? {
        guard case .talking = state.value.phase, state.value.transfer == nil, state.value.referOut == nil,
              !state.value.joining else { return nil }
        return callerBox.value.dialog
    }

    var bridgeLeg: BridgeLeg? {
        guard let dialog = transferDialog, let media = state.value.media, let caller = callerBox.value as? SIPCallerLeg else {
            return nil
        }
        return BridgeLeg(dialog: dialog, trunk: caller.trunk, media: media, address: caller.answerAddress)
    }

    var isJoining: Bool {
        get { state.value.joining }
        set { state.value.joining = newValue }
    }

    func handedOver() {
        guard case .talking(let answering) = state.value.phase else { return }
        state.value.joining = false
        logger.info("the caller is joined to another call in the gateway")
        answering.send(.transferred(call: id))
        finish(toBrowsers: 200, reason: "transferred", sip: nil)
    }

    func transferredAway() {
        if case .talking(let answering) = state.value.phase { transferredAway(answering) }
    }

    /// The far end took the call elsewhere: the browser is told and leaves it.
    private func transferredAway(_ client: any BrowserConnection) {
        guard !isEnded else { return }
        state.value.referAccepted = false
        logger.info("transferred away by the browser")
        client.send(.transferred(call: id))
        callerBox.value.hangUp()
        finish(toBrowsers: 200, reason: "transferred", sip: nil)
    }

    /// The caller asks (REFER) that the browser talk to someone else: the
    /// target is dialled as a call of the answering user.
    func referred(_ refer: IncomingRefer) {
        guard case .talking = state.value.phase, let media = state.value.media else {
            return refer.reject(603, reason: "Decline")
        }
        guard state.value.transfer == nil, !state.value.joining else { return refer.reject(491, reason: "Request Pending") }
        let transfer = BlindTransfer(environment: environment, refer: refer, media: media, logger: logger) { [self] result in
            state.value.transfer = nil
            let caller = callerBox.value
            switch result {
            case .success(let connected) where !isEnded:
                caller.transferred(to: connected.dialog, trunk: connected.trunk)
                state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: connected.dialog.callID)
            case .success(let connected):
                connected.dialog.bye()
            case .failure(let failure):
                // The caller may take the call back; if it left, the call is over.
                if caller.dialog == nil {
                    finish(toBrowsers: 200, reason: "the transfer failed: \(failure.reason)", sip: nil)
                }
            }
        }
        state.value.transfer = transfer
        transfer.start(user: user, callID: id)
    }

    // The same, on the loop, for any connection (the unit tests' too).

    /// The ACK's answer to our late offer: the phone side starts here. An
    /// ACK without a usable answer ends the call (RFC 3264 §5: the offer
    /// was never answered).
    private func lateAnswer(_ body: [UInt8]) {
        guard let media = state.value.media else { return }
        let text = String(validating: body, as: UTF8.self) ?? ""
        Task {
            do {
                try await media.acceptPhoneAnswer(SessionDescription.parse(text))
            } catch {
                loop.execute {
                    self.logger.notice("the ACK brought no usable answer to our offer: \(error)")
                    self.callerBox.value.hangUp()
                    self.finish(toBrowsers: 488, reason: "the caller's ACK had no usable answer", sip: nil)
                }
            }
        }
    }

    func browserRinging(_ client: any BrowserConnection) {
        guard case .ringing(var ringing) = state.value.phase, !ringing.sentRinging else { return }
        ringing.sentRinging = true
        state.value.phase = .ringing(ringing)
        callerBox.value.ringing()
    }

    func browserAnswered(_ sdp: String, by client: any BrowserConnection) {
        let key = ObjectIdentifier(client)
        switch state.value.phase {
        case .answering(_, let answering) where answering === client,
             .talking(let answering) where answering === client:
            // Its own answer again: the call is this connection's already.
            return client.send(.error(code: 400, reason: "this call is already answered here", call: id))
        default:
            break
        }
        guard case .ringing(let ringing) = state.value.phase, ringing.connections[key] != nil,
              let media = state.value.media else {
            // Lost the race: another connection answered first (or is
            // answering). It is out of the call, told once.
            if case .answering(var ringing, let answering) = state.value.phase,
               ringing.connections.removeValue(forKey: key) != nil {
                state.value.phase = .answering(ringing, by: answering)
            } else if case .ringing(var ringing) = state.value.phase,
                      ringing.connections.removeValue(forKey: key) != nil {
                state.value.phase = .ringing(ringing)
            } else if isEnded {
                return  // It heard the end already.
            }
            return client.send(.hangup(call: id, code: 200, reason: "answered elsewhere"))
        }
        state.value.phase = .answering(ringing, by: client)
        Task {
            do {
                try await media.acceptBrowserAnswer(SessionDescription.parse(sdp))
                loop.execute { self.answerApplied(by: client) }
            } catch {
                loop.execute {
                    guard case .answering(let ringing, let answering) = self.state.value.phase,
                          answering === client else { return }
                    // It keeps ringing there and may answer again.
                    self.state.value.phase = .ringing(ringing)
                    client.send(.error(code: 488, reason: "the answer cannot be used: \(error)", call: self.id))
                }
            }
        }
    }

    private func answerApplied(by client: any BrowserConnection) {
        // The answering connection may have closed, or rejected, while its SDP was applied.
        guard case .answering(var ringing, let answering) = state.value.phase, answering === client else { return }
        let caller = callerBox.value
        let answered = caller.answer(sdp: state.value.phoneAnswer, ended: { [self] reason in
            // RFC 5589 §6: the referrer may hang up right after the 202.
            if state.value.transfer != nil { return logger.info("the referrer left (\(reason)); the transfer goes on") }
            // The transferee may hang up on us before its final NOTIFY (RFC 5589 §6).
            if state.value.referAccepted, case .talking(let answering) = state.value.phase {
                return transferredAway(answering)
            }
            finish(toBrowsers: 200, reason: reason, sip: nil)
        }, reoffer: { [self] offer in
            guard let media = state.value.media else { return offer.reject(488, reason: "Not Acceptable Here") }
            media.answer(offer, address: callerBox.value.answerAddress, loop: loop)
        })
        guard answered else {
            state.value.phase = .ringing(ringing)
            return finish(toBrowsers: 487, reason: "the caller hung up", sip: nil)
        }
        ringing.connections[ObjectIdentifier(client)] = nil
        ringing.timer?.cancel()
        for other in ringing.connections.values { other.send(.hangup(call: id, code: 200, reason: "answered elsewhere")) }
        state.value.phase = .talking(with: client)
        client.confirmAnswer(id)
        logger.info("answered on \(client)")
        state.value.recorder?.answered()
    }

    func browserRejected(_ code: Int, by client: any BrowserConnection) {
        let key = ObjectIdentifier(client)
        switch state.value.phase {
        case .ringing(let ringing) where ringing.connections[key] != nil:
            break
        case .answering(let ringing, let answering) where ringing.connections[key] != nil:
            // A reject while its own answer is applied withdraws that answer.
            if answering === client { state.value.phase = .ringing(ringing) }
        default:
            return
        }
        // 6xx: declined everywhere. The connection that declined is told nothing more.
        withdraw(client, rejection: code)
        if code >= 600 { finish(toBrowsers: code, reason: "declined", sip: (code, nil)) }
    }

    func left(_ client: any BrowserConnection, reason: String) {
        switch state.value.phase {
        case .talking(let answeredBy) where answeredBy === client:
            logger.info("call ended: \(reason)")
            callerBox.value.hangUp()
            finish(toBrowsers: nil, reason: reason, sip: nil)
        case .answering(let ringing, let answering) where answering === client:
            state.value.phase = .ringing(ringing)
            withdraw(client)
        case .ringing, .answering:
            withdraw(client)
        default:
            break
        }
    }

    /// One connection is out of the ringing; when nobody is left, the
    /// caller hears the last rejection (480 if none).
    private func withdraw(_ client: any BrowserConnection, rejection: Int? = nil) {
        let key = ObjectIdentifier(client)
        switch state.value.phase {
        case .ringing(var ringing):
            guard ringing.connections.removeValue(forKey: key) != nil else { return }
            if let rejection { ringing.lastRejection = rejection }
            state.value.phase = .ringing(ringing)
            if ringing.connections.isEmpty {
                finish(toBrowsers: nil, reason: "", sip: (ringing.lastRejection ?? 480, nil))
            }
        case .answering(var ringing, let answering):
            guard ringing.connections.removeValue(forKey: key) != nil else { return }
            if let rejection { ringing.lastRejection = rejection }
            state.value.phase = .answering(ringing, by: answering)
        default:
            break
        }
    }

    private func watch(_ media: any MediaEndpoint) {
        Task {
            for await event in media.events {
                if case .ended(let reason) = event {
                    loop.execute {
                        if case .talking = self.state.value.phase { self.callerBox.value.hangUp() }
                        self.finish(toBrowsers: 200, reason: "media ended: \(reason)", sip: (480, "Media Failed"))
                    }
                }
                if case .dtmf(let report) = event, report.origin == .phone {
                    loop.execute {
                        if case .talking(let client) = self.state.value.phase {
                            client.send(.dtmf(call: self.id, digit: report.digit))
                        }
                    }
                }
            }
        }
    }

    /// Ends the call: `hangup` to every connection still in it (with
    /// `browserCode`, nil for none), and the SIP final response when the
    /// caller still waits for one.
    private func finish(toBrowsers browserCode: Int?, reason: String, sip: (Int, String?)?) {
        let phase = state.value.phase
        if case .ended = phase { return }
        state.value.phase = .ended
        state.value.transfer?.cancel()
        state.value.transfer = nil
        state.value.referOut?.cancel()
        state.value.referOut = nil
        var inCall: [any BrowserConnection] = []
        var answered = false
        switch phase {
        case .ringing(let ringing):
            ringing.timer?.cancel()
            inCall = Array(ringing.connections.values)
        case .answering(let ringing, let answering):
            ringing.timer?.cancel()
            inCall = Array(ringing.connections.values.filter { $0 !== answering }) + [answering]
        case .talking(let client):
            inCall = [client]
            answered = true
        case .preparing, .ended:
            break
        }
        if let browserCode {
            for client in inCall { client.send(.hangup(call: id, code: browserCode, reason: reason)) }
        }
        let caller = callerBox.value
        if let sip, caller.isPending { caller.reject(sip.0, reason: sip.1) }
        caller.onCancelled = nil
        caller.onDTMF = nil
        caller.onRefer = nil
        caller.onLateAnswer = nil
        caller.onReplaced = nil
        logger.info("call ended: \(reason.isEmpty ? "\(sip?.0 ?? 0)" : reason)")
        let status = answered ? 200 : sip?.0 ?? browserCode ?? 487
        let why = reason.isEmpty ? (sip?.1 ?? "") : reason
        // Ended before the endpoint exists: it is closed (and the end
        // recorded) once it does.
        if case .preparing = phase, state.value.makingMedia { return state.value.deferredEnd = (status, why) }
        releaseMedia(status: status, reason: why)
    }

    /// Takes the endpoint being made (nil: none); false when the call ended
    /// meanwhile, which ends it now: endpoint closed, then record and table.
    private func mediaPrepared(_ media: (any MediaEndpoint)?) -> Bool {
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

    private func releaseMedia(status: Int? = nil, reason: String = "") {
        let media = state.value.media
        state.value.media = nil
        environment.closeMedia(media, of: self, recorder: state.value.recorder, status: status, reason: reason)
    }
}
