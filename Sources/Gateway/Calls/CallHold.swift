import Logging
import NIOCore
import SDP
import SIP

/// The browser's `hold` and `unhold` for one call, one at a time: a request
/// that comes while another is carried out is folded into the next, so the
/// far end sees only the changes, in order, and the browser hears `held` or
/// `unheld` for the state it asked for last. Confined to the call's loop.
final class HoldControl: Sendable {
    /// What the call holds now: its media, the address our SDP names, and
    /// the SIP dialog to tell (nil when the far end is in the process: a
    /// browser user or the dialplan's own media, which just hear the music).
    struct Target {
        var media: any MediaEndpoint
        var address: String
        var dialog: Dialog?
    }

    private struct State {
        var wanted = false
        var applied = false
        var busy = false
    }

    /// Tries of a re-INVITE that meets glare (RFC 3261 §14.1) before the
    /// hold stays local only.
    static let glareTries = 3

    fileprivate let loop: any EventLoop
    fileprivate let logger: Logger
    private let state: NIOLoopBoundBox<State>

    init(loop: any EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), as: State.self, eventLoop: loop)
    }

    var isHeld: Bool { state.value.applied }

    /// `held` true to hold, false to resume. `target` is asked each time a
    /// change starts (nil: the call is no longer talking); `report` gets
    /// the state reached, or a failure's reason.
    func request(_ held: Bool, target: @escaping () -> Target?, report: @escaping (Result<Bool, HoldFailure>) -> Void) {
        state.value.wanted = held
        guard !state.value.busy else { return }
        advance(target: target, report: report)
    }

    private func advance(target: @escaping () -> Target?, report: @escaping (Result<Bool, HoldFailure>) -> Void) {
        let wanted = state.value.wanted
        guard wanted != state.value.applied else { return report(.success(wanted)) }
        guard let current = target() else { return report(.failure(HoldFailure("the call is not answered"))) }
        state.value.busy = true
        // One box per value: Swift 6.3.1 miscompiles a generic struct holding
        // a tuple with closures (`LoopBound((a, f, g))`) when an escaping
        // closure reads it back - it over-releases the tuple's objects, here
        // the call's media session, which was then freed while still in use.
        let boxedCurrent = LoopBound(current)
        let boxedTarget = LoopBound(target)
        let boxedReport = LoopBound(report)
        let media = current.media
        let address = current.address
        let loop = self.loop
        Task {
            do {
                let offer = wanted ? try await media.hold(address: address) : try await media.resume(address: address)
                loop.execute {
                    self.tell(boxedCurrent.value, offer: Array(offer.serialize().utf8), tries: Self.glareTries) {
                        self.state.value.busy = false
                        self.state.value.applied = wanted
                        self.advance(target: boxedTarget.value, report: boxedReport.value)
                    }
                }
            } catch {
                loop.execute {
                    self.state.value.busy = false
                    self.state.value.wanted = self.state.value.applied
                    boxedReport.value(.failure(HoldFailure("\(error)")))
                }
            }
        }
    }

    /// The SIP far end hears our new offer by re-INVITE (RFC 3264 §8.4); its
    /// answer re-points our RTP. A refusal leaves its session as it was, but
    /// the hold stands on our side: the music plays and the browser's audio
    /// stays back, which is what the user asked for.
    private func tell(_ target: Target, offer: [UInt8], tries: Int, then done: @escaping () -> Void) {
        guard let dialog = target.dialog, !dialog.isTerminated else { return done() }
        dialog.sendOffer(offer) { [self] outcome in
            switch outcome {
            case .answered(let response):
                guard let text = String(validating: response.body, as: UTF8.self),
                      let answer = try? SessionDescription.parse(text) else {
                    logger.warning("the far end answered our hold offer without usable SDP")
                    return done()
                }
                self.apply(answer, to: target.media, then: done)
            case .glare where tries > 1:
                // §14.1: the owner of the Call-ID waits 2.1–4 s, the other side 0–2 s.
                let wait = dialog.isCaller ? Int64.random(in: 2100...4000) : Int64.random(in: 0...2000)
                loop.scheduleTask(in: .milliseconds(wait)) { self.tell(target, offer: offer, tries: tries - 1, then: done) }
            case .glare:
                logger.warning("our hold offer met glare \(Self.glareTries) times; the hold stays on our side only")
                done()
            case .failed(let code, let reason):
                logger.warning("the far end refused our hold offer: \(code) \(reason); the hold stays on our side only")
                done()
            }
        }
    }
}

extension HoldControl {
    /// The far end's answer to our hold or resume offer goes to the media,
    /// then `done` runs on the loop.
    fileprivate func apply(_ answer: SessionDescription, to media: any MediaEndpoint, then done: @escaping () -> Void) {
        let finished = LoopBound(done)
        let logger = self.logger
        let loop = self.loop
        Task {
            do {
                try await media.acceptPhoneReanswer(answer)
            } catch {
                logger.warning("the far end's answer to our hold offer is not used: \(error)")
            }
            loop.execute { finished.value() }
        }
    }
}

struct HoldFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
