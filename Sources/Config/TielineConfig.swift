import Records
/// The whole gateway configuration, checked and with every default filled in.
///
/// Built by `ConfigLoader` from `config/tieline.yaml` (docs/configuration.md
/// describes every key). Paths are absolute: relative ones in the file were
/// resolved against the file's directory, so the gateway's working directory
/// never changes what it opens.
public struct TielineConfig: Sendable, Equatable {
    /// Absolute path of the file this was loaded from.
    public var file: String
    public var logLevel: LogLevel
    /// Absolute path; call records and other state live here.
    public var dataDirectory: String
    public var sip: SIPConfig
    public var media: MediaConfig
    public var users: [UserConfig]
    public var trunks: [TrunkConfig]
    /// Absolute path of the Lua dialplan.
    public var dialplan: String
    public var records: RecordsConfig
    public var web: WebConfig
    public var routing = RoutingConfig()

    public init(file: String, logLevel: LogLevel, dataDirectory: String, sip: SIPConfig,
                media: MediaConfig, users: [UserConfig], trunks: [TrunkConfig],
                dialplan: String, records: RecordsConfig) {
        self.file = file
        self.logLevel = logLevel
        self.dataDirectory = dataDirectory
        self.sip = sip
        self.media = media
        self.users = users
        self.trunks = trunks
        self.dialplan = dialplan
        self.records = records
        web = WebConfig(certificate: dataDirectory + "/certs/web.crt", privateKey: dataDirectory + "/certs/web.key")
    }

    public func user(named name: String) -> UserConfig? {
        users.first { $0.name == name }
    }

    public func trunk(named name: String) -> TrunkConfig? {
        trunks.first { $0.name == name }
    }

    /// The levels of swift-log's `Logger.Level`, with the same raw values, so
    /// `Logger.Level(rawValue: level.rawValue)` converts. Kept separate so the
    /// configuration model does not depend on the logging library.
    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }
}

/// Where media (RTP) is sent from and received on, and how it is handled.
public struct MediaConfig: Sendable, Equatable {
    /// Inclusive; starts on an even port because RTP takes the even port of a
    /// pair and RTCP the odd one after it (RFC 3550 section 11).
    public var rtpPorts: ClosedRange<Int>
    /// Host or IP address written into SDP `c=` lines.
    public var publicAddress: String
    /// Where media sockets bind.
    public var bindAddress = "0.0.0.0"
    /// Latch the phone leg to where its RTP really comes from (RFC 4961).
    public var symmetricRTP = true
    /// Listen for DTMF tones in the phone's G.711 audio.
    public var inbandDTMF = false
    public var rtcpIntervalSeconds = 5
    /// RFC 7675: media stops when the browser's checks stop for this long.
    public var consentTimeoutSeconds = 30
    public var opus = OpusSettings()
    /// PEM files of the DTLS certificate (ECDSA P-256) and its key; absolute
    /// paths, or nil for a certificate made when the gateway starts.
    public var dtlsCertificate: String?
    public var dtlsPrivateKey: String?
    /// What the phone hears while the browser holds: the absolute path of a
    /// WAV file (16-bit PCM, looped), or nil for the built-in tone.
    public var holdMusic: String?

    /// The Opus encoder toward browsers.
    public struct OpusSettings: Sendable, Equatable {
        public var complexity = 5
        public var inbandFEC = true
        public var dtx = false
        public var packetLossPercent = 5
        public init() {}
    }

    public init(rtpPorts: ClosedRange<Int>, publicAddress: String) {
        self.rtpPorts = rtpPorts
        self.publicAddress = publicAddress
    }
}

/// Where call records are written.
public struct RecordsConfig: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Backend: Sendable, Equatable {
        /// Absolute path of the SQLite database file.
        case sqlite(path: String)
        /// A `postgres://` or `postgresql://` URL; it may hold a password.
        case postgres(url: String)
        /// No records are written.
        case off
    }

    public var backend: Backend
    /// This gateway's name in its records; nil: the host name. Gateways that
    /// share a PostgreSQL database need distinct names, since each marks only
    /// its own unfinished rows at start.
    public var instance: String?

    public init(backend: Backend, instance: String? = nil) {
        self.backend = backend
        self.instance = instance
    }

    /// The name records are written and restart-marked under.
    public var instanceName: String { instance ?? RecordsInstance.localName }

    // The PostgreSQL URL can carry a password, so it is never printed whole.
    public var description: String {
        switch backend {
        case .sqlite(let path): return "sqlite(\(path))"
        case .postgres(let url): return "postgres(\(Redaction.url(url)))"
        case .off: return "off"
        }
    }

    public var debugDescription: String { "RecordsConfig(\(description))" }
}

extension RecordsConfig: CustomReflectable {
    // dump() and the default struct printing walk mirrors; show the redacted form.
    public var customMirror: Mirror {
        Mirror(self, children: ["backend": description], displayStyle: .struct)
    }
}
