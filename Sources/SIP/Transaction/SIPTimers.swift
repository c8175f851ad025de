import NIOCore

/// RFC 3261 §17.1.1.1 timer values; T1, T2 and T4 are configurable, the
/// rest derive from them as Table 4 of §A says.
public struct SIPTimers: Sendable, Equatable {
    /// Round-trip estimate.
    public var t1: TimeAmount
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses.
    public var t2: TimeAmount
    /// Maximum time a message stays in the network.
    public var t4: TimeAmount

    public init(t1: TimeAmount = .milliseconds(500), t2: TimeAmount = .seconds(4), t4: TimeAmount = .seconds(5)) {
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
    }

    /// Timers B, F, H, J, L and M: 64·T1.
    public var transactionTimeout: TimeAmount { t1 * 64 }
    /// Timer D: at least 32 s over UDP, zero over reliable transports.
    func timerD(_ transport: SIPTransport) -> TimeAmount {
        transport.isReliable ? .zero : max(.seconds(32), t1 * 64)
    }
}
