/// An `error` message of the browser protocol: a SIP-like status, a short
/// reason a person can read, and the call the faulty message named.
public struct SignalingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var call: String?

    public init(_ code: Int, _ reason: String, call: String? = nil) {
        self.code = code
        self.reason = reason
        self.call = call
    }

    public var description: String { "\(code) \(reason)" + (call.map { " (call \($0))" } ?? "") }

    public var message: ServerMessage { .error(code: code, reason: reason, call: call) }
}
