import Media
import NIOCore
import SDP
import SIP

/// What a call needs of its media, in the spirit of SIP.js's
/// SessionDescriptionHandler: descriptions made and applied on each side,
/// DTMF, the dialplan's own media, statistics, closing. The call never sees
/// sockets or packets. `MediaSession` is the real one; the call layer's unit
/// tests use a fake. Conference, recording and transfer plug in here.
///
/// The browser side speaks WebRTC (ICE-lite, DTLS-SRTP, Opus); the phone
/// side plain RTP/AVP toward a trunk, another user's media, or the
/// gateway's own applications.
protocol MediaEndpoint: AnyObject, Sendable {
    /// Events: the browser connected, DTMF crossed, media ended (the last).
    var events: AsyncStream<MediaEvent> { get }

    // The browser side.
    /// The browser's offer as the signaling layer read and checked it (parsed once).
    func answerBrowserOffer(_ offer: WebRTCAudioDescription) async throws -> SessionDescription
    func browserOffer(setup: SDPSetup, telephoneEventPayloadType: UInt8) -> SessionDescription
    func acceptBrowserAnswer(_ answer: SessionDescription) async throws

    // The phone side; every description it makes carries the o= version RFC 3264 §8 asks for.
    // With `encryption` optional or required the phone leg may run SRTP keyed in the SDP (SDES).
    func phoneOffer(address: String, codecs: [PhoneCodec], telephoneEventPayloadType: UInt8,
                    packetTime: Int, encryption: PhoneEncryption) -> SessionDescription
    func acceptPhoneAnswer(_ answer: SessionDescription) async throws
    func answerPhoneOffer(_ offer: SessionDescription, address: String,
                          preference: [PhoneCodec], encryption: PhoneEncryption) async throws -> SessionDescription
    /// A new offer inside the call (hold, resume, a new address): the same codec, the direction mirrored.
    func answerPhoneReoffer(_ offer: SessionDescription, address: String) async throws -> SessionDescription
    /// What was agreed, for a re-INVITE that asks us to offer.
    func currentPhoneDescription(address: String) async throws -> SessionDescription
    /// The same, offered again after other descriptions of this session
    /// reached the phone (the gateway's bridge that did not complete): its
    /// version is above `version`.
    func phoneDescription(after version: UInt64, address: String) async throws -> SessionDescription

    /// The browser holds the call: hold music toward the phone, nothing
    /// relayed either way; returns our new phone-side offer (`sendonly`).
    func hold(address: String) async throws -> SessionDescription
    /// Ends the hold; returns our new phone-side offer (`sendrecv`).
    func resume(address: String) async throws -> SessionDescription
    /// The phone's answer to our hold or resume offer.
    func acceptPhoneReanswer(_ answer: SessionDescription) async throws
    /// A transfer: our offer to the new far end (the call's codec), and
    /// its answer, after which the phone side is that far end only.
    func transferOffer(address: String, encryption: PhoneEncryption) async throws -> SessionDescription
    func acceptTransferAnswer(_ answer: SessionDescription) async throws
    /// An INVITE with Replaces for the phone side: answered in the call's codec, RTP re-pointed.
    func answerReplacement(_ offer: SessionDescription, address: String) async throws -> SessionDescription

    /// RFC 4733 toward the phone; false when it negotiated no telephone-event.
    func sendDTMF(_ digits: String, milliseconds: Int) async throws -> Bool
    /// The gateway's own media as the phone side (the dialplan's answer, echo, tones, digits).
    func startApplication(loop: any EventLoop) async throws -> any CallApplication
    /// Another browser's media as the phone side, in the process (a call
    /// from one browser user to another); offer/answer between the two still
    /// picks the codec. `other` was made next to this one (`makeMedia(near:)`).
    func join(_ other: any MediaEndpoint) async throws
    /// Undoes `join` (the other user did not answer): the phone side may go
    /// to a trunk next. Done before any later request to this endpoint.
    func unjoin()
    func statistics() async throws -> MediaStatistics
    func close(reason: String) async
}

extension MediaEndpoint {
    func browserOffer() -> SessionDescription { browserOffer(setup: .actpass, telephoneEventPayloadType: 101) }
    func phoneOffer(address: String, codecs: [PhoneCodec], encryption: PhoneEncryption = .off) -> SessionDescription {
        phoneOffer(address: address, codecs: codecs, telephoneEventPayloadType: 101, packetTime: 20, encryption: encryption)
    }
    // Without `preference`: a signature of its own, so this never stands in
    // for the requirement (which would call itself).
    func answerPhoneOffer(_ offer: SessionDescription, address: String,
                          encryption: PhoneEncryption = .off) async throws -> SessionDescription {
        try await answerPhoneOffer(offer, address: address, preference: [.pcmu, .pcma, .g722], encryption: encryption)
    }

    /// Answers the phone's offer inside the call (a re-INVITE or UPDATE:
    /// hold, resume, a new address, a refresh without SDP): the same codec,
    /// the direction mirrored, the o= version raised only when the answer
    /// changed. The browser's SDP never changes. The SIP answer is sent from
    /// `loop`, the call's; an offer the media cannot take gets 488 and the
    /// call goes on as before.
    func answer(_ offer: InDialogOffer, address: String, loop: any EventLoop) {
        let body = offer.body
        let box = LoopBound(offer)
        Task {
            let answer: SessionDescription?
            if body.isEmpty {
                answer = try? await currentPhoneDescription(address: address)
            } else if let text = String(validating: body, as: UTF8.self),
                      let parsed = try? SessionDescription.parse(text) {
                answer = try? await answerPhoneReoffer(parsed, address: address)
            } else {
                answer = nil
            }
            loop.execute {
                guard let answer else { return box.value.reject(488, reason: "Not Acceptable Here") }
                guard body.isEmpty else { return box.value.accept(body: Array(answer.serialize().utf8)) }
                // Our 2xx offers; the ACK's answer may name a new address
                // (a PBX re-points the call after a transfer this way).
                box.value.accept(body: Array(answer.serialize().utf8)) { [self] ackBody in
                    guard let text = String(validating: ackBody, as: UTF8.self),
                          let parsed = try? SessionDescription.parse(text) else { return }
                    Task { try? await self.acceptPhoneReanswer(parsed) }
                }
            }
        }
    }

    /// Answers an INVITE with Replaces (RFC 3891) that takes over the
    /// phone side: with the call's codec, to its offer, or with our offer
    /// when it has none (the ACK's answer then re-points the media).
    /// `done` runs on `loop` with the new dialog, or nil when the INVITE
    /// was refused (488: the call goes on with the old dialog).
    func takeReplacement(_ invite: IncomingInvite, address: String, loop: any EventLoop,
                         done: @escaping (Dialog?) -> Void) {
        let inviteBox = LoopBound(invite)
        let doneBox = LoopBound(done)
        let body = invite.request.body
        Task {
            let description: SessionDescription?
            if body.isEmpty {
                description = try? await transferOffer(address: address, encryption: .optional)
            } else if let text = String(validating: body, as: UTF8.self),
                      let offer = try? SessionDescription.parse(text) {
                description = try? await answerReplacement(offer, address: address)
            } else {
                description = nil
            }
            loop.execute {
                let invite = inviteBox.value
                guard let description, let dialog = invite.answer(body: Array(description.serialize().utf8)) else {
                    invite.reject(488, reason: "Not Acceptable Here")
                    return doneBox.value(nil)
                }
                if body.isEmpty {
                    dialog.onAckAnswer = { [self] answer in
                        guard let text = String(validating: answer, as: UTF8.self),
                              let parsed = try? SessionDescription.parse(text) else { return dialog.bye() }
                        Task { try? await self.acceptTransferAnswer(parsed) }
                    }
                }
                doneBox.value(dialog)
            }
        }
    }

    /// A browser's `dtmf` message, played toward the phone; the browser hears
    /// error 488 when the phone side negotiated no telephone-event.
    func playDTMF(_ digits: String, milliseconds: Int, for client: any BrowserConnection, call: String) {
        Task {
            if !((try? await sendDTMF(digits, milliseconds: milliseconds)) ?? false) {
                client.send(.error(code: 488, reason: "the far end takes no telephone-events", call: call))
            }
        }
    }
}

/// The dialplan's own media on a call it answered.
protocol CallApplication: AnyObject, Sendable {
    /// Sends back what it hears, until the call ends.
    func echo()
    func play(frequency: Double, duration: Double, done: @escaping () -> Void)
    func collectDigits(max: Int, timeout: Double, terminator: String?, done: @escaping (String) -> Void)
    func close()
}

extension MediaSession: MediaEndpoint {}

/// The media of a trunk's call relayed to another SIP peer (`RelaySession`):
/// offer/answer across its two legs, as `SIPRelayCall` needs it.
protocol RelayEndpoint: AnyObject, Sendable {
    /// Our offer to the callee, from the caller's offer and the codecs the callee's trunk allows.
    func calleeOffer(callerOffer: SessionDescription, address: String,
                     allowed: [PhoneCodec]) throws -> SessionDescription
    /// The same for a caller without an offer (late offer): every allowed codec.
    func calleeOfferWithoutCallerOffer(address: String, allowed: [PhoneCodec]) throws -> SessionDescription
    /// The callee's answer (once); returns our answer for the caller, or
    /// for a late offer our offer to it (its answer: `acceptCallerAnswer`).
    /// `attempt` numbers the callee: another attempt's answer replaces an earlier one's.
    func acceptCalleeAnswer(_ answer: SessionDescription, address: String, attempt: Int) throws -> SessionDescription
    func acceptCallerAnswer(_ answer: SessionDescription) throws
    func answerReoffer(_ offer: SessionDescription, from side: RelaySide, address: String) throws -> SessionDescription
    func currentDescription(_ side: RelaySide, address: String) throws -> SessionDescription
    /// A leg's descriptions continue the o= line its peer knows (a dialog taken over mid-call).
    func continueSession(_ side: RelaySide, sessionID: UInt64, after version: UInt64)
    /// Ends the media; the future has its figures up to then.
    func close(reason: String) -> EventLoopFuture<MediaStatistics>
}

extension RelaySession: RelayEndpoint {}

extension RelayEndpoint {
    /// Answers an offer inside a relayed call (hold, a new address, a
    /// refresh without SDP) on the leg that made it, with the codec agreed
    /// at the start; 488 when the relay cannot take it.
    func answer(_ offer: InDialogOffer, from side: RelaySide, address: String) {
        let answer: SessionDescription?
        if offer.body.isEmpty {
            answer = try? currentDescription(side, address: address)
        } else if let text = String(validating: offer.body, as: UTF8.self), let parsed = try? SessionDescription.parse(text) {
            answer = try? answerReoffer(parsed, from: side, address: address)
        } else {
            answer = nil
        }
        guard let answer else { return offer.reject(488, reason: "Not Acceptable Here") }
        offer.accept(body: Array(answer.serialize().utf8))
    }

    /// Closes the media and hands its figures (nil when they could not be
    /// had) to `then` on `loop`.
    func close(reason: String, on loop: any EventLoop, then: @escaping (MediaStatistics?) -> Void) {
        let then = LoopBound(then)
        close(reason: reason).hop(to: loop).whenComplete { result in then.value(try? result.get()) }
    }
}

/// The media plane's application, with completions on the call's loop.
extension LocalMediaApplication: CallApplication {
    func echo() { startEcho() }
    func close() { stop() }

    func play(frequency: Double, duration: Double, done: @escaping () -> Void) {
        let done = LoopBound(done)
        playTone(frequency: frequency, duration: duration, then: { done.value() })
    }

    func collectDigits(max: Int, timeout: Double, terminator: String?, done: @escaping (String) -> Void) {
        let done = LoopBound(done)
        collectDigits(max: max, timeout: timeout, terminator: terminator, then: { done.value($0) })
    }
}

extension MediaSession {
    func startApplication(loop: any EventLoop) async throws -> any CallApplication {
        try await startLocalApplication(callbackLoop: loop)
    }

    func join(_ other: any MediaEndpoint) async throws {
        guard let other = other as? MediaSession else {
            throw MediaError.negotiation("only media sessions can be joined")
        }
        try await join(other)
    }
}
