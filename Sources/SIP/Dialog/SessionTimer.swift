// Session timers (RFC 4028): a periodic re-INVITE or UPDATE proves that both
// ends still hold the session, so a call whose peer vanished (a crashed PBX,
// a lost BYE) is not kept up, and billed, for ever.

/// Who sends the refreshes (RFC 4028 §4). The names are the roles in the
/// transaction that carries the header, not in the dialog: in a re-INVITE
/// the peer sent, `uac` is the peer.
public enum SessionRefresher: String, Sendable, Equatable {
    case uac, uas
}

/// A Session-Expires header field value (RFC 4028 §4), `1800;refresher=uac`.
public struct SessionExpires: Sendable, Equatable, CustomStringConvertible {
    /// The session interval, in seconds.
    public var interval: Int
    public var refresher: SessionRefresher?

    public init(interval: Int, refresher: SessionRefresher? = nil) {
        self.interval = interval
        self.refresher = refresher
    }

    /// nil unless the value starts with delta-seconds (1 to 2^32-1): a value
    /// we cannot read is as good as none. An unknown refresher reads as none.
    public init?(parsing value: String) {
        let parts = value.split(separator: ";", omittingEmptySubsequences: false)
        // A zero interval would have us refresh in a loop.
        guard let first = parts.first, let seconds = Self.deltaSeconds(first), seconds > 0 else { return nil }
        interval = seconds
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, pair[0].sipTrimmed.lowercased() == "refresher" else { continue }
            refresher = SessionRefresher(rawValue: pair[1].sipTrimmed.lowercased())
        }
    }

    public var description: String {
        guard let refresher else { return "\(interval)" }
        return "\(interval);refresher=\(refresher.rawValue)"
    }

    /// RFC 3261 delta-seconds: digits only (`Int` would also take a sign),
    /// at most 2^32-1; blanks around are fine.
    static func deltaSeconds(_ text: Substring) -> Int? {
        let digits = text.sipTrimmed
        guard !digits.isEmpty, digits.utf8.count <= 10,
              digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(digits), value <= Int(UInt32.max) else { return nil }
        return value
    }
}

/// What we ask for (RFC 4028): the session interval we want and the
/// smallest we accept.
public struct SessionTimerPolicy: Sendable, Equatable {
    /// §4, §5: no Min-SE, hence no session interval, below 90 s.
    public static let smallestMinSE = 90

    /// Session-Expires we ask for, in seconds (§4 recommends 1800).
    public let interval: Int
    /// Min-SE: a peer asking for less gets 422 (or, when it cannot retry,
    /// this instead), in seconds.
    public let minSE: Int

    /// Values below the RFC's floor are raised to it, and `interval` to `minSE`.
    public init(interval: Int = 1800, minSE: Int = 90) {
        self.minSE = max(minSE, Self.smallestMinSE)
        self.interval = max(interval, self.minSE)
    }

    /// §7.1: after a 422, ask for at least its Min-SE, and say so in ours.
    func raised(toMinSE value: Int) -> SessionTimerPolicy {
        SessionTimerPolicy(interval: max(interval, value), minSE: max(minSE, value))
    }

    /// The limits for a request we answer. A request that asks for a timer
    /// gets one even when we would not start one ourselves (`configured`
    /// nil): we support the extension, and §9 has the UAS honour it.
    static func limits(_ configured: SessionTimerPolicy?, for request: SIPRequest) -> SessionTimerPolicy? {
        configured ?? (request.headers.sessionExpires != nil ? SessionTimerPolicy() : nil)
    }

    /// §9: an interval below our Min-SE is refused with 422 only when the
    /// UAC can retry (it supports timers); otherwise `answer` raises it.
    func isTooSmall(_ request: SIPRequest) -> Bool {
        guard let asked = request.headers.sessionExpires else { return false }
        return asked.interval < minSE && request.headers.supportsTimer
    }

    /// The timer for a 2xx to our own INVITE, re-INVITE or UPDATE that asked
    /// for `asked` seconds (§7.2). Without Session-Expires the peer runs no
    /// timer; we still refresh alone with what we asked for: it costs one
    /// request per half interval and finds a peer that is gone.
    static func timer(from response: SIPResponse, asked: Int) -> SessionTimer {
        guard let granted = response.headers.sessionExpires else {
            return SessionTimer(interval: asked, isLocalRefresher: true)
        }
        // We were the UAC; a 2xx that names no refresher breaks §9, and
        // refreshing ourselves is the choice that cannot lose the call.
        return SessionTimer(interval: granted.interval, isLocalRefresher: granted.refresher != .uas)
    }

    /// What we, as UAS, put in the 2xx to `request` (§9), and the timer it
    /// starts; nil for no timer. `initiate`: add one when the request asked
    /// for none. `running`: the dialog's timer, whose interval and refresher
    /// stay when an in-dialog request leaves them to us.
    func answer(_ request: SIPRequest, initiate: Bool, running: SessionTimer? = nil) -> SessionTimerAnswer? {
        let headers = request.headers
        let asked = headers.sessionExpires
        guard asked != nil || initiate else { return nil }
        let uacSupportsTimer = headers.supportsTimer
        // §9: we may lower the interval, never below the request's Min-SE (else 90 s);
        // one below our Min-SE from a UAC that cannot retry is raised (§8.1).
        var interval = asked.map { min($0.interval, self.interval) } ?? running?.interval ?? self.interval
        interval = max(interval, minSE, headers.minSE ?? Self.smallestMinSE)
        let refresher: SessionRefresher
        if !uacSupportsTimer {
            refresher = .uas  // a UAC without the extension cannot refresh
        } else if let chosen = asked?.refresher {
            refresher = chosen
        } else if let running {
            refresher = running.isLocalRefresher ? .uas : .uac
        } else {
            // §9 leaves it to us: the UAC that offered the extension does the
            // work, and we only watch (one timer per call on our side, no requests).
            refresher = .uac
        }
        var fields = [("Session-Expires", SessionExpires(interval: interval, refresher: refresher).description)]
        // §9: Require only toward a UAC that said it has the extension.
        if uacSupportsTimer { fields.append(("Require", "timer")) }
        return SessionTimerAnswer(headers: fields,
                                  timer: SessionTimer(interval: interval, isLocalRefresher: refresher == .uas))
    }
}

/// Whether one INVITE of ours asks for a session timer.
public enum SessionTimerSetting: Sendable, Equatable {
    /// `SIPUserAgent.sessionTimer`.
    case userAgentDefault
    /// None asked for; a UAS that starts one is still followed.
    case off
    case on(SessionTimerPolicy)
}

/// The session timer fields of our 2xx and the timer they start.
struct SessionTimerAnswer {
    var headers: [(String, String)]
    var timer: SessionTimer
}

/// A dialog's running session timer (RFC 4028 §7.2, §9).
public struct SessionTimer: Sendable, Equatable {
    /// The session interval, in seconds.
    public var interval: Int
    /// We send the refreshes, at half the interval (§10); otherwise we wait
    /// for the peer's and hang up when none comes (`DialogEnd.sessionExpired`).
    public var isLocalRefresher: Bool

    public init(interval: Int, isLocalRefresher: Bool) {
        self.interval = interval
        self.isLocalRefresher = isLocalRefresher
    }
}

extension SIPHeaders {
    /// Session-Expires (or its compact form `x`); nil when absent or unreadable.
    public var sessionExpires: SessionExpires? { self["Session-Expires"].flatMap(SessionExpires.init(parsing:)) }

    /// Min-SE in seconds (RFC 4028 §5); nil when absent or unreadable.
    public var minSE: Int? {
        guard let value = self["Min-SE"] else { return nil }
        return SessionExpires.deltaSeconds(value.split(separator: ";", omittingEmptySubsequences: false).first ?? "")
    }

    /// Whether an option tag is listed in Supported (or `k`) or Require.
    func names(optionTag tag: String, in name: String) -> Bool {
        all(name).contains { $0.lowercased() == tag }
    }

    /// The sender has RFC 4028: it said so in Supported or Require.
    var supportsTimer: Bool { names(optionTag: "timer", in: "Supported") || names(optionTag: "timer", in: "Require") }
}
