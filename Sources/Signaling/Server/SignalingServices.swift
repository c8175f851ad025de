import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// What every connection of a server shares: the user directory, the login
/// throttle, the call limits, the ICE servers and the backend.
final class SignalingServices: Sendable {
    let users: UserDirectory
    let throttle: LoginThrottle
    let callLimits: CallLimits
    let iceServers: [ICEServer]
    let backend: any SignalingBackend

    init(users: UserDirectory, throttle: LoginThrottle, callLimits: CallLimits, iceServers: [ICEServer],
         backend: any SignalingBackend) {
        self.users = users
        self.throttle = throttle
        self.callLimits = callLimits
        self.iceServers = iceServers
        self.backend = backend
    }

    /// bcrypt takes tens of milliseconds: it runs on NIO's blocking pool,
    /// never on an event loop or the cooperative pool.
    func authenticate(_ credentials: LoginCredentials) async -> Result<String, LoginRefusal> {
        let users = self.users
        return (try? await NIOThreadPool.singleton.runIfActive { users.authenticate(credentials) })
            ?? .failure(.wrongPassword)
    }
}

/// Calls per user across all of the user's connections.
public final class CallLimits: Sendable {
    public let maximum: Int
    private let counts = NIOLockedValueBox([String: Int]())

    public init(maximum: Int) { self.maximum = maximum }

    /// Takes a slot; false when the user is at the limit.
    func begin(user: String) -> Bool {
        counts.withLockedValue { counts in
            let current = counts[user, default: 0]
            guard current < maximum else { return false }
            counts[user] = current + 1
            return true
        }
    }

    func end(user: String) {
        counts.withLockedValue { counts in
            let current = counts[user, default: 0]
            counts[user] = current > 1 ? current - 1 : nil
        }
    }

    public func count(user: String) -> Int { counts.withLockedValue { $0[user, default: 0] } }
}

/// Open connections per address.
final class ConnectionLimits: Sendable {
    let maximum: Int
    private let counts = NIOLockedValueBox([String: Int]())

    init(maximum: Int) { self.maximum = maximum }

    func open(_ address: String) -> Bool {
        counts.withLockedValue { counts in
            let current = counts[address, default: 0]
            guard maximum <= 0 || current < maximum else { return false }
            counts[address] = current + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLockedValue { counts in
            let current = counts[address, default: 0]
            counts[address] = current > 1 ? current - 1 : nil
        }
    }

    var total: Int { counts.withLockedValue { $0.values.reduce(0, +) } }
}
