import NIOCore
import SDP

/// The browser holds the call and resumes it (RFC 3264 §8.4). The phone
/// side gets a new offer in the codec agreed at the start, `sendonly` while
/// held (or `inactive` when the phone holds us too), and hears hold music
/// meanwhile; the browser's side and its SDP never change. The call sends
/// the offer (a re-INVITE) and hands the answer to `acceptPhoneReanswer`.
extension MediaSession {
    /// Starts holding: hold music toward the phone from now on; returns our new offer.
    public func hold(address: String) async throws -> SessionDescription {
        try await eventLoop.submit { [self] in
            guard let frame = media.holdMusicFrame, let negotiated = phoneNegotiated else {
                throw MediaError.negotiation("the call's media does not flow yet")
            }
            if !media.browserHolds {
                media.browserHolds = true
                let player = HoldMusicPlayer(configuration.holdMusic, frameSamples: frame.samples)
                let interval = TimeAmount.milliseconds(Int64(negotiated.packetTime))
                holdMusicTask = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in
                    media.sendHoldMusic(player.nextFrame(sampleRate: frame.sampleRate), now: Self.now())
                }
            }
        }.get()
        return try await currentPhoneDescription(address: address)
    }

    /// Ends the hold: the browser's audio flows to the phone again; returns our new offer.
    public func resume(address: String) async throws -> SessionDescription {
        try await eventLoop.submit { [self] in
            holdMusicTask?.cancel()
            holdMusicTask = nil
            media.browserHolds = false
        }.get()
        return try await currentPhoneDescription(address: address)
    }

    /// The phone's answer to a hold or resume offer: where its RTP goes now
    /// and whether it takes ours. An answer that changes the codec is
    /// refused; the call goes on as it was.
    public func acceptPhoneReanswer(_ answer: SessionDescription) async throws {
        let remote = try PlainAudioDescription(answer)
        try await installPhoneSRTP(phoneKeying.withLockedValue { $0.acceptReanswer(remote) })
        try await eventLoop.submit { [self] in
            guard let current = phoneNegotiated else { throw MediaError.negotiation("the phone side was never negotiated") }
            guard remote.codecs.contains(where: { PhoneCodec(name: $0.name) == current.codec }) else {
                throw MediaError.negotiation("the answer drops \(current.codec.rawValue), the call's codec")
            }
            let held = remote.address == "0.0.0.0" || remote.address == "::"
            media.sendsToPhone = !held && (remote.direction == .sendrecv || remote.direction == .recvonly)
            if !held, let rtp = try? SocketAddress(ipAddress: remote.address, port: Int(remote.port)) {
                let rtcp = try? SocketAddress(ipAddress: remote.address, port: Int(remote.rtcpPort ?? remote.port + 1))
                media.setPhoneRemote(rtp: rtp, rtcp: rtcp ?? rtp)
            }
        }.get()
    }

    /// Whether the browser holds the call now.
    public func isHeldByBrowser() async throws -> Bool {
        try await eventLoop.submit { [self] in media.browserHolds }.get()
    }
}

extension SDPDirection {
    /// This direction without receiving: what we may offer or answer while
    /// the browser holds (it hears nothing then).
    var withoutReceiving: SDPDirection {
        switch self {
        case .sendrecv, .sendonly: .sendonly
        case .recvonly, .inactive: .inactive
        }
    }

    /// This direction without sending.
    var withoutSending: SDPDirection {
        switch self {
        case .sendrecv, .recvonly: .recvonly
        case .sendonly, .inactive: .inactive
        }
    }
}
