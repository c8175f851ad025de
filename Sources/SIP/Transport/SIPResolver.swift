import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where requests go, by name: RFC 3263 reduced to A/AAAA lookups (the
/// transport parameter, sips, or the default; the port or the transport's
/// default). IP literals, the common case for trunks, resolve at once on
/// the caller's thread. A name is looked up with the system resolver on a
/// blocking-work thread pool, never on an event loop, so a slow DNS server
/// stalls one request, not every call on the SIP loop. Answers are kept for
/// `cacheSeconds` (getaddrinfo reports no TTL; a short reuse spares a
/// lookup per call without pinning a carrier's address for long).
public final class SIPResolver: Sendable {
    public typealias Lookup = @Sendable (_ host: String, _ port: Int) throws -> SocketAddress
    public let cacheSeconds: Int64
    private let pool: NIOThreadPool
    private let lookup: Lookup
    private let cache = NIOLockedValueBox<[String: (address: SocketAddress, until: NIODeadline)]>([:])

    /// - Parameter lookup: the blocking lookup, run on `pool` (the system
    ///   resolver; tests give a slow or failing one).
    public init(pool: NIOThreadPool = .singleton, cacheSeconds: Int64 = 30,
                lookup: @escaping Lookup = { try SocketAddress.makeAddressResolvingHost($0, port: $1) }) {
        self.pool = pool
        self.cacheSeconds = cacheSeconds
        self.lookup = lookup
    }

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
        let key = "\(host.lowercased()):\(port)"
        let now = NIODeadline.now()
        if let cached = cache.withLockedValue({ $0[key] }), cached.until > now {
            return loop.makeSucceededFuture(endpoint(cached.address))
        }
        let cache = self.cache
        let until = now + .seconds(cacheSeconds)
        let lookup = self.lookup
        return pool.runIfActive(eventLoop: loop) {
            let address: SocketAddress
            do {
                address = try lookup(host, port)
            } catch {
                throw SIPTransportError.unresolvable(host)
            }
            cache.withLockedValue { $0[key] = (address, until) }
            return endpoint(address)
        }
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
