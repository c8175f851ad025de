import NIOCore
import SDP

/// A transfer: the phone side moves to another phone (RFC 5589), while the
/// browser's side, its SDP and its codec stay as they are. The new phone
/// gets an offer in the call's codec only, so the bridge needs no change;
/// one that answers with another codec is refused.
extension MediaSession {
    /// Our offer to the phone the call is transferred to: the call's codec
    /// and telephone-event, `sendrecv` (`sendonly` while the browser holds);
    /// with the call's SRTP key unless the new far end's trunk has
    /// `encryption` off (a key is never sent to a trunk that did not ask).
    public func transferOffer(address: String, encryption: PhoneEncryption = .optional) async throws -> SessionDescription {
        let (negotiated, browserHolds) = try await eventLoop.submit { [self] in
            (phoneNegotiated, media.browserHolds)
        }.get()
        guard let negotiated else { throw MediaError.negotiation("the phone side was never negotiated") }
        var codec = negotiated.codec.sdp
        codec.payloadType = negotiated.payloadType
        let events = negotiated.telephoneEvent.map { [SDPAudioCodec.telephoneEvent(payloadType: $0)] } ?? []
        let direction: SDPDirection = browserHolds ? .sendonly : .sendrecv
        return PlainAudioDescription(address: address, port: UInt16(phonePort), codecs: [codec], telephoneEvents: events,
                                     ptime: negotiated.packetTime, direction: direction)
            .sessionDescription(sessionID: UInt64(phoneSSRC), sessionVersion: 0)
            .stampedForPhone(self, withKey: encryption != .off)
    }

    /// The new phone's answer: from now on RTP goes to it and only its RTP
    /// is heard.
    public func acceptTransferAnswer(_ answer: SessionDescription) async throws {
        let remote = try PlainAudioDescription(answer)
        // A new far end that answers without a key of ours speaks plain RTP.
        let plain = remote.crypto.isEmpty && !remote.secure
        if plain {
            phoneKeying.withLockedValue { $0.reset() }
            try await eventLoop.submit { [self] in media.phoneSRTP = nil }.get()
        } else {
            try await installPhoneSRTP(phoneKeying.withLockedValue { $0.acceptReanswer(remote) })
        }
        let rtp = try SocketAddress(ipAddress: remote.address, port: Int(remote.port))
        let rtcp = try? SocketAddress(ipAddress: remote.address, port: Int(remote.rtcpPort ?? remote.port + 1))
        try await eventLoop.submit { [self] in
            guard let current = phoneNegotiated else { throw MediaError.negotiation("the phone side was never negotiated") }
            guard remote.codecs.contains(where: { PhoneCodec(name: $0.name) == current.codec }) else {
                throw MediaError.negotiation("the new far end does not take \(current.codec.rawValue), the call's codec")
            }
            media.sendsToPhone = remote.direction == .sendrecv || remote.direction == .recvonly
            media.replacePhoneRemote(rtp: rtp, rtcp: rtcp, now: Self.now())
        }.get()
    }

    /// An INVITE that replaces the phone side's dialog (RFC 3891): its
    /// offer is answered in the call's codec, and from now on RTP goes to
    /// the new phone and only its RTP is heard, as after a transfer.
    public func answerReplacement(_ offer: SessionDescription, address: String) async throws -> SessionDescription {
        let remote = try PlainAudioDescription(offer)
        try await installPhoneSRTP(try phoneKeying.withLockedValue { try $0.acceptOffer(remote) })
        let rtp = try SocketAddress(ipAddress: remote.address, port: Int(remote.port))
        let rtcp = try? SocketAddress(ipAddress: remote.address, port: Int(remote.rtcpPort ?? remote.port + 1))
        let (codec, event, packetTime, direction) = try await eventLoop.submit { [self] in
            guard let current = phoneNegotiated else { throw MediaError.negotiation("the phone side was never negotiated") }
            guard let codec = remote.codecs.first(where: { PhoneCodec(name: $0.name) == current.codec
                                                          && $0.clockRate == current.codec.sdp.clockRate }),
                  codec.payloadType == current.payloadType else {
                throw MediaError.negotiation("the new phone does not offer \(current.codec.rawValue) as the call has it")
            }
            // Events only under the payload type the call already sends them with.
            let event = remote.telephoneEvents.first { $0.payloadType == current.telephoneEvent }
            let direction: SDPDirection = media.browserHolds ? remote.direction.reversed.withoutReceiving
                                                             : remote.direction.reversed
            media.sendsToPhone = remote.direction == .sendrecv || remote.direction == .recvonly
            media.replacePhoneRemote(rtp: rtp, rtcp: rtcp, now: Self.now())
            return (codec, event, current.packetTime, direction)
        }.get()
        return PlainAudioDescription(address: address, port: UInt16(phonePort), codecs: [codec],
                                     telephoneEvents: event.map { [$0] } ?? [], ptime: packetTime, direction: direction)
            .sessionDescription(sessionID: UInt64(phoneSSRC), sessionVersion: 0)
            .stampedForPhone(self)
    }
}
