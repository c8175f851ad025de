import Config
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import SDP
import SIP

/// An attended transfer the gateway completes itself when the far end
/// cannot: it refused the REFER, or its INVITE with Replaces failed (RFC
/// 5589 §7 has the transferor give up then; a gateway in the middle can do
/// better). The two far ends are joined in the gateway through a relay
/// (`RelayEndpoint`, as for `bridge(..., {relay = true})`), the way an SBC
/// or a PBX keeps a call it cannot hand off.
///
/// Each far end is re-INVITEd toward its leg of the relay, continuing the
/// o= line it knows (RFC 3264 §8): first the other call's far end (the
/// relay's callee leg), offered every codec of its trunk that can reach the
/// first trunk's; then this call's far end (the caller leg), offered the
/// codec the other answered first (passthrough) and those the relay
/// transcodes to. When either refuses, whoever was re-pointed already is
/// re-INVITEd back to its call's own media and both calls go on, as after
/// a refused REFER. Once both answered, the browser's two calls end
/// `transferred` without BYE, and the two dialogs live on as one
/// trunk-to-trunk call with its own record: either side's BYE ends the
/// other, offers inside the call are answered by the relay on the leg that
/// made them, INFO (DTMF) is passed across, REFER is declined.
///
/// State is one `State` bound to the calls' loop.
final class TransferBridge: Sendable {
    enum Phase {
        /// Checks done; the relay and its first offer are being made.
        case preparing
        /// Our re-INVITE toward this side's far end is out (or its answer is being applied).
        case repointing(RelaySide)
        case talking
        case ended
    }

    /// One of the browser's two calls, and its far end as the bridge uses it.
    struct Party {
        let call: any AttendedTransferParty
        let leg: BridgeLeg
    }

    struct State {
        var phase = Phase.preparing
        var parties: [RelaySide: Party] = [:]
        var relay: (any RelayEndpoint)?
        /// The sides whose far end took the relay's offer, and the o=
        /// version it last saw from the relay (to be put back above it).
        var repointed: [RelaySide: UInt64] = [:]
        var offered: [RelaySide: UInt64] = [:]
        var done: ((Result<Void, TransferFailure>) -> Void)?
        var recorder: CallRecorder?
    }

    let environment: any CallEnvironment
    let user: String
    let id: String
    let logger: Logger
    let state: NIOLoopBoundBox<State>

    private static let counter = NIOLockedValueBox(0)

    /// `near` is the call whose far end refused (the relay's caller leg),
    /// `far` the one it was to be joined with (the callee leg).
    init(environment: any CallEnvironment, user: String, near: Party, far: Party, logger: Logger,
         done: @escaping (Result<Void, TransferFailure>) -> Void) {
        self.environment = environment
        self.user = user
        id = "\(user)/join-\(Self.counter.withLockedValue { $0 += 1; return $0 })"
        var logger = logger
        logger[metadataKey: "join"] = "\(id)"
        self.logger = logger
        var first = State()
        first.parties = [.caller: near, .callee: far]
        first.done = done
        state = NIOLoopBoundBox(first, eventLoop: environment.loop)
    }

    var loop: any EventLoop { environment.loop }
    private var address: String { environment.publicMediaAddress }
    private var isEnded: Bool { if case .ended = state.value.phase { true } else { false } }

    /// Joins `near`'s far end to `far`'s, or reports why not (both calls go
    /// on then). On the calls' loop.
    static func join(_ near: any AttendedTransferParty, with far: any AttendedTransferParty,
                     environment: any CallEnvironment, user: String, logger: Logger,
                     done: @escaping (Result<Void, TransferFailure>) -> Void) {
        guard let nearLeg = near.bridgeLeg, let farLeg = far.bridgeLeg else {
            return done(.failure(TransferFailure(code: 501, reason: "the calls are not both with a SIP far end")))
        }
        TransferBridge(environment: environment, user: user, near: Party(call: near, leg: nearLeg),
                       far: Party(call: far, leg: farLeg), logger: logger, done: done).start()
    }

    func start() {
        guard let near = state.value.parties[.caller], let far = state.value.parties[.callee] else { return }
        for party in [near, far] {
            if let problem = Self.unbridgeable(party.leg) { return report(.failure(TransferFailure(code: 488, reason: problem))) }
        }
        let nearCodecs = Self.codecs(near.leg.trunk)
        var allowed = Self.codecs(far.leg.trunk).filter { codec in nearCodecs.contains { $0.sampleRate == codec.sampleRate } }
        // The codec the near far end speaks now goes first: when the other
        // takes it too, the joined call passes through untranscoded.
        if let current = Self.currentCodec(near.leg.dialog), let index = allowed.firstIndex(of: current) {
            allowed.insert(allowed.remove(at: index), at: 0)
        }
        guard !allowed.isEmpty else {
            return report(.failure(TransferFailure(code: 488, reason: "the two trunks have no codecs the gateway can join")))
        }
        near.call.isJoining = true
        far.call.isJoining = true
        logger.info("joining the far ends of two calls in the gateway")
        let origins = [RelaySide.caller: Self.origin(near.leg.dialog), .callee: Self.origin(far.leg.dialog)]
        let codecs = allowed
        environment.makeRelay().whenComplete { [self] result in
            guard case .success(let relay) = result else { return failed(503, "no media ports free") }
            guard !isEnded else { return relay.close(reason: "join ended", on: loop) { _ in } }
            state.value.relay = relay
            for (side, origin) in origins {
                if let origin { relay.continueSession(side, sessionID: origin.sessionID, after: origin.version) }
            }
            do {
                repoint(.callee, offer: try relay.calleeOfferWithoutCallerOffer(address: address, allowed: codecs))
            } catch {
                failed(488, "\(error)")
            }
        }
    }

    // MARK: re-pointing the far ends

    private func repoint(_ side: RelaySide, offer: SessionDescription) {
        guard let party = state.value.parties[side], !party.leg.dialog.isTerminated else {
            return failed(481, "a far end left meanwhile")
        }
        state.value.phase = .repointing(side)
        state.value.offered[side] = offer.origin.sessionVersion
        party.leg.dialog.sendOffer(Array(offer.serialize().utf8)) { [self] outcome in
            guard case .repointing(side) = state.value.phase else { return }
            switch outcome {
            case .answered(let response):
                state.value.repointed[side] = state.value.offered[side]
                answered(side, body: response.body)
            case .glare:
                failed(491, "a far end was changing its session; try again")
            case .failed(let code, let reason):
                failed(code, "a far end refused to be re-pointed: \(code) \(reason)")
            }
        }
    }

    private func answered(_ side: RelaySide, body: [UInt8]) {
        guard let relay = state.value.relay else { return failed(500, "the relay is gone") }
        guard let text = String(validating: body, as: UTF8.self), let answer = try? SessionDescription.parse(text) else {
            return failed(488, "a far end's answer has no usable SDP")
        }
        do {
            if side == .callee {
                repoint(.caller, offer: try relay.acceptCalleeAnswer(answer, address: address, attempt: 0))
            } else {
                try relay.acceptCallerAnswer(answer)
                joined()
            }
        } catch {
            failed(488, "a far end's answer cannot be relayed: \(error)")
        }
    }

    /// The join did not complete: whoever points at the relay is put back
    /// on its call's media (a version above the relay's), the relay closes,
    /// and both calls go on.
    private func failed(_ code: Int, _ reason: String) {
        guard !isEnded else { return }
        state.value.phase = .ended
        logger.warning("the calls could not be joined in the gateway: \(reason)")
        for (side, version) in state.value.repointed {
            if let party = state.value.parties[side] { putBack(party, after: version) }
        }
        for party in state.value.parties.values { party.call.isJoining = false }
        state.value.relay?.close(reason: "join failed", on: loop) { _ in }
        state.value.relay = nil
        report(.failure(TransferFailure(code: code, reason: reason)))
    }

    private func putBack(_ party: Party, after version: UInt64) {
        let dialog = LoopBound(party.leg.dialog)
        let media = party.leg.media
        let address = party.leg.address
        let logger = self.logger
        Task {
            guard let offer = try? await media.phoneDescription(after: version, address: address) else {
                return logger.error("cannot describe the call's media to put a far end back")
            }
            loop.execute {
                dialog.value.sendOffer(Array(offer.serialize().utf8)) { outcome in
                    guard case .answered(let response) = outcome,
                          let text = String(validating: response.body, as: UTF8.self),
                          let answer = try? SessionDescription.parse(text) else {
                        return logger.error("a far end could not be put back on its call's media: \(outcome)")
                    }
                    Task { try? await media.acceptPhoneReanswer(answer) }
                }
            }
        }
    }

    // MARK: joined

    private func joined() {
        guard case .repointing(.caller) = state.value.phase, let relay = state.value.relay,
              let near = state.value.parties[.caller], let far = state.value.parties[.callee] else { return }
        // A far end that hung up (or a browser call that ended) meanwhile
        // leaves nobody to join: the other is put back.
        guard !near.leg.dialog.isTerminated, !far.leg.dialog.isTerminated else {
            return failed(481, "a far end left while the calls were being joined")
        }
        state.value.phase = .talking
        logger.info("the far ends of two calls are joined in the gateway")
        // The browser leaves both calls; their dialogs are the bridge's now.
        near.call.handedOver()
        far.call.handedOver()
        environment.callStarted(self)
        let recorder = CallRecorder(
            store: environment.recordStore, instance: environment.config.records.instanceName, callID: id,
            direction: .trunkToTrunk, from: near.leg.dialog.remoteTarget.user ?? "",
            to: far.leg.dialog.remoteTarget.user ?? "", user: user, trunk: near.leg.trunk?.name,
            sipCallID: near.leg.dialog.callID)
        recorder.routed(to: nil, trunk: far.leg.trunk?.name, sipCallID: far.leg.dialog.callID)
        recorder.answered()
        state.value.recorder = recorder
        let address = self.address
        for (side, party) in [(RelaySide.caller, near), (.callee, far)] {
            let dialog = party.leg.dialog
            let other = side == .caller ? far.leg.dialog : near.leg.dialog
            dialog.onTerminated = { [self] reason in ended(by: side, reason: reason) }
            dialog.onOffer = { offer in relay.answer(offer, from: side, address: address) }
            dialog.passInfo(to: other)
            dialog.onRefer = { $0.reject(603, reason: "Decline") }
            dialog.onReplaced = nil
            dialog.onAckAnswer = nil
        }
        report(.success(()))
    }

    private func ended(by side: RelaySide, reason: DialogEnd) {
        let who = state.value.parties[side]?.leg.dialog.remoteTarget.user ?? "a far end"
        finish(reason: reason == .remoteBye ? "\(who) hung up" : "\(who)'s dialog ended: \(reason)")
    }

    /// Ends the joined call: the side still there hears BYE, the relay
    /// closes and the record is written.
    func finish(reason: String) {
        guard case .talking = state.value.phase else { return }
        state.value.phase = .ended
        for party in state.value.parties.values {
            let dialog = party.leg.dialog
            dialog.onTerminated = nil
            dialog.onOffer = nil
            dialog.onInfo = nil
            if !dialog.isTerminated { dialog.bye() }
        }
        logger.info("joined call ended: \(reason)")
        let recorder = LoopBound(state.value.recorder)
        let relay = state.value.relay
        state.value.relay = nil
        guard let relay else {
            recorder.value?.ended(status: 200, reason: reason, media: nil)
            return environment.callEnded(self)
        }
        relay.close(reason: "call ended", on: loop) { [self] statistics in
            recorder.value?.ended(status: 200, reason: reason, media: statistics)
            environment.callEnded(self)
        }
    }

    private func report(_ result: Result<Void, TransferFailure>) {
        let done = state.value.done
        state.value.done = nil
        done?(result)
    }

    // MARK: checks

    static func codecs(_ trunk: TrunkConfig?) -> [PhoneCodec] {
        trunk.map { $0.codecs.compactMap { PhoneCodec(name: $0.rawValue) } } ?? [.pcmu, .pcma, .g722]
    }

    /// Why the relay cannot take this far end: it insists on SRTP, or its
    /// media runs SRTP now (the relay's legs are plain RTP).
    static func unbridgeable(_ leg: BridgeLeg) -> String? {
        if let trunk = leg.trunk, trunk.mediaEncryption == .required {
            return "trunk \(trunk.name) requires SRTP, which the gateway's own bridge does not carry"
        }
        if let ours = leg.dialog.localDescription, let text = String(validating: ours.body, as: UTF8.self),
           let parsed = try? SessionDescription.parse(text), let plain = try? PlainAudioDescription(parsed), plain.secure {
            return "a far end's media runs SRTP, which the gateway's own bridge does not carry"
        }
        return nil
    }

    /// The codec of our last description in the dialog (what the far end speaks now).
    static func currentCodec(_ dialog: Dialog) -> PhoneCodec? {
        guard let ours = dialog.localDescription, let text = String(validating: ours.body, as: UTF8.self),
              let parsed = try? SessionDescription.parse(text), let plain = try? PlainAudioDescription(parsed) else { return nil }
        return plain.codecs.lazy.compactMap { PhoneCodec(name: $0.name) }.first
    }

    /// The o= line of our last description in the dialog, as the far end knows it.
    static func origin(_ dialog: Dialog) -> (sessionID: UInt64, version: UInt64)? {
        guard let ours = dialog.localDescription, let text = String(validating: ours.body, as: UTF8.self),
              let parsed = try? SessionDescription.parse(text), let id = UInt64(parsed.origin.sessionID) else { return nil }
        return (id, parsed.origin.sessionVersion)
    }
}

/// What the gateway's own bridge needs of a browser call's far end.
struct BridgeLeg {
    let dialog: Dialog
    /// The far end's trunk: its codecs and SRTP policy (nil: a direct SIP URI).
    let trunk: TrunkConfig?
    /// The call's media, to put the far end back when the join fails.
    let media: any MediaEndpoint
    /// The address the call's phone-side SDP names.
    let address: String
}
