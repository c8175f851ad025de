import NIOCore
import SDP
import SecureMedia

/// The browser leg's side of offer/answer: which codec it carries and its
/// telephone-event payload type and clock.
struct NegotiatedBrowser {
    var codec: BrowserCodec
    var payloadType: UInt8
    var telephoneEvent: (payloadType: UInt8, clockRate: Int)?
}

/// The phone leg's side: codec, payload types and packetization.
struct NegotiatedPhone {
    var codec: PhoneCodec
    var payloadType: UInt8
    var telephoneEvent: UInt8?
    var packetTime: Int
}

/// SDP offer/answer for both legs (RFC 3264, JSEP RFC 8829 for the browser).
/// Whichever leg is settled second starts the bridge: passthrough when the
/// browser offered the phone's codec, Opus transcoding otherwise.
extension MediaSession {
    /// Answers a browser's WebRTC offer (a call the browser places).
    public func answerBrowserOffer(_ offer: SessionDescription) async throws -> SessionDescription {
        try await answerBrowserOffer(try WebRTCAudioDescription(offer))
    }

    /// The same, for an offer already read (the signaling layer checked it).
    public func answerBrowserOffer(_ remote: WebRTCAudioDescription) async throws -> SessionDescription {
        // RFC 5763 §5: the answerer to actpass picks; passive lets the browser's
        // DTLS client (every browser's default) speak first without a round trip.
        let ourSetup: SDPSetup = remote.setup == .passive ? .active : .passive
        let phone = try await eventLoop.submit { [self] in phoneNegotiated }.get()
        let chosen = try chooseBrowserCodec(offered: remote.codecs, phone: phone?.codec)
        let event = Self.telephoneEvent(in: remote.telephoneEvents, for: chosen)
        try await startBrowser(remote: remote, ourSetup: ourSetup, chosen: chosen, event: event)
        return webRTCDescription(setup: ourSetup, mid: remote.mid ?? "0", codec: chosen.1, event: event,
                                 direction: remote.direction.reversed).sessionDescription()
    }

    /// The gateway's WebRTC offer (a call to a browser), with every codec it
    /// can bridge. RFC 8842 §5.2 asks an offerer for actpass, and browsers
    /// then answer active, leaving the gateway the DTLS server; `.active`
    /// makes the gateway the DTLS client instead (browsers accept it).
    public func browserOffer(setup: SDPSetup = .actpass, telephoneEventPayloadType: UInt8 = 101) -> SessionDescription {
        var parameters = webRTCDescription(setup: setup, mid: "0", codec: .opus(payloadType: 111),
                                           event: .telephoneEvent(payloadType: telephoneEventPayloadType, clockRate: 48000),
                                           direction: .sendrecv)
        parameters.codecs += [.pcmu, .pcma, .g722]
        return parameters.sessionDescription()
    }

    /// Takes the browser's answer to `browserOffer()`.
    public func acceptBrowserAnswer(_ answer: SessionDescription) async throws {
        let remote = try WebRTCAudioDescription(answer)
        guard let chosen = remote.codecs.first.flatMap({ Self.browserCodec(for: $0) }) else {
            throw MediaError.negotiation("the browser's answer has no codec the gateway offered")
        }
        // The answerer took the active or passive role; we take the other.
        let ourSetup: SDPSetup = remote.setup == .active ? .passive : .active
        try await startBrowser(remote: remote, ourSetup: ourSetup, chosen: (chosen, remote.codecs[0]),
                               event: remote.telephoneEvents.first)
    }

    /// The gateway's offer to a trunk or phone (an outbound call).
    /// With `encryption` optional or required it carries SDES keys (RFC 4568).
    public func phoneOffer(address: String, codecs: [PhoneCodec] = [.pcmu, .pcma, .g722],
                           telephoneEventPayloadType: UInt8 = 101, packetTime: Int = 20,
                           encryption: PhoneEncryption = .off) -> SessionDescription {
        let keys = phoneKeying.withLockedValue { keying in
            keying.encryption = encryption
            return keying.makeOffer()
        }
        var description = PlainAudioDescription(address: address, port: UInt16(phonePort), codecs: codecs.map(\.sdp),
                                                telephoneEvents: [.telephoneEvent(payloadType: telephoneEventPayloadType)],
                                                ptime: packetTime, direction: .sendrecv)
        description.crypto = keys.crypto
        description.secure = keys.secure
        return description.sessionDescription(sessionID: UInt64(phoneSSRC), sessionVersion: 0).stampedForPhone(self)
    }

    /// Takes the phone's answer (or any description of where the phone is and what it speaks).
    public func acceptPhoneAnswer(_ answer: SessionDescription) async throws {
        let remote = try PlainAudioDescription(answer)
        guard let codec = remote.codecs.first(where: { codec in
                  PhoneCodec(name: codec.name).map { $0.sdp.clockRate == codec.clockRate } ?? false }),
              let phoneCodec = PhoneCodec(name: codec.name) else {
            throw MediaError.negotiation("the phone's answer has no PCMU, PCMA, G722 or opus")
        }
        let event = remote.telephoneEvents.first(where: { $0.clockRate == 8000 })?.payloadType
        let keys = try phoneKeying.withLockedValue { try $0.acceptAnswer(remote) }
        try await installPhoneSRTP(keys)
        try await startPhone(remote: remote, negotiated: NegotiatedPhone(
            codec: phoneCodec, payloadType: codec.payloadType, telephoneEvent: event, packetTime: remote.ptime ?? 20))
    }

    /// Answers a trunk's offer (an inbound call), choosing by `preference`.
    public func answerPhoneOffer(_ offer: SessionDescription, address: String,
                                 preference: [PhoneCodec] = [.pcmu, .pcma, .g722],
                                 encryption: PhoneEncryption = .off) async throws -> SessionDescription {
        let remote = try PlainAudioDescription(offer)
        let keys = try phoneKeying.withLockedValue { keying in
            keying.encryption = encryption
            return try keying.acceptOffer(remote)
        }
        try await installPhoneSRTP(keys)
        guard let codec = negotiateAudioCodec(offered: remote.codecs, supported: preference.map(\.rawValue)),
              let phoneCodec = PhoneCodec(name: codec.name) else {
            throw MediaError.negotiation("the offer has none of the trunk's codecs (\(preference.map(\.rawValue).joined(separator: ", ")))")
        }
        let event = remote.telephoneEvents.first(where: { $0.clockRate == 8000 })
        let packetTime = remote.ptime ?? 20
        try await startPhone(remote: remote, negotiated: NegotiatedPhone(
            codec: phoneCodec, payloadType: codec.payloadType, telephoneEvent: event?.payloadType, packetTime: packetTime))
        return PlainAudioDescription(address: address, port: UInt16(phonePort), codecs: [codec],
                                     telephoneEvents: event.map { [$0] } ?? [], ptime: packetTime,
                                     direction: remote.direction.reversed)
            .sessionDescription(sessionID: UInt64(phoneSSRC), sessionVersion: 0)
            .stampedForPhone(self)
    }

    // MARK: internals

    private func chooseBrowserCodec(offered: [SDPAudioCodec], phone: PhoneCodec?) throws -> (BrowserCodec, SDPAudioCodec) {
        if configuration.preferPassthrough || phone == .opus, let phone,
           let same = offered.first(where: { $0.isNamed(phone.rawValue) && $0.clockRate == phone.sdp.clockRate }) {
            return (.leg(phone), same)
        }
        if let opus = offered.first(where: { $0.isNamed("opus") && $0.clockRate == 48000 }) {
            return (.opus, opus)
        }
        // Without Opus, a G.711 browser can still reach a G.711 phone (either law).
        if let g711 = offered.first(where: { $0.isNamed("PCMU") || $0.isNamed("PCMA") }),
           let codec = PhoneCodec(name: g711.name), phone != .g722, phone != .opus {
            return (.phone(codec), g711)
        }
        throw MediaError.negotiation("the browser offered no codec the gateway can bridge (opus, PCMU, PCMA)")
    }

    private static func browserCodec(for codec: SDPAudioCodec) -> BrowserCodec? {
        if codec.isNamed("opus") { return .opus }
        return PhoneCodec(name: codec.name).map { .phone($0) }
    }

    /// RFC 4733 §2.1: the event clock should match the audio's (48000 with Opus).
    private static func telephoneEvent(in events: [SDPAudioCodec], for chosen: (BrowserCodec, SDPAudioCodec)) -> SDPAudioCodec? {
        events.first(where: { $0.clockRate == chosen.1.clockRate }) ?? events.first
    }

    private func webRTCDescription(setup: SDPSetup, mid: String, codec: SDPAudioCodec, event: SDPAudioCodec?,
                                   direction: SDPDirection) -> WebRTCAudioParameters {
        WebRTCAudioParameters(
            sessionID: UInt64(browserSSRC), sessionVersion: 1, address: announcedAddress, port: UInt16(browserPort),
            iceUfrag: iceUfrag, icePwd: icePassword,
            fingerprint: SDPFingerprint(hashFunction: "sha-256", bytes: certificate.fingerprint),
            setup: setup, mid: mid, codecs: [codec], telephoneEvent: event, direction: direction,
            ssrc: browserSSRC, cname: cname)
    }

    private func startBrowser(remote: WebRTCAudioDescription, ourSetup: SDPSetup,
                              chosen: (BrowserCodec, SDPAudioCodec), event: SDPAudioCodec?) async throws {
        guard let fingerprint = remote.sha256Fingerprint else {
            throw MediaError.negotiation("the browser's SDP has no sha-256 fingerprint")
        }
        try await startBrowserLeg(BrowserTransportParameters(
            remoteUfrag: remote.iceUfrag, remotePassword: remote.icePwd, remoteFingerprint: fingerprint.bytes,
            dtlsRole: ourSetup == .active ? .client : .server))
        let negotiated = NegotiatedBrowser(codec: chosen.0, payloadType: chosen.1.payloadType,
                                           telephoneEvent: event.map { ($0.payloadType, $0.clockRate) })
        try await eventLoop.submit { [self] in
            browserNegotiated = negotiated
            try startBridgeIfReady()
        }.get()
    }

    private func startPhone(remote: PlainAudioDescription, negotiated: NegotiatedPhone) async throws {
        let rtp = try SocketAddress(ipAddress: remote.address, port: Int(remote.port))
        let rtcp = try SocketAddress(ipAddress: remote.address, port: Int(remote.rtcpPort ?? remote.port + 1))
        try await eventLoop.submit { [self] in
            // A phone side in the process (`join`) has no address on the network.
            if media.localPhone == nil { media.setPhoneRemote(rtp: rtp, rtcp: rtcp) }
            phoneNegotiated = negotiated
            try startBridgeIfReady()
        }.get()
    }

    /// SRTP on the phone leg with these keys (nil: none); a re-key replaces the sessions.
    func installPhoneSRTP(_ keys: PhoneSRTP.Keys?) async throws {
        guard let keys else { return }
        try await eventLoop.submit { [self] in
            guard media.phoneSRTP?.keys != keys else { return }
            media.phoneSRTP = try PhoneSRTP(keys, replacing: media.phoneSRTP)
        }.get()
    }

    func startBridgeIfReady() throws {
        guard !media.hasBridge, let browser = browserNegotiated, let phone = phoneNegotiated else { return }
        var configuration = BridgeConfiguration(
            browserCodec: browser.codec, browserPayloadType: browser.payloadType,
            browserTelephoneEvent: browser.telephoneEvent, phoneCodec: phone.codec, phonePayloadType: phone.payloadType,
            phoneTelephoneEvent: phone.telephoneEvent, phonePacketTime: phone.packetTime, opus: self.configuration.opus)
        configuration.detectInbandDTMF = self.configuration.detectInbandDTMF
        // G.711 laws convert sample by sample; G.722 runs at 16 kHz and has no resampler here.
        if case .phone(let codec) = browser.codec, codec != phone.codec, codec == .g722 || phone.codec == .g722 {
            throw MediaError.negotiation("the browser's \(codec.rawValue) cannot be bridged to the phone's \(phone.codec.rawValue)")
        }
        // An Opus phone leg is only ever passed through to the browser's Opus.
        if phone.codec == .opus, browser.codec != .opus {
            throw MediaError.negotiation("the phone's Opus needs the browser's Opus")
        }
        try media.installBridge(configuration)
    }
}

extension PhoneCodec {
    var sdp: SDPAudioCodec {
        switch self {
        case .pcmu: .pcmu
        case .pcma: .pcma
        case .g722: .g722
        case .opus: .opus(payloadType: 111)
        }
    }
}
