import Foundation
import XCTest
@testable import Dialplan

/// Lua's pattern functions backtrack inside one VM instruction, so the
/// sandbox guards them: subjects up to 1024 bytes, a worst case of at most
/// a million matching steps per call, and the work charged to the
/// instruction limit (docs/dialplan.md, "Patterns").
final class PatternLimitTests: XCTestCase {
    private func run(_ source: String, instructions: Int = 1_000_000) throws -> DrivenRun {
        let script = try XCTUnwrap(Scripts.compile(source, name: "patterns.lua"))
        return DrivenRun(script, call: .browser(to: "x"),
                         limits: DialplanLimits(instructions: instructions, memoryBytes: 4 << 20))
    }

    /// What the script logged, one entry per log call; fails the test if it did not finish.
    private func logs(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let driven = try run(source)
        XCTAssertEqual(driven.last, .finished, file: file, line: line)
        return driven.logs.map(\.text)
    }

    func testTheBacktrackingWorstCaseIsRefusedAtOnce() throws {
        // Before the guard this ran for 8.7 s on the gateway's event loop.
        let started = Date()
        let driven = try run("local s = ('x'):rep(400)\nlocal found = s:find('.-.-.-y')")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        let error = try XCTUnwrap(driven.error())
        XCTAssertEqual(error.kind, .runtime)
        XCTAssertEqual(error.description, "patterns.lua:2: string.find: pattern too complex for the dialplan sandbox "
                       + "(3 repetition items, unanchored, 7-byte pattern, 400-byte subject)")
    }

    func testEveryFormOfTheFourFunctionsIsGuarded() throws {
        let long = "('x'):rep(300)"
        let calls = [
            ("string.find(\(long), '.-.-y')", "string.find"),
            ("\(long):find('.-.-y')", "string.find"),
            ("getmetatable('').__index.find(\(long), '.-.-y')", "string.find"),
            ("string.match(\(long), '.-.-y')", "string.match"),
            ("\(long):match('.-.-y')", "string.match"),
            ("string.gmatch(\(long), '.-.-y')", "string.gmatch"),
            ("\(long):gmatch('.-.-y')", "string.gmatch"),
            ("string.gsub(\(long), '.-.-y', '')", "string.gsub"),
            ("\(long):gsub('.-.-y', '')", "string.gsub"),
            ("(function() local f = string.find; return f(\(long), '.-.-y') end)()", "string.find"),
        ]
        for (call, name) in calls {
            let driven = try run("local r = \(call)")
            XCTAssertEqual(driven.error()?.message,
                           "\(name): pattern too complex for the dialplan sandbox "
                           + "(2 repetition items, unanchored, 5-byte pattern, 300-byte subject)", call)
        }
    }

    func testPatternSubjectsAreLimitedTo1024Bytes() throws {
        XCTAssertEqual(try logs("log.info(('7'):rep(1024):match('^%d+$') ~= nil)"), ["true"])
        for call in ["s:find('^%d+$')", "s:match('%d')", "s:gmatch('%d')", "s:gsub('%d', '')", "string.find(s, '7+')"] {
            let driven = try run("local s = ('7'):rep(1025)\nlocal r = \(call)")
            let error = try XCTUnwrap(driven.error(), call)
            XCTAssertEqual(error.line, 2, call)
            XCTAssertTrue(error.message.hasSuffix(": subject longer than 1024 bytes (got 1025 bytes)"), error.message)
        }
    }

    func testDialplanPatternsWorkOnWholeSubjects() throws {
        XCTAssertEqual(try logs("""
            log.info(("+4930123456"):find("^%+?%d+$"))
            log.info(("0049301234"):match("^00(%d+)$"))
            log.info(("4930123456"):match("^(%d%d%d)(%d+)$"))
            log.info(("  +49 30 123  "):match("^%s*(.-)%s*$"))
            log.info(("sip:alice@example.org"):match("^sips?:([^@]+)@(.+)$"))
            log.info(("tel:+49-30-123"):gsub("[^%d%+]", ""))
            local parts = {}
            for p in ("a,b,,c"):gmatch("[^,]+") do parts[#parts + 1] = p end
            log.info(table.concat(parts, " "))
            """), ["1 11", "49301234", "493 0123456", "+49 30 123", "alice example.org", "+4930123 6", "a b c"])
        // The same patterns on the longest subjects a pattern takes.
        XCTAssertEqual(try logs("""
            local digits = ("7"):rep(1024)
            log.info(#digits:match("^%+?%d+$"), #("00" .. digits:sub(3)):match("^00(%d+)$"),
                     #select(2, digits:match("^(%d%d%d)(%d+)$")), digits:find("^%d+8"))
            log.info(select(2, digits:gsub("%d", "")), select(2, (("a,"):rep(512)):gsub("[^,]+", "")))
            local n = 0
            for _ in ("a,"):rep(512):gmatch("[^,]+") do n = n + 1 end
            log.info(n)
            """), ["1024 1022 1021 nil", "1024 512", "512"])
    }

    func testTheAllowedSubjectShrinksWithBacktrackingRepetitions() throws {
        // Unanchored with one repetition that has pattern after it: n^2/2
        // combinations, allowed up to about 500 bytes.
        XCTAssertEqual(try logs("log.info(('7'):rep(400):find('%d+8'))"), ["nil"])
        XCTAssertEqual(try run("local r = ('7'):rep(1000):find('%d+8')").error()?.message,
                       "string.find: pattern too complex for the dialplan sandbox "
                       + "(1 repetition item, unanchored, 4-byte pattern, 1000-byte subject)")
        // Anchored, or with nothing after the repetition, it is linear.
        XCTAssertEqual(try logs("log.info(('7'):rep(1000):find('^%d+8'), (('7'):rep(1000):find('8?(%d+)')))"), ["nil 1"])
        // Three of them (trimming spaces): about n^3/6, up to about 70 bytes.
        XCTAssertEqual(try logs("log.info(#(' ' .. ('x'):rep(60) .. ' '):match('^%s*(.-)%s*$'))"), ["60"])
        XCTAssertEqual(try run("local r = (' '):rep(100):match('^%s*(.-)%s*$')").error()?.message,
                       "string.match: pattern too complex for the dialplan sandbox "
                       + "(3 repetition items, 12-byte pattern, 100-byte subject)")
    }

    func testPlainFindsTakeAnySubject() throws {
        XCTAssertEqual(try logs("""
            local s = ("ab"):rep(50000) .. "a.c"
            log.info(s:find("a.c", 1, true))
            log.info(s:find("bab", 99990, true))
            log.info(s:find("b", -2, true), s:find("", 3, true), s:find("", #s + 1, true), s:find("x", #s + 2, true))
            log.info(s:find("abc"), string.find(s, "a.c", -4, true))
            log.info(s:find("", 3, true))
            log.info(s:find("", #s + 1, true))
            log.info(s:find("", -200000, true))
            log.info(s:find("c", 0, true))
            """), ["100001 100003", "99990 99992", "nil 3 100004 nil", "nil 100001 100003",
                   "3 2", "100004 100003", "1 0", "100003 100003"])
        // Lua's plain search is quadratic: this took 190 ms, 20 s with a 1 MB text.
        let started = Date()
        XCTAssertEqual(try logs("local s = ('a'):rep(400000)\nlog.info(s:find(('a'):rep(200000) .. 'b', 1, true))"), ["nil"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    func testPlainFindsOverAMillionBytesAreRefused() throws {
        let driven = try run("local s = ('a'):rep(1000000)\nlocal r = s:find('b', 1, true)")
        XCTAssertEqual(driven.error()?.description,
                       "patterns.lua:2: string.find: plain search over more than 1000000 bytes (subject from init 1000000, text 1)")
    }

    func testTheLibrarysOwnErrorsAreUnchanged() throws {
        let cases = [
            ("string.find(nil, 'x')", "bad argument #1 to 'find' (string expected, got nil)"),
            ("string.match('x')", "bad argument #2 to 'match' (string expected, got no value)"),
            ("string.gsub('x', 'x')", "bad argument #3 to 'gsub' (string/function/table expected, got no value)"),
            ("string.find('x', 'x', 'one', true)", "bad argument #3 to 'find' (number expected, got string)"),
            ("string.find('x', '[a')", "malformed pattern (missing ']')"),
            ("('x'):match('%')", "malformed pattern (ends with '%')"),
        ]
        for (call, message) in cases {
            let error = try run("local r = \(call)").error()
            XCTAssertEqual(error?.message, message, call)
            XCTAssertEqual(error?.line, 1, call)
        }
        XCTAssertEqual(try logs("log.info(string.find(12345, 3), ('x'):rep(3):gsub('x', '%0%0'))"), ["3 xxxxxx 3"])
    }

    func testARefusalCanBeCaught() throws {
        XCTAssertEqual(try logs("""
            local ok, err = pcall(string.match, ("x"):rep(2000), "x")
            log.info(ok, err)
            """), ["false string.match: subject longer than 1024 bytes (got 2000 bytes)"])
    }

    func testPatternWorkCountsAgainstTheInstructionLimit() throws {
        // Each call is allowed (a few ms at most) and charged a quarter of the
        // budget: a loop of them cannot go on for minutes as it could before.
        let loop = try run("local s = ('x'):rep(600)\nwhile true do\n  s:find('.-y')\nend")
        let error = try XCTUnwrap(loop.error())
        XCTAssertEqual(error.kind, .instructionLimit)
        XCTAssertEqual(error.line, 3)
        // Refusals caught with pcall are charged too.
        let refusals = try run("local s = ('x'):rep(400)\nwhile true do pcall(string.find, s, '.-.-.-y') end")
        XCTAssertEqual(refusals.error()?.kind, .instructionLimit)
        // Cheap patterns cost about what their call does.
        XCTAssertEqual(try run("for i = 1, 20000 do local r = ('+4930123456'):find('^%+?%d+$') end",
                               instructions: 2_000_000).last, .finished)
    }

    func testThePreludesOwnPatternsTakeLongStrings() throws {
        XCTAssertEqual(try logs("log.info(e164(('1'):rep(5000)), e164(' ' .. ('0'):rep(2000) .. '30 1234567'), did_user(('4'):rep(2000)))"),
                       ["nil nil nil"])
    }
}
