import Dialplan
import Media
import NIOCore
import SDP

// The dialplan's own actions on a browser call: answer, echo, play, collect
// digits. The first of them answers the browser with a media session whose
// phone side is a `MediaApplication` on loopback instead of a trunk.
extension BrowserOriginatedCall {
    func runApplication(_ step: DialplanStep) {
        // A failed bridge made a media session for its trunk: answering the
        // browser now would take a second one, with another SDP.
        if application == nil, media != nil {
            return resumeLater(.failed(code: 501, reason: "answering after a bridge attempt is not supported yet"))
        }
        answerLocally { [self] in
            guard !finished, let run, let application else { return }
            switch step {
            case .answer:
                resumeLater(.done)
            case .echo:
                // Lasts until the call ends: the script is not resumed.
                application.echo()
            case .play(.tone(let frequency, let duration)):
                application.play(frequency: frequency, duration: duration) { [self] in
                    guard !finished, let run = self.run else { return }
                    perform(run.resume(.done))
                }
            case .play(.file(let file)):
                resumeLater(.failed(code: 501, reason: "playing files is not supported yet: \(file)"))
            case .collectDigits(let max, let timeout, let terminator):
                application.collectDigits(max: max, timeout: timeout, terminator: terminator) { [self] digits in
                    guard !finished, let run = self.run else { return }
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
            guard !finished, let run else { return }
            perform(run.resume(outcome))
        }
    }

    /// Answers the browser once, with the gateway's own media end, then `next`.
    private func answerLocally(then next: @escaping () -> Void) {
        if application != nil { return next() }
        guard let engine = gateway.media else { return finish(code: 503, reason: "no media engine") }
        let offerText = request.sdp
        let loop = self.loop
        let next = LoopBound(next)
        Task {
            let session: MediaSession
            do {
                session = try await engine.makeSession()
            } catch {
                return loop.execute { self.finish(code: 503, reason: "no media ports free") }
            }
            var started: MediaApplication?
            do {
                let answer = try await session.answerBrowserOffer(SessionDescription.parse(offerText))
                let target = try SocketAddress(ipAddress: Self.loopbackTarget(gateway.config.media.bindAddress),
                                               port: session.phonePort)
                let application = try await MediaApplication.start(on: loop, remote: target).get()
                started = application
                _ = session.phoneOffer(address: "127.0.0.1", codecs: [.pcmu])
                try await session.acceptPhoneAnswer(SessionDescription.parse(application.answerSDP))
                loop.execute {
                    guard !self.finished else {
                        application.close()
                        return Task { await session.close(reason: "call ended") }.discard()
                    }
                    self.media = session
                    self.application = application
                    self.watch(session)
                    self.browserAnswer = answer.serialize()
                    self.wasAnswered = true
                    self.recorder?.routed(to: nil, trunk: nil, sipCallID: nil)
                    self.recorder?.answered()
                    self.client.send(.answered(call: self.request.id, sdp: answer.serialize()))
                    next.value()
                }
            } catch {
                if let started { loop.execute { started.close() } }
                await session.close(reason: "offer refused")
                loop.execute { self.finish(code: 488, reason: "the offer cannot be used: \(error)") }
            }
        }
    }

    /// Where a socket on loopback reaches the media session's phone port.
    static func loopbackTarget(_ bindAddress: String) -> String {
        switch bindAddress {
        // Sockets bound to the IPv6 wildcard take IPv4 on loopback too.
        case "0.0.0.0", "", "::": "127.0.0.1"
        default: bindAddress
        }
    }
}

private extension Task {
    func discard() {}
}

/// A value made on the gateway's loop and used only there again, carried
/// through a task that hops off it.
struct LoopBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
