import Dialplan
import Media
import SDP
import SIP
import Signaling

// A browser calling another browser user (`bridge("user:NAME")`): the
// caller's media session offers plain RTP on loopback to a second session,
// which the callee's browsers are rung with exactly as for a trunk's call
// (`IncomingBrowserCall`). Each session transcodes its browser's Opus to
// G.722 (or PCMU), so the two talk over a wideband RTP hop on this machine.
extension BrowserOriginatedCall {
    func bridge(user name: String, options: BridgeOptions) {
        guard application == nil else {
            return attemptFailed(code: 501, reason: "a call the dialplan answered cannot be bridged yet")
        }
        guard name != request.user || gateway.browsers.connections(of: name).count > 1 else {
            return attemptFailed(code: 486, reason: "calling yourself")
        }
        recorder?.routed(to: name, trunk: nil, sipCallID: nil)
        withMedia { [self] media in
            let address = Self.loopbackTarget(gateway.config.media.bindAddress)
            let offer = media.phoneOffer(address: address, codecs: [.g722, .pcmu]).serialize()
            let leg = BrowserCallerLeg(call: self, offer: offer, called: name)
            calleeLeg = leg
            IncomingBrowserCall(gateway: gateway, caller: leg, user: name, ringTimeout: options.ringTimeout).start()
        }
    }

    /// The callee answered with `sdp`: the caller's session takes it, then
    /// the caller hears `answered`.
    func calleeAnswered(_ sdp: [UInt8]) {
        guard let media, !finished else { return }
        Task {
            do {
                try await media.acceptPhoneAnswer(SessionDescription.parse(String(decoding: sdp, as: UTF8.self)))
                loop.execute {
                    guard !self.finished, let browserAnswer = self.browserAnswer else { return }
                    self.wasAnswered = true
                    self.recorder?.answered()
                    self.client.send(.answered(call: self.request.id, sdp: browserAnswer))
                }
            } catch {
                loop.execute { self.finish(code: 488, reason: "the callee's media cannot be used: \(error)") }
            }
        }
    }
}

/// The calling browser as the caller of an `IncomingBrowserCall`.
final class BrowserCallerLeg: CallerLeg {
    private weak var call: BrowserOriginatedCall?
    let offer: String
    let calledNumber: String
    var onCancelled: (() -> Void)?
    private(set) var isPending = true
    private var ended: ((String) -> Void)?

    init(call: BrowserOriginatedCall, offer: String, called: String) {
        self.call = call
        self.offer = offer
        calledNumber = called
    }

    var callerNumber: String { call?.request.user ?? "" }
    var callerName: String? { nil }
    var sipCallID: String? { nil }
    var trunkName: String? { nil }
    var direction: String { "browser-to-browser" }
    var noAnswer: (code: Int, reason: String?) { (408, "not answered in time") }
    var answerAddress: String {
        call.map { BrowserOriginatedCall.loopbackTarget($0.gateway.config.media.bindAddress) } ?? "127.0.0.1"
    }

    func ringing() {
        guard let call else { return }
        call.client.send(.ringing(call: call.request.id))
    }

    func answer(sdp: [UInt8], ended: @escaping (String) -> Void,
                reoffer: @escaping (InDialogOffer) -> Void) -> Bool {
        guard isPending, let call, !call.finished else { return false }
        isPending = false
        self.ended = ended
        call.calleeAnswered(sdp)
        return true
    }

    func reject(_ code: Int, reason: String?) {
        guard isPending else { return }
        isPending = false
        call?.calleeLeg = nil
        call?.attemptFailed(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code))
    }

    func hangUp() {
        ended = nil
        call?.finish(code: 200, reason: "the far end hung up")
    }

    /// The caller's browser left: the callee stops ringing, or hears the end.
    func callerLeft(_ reason: String) {
        if isPending {
            isPending = false
            onCancelled?()
        } else if let ended {
            self.ended = nil
            ended(reason)
        }
        onCancelled = nil
    }
}
