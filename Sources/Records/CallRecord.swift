import Foundation

/// One call as the records keep it: written when the call starts, updated at
/// answer and at the end. Its `Codable` form is the JSON of `tieline records
/// --json` (see `RecordsOutput` for the key names).
public struct CallRecord: Sendable, Equatable, Codable {
    /// The row's own key. The gateway's call ids are not unique over time
    /// (`in-1` restarts at every start, browsers choose their own ids), so
    /// every record gets a UUID and the updates name it.
    public var recordID: UUID
    /// The gateway's id for the call, as in its logs.
    public var callID: String
    /// The SIP Call-ID of the phone leg, once there is one.
    public var sipCallID: String?
    public var direction: CallDirection
    public var from: String
    public var to: String
    /// The browser user on the call (caller or callee), if any.
    public var user: String?
    public var trunk: String?
    public var startedAt: Date
    public var answeredAt: Date?
    public var endedAt: Date?
    /// From answer to end, in seconds to the millisecond; 0 for a call never
    /// answered; nil while the call runs and for calls ended by a restart
    /// (their real end is unknown).
    public var durationSeconds: Double?
    /// The final SIP-like status: 200 for an answered call that ended
    /// normally, else the rejection (486, 487, 403, 500...). Nil until the end.
    public var status: Int?
    public var reason: String?
    public var state: RecordState
    public var codecs: CallCodecs
    public var stats: CallStats
    /// The gateway that handled the call, so that several gateways can
    /// share one PostgreSQL database and each clean up only its own rows.
    public var instance: String

    public init(recordID: UUID = UUID(), callID: String, sipCallID: String? = nil,
                direction: CallDirection, from: String, to: String, user: String? = nil,
                trunk: String? = nil, startedAt: Date = Date(), answeredAt: Date? = nil,
                endedAt: Date? = nil, durationSeconds: Double? = nil, status: Int? = nil,
                reason: String? = nil, state: RecordState = .active, codecs: CallCodecs = CallCodecs(),
                stats: CallStats = CallStats(), instance: String = RecordsInstance.localName) {
        self.recordID = recordID
        self.callID = callID
        self.sipCallID = sipCallID
        self.direction = direction
        self.from = from
        self.to = to
        self.user = user
        self.trunk = trunk
        self.startedAt = startedAt
        self.answeredAt = answeredAt
        self.endedAt = endedAt
        self.durationSeconds = durationSeconds
        self.status = status
        self.reason = reason
        self.state = state
        self.codecs = codecs
        self.stats = stats
        self.instance = instance
    }

    // Keys spelled out so that renaming a property never changes the JSON.
    enum CodingKeys: String, CodingKey {
        case recordID = "recordId", callID = "callId", sipCallID = "sipCallId"
        case direction, from, to, user, trunk, startedAt, answeredAt, endedAt
        case durationSeconds, status, reason, state, codecs, stats, instance
    }

    // Absent values are written as null, not left out, so every record in
    // the JSON has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // Lowercase, as in the database and the logs (UUID's own encoding is uppercase).
        try container.encode(recordID.uuidString.lowercased(), forKey: .recordID)
        try container.encode(callID, forKey: .callID)
        try container.encode(sipCallID, forKey: .sipCallID)
        try container.encode(direction, forKey: .direction)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(user, forKey: .user)
        try container.encode(trunk, forKey: .trunk)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(answeredAt, forKey: .answeredAt)
        try container.encode(endedAt, forKey: .endedAt)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encode(status, forKey: .status)
        try container.encode(reason, forKey: .reason)
        try container.encode(state, forKey: .state)
        try container.encode(codecs, forKey: .codecs)
        try container.encode(stats, forKey: .stats)
        try container.encode(instance, forKey: .instance)
    }
}

/// Who called whom. The two kinds the gateway knows are named; a dialplan
/// may add its own (for example `browser-to-browser`), kept as written.
public struct CallDirection: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let browserToTrunk = CallDirection(rawValue: "browser-to-trunk")
    public static let trunkToBrowser = CallDirection(rawValue: "trunk-to-browser")
    /// A trunk's call the dialplan relayed to another trunk or a SIP URI.
    public static let trunkToTrunk = CallDirection(rawValue: "trunk-to-trunk")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum RecordState: String, Sendable, Codable, CaseIterable {
    /// The call runs (or the gateway died during it and has not restarted yet).
    case active
    case ended
    /// The gateway stopped during the call; the next start found the row.
    case endedByRestart = "ended-by-restart"
}

/// The codec each leg settled on, e.g. "opus/48000/2" and "PCMU/8000".
public struct CallCodecs: Sendable, Equatable, Codable {
    public var browser: String?
    public var phone: String?

    public init(browser: String? = nil, phone: String? = nil) {
        self.browser = browser
        self.phone = phone
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(browser, forKey: .browser)
        try container.encode(phone, forKey: .phone)
    }
}

/// Media statistics of one leg over the whole call, as the gateway counted them.
public struct LegStats: Sendable, Equatable, Codable {
    public var packetsSent: Int
    public var packetsReceived: Int
    /// Expected minus received (RFC 3550), as reported at the end.
    public var packetsLost: Int
    /// Interarrival jitter in milliseconds.
    public var jitterMs: Double

    public init(packetsSent: Int = 0, packetsReceived: Int = 0, packetsLost: Int = 0, jitterMs: Double = 0) {
        self.packetsSent = packetsSent
        self.packetsReceived = packetsReceived
        self.packetsLost = packetsLost
        self.jitterMs = jitterMs
    }
}

/// Both legs' statistics; a leg the call never set up has none.
public struct CallStats: Sendable, Equatable, Codable {
    public var browser: LegStats?
    public var phone: LegStats?

    public init(browser: LegStats? = nil, phone: LegStats? = nil) {
        self.browser = browser
        self.phone = phone
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(browser, forKey: .browser)
        try container.encode(phone, forKey: .phone)
    }
}

public enum RecordsInstance {
    /// The host name, the default instance name. Read once with gethostname
    /// (ProcessInfo.hostName may wait for DNS).
    public static let localName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "tieline" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "tieline" : name
    }()
}
