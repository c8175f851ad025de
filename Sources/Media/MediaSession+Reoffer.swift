import NIOCore
import SDP

/// A new offer from the phone inside the call (a re-INVITE or UPDATE: hold,
/// resume, a new address). The codec stays the one agreed at the start, so
/// the bridge and the browser's side never change; the direction follows
/// RFC 3264 §6.1 and decides whether the phone is sent RTP at all.
extension MediaSession {
    public func answerPhoneReoffer(_ offer: SessionDescription, address: String) async throws -> SessionDescription {
        let remote = try PlainAudioDescription(offer)
        let (current, browserHolds) = try await eventLoop.submit { [self] in (phoneNegotiated, media.browserHolds) }.get()
        guard let current else { throw MediaError.negotiation("the phone side was never negotiated") }
        guard let codec = remote.codecs.first(where: { PhoneCodec(name: $0.name) == current.codec
                                                        && $0.clockRate == current.codec.sdp.clockRate }) else {
            throw MediaError.negotiation("the new offer drops \(current.codec.rawValue), the call's codec")
        }
        // Keys only once the offer is taken: a refused one (488) leaves them as they were.
        try await installPhoneSRTP(try phoneKeying.withLockedValue { try $0.acceptOffer(remote) })
        let event = remote.telephoneEvents.first(where: { $0.clockRate == 8000 })
        // While the browser holds, we keep not receiving whatever the phone offers.
        let ourDirection = browserHolds ? remote.direction.reversed.withoutReceiving : remote.direction.reversed
        // c=0.0.0.0 is the RFC 2543 hold: nothing may be sent to it (RFC 3264 §8.4).
        let held = remote.address == "0.0.0.0" || remote.address == "::"
        let sends = !held && (remote.direction == .sendrecv || remote.direction == .recvonly)
        let moved: SocketAddress? = held ? nil : try? SocketAddress(ipAddress: remote.address, port: Int(remote.port))
        try await eventLoop.submit { [self] in
            media.sendsToPhone = sends
            if let moved {
                let rtcp = try? SocketAddress(ipAddress: remote.address, port: Int(remote.rtcpPort ?? remote.port + 1))
                media.setPhoneRemote(rtp: moved, rtcp: rtcp ?? moved)
            }
        }.get()
        return PlainAudioDescription(address: address, port: UInt16(phonePort), codecs: [codec],
                                     telephoneEvents: event.map { [$0] } ?? [], ptime: current.packetTime,
                                     direction: ourDirection)
            .sessionDescription(sessionID: UInt64(phoneSSRC), sessionVersion: 0)
            .stampedForPhone(self)
    }

    /// What was agreed, offered again after someone else's descriptions in
    /// the same session (the gateway's relay, whose join did not complete):
    /// its version is above `version`, the last one the phone saw.
    public func phoneDescription(after version: UInt64, address: String) async throws -> SessionDescription {
        phoneVersion.withLockedValue { $0.skip(past: version) }
        return try await currentPhoneDescription(address: address)
    }

    /// Our offer for a re-INVITE that carried none (a session refresh, §14.2),
    /// or for our own hold and resume: what was agreed, in the current
    /// direction; unchanged, so its version stays.
    public func currentPhoneDescription(address: String) async throws -> SessionDescription {
        let (negotiated, sends, browserHolds) = try await eventLoop.submit { [self] in
            (phoneNegotiated, media.sendsToPhone, media.browserHolds)
        }.get()
        guard let negotiated else { throw MediaError.negotiation("the phone side was never negotiated") }
        var codec = negotiated.codec.sdp
        codec.payloadType = negotiated.payloadType
        let events = negotiated.telephoneEvent.map { [SDPAudioCodec.telephoneEvent(payloadType: $0)] } ?? []
        var direction = SDPDirection.sendrecv
        if !sends { direction = direction.withoutSending }
        if browserHolds { direction = direction.withoutReceiving }
        return PlainAudioDescription(address: address, port: UInt16(phonePort), codecs: [codec], telephoneEvents: events,
                                     ptime: negotiated.packetTime, direction: direction)
            .sessionDescription(sessionID: UInt64(phoneSSRC), sessionVersion: 0)
            .stampedForPhone(self)
    }
}

extension SessionDescription {
    /// With the session's o= id and the version RFC 3264 §8 asks for.
    /// Once the phone leg runs SRTP, every description of ours carries our
    /// key (RFC 4568 §7.1.4: re-offers and answers keep it) and RTP/SAVP
    /// when that was agreed; our first offer brings its own lines.
    func stampedForPhone(_ session: MediaSession, withKey: Bool = true) -> SessionDescription {
        var description = self
        if withKey, let current = session.phoneKeying.withLockedValue({ $0.current }), var audio = description.media.first,
           !audio.attributes.contains(where: { $0.name == "crypto" }) {
            if current.secure { audio.proto = "RTP/SAVP" }
            let direction = audio.attributes.firstIndex { SDPDirection(rawValue: $0.name) != nil && $0.value == nil }
            audio.attributes.insert(SDPAttribute("crypto", current.crypto.text), at: direction ?? audio.attributes.endIndex)
            description.media[0] = audio
        }
        return session.phoneVersion.withLockedValue { $0.stamp(description) }
    }
}
