import Dialplan
import Logging
import Media
import NIOCore
import SDP
import SIP
import Signaling

/// A call a browser places: the dialplan runs first and decides; a bridge to
/// a trunk makes the B2BUA's two legs. The browser's offer is answered by a
/// media session once (ICE-lite, so the browser's checks can start), the
/// session's plain offer goes to the trunk, and the trunk's answers are
/// mapped back: 180 → `ringing`, 183 with SDP → `progress`, 200 →
/// `answered`, BYE → `hangup`. A failed attempt goes back to the dialplan,
/// which may try another trunk with the same media session (failover); when
/// it gives up the browser hears `hangup` with the last status. The
/// browser's answer SDP is made once and never changes. Confined to the
/// gateway's loop.
final class BrowserOriginatedCall: CallControl, @unchecked Sendable {
    unowned let gateway: Gateway
    let client: SignalingClient
    let request: BrowserCallRequest
    var media: MediaSession?
    private var invite: OutgoingInvite?
    var dialog: Dialog?
    /// The SDP the browser gets in `progress` and `answered`.
    var browserAnswer: String?
    var phoneAnswer = PhoneAnswer.none
    enum PhoneAnswer {
        case none
        case applying([@Sendable () -> Void])
        case applied
    }
    var finished = false
    var logger: Logger
    var run: DialplanRun?
    /// The gateway's own end of the call once the dialplan answered it.
    var application: MediaApplication?
    var recorder: CallRecorder?
    /// While a bridge to another browser user rings or talks: that call's caller side.
    var calleeLeg: BrowserCallerLeg?
    var wasAnswered = false
    /// Trunk attempts so far: a script that retries failures in a loop
    /// must not send INVITEs without end.
    private var attempts = 0
    static let maximumAttempts = 16

    init(gateway: Gateway, client: SignalingClient, request: BrowserCallRequest) {
        self.gateway = gateway
        self.client = client
        self.request = request
        var logger = gateway.logger
        logger[metadataKey: "call"] = "\(request.user)/\(request.id)"
        self.logger = logger
    }

    var loop: any EventLoop { gateway.eventLoop }

    func start() {
        gateway.browserCallStarted(self)
        recorder = CallRecorder(store: gateway.recordStore, instance: gateway.config.records.instanceName,
                                callID: "\(request.user)/\(request.id)",
                                direction: .browserToTrunk, from: request.user, to: request.to,
                                user: request.user, trunk: nil)
        let run = gateway.dialplan.makeRun(DialplanCall(browser: request), log: logger)
        self.run = run
        perform(run.start())
    }

    /// Carries out what the dialplan asks, until it waits on a call attempt
    /// or the call ends.
    func perform(_ first: DialplanStep) {
        var step = first
        while !finished, let run {
            if case .bridge = step {
                attempts += 1
                guard attempts <= Self.maximumAttempts else {
                    logger.error("dialplan tried more than \(Self.maximumAttempts) bridges; ending the call")
                    return finish(code: 500, reason: "too many bridge attempts")
                }
            }
            switch step {
            case .bridge where application != nil:
                step = run.resume(.bridged(code: 501, reason: "a call the dialplan answered cannot be bridged yet",
                                           answered: false))
            case .bridge(.trunk(let name, let number), let options):
                guard let trunk = gateway.config.trunk(named: name) else {
                    step = run.resume(.bridged(code: 404, reason: "no trunk named \(name)", answered: false))
                    continue
                }
                return bridge(trunk: trunk, number: number, options: options)
            case .bridge(.user(let name), let options):
                return bridge(user: name, options: options)
            case .bridge(.uri(let text), let options):
                guard let (trunk, number) = Self.directTarget(text, gateway: gateway) else {
                    step = run.resume(.bridged(code: 416, reason: "not a SIP URI with a user and a host: \(text)",
                                               answered: false))
                    continue
                }
                return bridge(trunk: trunk, number: number, options: options)
            case .hangup(let code, let reason):
                return finish(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code))
            case .finished where wasAnswered:
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

    /// One attempt through a trunk; the media session is made for the first
    /// and kept for any after it.
    private func bridge(trunk: TrunkConfig, number: String, options: BridgeOptions) {
        logger.info("browser call to \(number) via \(trunk.name)")
        let direct = gateway.config.trunk(named: trunk.name) == nil
        recorder?.routed(to: direct ? trunk.name : number, trunk: direct ? nil : trunk.name, sipCallID: nil)
        withMedia { [self] media in
            let offer = media.phoneOffer(address: gateway.config.media.publicAddress,
                                         codecs: Self.phoneCodecs(trunk: trunk, options: options))
            phoneAnswer = .none
            sendInvite(trunk: trunk, number: number, options: options, offer: Array(offer.serialize().utf8))
        }
    }

    /// A SIP URI the dialplan names (`sip:2001@pbx.example.org;transport=tcp`)
    /// as a trunk of its own: no credentials, From in our public address.
    static func directTarget(_ text: String, gateway: Gateway) -> (TrunkConfig, String)? {
        guard let uri = try? SIPURI.parse(text), uri.isSIP, !uri.host.isEmpty,
              let user = uri.user, !user.isEmpty else { return nil }
        let transport: SIPTransportKind
        switch uri.transport?.lowercased() {
        case nil: transport = uri.scheme == "sips" ? .tls : .udp
        case "udp": transport = .udp
        case "tcp": transport = .tcp
        case "tls": transport = .tls
        default: return nil
        }
        let trunk = TrunkConfig(name: text, address: uri.host, port: uri.port ?? transport.defaultPort,
                                transport: transport, fromDomain: gateway.config.sip.publicAddress)
        return (trunk, user)
    }

    /// The dialplan's codec list where it names codecs the trunk can take, else the trunk's.
    static func phoneCodecs(trunk: TrunkConfig, options: BridgeOptions) -> [PhoneCodec] {
        let configured = trunk.codecs.compactMap { PhoneCodec(name: $0.rawValue) }
        guard let names = options.codecs else { return configured }
        let chosen = names.compactMap { PhoneCodec(name: $0.uppercased()) }
        return chosen.isEmpty ? configured : chosen
    }

    /// A trunk attempt failed before an answer: the dialplan hears why and
    /// decides what comes next.
    ///
    /// After early media from this attempt the browser already hears its
    /// media address and codec, which the session cannot take back, so the
    /// call ends with the failure instead of failing over. The dialplan is
    /// resumed from the loop, not from inside the failure's own call chain,
    /// so a script that retries at once cannot grow the stack.
    func attemptFailed(code: Int, reason: String) {
        guard !finished, run != nil else { return }
        if case .none = phoneAnswer {} else { return finish(code: code, reason: reason) }
        loop.execute { [self] in
            guard !finished, let run else { return }
            perform(run.resume(.bridged(code: code, reason: reason, answered: false)))
        }
    }

    /// The media session for the caller's browser, made once (bound and
    /// the browser's offer answered off the loop), then `next` on the loop.
    func withMedia(_ next: @escaping (MediaSession) -> Void) {
        if let media { return next(media) }
        guard let engine = gateway.media else { return attemptFailed(code: 503, reason: "no media engine") }
        let offerText = request.sdp
        let next = LoopBound(next)
        Task {
            let session: MediaSession
            do {
                session = try await engine.makeSession()
            } catch {
                return loop.execute { self.finish(code: 503, reason: "no media ports free") }
            }
            do {
                let answer = try await session.answerBrowserOffer(SessionDescription.parse(offerText))
                loop.execute {
                    self.media = session
                    self.watch(session)
                    guard !self.finished else { return self.releaseMedia() }
                    self.browserAnswer = answer.serialize()
                    next.value(session)
                }
            } catch {
                await session.close(reason: "offer refused")
                loop.execute { self.finish(code: 488, reason: "the offer cannot be used: \(error)") }
            }
        }
    }

    private func sendInvite(trunk: TrunkConfig, number: String, options: BridgeOptions, offer: [UInt8]) {
        let endpoint: SIPEndpoint
        do {
            endpoint = try gateway.endpoint(for: trunk)
        } catch {
            return attemptFailed(code: 503, reason: "trunk \(trunk.name) cannot be reached: \(error)")
        }
        var parameters = gateway.inviteParameters(trunk: trunk, endpoint: endpoint, number: number,
                                                  callerID: options.callerID, body: offer)
        if let name = options.callerName { parameters.from.displayName = name }
        if let seconds = options.ringTimeout { parameters.ringTimeout = .milliseconds(Int64(seconds * 1000)) }
        // Only what the dialplan puts in options.headers reaches the carrier;
        // the browser's own X- headers stay with the dialplan.
        parameters.headers += options.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        invite = gateway.userAgent.invite(parameters) { [self] event in
            switch event {
            case .provisional(let response):
                provisional(response)
            case .answered(let response, let dialog):
                answered(response, dialog: dialog)
            case .failed(let failure):
                invite = nil
                attemptFailed(code: failure.statusCode, reason: failure.reason)
            }
        }
    }

    private func provisional(_ response: SIPResponse) {
        guard !finished else { return }
        guard !response.body.isEmpty, response.statusCode == 183 || response.statusCode == 180 else {
            return client.send(.ringing(call: request.id))
        }
        acceptPhoneAnswer(response.body) { [self] in
            if let browserAnswer { client.send(.progress(call: request.id, sdp: browserAnswer)) }
        }
    }

    private func answered(_ response: SIPResponse, dialog: Dialog) {
        self.dialog = dialog
        invite = nil
        wasAnswered = true
        recorder?.routed(to: nil, trunk: nil, sipCallID: dialog.callID)
        recorder?.answered()
        dialog.onTerminated = { [self] reason in
            self.dialog = nil
            finish(code: 200, reason: reason == .remoteBye ? "the far end hung up" : "\(reason)")
        }
        dialog.onOffer = { [self] offer in
            guard let media else { return offer.reject(488, reason: "Not Acceptable Here") }
            media.answer(offer, address: gateway.config.media.publicAddress, loop: loop)
        }
        guard !finished else { return dialog.bye() }
        acceptPhoneAnswer(response.body) { [self] in
            if let browserAnswer { client.send(.answered(call: request.id, sdp: browserAnswer)) }
        }
    }

    /// The phone's SDP from a 183 or the 200 (once; a 200 after early media
    /// usually repeats it). The browser hears nothing of a change. Reports
    /// wait until the SDP is applied, so `progress` always comes before
    /// `answered` and media can flow when either is sent.
    private func acceptPhoneAnswer(_ body: [UInt8], then report: @escaping @Sendable () -> Void) {
        switch phoneAnswer {
        case .applied: return report()
        case .applying(let waiting): phoneAnswer = .applying(waiting + [report]); return
        case .none: break
        }
        guard let media, !body.isEmpty else {
            return finish(code: 488, reason: "the far end answered without SDP", sendBye: true)
        }
        phoneAnswer = .applying([report])
        Task {
            do {
                try await media.acceptPhoneAnswer(SessionDescription.parse(String(decoding: body, as: UTF8.self)))
                loop.execute {
                    guard case .applying(let waiting) = self.phoneAnswer else { return }
                    self.phoneAnswer = .applied
                    if !self.finished { waiting.forEach { $0() } }
                }
            } catch {
                loop.execute { self.finish(code: 488, reason: "the far end's media cannot be used: \(error)", sendBye: true) }
            }
        }
    }

    func watch(_ session: MediaSession) {
        Task {
            for await event in session.events {
                switch event {
                case .ended(let reason):
                    loop.execute {
                        self.finish(code: self.wasAnswered ? 200 : 480, reason: "media ended: \(reason)", sendBye: true)
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
        loop.execute { [self] in media?.playDTMF(digits, milliseconds: durationMilliseconds, for: client, call: request.id) }
    }

    /// The browser ended the call: CANCEL before the answer, BYE after; no `hangup` goes back.
    private func end(reason: String) {
        guard !finished else { return }
        finished = true
        logger.info("call ended: \(reason)")
        if let dialog { dialog.bye() } else { invite?.cancel() }
        calleeLeg?.callerLeft(reason)
        releaseMedia(status: wasAnswered ? 200 : 487, reason: reason)
    }

    /// The call is over from the gateway's side: the browser hears `hangup`.
    func finish(code: Int, reason: String, sendBye: Bool = false) {
        guard !finished else { return }
        finished = true
        logger.info("call ended: \(code) \(reason)")
        if sendBye, let dialog { dialog.bye() } else if sendBye { invite?.cancel() }
        calleeLeg?.callerLeft(reason)
        client.send(.hangup(call: request.id, code: code, reason: reason))
        releaseMedia(status: code, reason: reason)
    }

    /// Closes the media session. With a status (the call's end), the record
    /// is ended with the session's last statistics, and only then does the
    /// gateway count the call as gone: stopping waits for that, so no
    /// record's end is lost at shutdown.
    func releaseMedia(status: Int? = nil, reason: String = "") {
        application?.close()
        application = nil
        let media = self.media
        self.media = nil
        gateway.closeMedia(media, of: self, recorder: recorder, status: status, reason: reason)
    }
}
