import Foundation
import XCTest
@testable import Dialplan

/// What the tests run scripts with: two trunks in failover order, users with
/// and without extensions and international permission, DIDs in both the
/// "+" form and the digits-only form carriers send.
extension DialplanContext {
    static let test = DialplanContext(
        users: [
            .init(name: "alice", extension: "201", international: true),
            .init(name: "bob", extension: "202"),
            .init(name: "carol"),
        ],
        trunks: ["carrier", "backup"],
        dids: ["+4930123456": "alice", "4930999000": "bob"],
        homeCountryCode: "49",
        variables: ["greeting": "hello"])
}

extension DialplanCall {
    static func browser(to: String, user: String = "bob") -> DialplanCall {
        DialplanCall(from: user, to: to, user: user, direction: .fromBrowser, id: "call-1")
    }

    static func trunk(to: String, from: String = "+4915112345678") -> DialplanCall {
        DialplanCall(from: from, to: to, direction: .fromTrunk, sourceTrunk: "carrier", id: "call-2")
    }
}

/// A run driven the way the gateway drives it: every action gets the next
/// outcome from the list, or a plain success once the list is used up.
final class DrivenRun {
    let run: DialplanRun
    private(set) var steps: [DialplanStep] = []
    private(set) var logs: [(level: DialplanLogLevel, text: String)] = []

    init(_ script: DialplanScript, call: DialplanCall, context: DialplanContext = .test,
         limits: DialplanLimits = DialplanLimits(), outcomes: [DialplanOutcome] = []) {
        let box = LogBox()
        run = DialplanRun(script: script, call: call, context: context, limits: limits) { level, text in
            box.lines.append((level, text))
        }
        var pending = outcomes[...]
        var step = run.start()
        steps.append(step)
        // A bound, so a dialplan that loops over actions cannot hang a test.
        while steps.count < 50 {
            let outcome: DialplanOutcome
            switch step {
            case .finished, .failed, .hangup:
                logs = box.lines
                return
            case .bridge:
                outcome = pending.popFirst() ?? .bridged(code: 200, reason: "OK", answered: true)
            case .collectDigits:
                outcome = pending.popFirst() ?? .digits("")
            case .answer, .play, .echo:
                outcome = pending.popFirst() ?? .done
            }
            step = run.resume(outcome)
            steps.append(step)
        }
        logs = box.lines
    }

    var last: DialplanStep { steps[steps.count - 1] }

    /// The error the run ended with, or a test failure.
    func error(file: StaticString = #filePath, line: UInt = #line) -> DialplanError? {
        guard case .failed(let error) = last else {
            XCTFail("expected the run to fail, it ended with \(last)", file: file, line: line)
            return nil
        }
        return error
    }
}

final class LogBox {
    var lines: [(DialplanLogLevel, String)] = []
}

enum Scripts {
    /// dialplans/default.lua at the top of the repository, found from this file.
    static let defaultPath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // DialplanTests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // the repository
        .appendingPathComponent("dialplans/default.lua").path

    static func compile(_ source: String, name: String = "test.lua",
                        file: StaticString = #filePath, line: UInt = #line) -> DialplanScript? {
        do {
            return try DialplanScript.compile(source: source, name: name)
        } catch {
            XCTFail("does not compile: \(error)", file: file, line: line)
            return nil
        }
    }

    /// What `log.info(tostring(expression))` prints, run for a browser call by bob.
    static func evaluate(_ expression: String, call: DialplanCall = .browser(to: "x"),
                         context: DialplanContext = .test, file: StaticString = #filePath, line: UInt = #line) -> String? {
        guard let script = compile("log.info(tostring(\(expression)))", file: file, line: line) else { return nil }
        let driven = DrivenRun(script, call: call, context: context)
        guard driven.last == .finished, driven.logs.count == 1 else {
            XCTFail("\(expression): \(driven.last), logs \(driven.logs)", file: file, line: line)
            return nil
        }
        return driven.logs[0].text
    }
}
