import NIOConcurrencyHelpers
import Signaling

/// The gateway's side of the signaling layer: which connections are logged
/// in as whom (so calls from trunks can ring them), and calls placed by
/// browsers, handed to the B2BUA.
final class BrowserDirectory: SignalingBackend {
    private unowned let gateway: Gateway
    private let clients = NIOLockedValueBox([String: [SignalingClient]]())

    init(gateway: Gateway) { self.gateway = gateway }

    func clientLoggedIn(_ client: SignalingClient) {
        guard let user = client.user else { return }
        clients.withLockedValue { $0[user, default: []].append(client) }
    }

    func clientClosed(_ client: SignalingClient) {
        guard let user = client.user else { return }
        clients.withLockedValue { clients in
            clients[user]?.removeAll { $0 === client }
            if clients[user]?.isEmpty == true { clients[user] = nil }
        }
    }

    /// The logged-in connections of a user, oldest first.
    func connections(of user: String) -> [SignalingClient] {
        clients.withLockedValue { $0[user] ?? [] }
    }

    var loggedInUsers: Set<String> { clients.withLockedValue { Set($0.keys) } }

    func placeCall(_ request: BrowserCallRequest, from client: SignalingClient) -> any CallControl {
        let call = BrowserOriginatedCall(environment: gateway, client: client, request: request)
        gateway.eventLoop.execute { call.start() }
        return call
    }
}
