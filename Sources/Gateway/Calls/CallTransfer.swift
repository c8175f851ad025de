import Config
import Dialplan
import Logging
import NIOCore
import SDP
import SIP

/// A blind transfer the far end asks for (REFER, RFC 3515; RFC 5589 §6):
/// the browser on this call is to talk to someone else. The target runs
/// through the dialplan as a call of the browser's user, so the toll-fraud
/// guard and the routing apply as to anything that user dials; the new far
/// end gets an offer in the call's codec from the same media endpoint, and
/// once it answers the call's phone side points at it. The browser's media
/// session and its SDP do not change. The referrer hears each step as a
/// NOTIFY with a sipfrag status line. Confined to the call's loop.
final class BlindTransfer: Sendable {
    /// The new far end.
    struct Connected {
        let dialog: Dialog
        let trunk: TrunkConfig
    }

    private struct State {
        var run: DialplanRun?
        var invite: OutgoingInvite?
        var attempts = 0
        var done = false
    }

    let environment: any CallEnvironment
    let refer: IncomingRefer
    let media: any MediaEndpoint
    let logger: Logger
    private let completion: NIOLoopBound<(Result<Connected, TransferFailure>) -> Void>
    private let state: NIOLoopBoundBox<State>

    /// The number the referrer named (Refer-To's user part).
    var number: String { refer.target.user ?? "" }

    /// `completion` runs once, on the loop: connected, or why not (the
    /// referrer has heard it already).
    init(environment: any CallEnvironment, refer: IncomingRefer, media: any MediaEndpoint, logger: Logger,
         completion: @escaping (Result<Connected, TransferFailure>) -> Void) {
        self.environment = environment
        self.refer = refer
        self.media = media
        self.logger = logger
        self.completion = NIOLoopBound(completion, eventLoop: environment.loop)
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), as: State.self, eventLoop: environment.loop)
    }

    private var loop: any EventLoop { environment.loop }

    /// Accepts the REFER (202, NOTIFY 100) and runs the target for `user`.
    func start(user: String, callID: String) {
        refer.accept()
        logger.info("transfer to \(number) asked by the far end")
        let call = DialplanCall(from: user, to: number, user: user, direction: .fromBrowser, headers: [:],
                                id: "\(callID)/transfer")
        let run = environment.makeDialplanRun(call, log: logger)
        state.value.run = run
        perform(run.start())
    }

    /// The browser hung up while the transfer was under way.
    func cancel() {
        guard !state.value.done else { return }
        state.value.invite?.cancel()
        fail(487, "Request Terminated")
    }

    private func perform(_ first: DialplanStep) {
        var step = first
        while !state.value.done, let run = state.value.run {
            switch step {
            case .bridge(let target, let options):
                state.value.attempts += 1
                guard state.value.attempts <= BrowserOriginatedCall.maximumAttempts else {
                    return fail(500, "too many bridge attempts")
                }
                switch target {
                case .trunk(let name, let number):
                    guard let trunk = environment.config.trunk(named: name) else {
                        step = run.resume(.bridged(code: 404, reason: "no trunk named \(name)", answered: false))
                        continue
                    }
                    return dial(trunk: trunk, number: number, options: options)
                case .uri(let text):
                    guard let (trunk, number) = BrowserOriginatedCall.directTarget(
                        text, publicAddress: environment.config.sip.publicAddress) else {
                        step = run.resume(.bridged(code: 416, reason: "not a SIP URI: \(text)", answered: false))
                        continue
                    }
                    return dial(trunk: trunk, number: number, options: options)
                case .user:
                    step = run.resume(.bridged(code: 501, reason: "a transfer goes to a trunk or SIP URI, not a user",
                                               answered: false))
                }
            case .hangup(let code, let reason):
                return fail(code, reason ?? SIPResponse.defaultReasonPhrase(code))
            case .finished:
                let (code, reason) = run.fallbackResponse
                return fail(code, reason ?? SIPResponse.defaultReasonPhrase(code))
            case .failed(let error):
                logger.error("dialplan failed for a transfer: \(error)")
                return fail(500, "Dialplan Error")
            case .answer, .play, .echo, .collectDigits:
                return fail(501, "a transfer cannot go to the dialplan's own media")
            }
        }
    }

    private func attemptFailed(_ code: Int, _ reason: String) {
        guard !state.value.done, let run = state.value.run else { return }
        state.value.invite = nil
        loop.execute { [self] in
            guard !state.value.done else { return }
            perform(run.resume(.bridged(code: code, reason: reason, answered: false)))
        }
    }

    private func dial(trunk: TrunkConfig, number: String, options: BridgeOptions) {
        logger.info("transfer to \(number) via \(trunk.name)")
        let media = self.media
        let address = environment.publicMediaAddress
        Task {
            let offer = try? await media.transferOffer(address: address, encryption: trunk.phoneEncryption)
            loop.execute { [self] in
                guard !state.value.done else { return }
                guard let offer else { return fail(488, "Not Acceptable Here") }
                environment.endpoint(for: trunk).whenComplete { [self] result in
                    guard !state.value.done else { return }
                    switch result {
                    case .success(let endpoint):
                        invite(endpoint, trunk: trunk, number: number, options: options,
                               offer: Array(offer.serialize().utf8))
                    case .failure(let error):
                        attemptFailed(503, "trunk \(trunk.name) cannot be reached: \(error)")
                    }
                }
            }
        }
    }

    private func invite(_ endpoint: SIPEndpoint, trunk: TrunkConfig, number: String, options: BridgeOptions,
                        offer: [UInt8]) {
        var parameters = environment.inviteParameters(trunk: trunk, endpoint: endpoint, number: number,
                                                      callerID: options.callerID, body: offer)
        parameters.present(callerName: options.callerName, privacy: options.privacy, asserted: trunk.assertedIdentity)
        if let seconds = options.ringTimeout { parameters.ringTimeout = .milliseconds(Int64(seconds * 1000)) }
        parameters.headers += options.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let replaces = refer.replaces {
            // An attended transfer (RFC 5589 §7): the target takes our call
            // in place of its dialog with the referrer (RFC 3891), and one
            // that cannot says 420 rather than ringing as a new call.
            parameters.headers += [("Replaces", replaces), ("Require", "replaces")]
        }
        state.value.invite = environment.userAgent.invite(parameters) { [self] event in
            guard !state.value.done else {
                if case .answered(_, let dialog) = event { dialog.bye() }
                return
            }
            switch event {
            case .provisional(let response) where response.statusCode > 100:
                refer.notify(response.statusCode, reason: response.reasonPhrase)
            case .provisional:
                break
            case .answered(let response, let dialog):
                connect(dialog, answer: response.body, trunk: trunk)
            case .failed(let failure):
                attemptFailed(failure.statusCode, failure.reason)
            }
        }
    }

    /// The new far end answered: our media turns to it, then the referrer hears 200.
    private func connect(_ dialog: Dialog, answer body: [UInt8], trunk: TrunkConfig) {
        state.value.invite = nil
        let media = self.media
        let dialogBox = LoopBound(dialog)
        Task {
            var problem: String?
            do {
                try await media.acceptTransferAnswer(SessionDescription.parse(String(decoding: body, as: UTF8.self)))
            } catch {
                problem = "\(error)"
            }
            loop.execute { [self] in
                let dialog = dialogBox.value
                guard !state.value.done else { return dialog.bye() }
                if let problem {
                    dialog.bye()
                    logger.warning("the transfer target's answer cannot be used: \(problem)")
                    return fail(488, "Not Acceptable Here")
                }
                state.value.done = true
                state.value.run = nil
                refer.notify(200, reason: "OK")
                logger.info("transferred to \(number) via \(trunk.name)")
                completion.value(.success(Connected(dialog: dialog, trunk: trunk)))
            }
        }
    }

    private func fail(_ code: Int, _ reason: String) {
        guard !state.value.done else { return }
        refer.notify(code, reason: reason)
        report(.failure(TransferFailure(code: code, reason: reason)))
    }

    private func report(_ result: Result<Connected, TransferFailure>) {
        guard !state.value.done else { return }
        state.value.done = true
        state.value.run = nil
        if case .failure(let failure) = result { logger.info("transfer to \(number) failed: \(failure)") }
        completion.value(result)
    }
}

struct TransferFailure: Error, CustomStringConvertible {
    let code: Int
    let reason: String
    var description: String { "\(code) \(reason)" }
}
