/// The browser side: where the web phone and its WebSocket listen, the TLS
/// certificate, login tokens, limits, and the ICE servers given to browsers.
public struct WebConfig: Sendable, Equatable {
    public struct Address: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct ICEServer: Sendable, Equatable {
        public var urls: [String]
        public var username: String?
        public var credential: String?
    }

    /// HTTPS and WSS; nil turns them off.
    public var https: Address? = Address(host: "0.0.0.0", port: 8443)
    /// Plain HTTP and WS; nil turns them off. Loopback only unless `httpOnNetwork`.
    public var http: Address? = Address(host: "127.0.0.1", port: 8080)
    public var httpOnNetwork = false
    /// Absolute paths of the PEM certificate and key; made self-signed when missing.
    public var certificate: String
    public var privateKey: String
    /// Host names and addresses a generated certificate is made for, besides localhost.
    public var certificateNames: [String] = []
    /// HMAC key of login tokens; nil turns token logins off.
    public var tokenSecret: String?
    public var iceServers: [ICEServer] = []
    public var maximumCallsPerUser = 4
    public var maximumConnectionsPerAddress = 32
    public var loginFailures = 5
    public var loginWindowSeconds = 60
    public var loginBlockSeconds = 60

    public init(certificate: String, privateKey: String) {
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

extension TielineConfig {
    /// What a generated HTTPS certificate is made for besides localhost: the
    /// configured names and the public address browsers reach.
    public var webCertificateNames: [String] { web.certificateNames + [sip.publicAddress] }
}

/// What the dialplan sees besides the call, and the limits it runs under.
public struct RoutingConfig: Sendable, Equatable {
    /// Country calling code of national numbers (`e164("030...")`), digits.
    public var homeCountry = "1"
    /// Numbers (DIDs) of calls from trunks, to the user they ring.
    public var dids: [String: String] = [:]
    /// Free-form values scripts read as `variables.NAME`.
    public var variables: [String: String] = [:]
    /// Lua instructions one call's script may run (all its steps together).
    public var instructionLimit = 1_000_000
    /// Memory one call's Lua state may hold.
    public var memoryLimitKB = 4096
    /// Answer trunk calls that reach no user with a 200 and a media-less
    /// SDP, then wait for BYE: for SIP load tests and interop checks, never
    /// for service.
    public var testAnswer = false
    public init() {}
}

// Printing shows `<redacted>` for the token secret and TURN credentials.
extension WebConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "WebConfig(https: \(https.map { "\($0.host):\($0.port)" } ?? "off"), "
            + "http: \(http.map { "\($0.host):\($0.port)" } ?? "off"), certificate: \(certificate), "
            + "tokenSecret: \(tokenSecret == nil ? "nil" : "<redacted>"), iceServers: \(iceServers.count))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        let children: KeyValuePairs<String, Any> = [
            "https": https as Any, "http": http as Any, "httpOnNetwork": httpOnNetwork, "certificate": certificate,
            "privateKey": privateKey, "certificateNames": certificateNames,
            "tokenSecret": tokenSecret == nil ? "nil" : "<redacted>",
            "iceServers": iceServers.map { "\($0.urls)" + ($0.credential == nil ? "" : " credential: <redacted>") },
            "maximumCallsPerUser": maximumCallsPerUser, "maximumConnectionsPerAddress": maximumConnectionsPerAddress,
            "loginFailures": loginFailures, "loginWindowSeconds": loginWindowSeconds, "loginBlockSeconds": loginBlockSeconds,
        ]
        return Mirror(self, children: children, displayStyle: .struct)
    }
}
