import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where requests go, by name: RFC 3263 reduced to A/AAAA lookups (the
/// transport parameter, sips, or the default; the port or the transport's
/// default). IP literals, the common case for trunks, resolve at once on
/// the caller's thread. A name is looked up with the system resolver on a
/// thread pool of its own, never on an event loop, so a slow DNS server
/// stalls one request, not every call on the SIP loop. Answers are kept for
/// `cacheSeconds` (getaddrinfo reports no TTL; a short reuse spares a
/// lookup per call without pinning a carrier's address for long), failures
/// for `failureCacheSeconds`, and one lookup per name runs at a time.
public final class SIPResolver: Sendable {
    public typealias Lookup = @Sendable (_ host: String, _ port: Int) throws -> SocketAddress
    public let cacheSeconds: Int64
    /// How long a failed lookup is remembered: during a DNS outage each new
    /// call fails at once instead of waiting for its own timeout.
    public let failureCacheSeconds: Int64
    private let pool: NIOThreadPool
    private let lookup: Lookup
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    /// Entries kept at most; the expired go first. Route names come from
    /// peers, so the table must not grow with what they send.
    static let maximumEntries = 1024

    private enum Entry {
        case resolved(SocketAddress, until: NIODeadline)
        case failed(until: NIODeadline)
        /// A lookup under way: later requests for the name wait for it.
        case pending(EventLoopFuture<SocketAddress>)
    }

    /// Lookups run on their own two threads (`lookups`), never on NIO's
    /// shared blocking pool, where a slow DNS server would hold up bcrypt
    /// logins.
    /// - Parameter lookup: the blocking lookup (the system resolver; tests
    ///   give a slow or failing one).
    public init(pool: NIOThreadPool = SIPResolver.lookups, cacheSeconds: Int64 = 30, failureCacheSeconds: Int64 = 5,
                lookup: @escaping Lookup = { try SocketAddress.makeAddressResolvingHost($0, port: $1) }) {
        self.pool = pool
        self.cacheSeconds = cacheSeconds
        self.failureCacheSeconds = failureCacheSeconds
        self.lookup = lookup
    }

    /// The process's DNS threads (started once, never stopped).
    public static let lookups: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// The endpoint for `uri` when its host is an IP literal, else nil.
    public static func literal(_ uri: SIPURI, defaultTransport: SIPTransport) -> SIPEndpoint? {
        let (transport, port) = target(uri, defaultTransport: defaultTransport)
        guard let address = try? SocketAddress(ipAddress: uri.host, port: port) else { return nil }
        return SIPEndpoint(transport: transport, address: address, serverName: uri.host)
    }

    public func resolve(_ uri: SIPURI, defaultTransport: SIPTransport, on loop: any EventLoop) -> EventLoopFuture<SIPEndpoint> {
        let (transport, port) = Self.target(uri, defaultTransport: defaultTransport)
        return resolve(host: uri.host, port: port, transport: transport, on: loop)
    }

    /// Fires on `loop`; fails with `SIPTransportError.unresolvable`.
    public func resolve(host: String, port: Int, transport: SIPTransport, verifyTLS: Bool = true,
                        on loop: any EventLoop) -> EventLoopFuture<SIPEndpoint> {
        let endpoint = { (address: SocketAddress) in
            SIPEndpoint(transport: transport, address: address, serverName: host, verifyTLS: verifyTLS)
        }
        if let literal = try? SocketAddress(ipAddress: host, port: port) {
            return loop.makeSucceededFuture(endpoint(literal))
        }
        return address(host: host, port: port, on: loop).map(endpoint)
    }

    private func address(host: String, port: Int, on loop: any EventLoop) -> EventLoopFuture<SocketAddress> {
        let key = "\(host.lowercased()):\(port)"
        let now = NIODeadline.now()
        let (cacheSeconds, failureSeconds, lookup, pool) = (cacheSeconds, failureCacheSeconds, self.lookup, self.pool)
        let table = self.entries
        let (found, started): (EventLoopFuture<SocketAddress>, Bool) = table.withLockedValue { entries in
            switch entries[key] {
            case .resolved(let address, let until) where until > now:
                return (loop.makeSucceededFuture(address), false)
            case .failed(let until) where until > now:
                return (loop.makeFailedFuture(SIPTransportError.unresolvable(host)), false)
            case .pending(let future):
                return (future, false)
            default:
                break
            }
            if entries.count >= Self.maximumEntries { Self.prune(&entries, now: now) }
            let future = pool.runIfActive(eventLoop: loop) { try lookup(host, port) }
            entries[key] = .pending(future)
            return (future, true)
        }
        // Outside the lock: on the loop, a finished future runs this at once.
        if started {
            found.whenComplete { result in
                table.withLockedValue { entries in
                    let done = NIODeadline.now()
                    switch result {
                    case .success(let address): entries[key] = .resolved(address, until: done + .seconds(cacheSeconds))
                    case .failure: entries[key] = .failed(until: done + .seconds(failureSeconds))
                    }
                }
            }
        }
        // A waiter on another loop hears on its own.
        return found.hop(to: loop).flatMapErrorThrowing { _ in throw SIPTransportError.unresolvable(host) }
    }

    /// Drops expired entries; if none had expired, the table starts afresh
    /// (lookups under way keep their futures for their callers).
    private static func prune(_ entries: inout [String: Entry], now: NIODeadline) {
        entries = entries.filter { _, entry in
            switch entry {
            case .resolved(_, let until), .failed(let until): until > now
            case .pending: true
            }
        }
        if entries.count >= maximumEntries { entries = entries.filter { if case .pending = $0.value { true } else { false } } }
    }

    private static func target(_ uri: SIPURI, defaultTransport: SIPTransport) -> (SIPTransport, Int) {
        var transport = defaultTransport
        if let parameter = uri.parameters.value("transport"), let explicit = SIPTransport(token: parameter) {
            transport = explicit
        } else if uri.scheme == "sips" {
            transport = .tls
        }
        return (transport, uri.port ?? transport.defaultPort)
    }
}
