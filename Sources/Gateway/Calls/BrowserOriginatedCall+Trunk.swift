import Config
import Dialplan
import Media
import NIOCore
import SDP
import SIP

// A browser's call through a trunk (or straight to a SIP URI the dialplan
// names): one attempt per bridge step, all with the same media endpoint.
extension BrowserOriginatedCall {
    func bridge(trunk: TrunkConfig, number: String, options: BridgeOptions) {
        logger.info("browser call to \(number) via \(trunk.name)")
        let direct = environment.config.trunk(named: trunk.name) == nil
        state.value.recorder?.routed(to: direct ? trunk.name : number, trunk: direct ? nil : trunk.name, sipCallID: nil)
        withMedia { [self] media in
            let offer = media.phoneOffer(address: environment.publicMediaAddress,
                                         codecs: Self.phoneCodecs(trunk: trunk, options: options),
                                         encryption: trunk.phoneEncryption)
            state.value.phoneSDP = .none
            sendInvite(trunk: trunk, number: number, options: options, offer: Array(offer.serialize().utf8))
        }
    }

    /// A SIP URI the dialplan names (`sip:2001@pbx.example.org;transport=tcp`)
    /// as a trunk of its own: no credentials, From in our public address.
    static func directTarget(_ text: String, publicAddress: String) -> (TrunkConfig, String)? {
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
                                transport: transport, fromDomain: publicAddress)
        return (trunk, user)
    }

    /// The dialplan's codec list where it names codecs the trunk can take, else the trunk's.
    static func phoneCodecs(trunk: TrunkConfig, options: BridgeOptions) -> [PhoneCodec] {
        let configured = trunk.codecs.compactMap { PhoneCodec(name: $0.rawValue) }
        guard let names = options.codecs else { return configured }
        let chosen = names.compactMap { PhoneCodec(name: $0.uppercased()) }
        return chosen.isEmpty ? configured : chosen
    }

    /// The trunk's address (a name is looked up off the loop), then the INVITE.
    private func sendInvite(trunk: TrunkConfig, number: String, options: BridgeOptions, offer: [UInt8]) {
        environment.endpoint(for: trunk).whenComplete { [self] result in
            // The browser may have hung up during the lookup.
            guard case .routing = state.value.phase, !isEnded else { return }
            switch result {
            case .success(let endpoint):
                sendInvite(to: endpoint, trunk: trunk, number: number, options: options, offer: offer)
            case .failure(let error):
                attemptFailed(code: 503, reason: "trunk \(trunk.name) cannot be reached: \(error)")
            }
        }
    }

    private func sendInvite(to endpoint: SIPEndpoint, trunk: TrunkConfig, number: String, options: BridgeOptions,
                            offer: [UInt8]) {
        var parameters = environment.inviteParameters(trunk: trunk, endpoint: endpoint, number: number,
                                                      callerID: options.callerID, body: offer)
        parameters.present(callerName: options.callerName, privacy: options.privacy, asserted: trunk.assertedIdentity)
        if let seconds = options.ringTimeout { parameters.ringTimeout = .milliseconds(Int64(seconds * 1000)) }
        // Only what the dialplan puts in options.headers reaches the carrier;
        // the browser's own X- headers stay with the dialplan.
        parameters.headers += options.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let invite = environment.userAgent.invite(parameters) { [self] event in
            switch event {
            case .provisional(let response):
                provisional(response)
            case .answered(let response, let dialog):
                answered(response, dialog: dialog, trunk: trunk)
            case .failed(let failure) where failure.noResponse:
                // Said plainly, for the browser and the record: the trunk was silent.
                let silence = TimeAmount(trunk.responseTimeout).nanoseconds / 1_000_000
                attemptFailed(code: 408, reason: "no response from trunk \(trunk.name) in \(silence) ms")
            case .failed(let failure):
                attemptFailed(code: failure.statusCode, reason: failure.reason)
            }
        }
        // A failure reported from inside `invite` (no route) already moved on.
        if case .routing = state.value.phase, !isEnded { state.value.phase = .dialing(invite) }
    }

    private func provisional(_ response: SIPResponse) {
        guard !isEnded else { return }
        guard !response.body.isEmpty, response.statusCode == 183 || response.statusCode == 180 else {
            return client.send(.ringing(call: request.id))
        }
        acceptPhoneAnswer(response.body) { [self] in
            if let answer = state.value.browserAnswer { client.send(.progress(call: request.id, sdp: answer)) }
        }
    }

    private func answered(_ response: SIPResponse, dialog: Dialog, trunk: TrunkConfig) {
        guard !isEnded else { return dialog.bye() }
        talk(to: dialog, trunk: trunk)
        state.value.wasAnswered = true
        state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: dialog.callID)
        state.value.recorder?.answered()
        acceptPhoneAnswer(response.body) { [self] in
            if let answer = state.value.browserAnswer { client.send(.answered(call: request.id, sdp: answer)) }
        }
    }

    /// The trunk's dialog becomes the far end (after an answer, or a
    /// transfer): its digits, its offers, its REFER and its end.
    func talk(to dialog: Dialog, trunk: TrunkConfig) {
        state.value.phase = .talking(.trunk(dialog))
        state.value.farEndTrunk = trunk
        state.value.trunkDTMF = trunk.dtmf
        dialog.takeInfoDTMF { [self] digit in
            guard !isEnded else { return }
            client.send(.dtmf(call: request.id, digit: digit))
        }
        dialog.onTerminated = { [self] reason in farEndEnded(dialog, reason: reason) }
        dialog.onOffer = { [self] offer in
            guard let media = state.value.media else { return offer.reject(488, reason: "Not Acceptable Here") }
            media.answer(offer, address: environment.publicMediaAddress, loop: loop)
        }
        dialog.onRefer = { [self] refer in referred(refer, on: dialog) }
        dialog.onReplaced = { [self] invite in replaced(dialog, by: invite, trunk: trunk) }
    }

    /// An INVITE with Replaces (RFC 3891) takes over the far end's dialog
    /// (the PBX completed an attended transfer): answered from the same
    /// media session, the old dialog ended; the browser hears nothing.
    private func replaced(_ old: Dialog, by invite: IncomingInvite, trunk: TrunkConfig) {
        guard case .talking(.trunk(let current)) = state.value.phase, current === old,
              let media = state.value.media else { return invite.reject(603, reason: "Decline") }
        logger.info("the far end's dialog is replaced by an INVITE from \(invite.source)")
        media.takeReplacement(invite, address: environment.publicMediaAddress, loop: loop) { [self] dialog in
            guard let dialog else { return }
            guard !isEnded, case .talking(.trunk(let current)) = state.value.phase, current === old else {
                return dialog.bye()
            }
            old.onTerminated = nil
            old.onRefer = nil
            old.onOffer = nil
            old.onReplaced = nil
            old.bye()
            talk(to: dialog, trunk: trunk)
            state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: dialog.callID)
        }
    }

    /// The trunk's dialog ended. While a transfer it asked for is under
    /// way, that is the referrer leaving (RFC 5589 §6 lets it hang up right
    /// after the 202): the call waits for the transfer's outcome.
    private func farEndEnded(_ dialog: Dialog, reason: DialogEnd) {
        if state.value.transfer != nil, case .talking(.trunk(let current)) = state.value.phase, current === dialog {
            logger.info("the referrer left (\(reason)); the transfer goes on")
            return
        }
        // The transferee may hang up on us before its final NOTIFY (RFC 5589 §6).
        if state.value.referAccepted { return transferredAway() }
        finish(code: 200, reason: reason == .remoteBye ? "the far end hung up" : "\(reason)")
    }

    /// The trunk asks (REFER) that the browser talk to someone else.
    private func referred(_ refer: IncomingRefer, on dialog: Dialog) {
        guard case .talking(.trunk(let current)) = state.value.phase, current === dialog,
              let media = state.value.media else { return refer.reject(603, reason: "Decline") }
        guard state.value.transfer == nil, !state.value.joining else { return refer.reject(491, reason: "Request Pending") }
        let transfer = BlindTransfer(environment: environment, refer: refer, media: media, logger: logger) { [self] result in
            transferEnded(result, from: dialog)
        }
        state.value.transfer = transfer
        transfer.start(user: request.user, callID: "\(request.user)/\(request.id)")
    }

    private func transferEnded(_ result: Result<BlindTransfer.Connected, TransferFailure>, from old: Dialog) {
        state.value.transfer = nil
        guard !isEnded else {
            if case .success(let connected) = result { connected.dialog.bye() }
            return
        }
        switch result {
        case .success(let connected):
            old.onTerminated = nil
            old.onRefer = nil
            old.onOffer = nil
            old.bye()
            talk(to: connected.dialog, trunk: connected.trunk)
            state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: connected.dialog.callID)
        case .failure(let failure):
            // The referrer may still be there (it takes the call back); if it left, so does the call.
            if old.isTerminated { finish(code: failure.code, reason: "the transfer failed: \(failure.reason)") }
        }
    }
}
