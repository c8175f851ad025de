import SDP

/// What the signaling layer needs from the call layer above it (the
/// gateway's B2BUA). Signaling knows browsers and the protocol; the backend
/// knows SIP, media and routing. Methods are called from any thread and
/// must return quickly: the backend does its work on its own loops and
/// reports through `SignalingClient.send`.
public protocol SignalingBackend: AnyObject, Sendable {
    /// A connection logged in as `client.user`; calls to that user may ring it now.
    func clientLoggedIn(_ client: SignalingClient)
    /// The connection closed; its calls were already told `clientGone`.
    func clientClosed(_ client: SignalingClient)
    /// A call the browser places; the offer was checked to be a usable WebRTC audio offer.
    func placeCall(_ request: BrowserCallRequest, from client: SignalingClient) -> any CallControl
}

/// The browser's `call` message, checked. The offer is parsed here, once:
/// the call and its media take this description, never the text again.
public struct BrowserCallRequest: Sendable {
    public var id: String
    public var user: String
    public var to: String
    public var offer: WebRTCAudioDescription
    public var headers: [String: String]

    public init(id: String, user: String, to: String, offer: WebRTCAudioDescription, headers: [String: String]) {
        self.id = id
        self.user = user
        self.to = to
        self.offer = offer
        self.headers = headers
    }

    /// The same from SDP text, checked as a `call` message's is.
    public init(id: String, user: String, to: String, sdp: String, headers: [String: String]) throws {
        switch SignalingClient.checkOffer(sdp) {
        case .success(let offer): self.init(id: id, user: user, to: to, offer: offer, headers: headers)
        case .failure(let problem): throw problem
        }
    }
}

/// What a browser does to one call, as the backend hears it. A client's
/// call ends with `hangup`, `reject` or `clientGone`; after one of those the
/// client says nothing more about the call.
public protocol CallControl: AnyObject, Sendable {
    /// `hangup` from the client: CANCEL before the answer, BYE after.
    func clientHangup(_ client: SignalingClient)
    /// The connection closed while the call existed.
    func clientGone(_ client: SignalingClient)
    func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient)
    func clientCandidate(_ candidate: String?, from client: SignalingClient)
    /// For calls to the browser: `ringing`, `answer` and `reject`.
    func clientRinging(_ client: SignalingClient)
    func clientAnswer(_ sdp: String, from client: SignalingClient)
    func clientReject(_ code: Int, from client: SignalingClient)
    /// `hold` (true) or `unhold` (false) on a call whose media flows; the
    /// backend answers `held`/`unheld` once the far end was told, or an error.
    func clientHold(_ held: Bool, from client: SignalingClient)
    /// `transfer` on an answered call: the backend answers `transferred`
    /// and `hangup` once the far end took the call elsewhere, or an error
    /// (the call goes on).
    func clientTransfer(to target: String, from client: SignalingClient)
    /// `transfer` with `replaces`: this call's far end is to take over the
    /// far end of `other` (another call of the same connection).
    func clientAttendedTransfer(replacing other: any CallControl, from client: SignalingClient)
}

extension CallControl {
    public func clientCandidate(_ candidate: String?, from client: SignalingClient) {}
    public func clientRinging(_ client: SignalingClient) {}
    public func clientAnswer(_ sdp: String, from client: SignalingClient) {}
    public func clientReject(_ code: Int, from client: SignalingClient) {}
    public func clientHold(_ held: Bool, from client: SignalingClient) {
        client.send(.error(code: 501, reason: "this call cannot be held", call: nil))
    }
    public func clientTransfer(to target: String, from client: SignalingClient) {
        client.send(.error(code: 501, reason: "this call cannot be transferred", call: nil))
    }
    public func clientAttendedTransfer(replacing other: any CallControl, from client: SignalingClient) {
        client.send(.error(code: 501, reason: "this call cannot be transferred", call: nil))
    }
}
