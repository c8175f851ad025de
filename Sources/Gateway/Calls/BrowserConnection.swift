import Signaling

/// A browser's WebSocket connection as the calls see it: messages out, rings
/// in. `SignalingClient` is the real one; the call layer's unit tests
/// record what a call says instead.
protocol BrowserConnection: AnyObject, Sendable, CustomStringConvertible {
    func send(_ message: ServerMessage)
    /// Rings this connection; false when it is gone or cannot take the call.
    func ring(_ id: String, from: String, fromName: String?, to: String, sdp: String,
              control: any CallControl) -> Bool
    /// Confirms this connection's answer to an incoming call.
    func confirmAnswer(_ id: String)
}

extension SignalingClient: BrowserConnection {}
