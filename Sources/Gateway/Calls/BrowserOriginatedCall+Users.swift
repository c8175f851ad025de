import Dialplan
import Media
import SDP
import SIP
import Signaling

// A browser calling another browser user (`bridge("user:NAME")`): the
// caller's media endpoint offers plain RTP to a second endpoint, which the
// callee's browsers are rung with exactly as for a trunk's call
// (`IncomingBrowserCall`). The second endpoint is made on the first one's
// media loop and joined to it in the process: each transcodes its
// browser's Opus to G.722 (or PCMU), and the packets pass from one bridge
// to the other without a socket.
extension BrowserOriginatedCall {
    func bridge(user name: String, options: BridgeOptions) {
        guard name != request.user || environment.connections(of: name).count > 1 else {
            return attemptFailed(code: 486, reason: "calling yourself")
        }
        state.value.recorder?.routed(to: name, trunk: nil, sipCallID: nil)
        withMedia { [self] media in
            let address = Self.joinedAddress
            let offer = media.phoneOffer(address: address, codecs: [.g722, .pcmu]).serialize()
            let leg = BrowserCallerLeg(call: self, offer: offer, called: name)
            state.value.phase = .ringingUser(leg)
            IncomingBrowserCall(environment: environment, caller: leg, user: name, ringTimeout: options.ringTimeout)
                .start()
        }
    }

    /// The callee answered with `sdp`: the caller's media takes it, then the
    /// caller hears `answered`.
    func calleeAnswered(_ sdp: [UInt8], leg: BrowserCallerLeg) {
        guard let media = state.value.media, !isEnded else { return }
        state.value.phase = .talking(.user(leg))
        Task {
            do {
                try await media.acceptPhoneAnswer(SessionDescription.parse(String(decoding: sdp, as: UTF8.self)))
                loop.execute {
                    guard !self.isEnded, let answer = self.state.value.browserAnswer else { return }
                    self.state.value.wasAnswered = true
                    self.state.value.recorder?.answered()
                    self.client.send(.answered(call: self.request.id, sdp: answer))
                }
            } catch {
                loop.execute { self.finish(code: 488, reason: "the callee's media cannot be used: \(error)") }
            }
        }
    }

    /// The address in the offer and answer between the two joined
    /// endpoints: never used for packets, but a valid one keeps the
    /// descriptions what a phone would accept.
    static let joinedAddress = "127.0.0.1"
}

/// The calling browser as the caller of an `IncomingBrowserCall`. Confined
/// to the calls' loop, like both calls.
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
    var mediaPeer: (any MediaEndpoint)? { call?.state.value.media }
    var noAnswer: (code: Int, reason: String?) { (408, "not answered in time") }
    var answerAddress: String {
        BrowserOriginatedCall.joinedAddress
    }

    func ringing() {
        guard let call else { return }
        call.client.send(.ringing(call: call.request.id))
    }

    func answer(sdp: [UInt8], ended: @escaping (String) -> Void,
                reoffer: @escaping (InDialogOffer) -> Void) -> Bool {
        guard isPending, let call, !call.isEnded else { return false }
        isPending = false
        self.ended = ended
        call.calleeAnswered(sdp, leg: self)
        return true
    }

    func reject(_ code: Int, reason: String?) {
        guard isPending else { return }
        isPending = false
        // The dialplan may try a trunk next with the same endpoint.
        call?.state.value.media?.unjoin()
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
