import Foundation
import NIOConcurrencyHelpers

/// Failed logins per address: after `maximumFailures` within `window`, every
/// login from that address is refused for `blockDuration`, whatever its
/// credentials (signaling-protocol.md: 5 in 60 s, then 60 s; 0 turns it off).
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable, Equatable {
        public var maximumFailures: Int
        public var window: TimeInterval
        public var blockDuration: TimeInterval
        public init(maximumFailures: Int = 5, window: TimeInterval = 60, blockDuration: TimeInterval = 60) {
            self.maximumFailures = maximumFailures
            self.window = window
            self.blockDuration = blockDuration
        }
    }

    private struct Record {
        var failures: [Date] = []
        var blockedUntil: Date?
    }

    public let policy: Policy
    private let records = NIOLockedValueBox([String: Record]())

    public init(policy: Policy) { self.policy = policy }

    public func isBlocked(_ address: String, now: Date = Date()) -> Bool {
        guard policy.maximumFailures > 0 else { return false }
        return records.withLockedValue { records in
            guard let until = records[address]?.blockedUntil else { return false }
            if until > now { return true }
            records[address] = nil
            return false
        }
    }

    public func recordFailure(_ address: String, now: Date = Date()) {
        guard policy.maximumFailures > 0 else { return }
        records.withLockedValue { records in
            var record = records[address] ?? Record()
            record.failures = record.failures.filter { now.timeIntervalSince($0) < policy.window } + [now]
            if record.failures.count >= policy.maximumFailures {
                record.blockedUntil = now.addingTimeInterval(policy.blockDuration)
                record.failures = []
            }
            records[address] = record
            // Bounded: forget addresses whose failures and blocks are over.
            if records.count > 10_000 {
                records = records.filter { entry in
                    (entry.value.blockedUntil.map { $0 > now } ?? false)
                        || entry.value.failures.contains { now.timeIntervalSince($0) < policy.window }
                }
            }
        }
    }

    public func recordSuccess(_ address: String) {
        records.withLockedValue { records in
            if records[address]?.blockedUntil == nil { records[address] = nil }
        }
    }
}
