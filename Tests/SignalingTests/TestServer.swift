import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Signaling
import HummingbirdWSClient

/// A signaling server on a free loopback port with a recording backend.
final class TestServer: Sendable {
    static let tokenSecret = "test-token-secret-0123456789"

    let server: SignalingServer
    let port: Int
    let backend: RecordingBackend

    private init(server: SignalingServer, port: Int, backend: RecordingBackend) {
        self.server = server
        self.port = port
        self.backend = backend
    }

    static func start(_ base: SignalingServer.Configuration = .init()) async throws -> TestServer {
        var configuration = base
        configuration.listeners = [.init(host: "127.0.0.1", port: 0)]
        configuration.iceServers = [ICEServer(urls: ["stun:stun.example.net:3478"])]
        let users = UserDirectory(users: [("alice", .password("right-password"))], tokenSecret: tokenSecret)
        let backend = RecordingBackend()
        var logger = Logger(label: "signaling-test")
        logger.logLevel = .warning
        let server = try SignalingServer(configuration: configuration, users: users, backend: backend, logger: logger)
        let bound = try await server.start()
        return TestServer(server: server, port: bound[0].address.port ?? 0, backend: backend)
    }

    func stop() async { await server.stop() }

    var url: String { "ws://127.0.0.1:\(port)/ws" }

    struct Received: Sendable {
        var text: String
        var object: [String: any Sendable] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: any Sendable]) ?? [:]
        }
        var type: String { object["type"] as? String ?? "?" }
        var code: Int? { object["code"] as? Int }
        var call: String? { object["call"] as? String }
    }

    /// Sends the messages in order and collects `expecting` replies (one
    /// per message unless told), then closes.
    func converse(_ messages: [String], expecting: Int? = nil, holdOpen: Duration = .zero) async throws -> [Received] {
        let wanted = expecting ?? messages.count
        let collected = NIOLockedValueBox([Received]())
        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20),
                                          logger: Logger(label: "ws-client")) { inbound, outbound, _ in
            for message in messages { try await outbound.write(.text(message)) }
            guard wanted > 0 else { return }
            let reader = Task {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    if collected.withLockedValue({ $0.append(Received(text: text)); return $0.count }) >= wanted { return }
                }
            }
            let deadline = Task {
                try await Task.sleep(for: .seconds(5))
                reader.cancel()
            }
            _ = await reader.result
            deadline.cancel()
            try await Task.sleep(for: holdOpen)
        }
        return collected.withLockedValue { $0 }
    }

    /// Sends the messages and reads until the server closes.
    func converseUntilClosed(_ messages: [String]) async throws -> ([Received], WebSocketCloseFrame?) {
        let collected = NIOLockedValueBox([Received]())
        let close = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20),
                                                      logger: Logger(label: "ws-client")) { inbound, outbound, _ in
            for message in messages { try await outbound.write(.text(message)) }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { collected.withLockedValue { $0.append(Received(text: text)) } }
            }
        }
        return (collected.withLockedValue { $0 }, close)
    }

    func get(_ path: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func offer() throws -> String {
        guard let url = Bundle.module.url(forResource: "Vectors/chromium_offer_complete_nontrickle", withExtension: "sdp") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self)
            .dropFirst().dropLast().description
    }
}

/// Stands in for the gateway above the signaling layer: records the calls it
/// is asked to place (and keeps them open) and the hangups it hears.
final class RecordingBackend: SignalingBackend {
    private let state = NIOLockedValueBox((placed: [String](), hangups: [String]()))

    var placed: [String] { state.withLockedValue { $0.placed } }
    var hangups: [String] { state.withLockedValue { $0.hangups } }

    func clientLoggedIn(_ client: SignalingClient) {}
    func clientClosed(_ client: SignalingClient) {}

    func placeCall(_ request: BrowserCallRequest, from client: SignalingClient) -> any CallControl {
        state.withLockedValue { $0.placed.append(request.id) }
        return Control(id: request.id, backend: self)
    }

    fileprivate func hungUp(_ id: String) { state.withLockedValue { $0.hangups.append(id) } }

    private final class Control: CallControl {
        let id: String
        let backend: RecordingBackend
        init(id: String, backend: RecordingBackend) {
            self.id = id
            self.backend = backend
        }
        func clientHangup(_ client: SignalingClient) { backend.hungUp(id) }
        func clientGone(_ client: SignalingClient) {}
        func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient) {}
    }
}
