import Media
import NIOCore
import SDP
import SIP
import Signaling

extension MediaSession {
    /// Answers the phone's offer inside the call (a re-INVITE or UPDATE:
    /// hold, resume, a new address, a refresh without SDP) from this session:
    /// the same codec, the direction mirrored, the o= version raised only when
    /// the answer changed. The browser's SDP never changes. The SIP answer is
    /// sent from `loop`, the call's; an offer the session cannot take gets 488
    /// and the call goes on as before.
    func answer(_ offer: InDialogOffer, address: String, loop: any EventLoop) {
        let body = offer.body
        let box = LoopBound(offer)
        Task {
            let answer: SessionDescription?
            if body.isEmpty {
                answer = try? await currentPhoneDescription(address: address)
            } else if let text = String(validating: body, as: UTF8.self),
                      let parsed = try? SessionDescription.parse(text) {
                answer = try? await answerPhoneReoffer(parsed, address: address)
            } else {
                answer = nil
            }
            loop.execute {
                guard let answer else { return box.value.reject(488, reason: "Not Acceptable Here") }
                box.value.accept(body: Array(answer.serialize().utf8))
            }
        }
    }
}

extension MediaSession {
    /// A browser's `dtmf` message, played toward the phone; the browser hears
    /// error 488 when the phone side negotiated no telephone-event.
    func playDTMF(_ digits: String, milliseconds: Int, for client: SignalingClient, call: String) {
        Task {
            if !((try? await sendDTMF(digits, milliseconds: milliseconds)) ?? false) {
                client.send(.error(code: 488, reason: "the far end takes no telephone-events", call: call))
            }
        }
    }
}
