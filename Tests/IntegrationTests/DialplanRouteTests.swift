import Foundation
import XCTest

/// The decisions of the shipped dialplans/default.lua as an operator sees
/// them: `tieline route` runs the dialplan for a call without placing it,
/// each bridge taken as answered (or failing with `--fail CODE`). The
/// configuration has alice (extension 1001, home calls only) and bob
/// (extension 1002, international allowed), the trunks first and second in
/// that order, home country 49 and two DIDs.
final class DialplanRouteTests: XCTestCase {
    private static let refusedAbroad = "international calls are not allowed for this user"

    // MARK: numbers out through the trunks

    func testNationalNumbersGoToTheFirstTrunkInE164() async throws {
        let workspace = try RouteWorkspace()
        for dialled in ["030 1234-5678", "03012345678", "+49 30 12345678", "0049 30 12345678"] {
            let decision = try await workspace.route(user: "alice", to: dialled)
            XCTAssertEqual(decision.direction, "browser", dialled)
            XCTAssertEqual(decision.steps, [.trunk("first", "+493012345678")], dialled)
            XCTAssertEqual(decision.end.code, 200, "answered by the first trunk: \(dialled)")
        }
    }

    func testInternationalNumbersAreRefusedForAliceWith403() async throws {
        let workspace = try RouteWorkspace()
        for dialled in ["+44 20 7946 0000", "0044 20 7946 0000", "+15551234567"] {
            let decision = try await workspace.route(user: "alice", to: dialled)
            XCTAssertEqual(decision.steps, [.hangup(403, Self.refusedAbroad)], "no trunk is tried: \(dialled)")
            XCTAssertEqual(decision.end, RouteEnd(code: 403, reason: Self.refusedAbroad), dialled)
        }
    }

    func testInternationalNumbersGoOutForBob() async throws {
        let workspace = try RouteWorkspace()
        let decision = try await workspace.route(user: "bob", to: "0044 20 7946 0000")
        XCTAssertEqual(decision.steps, [.trunk("first", "+442079460000")])
        XCTAssertEqual(decision.end.code, 200)
        // Home numbers, too, of course.
        let home = try await workspace.route(user: "bob", to: "030 1234567")
        XCTAssertEqual(home.steps, [.trunk("first", "+49301234567")])
    }

    // MARK: failover

    func testA503FromTheFirstTrunkFailsOverToTheSecond() async throws {
        let workspace = try RouteWorkspace()
        let decision = try await workspace.route(user: "alice", to: "030 1234567", fail: 503)
        XCTAssertEqual(decision.steps, [.trunk("first", "+49301234567"), .trunk("second", "+49301234567")],
                       "first, then second, then nothing more")
        XCTAssertEqual(decision.end.code, 503, "the last failed bridge's code ends the call")
    }

    func testTimeoutsAndOther5xxFailOverToo() async throws {
        let workspace = try RouteWorkspace()
        for code in [408, 500, 502, 504] {
            let decision = try await workspace.route(user: "alice", to: "030 1234567", fail: code)
            XCTAssertEqual(decision.steps, [.trunk("first", "+49301234567"), .trunk("second", "+49301234567")],
                           "--fail \(code)")
            XCTAssertEqual(decision.end.code, code)
        }
    }

    func testTheCalleesOwnAnswerSuchAsBusyDoesNotFailOver() async throws {
        let workspace = try RouteWorkspace()
        for code in [486, 404, 603] {
            let decision = try await workspace.route(user: "alice", to: "030 1234567", fail: code)
            XCTAssertEqual(decision.steps, [.trunk("first", "+49301234567")], "--fail \(code): no second trunk")
            XCTAssertEqual(decision.end.code, code)
        }
    }

    func testTheTextOutputShowsTheFailoverOrder() async throws {
        let workspace = try RouteWorkspace()
        let output = try await workspace.run(["--user", "alice", "--to", "030 1234567", "--fail", "503"])
        XCTAssertEqual(output.status, 0, "\(output)")
        let text = output.stdout
        guard let first = text.range(of: "first"), let second = text.range(of: "second") else {
            return XCTFail("both trunks are named: \(output)")
        }
        XCTAssertLessThan(first.lowerBound, second.lowerBound, "first before second: \(text)")
        XCTAssertTrue(text.contains("+49301234567"), text)
        XCTAssertTrue(text.contains("503"), text)
        XCTAssertGreaterThan(text.split(separator: "\n").count, 2, "readable lines, not one JSON object: \(text)")
        XCTAssertFalse(text.trimmingCharacters(in: .whitespaces).hasPrefix("{"), text)

        let refused = try await workspace.run(["--user", "alice", "--to", "+442079460000"])
        XCTAssertEqual(refused.status, 0, "a refused call is still a script that ran: \(refused)")
        XCTAssertTrue(refused.stdout.contains("403"), "\(refused)")
        XCTAssertTrue(refused.stdout.contains(Self.refusedAbroad), "\(refused)")
    }

    // MARK: users and the test numbers

    func testUsersByNameAndByExtension() async throws {
        let workspace = try RouteWorkspace()
        for (dialled, user) in [("bob", "bob"), ("1002", "bob")] {
            let decision = try await workspace.route(user: "alice", to: dialled)
            XCTAssertEqual(decision.steps, [.user(user)], dialled)
            XCTAssertEqual(decision.end.code, 200, dialled)
        }
        for (dialled, user) in [("alice", "alice"), ("1001", "alice")] {
            let decision = try await workspace.route(user: "bob", to: dialled)
            XCTAssertEqual(decision.steps, [.user(user)], dialled)
        }
    }

    func testEchoToneAndMenuNumbers() async throws {
        let workspace = try RouteWorkspace()
        let echo = try await workspace.route(user: "alice", to: "600")
        // The echo lasts until the caller hangs up: nothing after it runs.
        XCTAssertEqual(echo.steps.map(\.action), ["answer", "echo"])
        XCTAssertEqual(echo.end.code, 200)

        let tone = try await workspace.route(user: "alice", to: "601")
        XCTAssertEqual(tone.steps.map(\.action), ["answer", "play", "hangup"])
        let played = tone.steps.first { $0.action == "play" }
        XCTAssertEqual(played?.tone, 1000, "1 kHz: \(tone.steps)")
        XCTAssertEqual(played?.duration, 5, "for 5 seconds: \(tone.steps)")

        // The menu rings the extension keyed in ...
        let menu = try await workspace.route(user: "alice", to: "602", digits: "1002")
        XCTAssertEqual(menu.steps.map(\.action), ["answer", "play", "collect_digits", "bridge"])
        XCTAssertEqual(menu.steps.first { $0.action == "collect_digits" }?.max, 4)
        XCTAssertEqual(menu.steps.last, .user("bob"))
        XCTAssertEqual(menu.end.code, 200)
        // ... and hangs up when nothing (or no extension) was keyed in.
        for digits in ["", "999"] {
            let nothing = try await workspace.route(user: "alice", to: "602", digits: digits)
            XCTAssertEqual(nothing.steps.map(\.action), ["answer", "play", "collect_digits", "hangup"], "digits \(digits)")
            XCTAssertFalse(nothing.steps.contains { $0.action == "bridge" }, "digits \(digits)")
        }
    }

    func testUnknownNamesAndShortCodesAre404() async throws {
        let workspace = try RouteWorkspace()
        for dialled in ["carol", "12345", "*21#"] {
            let decision = try await workspace.route(user: "alice", to: dialled)
            XCTAssertEqual(decision.steps, [.hangup(404, "Not Found")], dialled)
            XCTAssertEqual(decision.end.code, 404, dialled)
        }
    }

    // MARK: calls from trunks

    func testADIDFromATrunkRingsItsUser() async throws {
        let workspace = try RouteWorkspace()
        let alice = try await workspace.route(trunk: "first", from: "+4915112345678", to: "+4930111100")
        XCTAssertEqual(alice.direction, "trunk")
        XCTAssertEqual(alice.steps, [.user("alice")])
        XCTAssertEqual(alice.end.code, 200)
        // Carriers often send the number as digits without +: compared in E.164.
        let bob = try await workspace.route(trunk: "second", from: "+4915112345678", to: "4930222200")
        XCTAssertEqual(bob.steps, [.user("bob")])
    }

    func testAnUnknownDIDIs404() async throws {
        let workspace = try RouteWorkspace()
        let decision = try await workspace.route(trunk: "first", from: "+4915112345678", to: "+4930999999")
        XCTAssertEqual(decision.direction, "trunk")
        XCTAssertEqual(decision.steps, [.hangup(404, "Not Found")])
        XCTAssertEqual(decision.end, RouteEnd(code: 404, reason: "Not Found"))
    }

    func testCallsFromATrunkNeverGoOutToATrunk() async throws {
        let workspace = try RouteWorkspace()
        // Numbers that a browser user's call would send out through a trunk,
        // and the test numbers, which are for browsers only.
        for dialled in ["+493012345678", "030 12345678", "+442079460000", "0044 20 7946 0000", "600", "602"] {
            for fail in [nil, 503] as [Int?] {
                let decision = try await workspace.route(trunk: "first", from: "+4915112345678", to: dialled, fail: fail)
                XCTAssertFalse(decision.steps.contains { $0.target == "trunk" },
                               "no open relay: \(dialled) --fail \(String(describing: fail)): \(decision.steps)")
                XCTAssertEqual(decision.end.code, 404, "\(dialled): \(decision.steps)")
            }
        }
    }

    // MARK: broken scripts

    func testAScriptErrorExits1WithFileAndLine() async throws {
        let workspace = try RouteWorkspace(dialplan: ("oops.lua", """
            -- fails while it runs, on line 2
            error("no route for " .. call.to)
            """))
        let output = try await workspace.run(["--user", "alice", "--to", "600", "--json"])
        XCTAssertEqual(output.status, 1, "\(output)")
        XCTAssertTrue(output.stderr.contains("oops.lua:2:"), "file:line on stderr: \(output)")
        XCTAssertTrue(output.stderr.contains("no route for 600"), "\(output)")
    }

    func testCheckCompilesTheDialplanAndNamesTheLineOfASyntaxError() async throws {
        let good = try RouteWorkspace()
        let passed = try await TielineCommand.run(["check", "--config", good.configPath])
        XCTAssertEqual(passed.status, 0, "\(passed)")

        let broken = try RouteWorkspace(dialplan: ("broken.lua", """
            -- a dialplan with a mistake on line 3
            local number = e164(call.to)
            if number then call:bridge("trunk:first", {number = number) end
            """))
        let checked = try await TielineCommand.run(["check", "--config", broken.configPath])
        XCTAssertNotEqual(checked.status, 0, "\(checked)")
        let said = checked.stdout + checked.stderr
        XCTAssertTrue(said.contains("broken.lua:3:"), "the script's file:line: \(checked)")
        // route refuses it the same way.
        let routed = try await broken.run(["--user", "alice", "--to", "600"])
        XCTAssertEqual(routed.status, 1, "\(routed)")
        XCTAssertTrue(routed.stderr.contains("broken.lua:3:"), "\(routed)")
    }
}

// MARK: - the route command and its output

/// One `steps` element of `tieline route --json`; absent keys are nil.
struct RouteStep: Decodable, Equatable, CustomStringConvertible {
    var action: String
    var target: String?
    var trunk: String?
    var number: String?
    var user: String?
    var uri: String?
    var code: Int?
    var reason: String?
    var tone: Double?
    var duration: Double?
    var file: String?
    var max: Int?

    init(action: String, target: String? = nil, trunk: String? = nil, number: String? = nil, user: String? = nil,
         code: Int? = nil, reason: String? = nil) {
        self.action = action
        self.target = target
        self.trunk = trunk
        self.number = number
        self.user = user
        self.code = code
        self.reason = reason
    }

    static func trunk(_ name: String, _ number: String) -> RouteStep {
        RouteStep(action: "bridge", target: "trunk", trunk: name, number: number)
    }

    static func user(_ name: String) -> RouteStep { RouteStep(action: "bridge", target: "user", user: name) }

    static func hangup(_ code: Int, _ reason: String) -> RouteStep {
        RouteStep(action: "hangup", code: code, reason: reason)
    }

    var description: String {
        var parts = [action]
        for (key, value) in [("target", target), ("trunk", trunk), ("number", number), ("user", user), ("uri", uri),
                             ("reason", reason), ("file", file)] {
            if let value { parts.append("\(key)=\(value)") }
        }
        if let code { parts.append("code=\(code)") }
        if let tone { parts.append("tone=\(tone)") }
        if let duration { parts.append("duration=\(duration)") }
        if let max { parts.append("max=\(max)") }
        return parts.joined(separator: " ")
    }
}

struct RouteEnd: Decodable, Equatable {
    var code: Int
    var reason: String
}

/// `tieline route --json`: `{"direction": ..., "steps": [...], "end": {"code": ..., "reason": ...}}`.
struct PrintedRoute: Decodable {
    var direction: String
    var steps: [RouteStep]
    var end: RouteEnd
}

/// A temporary directory with the route tests' configuration and, if asked,
/// a dialplan of the test's own; removed when released.
final class RouteWorkspace {
    let directory: URL
    let configPath: String

    /// - Parameter dialplan: a script's file name and source, written next
    ///   to the configuration; nil: the repository's dialplans/default.lua.
    init(dialplan: (name: String, source: String)? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-route-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var dialplanPath = GatewayFixture.defaultDialplan
        if let dialplan {
            dialplanPath = directory.appendingPathComponent(dialplan.name).path
            try (dialplan.source + "\n").write(toFile: dialplanPath, atomically: true, encoding: .utf8)
        }
        // Nothing is bound by route or check; the ports only have to be valid.
        let yaml = """
            log_level: warning
            data_directory: "\(directory.appendingPathComponent("data").path)"
            sip:
              listen:
                - { transport: udp, address: "127.0.0.1:45060" }
              public_address: 127.0.0.1
            users:
              - { name: alice, password: "alice-secret", extension: "1001" }
              - { name: bob, password: "bob-secret", extension: "1002", international: true }
            trunks:
              - { name: first, address: 127.0.0.1, port: 45070 }
              - { name: second, address: 127.0.0.1, port: 45072 }
            routing:
              home_country: "49"
              dids: { "+4930111100": alice, "+4930222200": bob }
            dialplan: "\(dialplanPath)"
            records: { backend: off }

            """
        configPath = directory.appendingPathComponent("tieline.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        if ProcessInfo.processInfo.environment["TIELINE_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// `tieline route --config CONFIG arguments...`.
    func run(_ arguments: [String]) async throws -> TielineCommand.Output {
        try await TielineCommand.run(["route", "--config", configPath] + arguments)
    }

    /// A browser user's call.
    func route(user: String, to: String, fail: Int? = nil, digits: String? = nil,
               file: StaticString = #filePath, line: UInt = #line) async throws -> PrintedRoute {
        var arguments = ["--user", user, "--to", to]
        if let digits { arguments += ["--digits", digits] }
        return try await decision(arguments, fail: fail, file: file, line: line)
    }

    /// A call from a trunk.
    func route(trunk: String, from: String, to: String, fail: Int? = nil,
               file: StaticString = #filePath, line: UInt = #line) async throws -> PrintedRoute {
        try await decision(["--trunk", trunk, "--from", from, "--to", to], fail: fail, file: file, line: line)
    }

    private func decision(_ arguments: [String], fail: Int?, file: StaticString, line: UInt) async throws -> PrintedRoute {
        var arguments = arguments
        if let fail { arguments += ["--fail", "\(fail)"] }
        let output = try await run(arguments + ["--json"])
        XCTAssertEqual(output.status, 0, "tieline route \(arguments.joined(separator: " ")): \(output)", file: file, line: line)
        do {
            return try JSONDecoder().decode(PrintedRoute.self, from: Data(output.stdout.utf8))
        } catch {
            XCTFail("tieline route \(arguments.joined(separator: " ")) --json printed no decision: \(error)\n\(output)",
                    file: file, line: line)
            throw error
        }
    }
}
