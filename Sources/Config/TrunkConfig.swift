/// A SIP trunk or PBX the gateway places calls to and takes calls from.
///
/// Printing, `dump` and string interpolation show `<redacted>` in place of
/// the password.
public struct TrunkConfig: Sendable, Equatable {
    /// The audio codecs a trunk may be offered, in order of preference.
    public enum Codec: String, Sendable, Hashable, CaseIterable {
        case pcmu = "PCMU"
        case pcma = "PCMA"
        case g722 = "G722"
        /// Passed through to and from the browser's Opus (RFC 7587); never transcoded to G.711.
        case opus
    }

    /// Where a call from the trunk names the number it is for. Every source
    /// falls back to the request URI's user unless that is one of our own
    /// contacts (a registrar's retarget, RFC 3261 §16.6 step 2), and then to To.
    public enum CalledNumberSource: String, Sendable, Hashable, CaseIterable {
        case requestURI = "request-uri"
        case to
        /// RFC 3455 §4.2: the number as dialled, from an IMS or carrier core.
        case pCalledPartyID = "p-called-party-id"
        /// A forwarded call: the number first called (RFC 7044's first
        /// History-Info entry, RFC 5806's last Diversion).
        case historyInfo = "history-info"
        case diversion
    }

    /// How digits travel to and from the trunk (`dtmf`).
    public enum DTMFMode: String, Sendable, Hashable, CaseIterable {
        /// RTP events (RFC 4733) only; a call without them takes no digits.
        case rfc4733
        /// SIP INFO (`application/dtmf-relay`) only.
        case info
        /// RTP events when the call negotiated them, else INFO.
        case auto
    }

    public var name: String
    /// Host name or IP address (IPv6 without brackets).
    public var address: String
    public var port: Int
    public var transport: SIPTransportKind
    /// User for the From and registration address, and for digest auth by default.
    public var username: String?
    public var password: String?
    /// The digest username; `username` unless the file gave `auth_username`.
    public var authUsername: String?
    /// When set, only challenges for this realm are answered.
    public var realm: String?
    /// Host part of From and the registration address; `address` by default.
    public var fromDomain: String
    public var register: Bool
    public var registerExpiresSeconds: Int
    /// Who may send calls in through this trunk.
    public var allowedSources: [IPAddressRange]
    /// Whether a TLS trunk's certificate must chain to a trusted root and match `address`.
    public var verifyTLS: Bool
    public var codecs: [Codec]
    public var calledNumber: CalledNumberSource = .requestURI
    /// How long an INVITE to the trunk may go without any response (not
    /// even 100 Trying) before the attempt fails over (`response_timeout_ms`).
    public var responseTimeout: Duration = .seconds(3)
    public var dtmf: DTMFMode = .auto
    /// Reliable provisional responses (RFC 3262) in our INVITEs (`prack`):
    /// `supported` lets the trunk send them, `required` insists (some
    /// carriers send early media only to callers that require 100rel).
    public var prack: PrackMode = .supported
    public enum PrackMode: String, Sendable, CaseIterable { case off, supported, required }
    /// SRTP toward the trunk with SDES keys (RFC 4568 `a=crypto`), `media_encryption`:
    /// `off` plain RTP (an SRTP offer is refused 488); `optional` our offers
    /// carry keys over RTP/AVP and a plain answer is taken, a trunk's SRTP
    /// offer is taken; `required` RTP/SAVP only, a plain offer or answer fails
    /// the call (488). Keys in SDP are secrets: use it over TLS.
    public var mediaEncryption: MediaEncryption = .off
    public enum MediaEncryption: String, Sendable, CaseIterable { case off, optional, required }
    /// RFC 4028 session interval asked of the trunk in our INVITEs, in
    /// seconds; 0: none asked (a timer the trunk starts is still followed)
    /// (`session_expires_s`).
    public var sessionExpiresSeconds = 1800
    /// The trunk is in our trust domain (RFC 3325): it gets the caller's
    /// identity in P-Asserted-Identity, also when it is withheld in From
    /// (`asserted_identity`).
    public var assertedIdentity = false
    /// OPTIONS pings to tell whether the trunk is there (`options_interval_s`); zero: none.
    public var optionsInterval: Duration = .zero

    /// The user part of the Contact this trunk's registration binds: a
    /// registrar retargets the trunk's calls to it, so it names the trunk.
    public var registrationContactUser: String { "tl-" + name }

    public init(name: String, address: String, port: Int, transport: SIPTransportKind,
                username: String? = nil, password: String? = nil, authUsername: String? = nil,
                realm: String? = nil, fromDomain: String, register: Bool = false,
                registerExpiresSeconds: Int = 3600, allowedSources: [IPAddressRange] = [],
                verifyTLS: Bool = true, codecs: [Codec] = [.pcmu, .pcma, .g722]) {
        self.name = name
        self.address = address
        self.port = port
        self.transport = transport
        self.username = username
        self.password = password
        self.authUsername = authUsername
        self.realm = realm
        self.fromDomain = fromDomain
        self.register = register
        self.registerExpiresSeconds = registerExpiresSeconds
        self.allowedSources = allowedSources
        self.verifyTLS = verifyTLS
        self.codecs = codecs
    }

    /// Whether the trunk is allowed to send a call in from this IP address.
    public func allowsSource(_ address: String) -> Bool {
        allowedSources.contains { $0.contains(address) }
    }
}

extension TrunkConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        let target = HostSyntax.join(host: address, port: port)
        var parts = ["name: \(name)", "\(transport.rawValue):\(target)"]
        if let username { parts.append("username: \(username)") }
        if password != nil { parts.append("password: <redacted>") }
        if let authUsername, authUsername != username { parts.append("auth_username: \(authUsername)") }
        if let realm { parts.append("realm: \(realm)") }
        parts.append("register: \(register)")
        return "TrunkConfig(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        let children: KeyValuePairs<String, Any> = [
            "name": name, "address": address, "port": port, "transport": transport,
            "username": username as Any, "password": password == nil ? "nil" : "<redacted>",
            "authUsername": authUsername as Any, "realm": realm as Any, "fromDomain": fromDomain,
            "register": register, "registerExpiresSeconds": registerExpiresSeconds,
            "allowedSources": allowedSources, "verifyTLS": verifyTLS, "codecs": codecs,
            "calledNumber": calledNumber,
        ]
        return Mirror(self, children: children, displayStyle: .struct)
    }
}
