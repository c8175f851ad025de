import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import SDP
import SIP
import Signaling

/// A call from a trunk to a browser user: every logged-in connection of the
/// user gets `incoming` with the gateway's WebRTC offer; the first `answer`
/// wins and the others hear "answered elsewhere". 4xx/5xx rejects withdraw
/// one connection, 6xx ends the call for all; when nobody is left the
/// caller gets the last rejection (480 if none). Confined to the gateway's loop.
final class TrunkOriginatedCall: CallControl, @unchecked Sendable {
    private unowned let gateway: Gateway
    let invite: IncomingInvite
    let user: String
    let id: String
    private var media: MediaSession?
    private var phoneAnswer: [UInt8] = []
    private var dialog: Dialog?
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

    init(gateway: Gateway, invite: IncomingInvite, user: String) {
        self.gateway = gateway
        self.invite = invite
        self.user = user
        id = "in-" + String(Self.counter.withLockedValue { $0 += 1; return $0 })
        var logger = gateway.logger
        logger[metadataKey: "call"] = "\(id)"
        self.logger = logger
    }

    private var loop: any EventLoop { gateway.eventLoop }

    func start() {
        gateway.browserCallStarted(self)
        let from = invite.request.headers.from?.uri.user ?? ""
        recorder = CallRecorder(store: gateway.recordStore, instance: gateway.config.records.instanceName,
                                callID: id, direction: .trunkToBrowser, from: from,
                                to: invite.request.uri.user ?? "", user: user,
                                trunk: gateway.policy.trunk(forSource: invite.source.ipAddress)?.name,
                                sipCallID: invite.request.headers.callID)
        invite.onCancelled = { [self] in
            finish(toBrowsers: 487, reason: "the caller hung up", sip: nil)
        }
        let connections = gateway.browsers.connections(of: user)
        guard !connections.isEmpty, let engine = gateway.media else {
            return finish(toBrowsers: 480, reason: "", sip: (480, "Temporarily Unavailable"))
        }
        let offerText = String(decoding: invite.request.body, as: UTF8.self)
        Task {
            let session: MediaSession
            do {
                session = try await engine.makeSession()
            } catch {
                return loop.execute { self.finish(toBrowsers: 503, reason: "", sip: (503, "No Media Ports")) }
            }
            do {
                let answer = try await session.answerPhoneOffer(SessionDescription.parse(offerText),
                                                                address: gateway.config.media.publicAddress)
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
        let from = invite.request.headers.from
        let caller = from?.uri.user ?? from?.uri.host ?? "unknown"
        for client in connections where client.ring(id, from: caller, fromName: from?.displayName, to: user,
                                                    sdp: offer, control: self) {
            ringing[ObjectIdentifier(client)] = client
        }
        guard !ringing.isEmpty else { return finish(toBrowsers: 480, reason: "", sip: (480, "Temporarily Unavailable")) }
        logger.info("ringing \(user) on \(ringing.count) connection(s)")
        ringTimer = loop.scheduleTask(in: TimeAmount(gateway.config.sip.inviteTimeout)) { [self] in
            finish(toBrowsers: 408, reason: "not answered in time", sip: (480, "No Answer"))
        }
    }

    // MARK: from the browsers

    func clientRinging(_ client: SignalingClient) {
        loop.execute { [self] in
            guard !finished, !sentRinging, dialog == nil else { return }
            sentRinging = true
            invite.provisional(180)
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
                        self.answering = nil
                        client.send(.error(code: 488, reason: "the answer cannot be used: \(error)", call: self.id))
                    }
                }
            }
        }
    }

    private func answered(by client: SignalingClient) {
        // The answering connection may have closed while its SDP was applied.
        guard answering === client else { return withdrawn() }
        answering = nil
        guard !finished else { return client.send(.hangup(call: id, code: 487, reason: "the caller hung up")) }
        guard let dialog = invite.answer(body: phoneAnswer) else {
            return finish(toBrowsers: 487, reason: "the caller hung up", sip: nil)
        }
        ringTimer?.cancel()
        self.dialog = dialog
        answeredBy = client
        ringing[ObjectIdentifier(client)] = nil
        for other in ringing.values { other.send(.hangup(call: id, code: 200, reason: "answered elsewhere")) }
        ringing = [:]
        client.confirmAnswer(id)
        logger.info("answered on \(client)")
        recorder?.answered()
        dialog.onTerminated = { [self] reason in
            self.dialog = nil
            finish(toBrowsers: 200, reason: reason == .remoteBye ? "the caller hung up" : "\(reason)", sip: nil)
        }
        dialog.onModify = { [self] transaction in
            guard let media, let text = String(validating: transaction.request.body, as: UTF8.self),
                  let offer = try? PlainAudioDescription(SessionDescription.parse(text)) else {
                return transaction.respond(488, reason: "Not Acceptable Here")
            }
            gateway.respondToModify(transaction, body: media.modifyAnswer(to: offer, address: gateway.config.media.publicAddress))
        }
    }

    func clientReject(_ code: Int, from client: SignalingClient) {
        loop.execute { [self] in
            guard !finished, ringing.removeValue(forKey: ObjectIdentifier(client)) != nil else { return }
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
            dialog?.bye()
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
                        self.dialog?.bye()
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
        if let sip, invite.state == .pending { invite.reject(sip.0, reason: sip.1) }
        invite.onCancelled = nil
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
