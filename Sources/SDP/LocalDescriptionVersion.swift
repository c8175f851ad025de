// RFC 3264 §8: within one session, every description we send carries the same o= session id,
// and its version rises by one exactly when the description differs from the previous one we
// sent. A description repeated unchanged (a 200 after a 183, a re-INVITE answered with what was
// already agreed) keeps its version, so the peer need not renegotiate.

public struct LocalDescriptionVersion: Sendable, Equatable {
    public let sessionID: UInt64
    /// The version of the last description stamped, 0 before the first.
    public private(set) var version: UInt64
    private var last: SessionDescription?

    public init(sessionID: UInt64, firstVersion: UInt64 = 1) {
        self.sessionID = sessionID
        self.version = firstVersion &- 1
    }

    /// `description` with our session id and the version it must carry; remembers it.
    public mutating func stamp(_ description: SessionDescription) -> SessionDescription {
        var stamped = description
        stamped.origin.sessionID = String(sessionID)
        if let last {
            // Compare everything but the version itself.
            var previous = last
            previous.origin.sessionVersion = 0
            var candidate = stamped
            candidate.origin.sessionVersion = 0
            if previous != candidate { version &+= 1 }
        } else {
            version &+= 1
        }
        stamped.origin.sessionVersion = version
        last = stamped
        return stamped
    }

    /// Continues after a description someone else stamped in the same
    /// session (the gateway's relay took the phone side for a while): the
    /// next description carries a version above `version`, whatever it holds.
    public mutating func skip(past version: UInt64) {
        self.version = max(self.version, version)
        last = nil
    }
}
