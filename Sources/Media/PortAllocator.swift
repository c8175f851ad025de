import NIOConcurrencyHelpers

/// Hands out UDP ports from the configured media range: single ports for
/// WebRTC legs (everything is multiplexed on one), even/odd pairs for
/// phone legs (RTP on the even port, RTCP on the next, RFC 3550 §11).
/// Round robin, so a port just released is not reused at once and a late
/// packet of an old call does not land in a new one.
public final class PortAllocator: Sendable {
    public let range: ClosedRange<Int>
    private let state: NIOLockedValueBox<(next: Int, inUse: Set<Int>)>

    public init(range: ClosedRange<Int>) {
        precondition(range.count >= 4, "the media port range needs at least 4 ports")
        self.range = range
        state = NIOLockedValueBox((next: range.lowerBound, inUse: []))
    }

    /// Reserves a port (the even one of a free pair when `pair`), or nil when the range is full.
    public func reserve(pair: Bool) -> Int? {
        state.withLockedValue { state in
            for _ in 0..<range.count {
                var port = state.next
                if pair, port % 2 == 1 { port += 1 }
                if port + (pair ? 1 : 0) > range.upperBound { port = range.lowerBound + (pair && range.lowerBound % 2 == 1 ? 1 : 0) }
                state.next = port + (pair ? 2 : 1)
                if state.next > range.upperBound { state.next = range.lowerBound }
                let wanted = pair ? [port, port + 1] : [port]
                guard wanted.allSatisfy({ !state.inUse.contains($0) && range.contains($0) }) else { continue }
                state.inUse.formUnion(wanted)
                return port
            }
            return nil
        }
    }

    public func release(_ port: Int, pair: Bool) {
        state.withLockedValue { state in
            state.inUse.remove(port)
            if pair { state.inUse.remove(port + 1) }
        }
    }

    /// Ports currently reserved (a leak check for tests).
    public var reservedCount: Int { state.withLockedValue { $0.inUse.count } }
}
