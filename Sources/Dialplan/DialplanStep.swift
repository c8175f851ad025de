/// What the script asks the gateway to do next, or how it ended. After each
/// action the gateway calls `DialplanRun.resume` with its outcome.
public enum DialplanStep: Sendable, Equatable {
    /// Ring the target; resume with `.bridged` (or `.failed` when it could
    /// not be tried) once the attempt is over.
    case bridge(BridgeTarget, BridgeOptions)
    /// Answer the caller (200 OK); resume with `.done`.
    case answer
    /// End the call: this status if it is unanswered, BYE if answered. The
    /// script is over; the run is not resumed.
    case hangup(code: Int, reason: String?)
    /// Play to the caller; resume with `.done` when it has played.
    case play(PlaySource)
    /// Send the caller's audio back to them; resume with `.done` when it ends.
    case echo
    /// Collect DTMF keys; resume with `.digits` (without the terminator).
    /// `timeout` is the seconds to wait for each next key.
    case collectDigits(max: Int, timeout: Double, terminator: String?)
    /// The script returned. Unless a bridge connected, end the call with
    /// `DialplanRun.fallbackResponse`.
    case finished
    /// The script failed: reject the call with 500 and log the error.
    case failed(DialplanError)
}

/// Where `call:bridge` rings.
public enum BridgeTarget: Sendable, Equatable {
    /// `"trunk:NAME"`; `number` is `options.number`, else `call.to`.
    case trunk(name: String, number: String)
    /// `"user:NAME"`: every logged-in connection of a browser user.
    case user(String)
    /// `"sip:..."` or `"sips:..."`, as the script wrote it.
    case uri(String)
}

public struct BridgeOptions: Sendable, Equatable {
    /// The calling number to present (From user part); nil: the gateway's choice.
    public var callerID: String?
    /// The display name to present.
    public var callerName: String?
    /// Seconds to ring before giving up (408); nil: the gateway's default.
    public var ringTimeout: Double?
    /// Codecs to offer, in order (`PCMU`, `PCMA`, `G722`, `OPUS`); nil: the trunk's.
    public var codecs: [String]?
    /// Extra X- headers for the outgoing INVITE.
    public var headers: [String: String]
    /// Withhold the caller's identity (RFC 3323): From anonymous and
    /// `Privacy: id`; only a trusted trunk still learns it (RFC 3325).
    public var privacy = false
    /// A trunk's call may go out to this trunk or URI (an SBC-style relay):
    /// without it a call from a trunk never goes out again (no open relay).
    public var relay = false

    public init(callerID: String? = nil, callerName: String? = nil, ringTimeout: Double? = nil,
                codecs: [String]? = nil, headers: [String: String] = [:]) {
        self.callerID = callerID
        self.callerName = callerName
        self.ringTimeout = ringTimeout
        self.codecs = codecs
        self.headers = headers
    }
}

public enum PlaySource: Sendable, Equatable {
    /// A sine tone: hertz and seconds.
    case tone(frequency: Double, duration: Double)
    /// An audio file as the script named it; the gateway resolves it.
    case file(String)
}

/// The result of the last action, handed back with `DialplanRun.resume`.
public enum DialplanOutcome: Sendable, Equatable {
    /// The action completed (answer, play, echo).
    case done
    /// A bridge attempt is over: the final SIP status (200 when answered,
    /// then reported after the bridged call ends; 486, 503, 408 on timeout,
    /// ...), its reason phrase, and whether the callee answered.
    case bridged(code: Int, reason: String?, answered: Bool)
    /// The keys collected, without the terminator ("" on timeout).
    case digits(String)
    /// The action could not be carried out; a bridge reports it as not
    /// answered with this code, other actions return `nil, reason` in Lua.
    case failed(code: Int, reason: String)
}
