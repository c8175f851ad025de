/// The call a dialplan run decides about; the script sees it as `call`.
public struct DialplanCall: Sendable, Equatable {
    /// Where the call came from (`call.direction`).
    public enum Direction: String, Sendable, Equatable {
        /// A logged-in browser user placed it.
        case fromBrowser = "browser"
        /// It arrived from a SIP trunk.
        case fromTrunk = "trunk"
    }

    /// The caller: a browser user's name, or the calling number from a trunk (`call.from`).
    public var from: String
    /// What was dialled: a number, a user name or an extension (`call.to`).
    public var to: String
    /// The logged-in browser user placing the call; nil for trunk calls (`call.user`).
    public var user: String?
    public var direction: Direction
    /// The trunk a trunk call came in on (`call.trunk`).
    public var sourceTrunk: String?
    /// The caller's display name, if any (`call.display_name`).
    public var displayName: String?
    /// X- headers from the browser or the SIP request (`call.headers`,
    /// looked up without regard to case).
    public var headers: [String: String]
    /// The gateway's id for the call, for logs and records (`call.id`).
    public var id: String

    public init(from: String, to: String, user: String? = nil, direction: Direction,
                sourceTrunk: String? = nil, displayName: String? = nil,
                headers: [String: String] = [:], id: String) {
        self.from = from
        self.to = to
        self.user = user
        self.direction = direction
        self.sourceTrunk = sourceTrunk
        self.displayName = displayName
        self.headers = headers
        self.id = id
    }
}

/// Read-only facts from the configuration that scripts can ask about
/// (`user_exists`, `trunks()`, `did_user`, `variables`, ...).
public struct DialplanContext: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var name: String
        /// A short number that reaches the user (`user_by_extension`).
        public var `extension`: String?
        /// Whether the user may call numbers outside the home country
        /// (`user_allowed_international`); off unless granted.
        public var international: Bool

        public init(name: String, extension: String? = nil, international: Bool = false) {
            self.name = name
            self.extension = `extension`
            self.international = international
        }
    }

    public var users: [User]
    /// Trunk names in configuration order (`trunks()`): failover order.
    public var trunks: [String]
    /// Trunks found down by their OPTIONS pings: `trunks()` leaves them
    /// out; a script may still bridge to one by name.
    public var downTrunks: Set<String> = []
    /// DID number -> user name: numbers on trunks that ring a user (`did_user`).
    public var dids: [String: String]
    /// The country code national numbers belong to, digits only ("49",
    /// "44"). "1" selects North American dialling (10 digits, 011 abroad);
    /// any other code the common 0 (national) / 00 (international) prefixes.
    public var homeCountryCode: String
    /// Free-form operator values (`variables.NAME` in the script).
    public var variables: [String: String]

    public init(users: [User] = [], trunks: [String] = [], dids: [String: String] = [:],
                homeCountryCode: String = "1", variables: [String: String] = [:]) {
        self.users = users
        self.trunks = trunks
        self.dids = dids
        self.homeCountryCode = homeCountryCode
        self.variables = variables
    }
}

/// What one call's run may use. Both are per call, across all of its steps.
public struct DialplanLimits: Sendable, Equatable {
    /// Lua VM instructions. A library function call counts as one, except
    /// the pattern functions (string.find, match, gmatch, gsub), which are
    /// charged a quarter of their estimated matching steps.
    public var instructions: Int
    /// Bytes the call's Lua state may hold, the standard libraries included
    /// (about 30 KiB of that is taken before the script starts).
    public var memoryBytes: Int

    public init(instructions: Int = 1_000_000, memoryBytes: Int = 4 << 20) {
        self.instructions = instructions
        self.memoryBytes = memoryBytes
    }
}

/// The level a script logged at (`log.debug`, `log.info`, `log.warn`, `log.error`).
public enum DialplanLogLevel: Int32, Sendable, Equatable {
    case debug = 0, info = 1, warning = 2, error = 3
}
