import NIOCore

/// The transports of RFC 3261 §18 that Tieline speaks.
public enum SIPTransport: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case udp = "UDP"
    case tcp = "TCP"
    case tls = "TLS"

    /// Reliable transports carry no retransmissions (RFC 3261 §17: timers A, E, G are UDP only).
    public var isReliable: Bool { self != .udp }
    public var defaultPort: Int { self == .tls ? 5061 : 5060 }
    /// The `transport=` URI parameter value.
    public var uriParameter: String { rawValue.lowercased() }
    public var description: String { rawValue }

    /// From a Via's transport token or a `transport=` URI parameter, case-insensitive.
    public init?(token: String) {
        switch token.uppercased() {
        case "UDP": self = .udp
        case "TCP": self = .tcp
        case "TLS": self = .tls
        default: return nil
        }
    }
}

/// Where a message goes or came from: a transport and a socket address.
/// `serverName` and `verifyTLS` only matter for outgoing TLS connections;
/// they are not part of the identity of the endpoint (a connection is reused
/// for any message to the same transport and address).
public struct SIPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var transport: SIPTransport
    public var address: SocketAddress
    public var serverName: String?
    public var verifyTLS: Bool

    public init(transport: SIPTransport, address: SocketAddress, serverName: String? = nil, verifyTLS: Bool = true) {
        self.transport = transport
        self.address = address
        self.serverName = serverName
        self.verifyTLS = verifyTLS
    }

    public static func == (a: SIPEndpoint, b: SIPEndpoint) -> Bool {
        a.transport == b.transport && a.address == b.address
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(transport)
        hasher.combine(address)
    }

    public var ipAddress: String { address.ipAddress ?? "?" }
    public var port: Int { address.port ?? 0 }
    public var description: String { "\(transport.uriParameter):\(address.hostPortText)" }
}

extension SocketAddress {
    /// "1.2.3.4:5060" or "[::1]:5060".
    var hostPortText: String {
        let ip = ipAddress ?? "?"
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return "\(host):\(port ?? 0)"
    }
}

/// A parsed message together with where it came from.
public struct ReceivedMessage: Sendable {
    public var message: SIPMessage
    public var source: SIPEndpoint

    public init(message: SIPMessage, source: SIPEndpoint) {
        self.message = message
        self.source = source
    }
}
