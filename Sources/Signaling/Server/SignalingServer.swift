import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The browser-facing server: `/ws` speaks the signaling protocol, `/`
/// serves the web phone, `/healthz` answers load balancers. One Hummingbird
/// application per listener (HTTPS, and plain HTTP on loopback).
public final class SignalingServer: Sendable {
    public struct Listener: Sendable {
        public var host: String
        public var port: Int
        /// nil for plain HTTP.
        public var tls: TLSConfiguration?
        public init(host: String, port: Int, tls: TLSConfiguration? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }
    }

    public struct Configuration: Sendable {
        public var listeners: [Listener] = []
        public var iceServers: [ICEServer] = []
        public var loginPolicy = LoginThrottle.Policy()
        public var maximumCallsPerUser = 4
        public var maximumConnectionsPerAddress = 32
        /// The protocol's numbers: login within 10 s, messages up to 64 KiB.
        public var loginTimeout: Duration = .seconds(10)
        public var maximumMessageSize = 65_536
        /// WebSocket pings; a connection that answers none for two periods is closed.
        public var pingPeriod: Duration = .seconds(30)
        public init() {}
    }

    /// A listener as bound (the port the OS chose for port 0).
    public struct BoundListener: Sendable, CustomStringConvertible {
        public var address: SocketAddress
        public var secure: Bool
        public var description: String {
            "\(secure ? "https" : "http")://\(address.hostPortText)"
        }
    }

    let configuration: Configuration
    let services: SignalingServices
    let connections: ConnectionLimits
    let webPhone: WebPhoneFiles
    private let logger: Logger
    private let tasks = NIOLockedTasks()

    public init(configuration: Configuration, users: UserDirectory, backend: any SignalingBackend,
                logger: Logger = Logger(label: "tieline.signaling")) throws {
        self.configuration = configuration
        services = SignalingServices(users: users, throttle: LoginThrottle(policy: configuration.loginPolicy),
                                     callLimits: CallLimits(maximum: configuration.maximumCallsPerUser),
                                     iceServers: configuration.iceServers, backend: backend)
        connections = ConnectionLimits(maximum: configuration.maximumConnectionsPerAddress)
        webPhone = try WebPhoneFiles.load()
        self.logger = logger
    }

    /// Open WebSocket connections.
    public var connectionCount: Int { connections.total }

    /// Binds every listener; returns once all of them accept connections.
    public func start() async throws -> [BoundListener] {
        var bound: [BoundListener] = []
        for listener in configuration.listeners {
            let (stream, continuation) = AsyncStream.makeStream(of: Result<SocketAddress, any Error>.self)
            let app = try makeApplication(listener, onRunning: { address in continuation.yield(.success(address)) })
            // Our own group, without signal handlers (serve owns the signals), so
            // stop can shut the server down gracefully instead of cancelling it.
            let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
            let task = Task {
                do {
                    try await group.run()
                } catch {
                    continuation.yield(.failure(error))
                }
                continuation.finish()
            }
            tasks.add(task, group)
            var iterator = stream.makeAsyncIterator()
            guard let first = await iterator.next() else { throw SignalingServerError.didNotStart(listener.host, listener.port) }
            let address = try first.get()
            bound.append(BoundListener(address: address, secure: listener.tls != nil))
            logger.info("web listening on \(bound.last!)")
        }
        return bound
    }

    /// Closes the listeners and every connection.
    public func stop() async {
        for (task, group) in tasks.takeAll() {
            await group.triggerGracefulShutdown()
            _ = await task.result
        }
    }

    private func makeApplication(_ listener: Listener, onRunning: @escaping @Sendable (SocketAddress) -> Void) throws
        -> some ApplicationProtocol {
        let webSocket = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(),
            ws: .init(maxFrameSize: configuration.maximumMessageSize,
                      autoPing: .enabled(timePeriod: configuration.pingPeriod),
                      closeTimeout: .seconds(5), validateUTF8: true))
        let upgrade = HTTPServerBuilder.http1WebSocketUpgrade(configuration: webSocket) {
            [self] request, channel, _ in
            shouldUpgrade(request, channel: channel)
        }
        let server = try listener.tls.map { try HTTPServerBuilder.tls(upgrade, tlsConfiguration: $0) } ?? upgrade
        return Application(
            router: webPhone.router(),
            server: server,
            configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: "Tieline"),
            onServerRunning: { channel in
                if let address = channel.localAddress { onRunning(address) }
            },
            logger: logger)
    }

    private func shouldUpgrade(_ request: HTTPRequest, channel: any Channel)
        -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard request.path?.split(separator: "?").first == "/ws" else { return .dontUpgrade }
        // Browsers send Origin; a page from another site must not drive a
        // logged-in phone (cross-site WebSocket hijacking). Programs send none.
        if let origin = request.headerFields[values: .origin].first(where: { !Self.isSameOrigin($0, host: request.authority) }) {
            logger.notice("WebSocket from a foreign origin refused", metadata: ["origin": "\(origin)"])
            return .dontUpgrade
        }
        var headers = HTTPFields()
        // RFC 6455 §4.2.2: select the subprotocol only when the client offers it.
        let offered = request.headerFields[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if offered.contains("tieline.v1") { headers[.secWebSocketProtocol] = "tieline.v1" }
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        return .upgrade(headers) { [self] inbound, outbound, _ in
            try await serve(inbound, outbound, address: address)
        }
    }

    /// The Origin's host name against the request's Host, ports aside (some
    /// clients leave the port out of Origin): a page served by another site
    /// is refused, the gateway's own page and programs on this host pass.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, let schemeEnd = origin.range(of: "://") else { return false }
        return hostName(String(origin[schemeEnd.upperBound...])) == hostName(host)
    }

    /// `[::1]:8443` → `::1`, `Example.org:8443` → `example.org`.
    private static func hostName(_ authority: String) -> String {
        let text = authority.lowercased()
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        return String(text.split(separator: ":", maxSplits: 1).first ?? "")
    }

    private func serve(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, address: String) async throws {
        let client = SignalingClient(address: address, services: services, logger: logger)
        guard connections.open(address) else {
            logger.notice("too many connections", metadata: ["address": "\(address)"])
            try await outbound.write(.text(ServerMessage.error(
                code: 429, reason: "too many connections from this address", call: nil).json))
            try await outbound.close(.init(codeNumber: 1013), reason: "too many connections")
            return
        }
        defer { connections.close(address) }
        let loginTimeout = configuration.loginTimeout
        let maximumMessageSize = configuration.maximumMessageSize
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await output in client.output {
                    switch output {
                    case .text(let text):
                        try await outbound.write(.text(text))
                    case .close(let code, let reason):
                        try await outbound.close(.init(codeNumber: Int(code)), reason: reason)
                        return
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: loginTimeout)
                if client.user == nil { client.close(code: 4408, reason: "no login within 10 s") }
            }
            defer {
                client.closed()
                group.cancelAll()
            }
            for try await message in inbound.messages(maxSize: maximumMessageSize) {
                switch message {
                case .text(let text):
                    await client.receive(text)
                case .binary:
                    client.send(.error(code: 400, reason: "binary frames are not part of the protocol", call: nil))
                }
            }
        }
    }
}

public enum SignalingServerError: Error, CustomStringConvertible {
    case didNotStart(String, Int)
    case missingWebPhone(String)

    public var description: String {
        switch self {
        case .didNotStart(let host, let port): "the web server on \(host):\(port) did not start"
        case .missingWebPhone(let file): "the web phone's \(file) is missing from the build"
        }
    }
}

/// Tasks a server runs, to cancel on stop.
final class NIOLockedTasks: Sendable {
    private let tasks = NIOLockedValueBox([(Task<Void, Never>, ServiceGroup)]())
    func add(_ task: Task<Void, Never>, _ group: ServiceGroup) { tasks.withLockedValue { $0.append((task, group)) } }
    func takeAll() -> [(Task<Void, Never>, ServiceGroup)] { tasks.withLockedValue { let all = $0; $0 = []; return all } }
}

extension SocketAddress {
    /// `127.0.0.1:8443` or `[::1]:8443`.
    public var hostPortText: String {
        let host = ipAddress ?? "?"
        let port = self.port ?? 0
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
