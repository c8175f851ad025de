import XCTest
@testable import Dialplan

/// A script reaches nothing outside its own call: no files, processes,
/// modules, bytecode or debug library.
final class SandboxTests: XCTestCase {
    /// Runs a one-line escape attempt and returns the error it fails with.
    private func failure(of line: String, file: StaticString = #filePath, at: UInt = #line) -> DialplanError? {
        guard let script = Scripts.compile(line, name: "escape.lua", file: file, line: at) else { return nil }
        return DrivenRun(script, call: .browser(to: "600")).error(file: file, line: at)
    }

    func testLibrariesThatReachTheOutsideAreAbsent() {
        let attempts = [
            ("os.execute('touch /tmp/tieline-escape')", "attempt to index a nil value (global 'os')"),
            ("io.open('/etc/passwd')", "attempt to index a nil value (global 'io')"),
            ("debug.getinfo(1)", "attempt to index a nil value (global 'debug')"),
            ("package.loadlib('libc.so.6', 'system')", "attempt to index a nil value (global 'package')"),
            ("coroutine.wrap(print)()", "attempt to index a nil value (global 'coroutine')"),
            ("require('os')", "attempt to call a nil value (global 'require')"),
            ("load('return 1')()", "attempt to call a nil value (global 'load')"),
            ("loadfile('/etc/passwd')()", "attempt to call a nil value (global 'loadfile')"),
            ("dofile('/etc/passwd')", "attempt to call a nil value (global 'dofile')"),
            ("loadstring('return 1')()", "attempt to call a nil value (global 'loadstring')"),
            ("string.dump(print)", "attempt to call a nil value (field 'dump')"),
            ("('x'):dump()", "attempt to call a nil value (method 'dump')"),
        ]
        for (attempt, message) in attempts {
            let error = failure(of: attempt)
            XCTAssertEqual(error?.kind, .runtime, attempt)
            XCTAssertEqual(error?.message, message, attempt)
            XCTAssertEqual(error?.file, "escape.lua", attempt)
            XCTAssertEqual(error?.line, 1, attempt)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/tieline-escape"))
    }

    func testTheStringMetatableDoesNotLeadToDump() {
        XCTAssertEqual(Scripts.evaluate("getmetatable('').__index.dump"), "nil")
        XCTAssertEqual(Scripts.evaluate("rawget(string, 'dump')"), "nil")
    }

    func testOnlyTheCountOfCollectgarbageIsThere() {
        XCTAssertEqual(Scripts.evaluate("type(collectgarbage('count'))"), "number")
        XCTAssertEqual(failure(of: "collectgarbage('collect')")?.message,
                       "collectgarbage: only collectgarbage(\"count\") is available in a dialplan")
    }

    func testFinalizersAreRefusedBecauseTheyWouldRunOutsideTheInstructionLimit() {
        let error = failure(of: "setmetatable({}, {__gc = function() while true do end end})")
        XCTAssertEqual(error?.message, "setmetatable: __gc metamethods are not allowed in a dialplan")
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(Scripts.evaluate("getmetatable(setmetatable({}, {__index = {a = 1}})).__index.a"), "1")
    }

    func testTheSafeLibrariesAreThere() {
        XCTAssertEqual(Scripts.evaluate("string.format('%05.1f', math.pi)"), "003.1")
        XCTAssertEqual(Scripts.evaluate("table.concat({1, 2, 3}, '-')"), "1-2-3")
        XCTAssertEqual(Scripts.evaluate("utf8.len('Grüße')"), "5")
        XCTAssertEqual(Scripts.evaluate("select('#', pcall(error, 'x'))"), "2")
    }

    func testPrintGoesToTheLog() throws {
        let script = try XCTUnwrap(Scripts.compile("print('hello', 42, nil)"))
        let driven = DrivenRun(script, call: .browser(to: "x"))
        XCTAssertEqual(driven.last, .finished)
        XCTAssertEqual(driven.logs.map(\.text), ["hello 42 nil"])
        XCTAssertEqual(driven.logs.map(\.level), [.info])
    }

    func testGlobalsDoNotOutliveTheirCall() throws {
        let script = try XCTUnwrap(Scripts.compile("log.info(tostring(leaked)); leaked = 'yes'; string.upper = nil"))
        let first = DrivenRun(script, call: .browser(to: "x"))
        let second = DrivenRun(script, call: .browser(to: "x"))
        XCTAssertEqual(first.logs.map(\.text), ["nil"])
        XCTAssertEqual(second.logs.map(\.text), ["nil"])
        XCTAssertEqual(Scripts.evaluate("string.upper('a')"), "A")
    }

    func testReplacingStandardFunctionsDoesNotBreakTheHelpers() {
        XCTAssertEqual(Scripts.evaluate("(function() string.gsub = nil; string.find = nil; return e164('030 1234567') end)()"),
                       "+49301234567")
    }

    func testTheHiddenVariablesStoreCannotBeReached() {
        XCTAssertEqual(Scripts.evaluate("getmetatable(call.vars)"), "false")
        XCTAssertEqual(failure(of: "setmetatable(call.vars, {})")?.message, "cannot change a protected metatable")
    }
}
