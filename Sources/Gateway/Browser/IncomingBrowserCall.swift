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
/// rejection (480 if none). Confined to the gateway's loop.
final class IncomingBrowserCall: CallControl, @unchecked Sendable {
    private unowned let gateway: Gateway
    let caller: CallerLeg
    let user: String
    let id: String
    private var media: MediaSession?
    private var phoneAnswer: [UInt8] = []
    private var connected = false
    /// Connections still ringing, by identity.
    private var ringing: [ObjectIdentifier: SignalingClient] = [:]
    private var answering: SignalingClient?
    private var answeredBy: SignalingClient?
    private var sentRinging = false
    private var lastRejection: Int?
    private var finished = false
    private var ringTimer: Scheduled<Void>?
    private var logger: Logger
    private var recorder: CallRecorder?

    private static let counter = NIOLockedValueBox(0)

    /// How long the browsers ring: the dialplan's `ring_timeout`, else `sip.invite_timeout`.
    private let ringTimeout: TimeAmount

    init(gateway: Gateway, caller: CallerLeg, user: String, ringTimeout seconds: Double? = nil) {
        self.gateway = gateway
        self.caller = caller
        self.user = user
        ringTimeout = seconds.map { .milliseconds(Int64($0 * 1000)) } ?? TimeAmount(gateway.config.sip.inviteTimeout)
        id = "in-" + String(Self.counter.withLockedValue { $0 += 1; return $0 })
        var logger = gateway.logger
        logger[metadataKey: "call"] = "\(id)"
        self.logger = logger
    }

    private var loop: any EventLoop { gateway.eventLoop }

    func start() {
        gateway.browserCallStarted(self)
        // A browser's call to a browser has its own record (the caller's side).
        if caller is SIPCallerLeg {
            recorder = CallRecorder(store: gateway.recordStore, instance: gateway.config.records.instanceName,
                                    callID: id, direction: .trunkToBrowser, from: caller.callerNumber,
                                    to: caller.calledNumber, user: user, trunk: caller.trunkName,
                                    sipCallID: caller.sipCallID)
        }
        caller.onCancelled = { [self] in
            finish(toBrowsers: 487, reason: "the caller hung up", sip: nil)
        }
        let connections = gateway.browsers.connections(of: user)
        guard !connections.isEmpty, let engine = gateway.media else {
            return finish(toBrowsers: 480, reason: "", sip: (480, "Temporarily Unavailable"))
        }
        let offerText = caller.offer
        Task {
            let session: MediaSession
            do {
                session = try await engine.makeSession()
            } catch {
                return loop.execute { self.finish(toBrowsers: 503, reason: "", sip: (503, "No Media Ports")) }
            }
            do {
                let answer = try await session.answerPhoneOffer(SessionDescription.parse(offerText),
                                                                address: caller.answerAddress)
                let browserOffer = session.browserOffer().serialize()
                loop.execute {
                    self.media = session
                    self.watch(session)
                    guard !self.finished else { return self.releaseMedia() }
                    self.phoneAnswer = Array(answer.serialize().utf8)
                    self.ring(connections, offer: browserOffer)
                }
            } catch {
                await session.close(reason: "offer refused")
                loop.execute { self.finish(toBrowsers: 488, reason: "", sip: (488, "Not Acceptable Here")) }
            }
        }
    }

    private func ring(_ connections: [SignalingClient], offer: String) {
        for client in connections where client.ring(id, from: caller.callerNumber, fromName: caller.callerName,
                                                    to: user, sdp: offer, control: self) {
            ringing[ObjectIdentifier(client)] = client
        }
        guard !ringing.isEmpty else { return finish(toBrowsers: 480, reason: "", sip: (480, "Temporarily Unavailable")) }
        logger.info("ringing \(user) on \(ringing.count) connection(s)")
        ringTimer = loop.scheduleTask(in: ringTimeout) { [self] in
            finish(toBrowsers: 408, reason: "not answered in time", sip: caller.noAnswer)
        }
    }

    // MARK: from the browsers

    func clientRinging(_ client: SignalingClient) {
        loop.execute { [self] in
            guard !finished, !sentRinging, !connected else { return }
            sentRinging = true
            caller.ringing()
        }
    }

    func clientAnswer(_ sdp: String, from client: SignalingClient) {
        loop.execute { [self] in
            guard !finished, answering == nil, answeredBy == nil, ringing[ObjectIdentifier(client)] != nil,
                  let media else {
                return client.send(.hangup(call: id, code: 200, reason: "answered elsewhere"))
            }
            answering = client
            Task {
                do {
                    try await media.acceptBrowserAnswer(SessionDescription.parse(sdp))
                    loop.execute { self.answered(by: client) }
                } catch {
                    loop.execute {
                        guard !self.finished else { return }
                        if self.answering === client { self.answering = nil }
                        client.send(.error(code: 488, reason: "the answer cannot be used: \(error)", call: self.id))
                        self.withdrawn()
                    }
                }
            }
        }
    }

    private func answered(by client: SignalingClient) {
        // The answering connection may have closed while its SDP was applied.
        guard answering === client, ringing[ObjectIdentifier(client)] != nil else { return withdrawn() }
        answering = nil
        guard !finished else { return client.send(.hangup(call: id, code: 487, reason: "the caller hung up")) }
        let answered = caller.answer(sdp: phoneAnswer, ended: { [self] reason in
            connected = false
            finish(toBrowsers: 200, reason: reason, sip: nil)
        }, reoffer: { [self] offer in
            guard let media else { return offer.reject(488, reason: "Not Acceptable Here") }
            media.answer(offer, address: caller.answerAddress, loop: loop)
        })
        guard answered else { return finish(toBrowsers: 487, reason: "the caller hung up", sip: nil) }
        ringTimer?.cancel()
        connected = true
        answeredBy = client
        ringing[ObjectIdentifier(client)] = nil
        for other in ringing.values { other.send(.hangup(call: id, code: 200, reason: "answered elsewhere")) }
        ringing = [:]
        client.confirmAnswer(id)
        logger.info("answered on \(client)")
        recorder?.answered()
    }

    func clientReject(_ code: Int, from client: SignalingClient) {
        loop.execute { [self] in
            guard !finished, ringing.removeValue(forKey: ObjectIdentifier(client)) != nil else { return }
            // A reject while its own answer is being applied withdraws that answer.
            if answering === client { answering = nil }
            lastRejection = code
            if code >= 600 {
                return finish(toBrowsers: code, reason: "declined", sip: (code, nil))
            }
            withdrawn()
        }
    }

    func clientHangup(_ client: SignalingClient) { loop.execute { self.left(client, reason: "browser hung up") } }
    func clientGone(_ client: SignalingClient) { loop.execute { self.left(client, reason: "browser connection closed") } }

    func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient) {
        loop.execute { [self] in media?.playDTMF(digits, milliseconds: durationMilliseconds, for: client, call: self.id) }
    }

    private func left(_ client: SignalingClient, reason: String) {
        guard !finished else { return }
        if answeredBy === client {
            logger.info("call ended: \(reason)")
            if connected { caller.hangUp() }
            connected = false
            return finish(toBrowsers: nil, reason: reason, sip: nil)
        }
        if answering === client { answering = nil }
        if ringing.removeValue(forKey: ObjectIdentifier(client)) != nil { withdrawn() }
    }

    /// Nobody is left ringing: the caller hears the last rejection.
    private func withdrawn() {
        guard ringing.isEmpty, answering == nil, answeredBy == nil else { return }
        let code = lastRejection ?? 480
        finish(toBrowsers: nil, reason: "", sip: (code, nil))
    }

    private func watch(_ session: MediaSession) {
        Task {
            for await event in session.events {
                if case .ended(let reason) = event {
                    loop.execute {
                        if self.connected { self.caller.hangUp() }
                        self.connected = false
                        self.finish(toBrowsers: 200, reason: "media ended: \(reason)", sip: (480, "Media Failed"))
                    }
                }
                if case .dtmf(let report) = event, report.origin == .phone {
                    loop.execute { self.answeredBy?.send(.dtmf(call: self.id, digit: report.digit)) }
                }
            }
        }
    }

    /// Ends the call: `hangup` to every connection still in it (with
    /// `browserCode`, nil for none), and the SIP final response when the
    /// INVITE is still unanswered.
    private func finish(toBrowsers browserCode: Int?, reason: String, sip: (Int, String?)?) {
        guard !finished else { return }
        finished = true
        ringTimer?.cancel()
        if let browserCode {
            for client in ringing.values { client.send(.hangup(call: id, code: browserCode, reason: reason)) }
            answering?.send(.hangup(call: id, code: browserCode, reason: reason))
            answeredBy?.send(.hangup(call: id, code: browserCode, reason: reason))
        }
        ringing = [:]
        if let sip, caller.isPending { caller.reject(sip.0, reason: sip.1) }
        caller.onCancelled = nil
        logger.info("call ended: \(reason.isEmpty ? "\(sip?.0 ?? 0)" : reason)")
        let status = answeredBy != nil ? 200 : sip?.0 ?? browserCode ?? 487
        releaseMedia(status: status, reason: reason.isEmpty ? (sip?.1 ?? "") : reason)
    }

    /// Closes the media session. With a status (the call's end), the record
    /// is ended with the session's last statistics, and only then does the
    /// gateway count the call as gone (see BrowserOriginatedCall).
    private func releaseMedia(status: Int? = nil, reason: String = "") {
        let media = self.media
        self.media = nil
        gateway.closeMedia(media, of: self, recorder: recorder, status: status, reason: reason)
    }
}
