import Config
import Dialplan
import Foundation

/// What the dialplan would do with a call, found without placing it
/// (`tieline route`): every step in order and how the call would end. Each
/// bridge is taken as answered, or as failing with `failCode` to show the
/// failover order; `collect_digits` gets `digits`.
public struct RouteDecision: Sendable {
    public enum Step: Sendable, Equatable {
        case bridgeTrunk(trunk: String, number: String)
        case bridgeUser(String)
        case bridgeURI(String)
        case hangup(code: Int, reason: String)
        case answer
        case echo
        case play(PlaySource)
        case collectDigits(max: Int)
    }

    public var direction: String
    public var steps: [Step] = []
    public var endCode = 200
    public var endReason = "OK"

    /// Runs the configured dialplan for a call from `user` (a browser) or
    /// from `trunk`. Throws the script's error.
    public static func evaluate(config: TielineConfig, user: String?, trunk: String?, to: String, from: String?,
                                failCode: Int?, digits: String = "") throws(DialplanError) -> RouteDecision {
        let script = try DialplanScript.compile(path: config.dialplan)
        let call = trunk == nil
            ? DialplanCall(from: from ?? user ?? "", to: to, user: user, direction: .fromBrowser, id: "route")
            : DialplanCall(from: from ?? "", to: to, direction: .fromTrunk, sourceTrunk: trunk, id: "route")
        let limits = DialplanLimits(instructions: config.routing.instructionLimit,
                                    memoryBytes: config.routing.memoryLimitKB * 1024)
        let run = DialplanRun(script: script, call: call, context: DialplanHost.context(config), limits: limits) { _, _ in }
        var decision = RouteDecision(direction: call.direction.rawValue)
        var step = run.start()
        // A script may loop over bridges; a route that takes this many steps is shown cut short.
        for _ in 0..<100 {
            switch step {
            case .bridge(let target, _):
                switch target {
                case .trunk(let name, let number): decision.steps.append(.bridgeTrunk(trunk: name, number: number))
                case .user(let name): decision.steps.append(.bridgeUser(name))
                case .uri(let uri): decision.steps.append(.bridgeURI(uri))
                }
                let answeredHere = decision.steps.contains(.answer)
                if trunk != nil, case .user = target {
                    // As the gateway does: the user's outcome is the call's.
                    (decision.endCode, decision.endReason) = (200, "rings the user")
                    return decision
                } else if trunk != nil {
                    // The gateway never sends a trunk's call out to a trunk.
                    step = run.resume(.bridged(code: 403, reason: "calls from trunks are not sent out again", answered: false))
                } else if answeredHere {
                    step = run.resume(.bridged(code: 501, reason: "a call the dialplan answered cannot be bridged yet",
                                               answered: false))
                } else if let failCode {
                    step = run.resume(.bridged(code: failCode, reason: "failed (--fail)", answered: false))
                } else {
                    decision.endCode = 200
                    decision.endReason = "answered"
                    return decision
                }
            case .hangup(let code, let reason):
                let text = reason ?? Self.phrase(code)
                decision.steps.append(.hangup(code: code, reason: text))
                (decision.endCode, decision.endReason) = (code, text)
                return decision
            case .answer:
                decision.steps.append(.answer)
                step = run.resume(.done)
            case .echo:
                // The echo lasts until the caller hangs up: nothing after it runs.
                decision.steps.append(.echo)
                (decision.endCode, decision.endReason) = (200, "the caller hangs up during the echo")
                return decision
            case .play(let source):
                decision.steps.append(.play(source))
                step = run.resume(.done)
            case .collectDigits(let max, _, _):
                decision.steps.append(.collectDigits(max: max))
                step = run.resume(.digits(digits))
            case .finished:
                let (code, reason) = run.fallbackResponse
                let answeredLocally = decision.steps.contains(.answer)
                decision.endCode = answeredLocally ? 200 : code
                decision.endReason = answeredLocally ? "ended by the dialplan" : reason ?? Self.phrase(code)
                return decision
            case .failed(let error):
                throw error
            }
        }
        decision.endCode = 500
        decision.endReason = "the dialplan took more than 100 steps"
        return decision
    }

    private static func phrase(_ code: Int) -> String {
        switch code {
        case 200: "OK"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 480: "Temporarily Unavailable"
        case 486: "Busy Here"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 603: "Decline"
        default: "status \(code)"
        }
    }

    // MARK: output

    public var jsonObject: [String: Any] {
        ["direction": direction, "steps": steps.map(\.jsonObject), "end": ["code": endCode, "reason": endReason]]
    }

    public var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    public var text: String {
        var lines = ["call from \(direction):"]
        for (index, step) in steps.enumerated() { lines.append("  \(index + 1). \(step.text)") }
        lines.append("ends: \(endCode) \(endReason)")
        return lines.joined(separator: "\n")
    }
}

extension RouteDecision.Step {
    var jsonObject: [String: Any] {
        switch self {
        case .bridgeTrunk(let trunk, let number):
            ["action": "bridge", "target": "trunk", "trunk": trunk, "number": number]
        case .bridgeUser(let user): ["action": "bridge", "target": "user", "user": user]
        case .bridgeURI(let uri): ["action": "bridge", "target": "uri", "uri": uri]
        case .hangup(let code, let reason): ["action": "hangup", "code": code, "reason": reason]
        case .answer: ["action": "answer"]
        case .echo: ["action": "echo"]
        case .play(.tone(let frequency, let duration)): ["action": "play", "tone": frequency, "duration": duration]
        case .play(.file(let file)): ["action": "play", "file": file]
        case .collectDigits(let max): ["action": "collect_digits", "max": max]
        }
    }

    var text: String {
        switch self {
        case .bridgeTrunk(let trunk, let number): "bridge to trunk \(trunk), number \(number)"
        case .bridgeUser(let user): "bridge to user \(user)"
        case .bridgeURI(let uri): "bridge to \(uri)"
        case .hangup(let code, let reason): "hang up: \(code) \(reason)"
        case .answer: "answer"
        case .echo: "echo the caller's audio"
        case .play(.tone(let frequency, let duration)): "play a \(frequency) Hz tone for \(duration) s"
        case .play(.file(let file)): "play \(file)"
        case .collectDigits(let max): "collect up to \(max) digits"
        }
    }
}
