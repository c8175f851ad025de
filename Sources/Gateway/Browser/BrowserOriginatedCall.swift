import Logging
import Media
import NIOCore
import SDP
import SIP
import Signaling

/// A call a browser places to a trunk: the B2BUA's two legs. The browser's
/// offer is answered by a media session at once (ICE-lite, so the browser's
/// checks can start), the session's plain offer goes to the trunk, and the
/// trunk's answers are mapped back: 180 → `ringing`, 183 with SDP →
/// `progress`, 200 → `answered`, failures and BYE → `hangup`. The browser's
/// answer SDP is made once and never changes. Confined to the gateway's loop.
final class BrowserOriginatedCall: CallControl, @unchecked Sendable {
    private unowned let gateway: Gateway
    let client: SignalingClient
    let request: BrowserCallRequest
    private var media: MediaSession?
    private var invite: OutgoingInvite?
    private var dialog: Dialog?
    /// The SDP the browser gets in `progress` and `answered`.
    private var browserAnswer: String?
    private var phoneAnswer = PhoneAnswer.none
    private enum PhoneAnswer {
        case none
        case applying([@Sendable () -> Void])
        case applied
    }
    private var finished = false
    private var logger: Logger

    init(gateway: Gateway, client: SignalingClient, request: BrowserCallRequest) {
        self.gateway = gateway
        self.client = client
        self.request = request
        var logger = gateway.logger
        logger[metadataKey: "call"] = "\(request.user)/\(request.id)"
        self.logger = logger
    }

    private var loop: any EventLoop { gateway.eventLoop }

    func start() {
        gateway.browserCallStarted(self)
        switch gateway.routeFromBrowser(to: request.to) {
        case .refuse(let code, let reason):
            finish(code: code, reason: reason)
        case .user:
            finish(code: 501, reason: "calls between browser users are not supported yet")
        case .trunk(let name, let number):
            guard let trunk = gateway.config.trunk(named: name), let engine = gateway.media else {
                return finish(code: 503, reason: "trunk \(name) is not available")
            }
            logger.info("browser call to \(number) via \(name)")
            Task { await prepareMedia(engine: engine, trunk: trunk, number: number) }
        }
    }

    /// Binds the media session and answers the browser's offer off the loop,
    /// then sends the INVITE from the loop.
    private func prepareMedia(engine: MediaEngine, trunk: TrunkConfig, number: String) async {
        let session: MediaSession
        let answer: SessionDescription
        do {
            session = try await engine.makeSession()
        } catch {
            return loop.execute { self.finish(code: 503, reason: "no media ports free") }
        }
        do {
            answer = try await session.answerBrowserOffer(SessionDescription.parse(request.sdp))
        } catch {
            await session.close(reason: "offer refused")
            return loop.execute { self.finish(code: 488, reason: "the offer cannot be used: \(error)") }
        }
        let offer = session.phoneOffer(address: gateway.config.media.publicAddress,
                                       codecs: trunk.codecs.compactMap { PhoneCodec(name: $0.rawValue) })
        loop.execute {
            self.media = session
            self.watch(session)
            guard !self.finished else { return self.releaseMedia() }
            self.browserAnswer = answer.serialize()
            self.sendInvite(trunk: trunk, number: number, offer: Array(offer.serialize().utf8))
        }
    }

    private func sendInvite(trunk: TrunkConfig, number: String, offer: [UInt8]) {
        let endpoint: SIPEndpoint
        do {
            endpoint = try gateway.endpoint(for: trunk)
        } catch {
            return finish(code: 503, reason: "trunk \(trunk.name) cannot be reached: \(error)")
        }
        var parameters = gateway.inviteParameters(trunk: trunk, endpoint: endpoint, number: number,
                                                  callerID: nil, body: offer)
        // The browser's X- headers are for the dialplan (issue 5), not for the carrier.
        invite = gateway.userAgent.invite(parameters) { [self] event in
            switch event {
            case .provisional(let response):
                provisional(response)
            case .answered(let response, let dialog):
                answered(response, dialog: dialog)
            case .failed(let failure):
                invite = nil
                finish(code: failure.statusCode, reason: failure.reason)
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
        dialog.onTerminated = { [self] reason in
            self.dialog = nil
            finish(code: 200, reason: reason == .remoteBye ? "the far end hung up" : "\(reason)")
        }
        dialog.onModify = { [self] transaction in absorbModify(transaction) }
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

    /// A re-INVITE from the phone side (hold, a new address): the media
    /// follows where it can, the browser's SDP stays as it is.
    private func absorbModify(_ transaction: ServerTransaction) {
        guard let media, let offer = try? SessionDescription.parse(String(decoding: transaction.request.body, as: UTF8.self)),
              let plain = try? PlainAudioDescription(offer) else {
            return transaction.respond(488, reason: "Not Acceptable Here")
        }
        gateway.respondToModify(transaction, body: media.modifyAnswer(to: plain, address: gateway.config.media.publicAddress))
    }

    private func watch(_ session: MediaSession) {
        Task {
            for await event in session.events {
                switch event {
                case .ended(let reason):
                    loop.execute { self.finish(code: 200, reason: "media ended: \(reason)", sendBye: true) }
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
        releaseMedia()
        gateway.browserCallEnded(self)
    }

    /// The call is over from the gateway's side: the browser hears `hangup`.
    private func finish(code: Int, reason: String, sendBye: Bool = false) {
        guard !finished else { return }
        finished = true
        logger.info("call ended: \(code) \(reason)")
        if sendBye, let dialog { dialog.bye() } else if sendBye { invite?.cancel() }
        client.send(.hangup(call: request.id, code: code, reason: reason))
        releaseMedia()
        gateway.browserCallEnded(self)
    }

    private func releaseMedia() {
        guard let media else { return }
        self.media = nil
        Task { await media.close(reason: "call ended") }
    }
}
