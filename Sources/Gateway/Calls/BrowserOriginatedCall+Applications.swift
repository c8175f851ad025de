import Dialplan
import Media
import NIOCore
import SDP

// The dialplan's own actions on a browser call: answer, echo, play, collect
// digits. The first of them answers the browser with a media endpoint whose
// phone side is the gateway's own media, inside the media plane.
extension BrowserOriginatedCall {
    func runApplication(_ step: DialplanStep) {
        // A failed bridge made a media endpoint for its trunk, and the browser
        // may already have its answer: answering now would need another SDP.
        if case .talking(.application) = state.value.phase {} else if state.value.media != nil {
            return resumeLater(.failed(code: 501, reason: "answering after a bridge attempt is not supported yet"))
        }
        answerLocally { [self] application in
            guard !isEnded, let run = state.value.run else { return }
            switch step {
            case .answer:
                resumeLater(.done)
            case .echo:
                // Lasts until the call ends: the script is not resumed.
                application.echo()
            case .play(.tone(let frequency, let duration)):
                application.play(frequency: frequency, duration: duration) { [self] in
                    guard !isEnded else { return }
                    perform(run.resume(.done))
                }
            case .play(.file(let file)):
                resumeLater(.failed(code: 501, reason: "playing files is not supported yet: \(file)"))
            case .collectDigits(let max, let timeout, let terminator):
                application.collectDigits(max: max, timeout: timeout, terminator: terminator) { [self] digits in
                    guard !isEnded else { return }
                    perform(run.resume(.digits(digits)))
                }
            default:
                break
            }
        }
    }

    /// Resumes the script from the loop, so a script that repeats an action
    /// that completes at once cannot grow the stack.
    private func resumeLater(_ outcome: DialplanOutcome) {
        loop.execute { [self] in
            guard !isEnded, let run = state.value.run else { return }
            perform(run.resume(outcome))
        }
    }

    /// Answers the browser once, with the gateway's own media, then `next`.
    private func answerLocally(then next: @escaping (any CallApplication) -> Void) {
        if case .talking(.application(let application)) = state.value.phase { return next(application) }
        state.value.phase = .preparingMedia
        state.value.makingMedia = true
        let offer = request.offer
        let environment = self.environment
        let loop = self.loop
        let next = LoopBound(next)
        Task {
            let prepared = await environment.prepareMedia { media in
                let answer = try await media.answerBrowserOffer(offer)
                return (answer, try await media.startApplication(loop: loop))
            }
            switch prepared {
            case .failure(let failure):
                loop.execute { self.mediaNotPrepared(failure) }
            case .success(let (media, (answer, application))):
                loop.execute {
                    guard self.mediaPrepared(media) else { return application.close() }
                    self.answeredLocally(application, answer: answer.serialize(), then: next.value)
                }
            }
        }
    }

    private func answeredLocally(_ application: any CallApplication, answer: String,
                                 then next: (any CallApplication) -> Void) {
        state.value.phase = .talking(.application(application))
        state.value.browserAnswer = answer
        state.value.wasAnswered = true
        state.value.recorder?.routed(to: nil, trunk: nil, sipCallID: nil)
        state.value.recorder?.answered()
        client.send(.answered(call: request.id, sdp: answer))
        next(application)
    }
}
