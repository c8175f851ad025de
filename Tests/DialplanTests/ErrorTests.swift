import Foundation
import XCTest
@testable import Dialplan

/// Errors are typed and say file and line, the way the gateway logs them.
final class ErrorTests: XCTestCase {
    func testASyntaxErrorIsReportedAtCompileWithFileAndLine() {
        XCTAssertThrowsError(try DialplanScript.compile(source: "local x = 1\nif x then\n  call:answer(\nend", name: "broken.lua")) { error in
            let error = error as? DialplanError
            XCTAssertEqual(error?.kind, .syntax)
            XCTAssertEqual(error?.file, "broken.lua")
            XCTAssertEqual(error?.line, 4)
            XCTAssertEqual(error?.message, "unexpected symbol near 'end'")
            XCTAssertEqual(error?.description, "broken.lua:4: unexpected symbol near 'end'")
        }
    }

    func testAFileIsNamedByItsLastPathComponent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dialplan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("office.lua").path
        try Data("call:answer()\ncall:bridge(nil)\n".utf8).write(to: URL(fileURLWithPath: path))
        let script = try DialplanScript.compile(path: path)
        XCTAssertEqual(script.name, "office.lua")
        let error = DrivenRun(script, call: .browser(to: "x")).error()
        XCTAssertEqual(error?.file, "office.lua")
        XCTAssertEqual(error?.line, 2)
    }

    func testAMissingFileCannotBeRead() {
        XCTAssertThrowsError(try DialplanScript.compile(path: "/nonexistent/dialplan.lua")) { error in
            XCTAssertEqual((error as? DialplanError)?.kind, .cannotRead)
            XCTAssertEqual((error as? DialplanError)?.file, "/nonexistent/dialplan.lua")
        }
    }

    func testBinaryChunksAreRefusedAtCompile() {
        XCTAssertThrowsError(try DialplanScript.compile(source: "\u{1B}Lua\u{54}\u{00}", name: "binary.lua")) { error in
            XCTAssertEqual((error as? DialplanError)?.kind, .syntax)
            XCTAssertEqual((error as? DialplanError)?.message, "attempt to load a binary chunk (mode is 't')")
        }
    }

    func testARuntimeErrorNamesFileAndLine() throws {
        let script = try XCTUnwrap(Scripts.compile("local settings = nil\n\nlocal trunk = settings.trunk", name: "default.lua"))
        let error = try XCTUnwrap(DrivenRun(script, call: .browser(to: "x")).error())
        XCTAssertEqual(error.kind, .runtime)
        XCTAssertEqual(error.description, "default.lua:3: attempt to index a nil value (local 'settings')")
    }

    func testARuntimeErrorAfterAnActionFailsTheResume() throws {
        let script = try XCTUnwrap(Scripts.compile("call:answer()\nlocal n = #call.vars.missing", name: "late.lua"))
        let driven = DrivenRun(script, call: .browser(to: "x"))
        XCTAssertEqual(driven.steps.first, .answer)
        XCTAssertEqual(driven.error()?.description, "late.lua:2: attempt to get length of a nil value (field 'missing')")
    }

    func testErrorsWithoutPositionGetTheScriptLine() throws {
        let plain = try XCTUnwrap(Scripts.compile("\nerror('no route for you', 0)", name: "plain.lua"))
        XCTAssertEqual(DrivenRun(plain, call: .browser(to: "x")).error()?.description, "plain.lua:2: no route for you")
        let table = try XCTUnwrap(Scripts.compile("error({code = 500})", name: "table.lua"))
        XCTAssertEqual(DrivenRun(table, call: .browser(to: "x")).error()?.description,
                       "table.lua:1: (error object is a table value)")
    }

    func testLuaMessagesAreSplitAtTheirLocation() {
        XCTAssertEqual(DialplanError.fromLua("default.lua:12: attempt to index a nil value", kind: .runtime),
                       DialplanError(kind: .runtime, file: "default.lua", line: 12, message: "attempt to index a nil value"))
        XCTAssertEqual(DialplanError.fromLua("my plan.lua:3: bad: 4: x", kind: .runtime).file, "my plan.lua")
        XCTAssertEqual(DialplanError.fromLua("no location: here", kind: .runtime),
                       DialplanError(kind: .runtime, message: "no location: here"))
    }

    /// Bad arguments to the dialplan API are Lua errors at the calling line.
    func testBadArgumentsAreErrorsAtTheCallingLine() throws {
        let cases: [(String, String)] = [
            ("call:bridge(42)", "call:bridge: target must be a string like \"trunk:NAME\", \"user:NAME\" or \"sip:...\", got 42"),
            ("call:bridge('pstn:123')", "call:bridge: target must start with \"trunk:\", \"user:\", \"sip:\" or \"sips:\", got \"pstn:123\""),
            ("call:bridge('trunk:nope')", "call:bridge: no trunk named \"nope\" (trunks: carrier, backup)"),
            ("call:bridge('trunk:carrier', {number = '12ab'})", "call:bridge: the number for a trunk must be digits, * and # with an optional leading +, got \"12ab\" (give {number = e164(...)})"),
            ("call:bridge('trunk:carrier')", "call:bridge: the number for a trunk must be digits, * and # with an optional leading +, got \"bob\" (give {number = e164(...)})"),
            ("call:bridge('user:alice', {ring_timeout = -1})", "call:bridge: ring_timeout must be more than 0 and at most 3600 seconds, got -1"),
            ("call:bridge('user:alice', {codecs = {'G729'}})", "call:bridge: codecs[1] must be PCMU, PCMA, G722 or OPUS, once each, got \"G729\""),
            ("call:bridge('user:alice', {headers = {Via = 'x'}})", "call:bridge: header names must be X-Something (letters, digits, -), got \"Via\""),
            ("call:bridge('user:alice', {headers = {['X-A'] = 'a\\r\\nVia: x'}})", "call:bridge: header X-A must be one line of text up to 1024 bytes, got \"a\\13\\\nVia: x\""),
            ("call:bridge('user:alice', {colour = 'red'})", "call:bridge: unknown option \"colour\""),
            ("call:bridge('user:alice', {number = '123'})", "call:bridge: number is only for trunk targets"),
            ("call:bridge('user:al ice')", "call:bridge: bad user name \"al ice\""),
            ("call.bridge('user:alice')", "call:bridge: call it as a method, call:bridge(...) with a colon"),
            ("call:hangup(200)", "call:hangup: code must be a SIP status from 400 to 699 (or 200 once the call is answered), got 200"),
            ("call:hangup(486, 'a\\nb')", "call:hangup: reason must be one line of text up to 128 bytes, got \"a\\\nb\""),
            ("call:play{tone = -5}", "call:play: tone frequency must be 20 to 8000 Hz, got -5"),
            ("call:play{tone = 440, duration = 0}", "call:play: duration must be more than 0 and at most 3600 seconds, got 0"),
            ("call:play('tone:abc')", "call:play: a tone is \"tone:HZ\" or \"tone:HZ:SECONDS\", got \"tone:abc\""),
            ("call:play(42)", "call:play: expected \"tone:HZ[:SECONDS]\", {tone = HZ, duration = SECONDS} or a file name, got 42"),
            ("call:play{file = 'a.wav', tone = 440}", "call:play: give either file or tone, not both"),
            ("call:collect_digits{max = 0}", "call:collect_digits: max must be a whole number from 1 to 64, got 0"),
            ("call:collect_digits{terminator = '##'}", "call:collect_digits: terminator must be one key: 0-9, *, #, A-D, got \"##\""),
            ("call:collect_digits{maximum = 4}", "call:collect_digits: unknown option \"maximum\" (expected max, timeout or terminator)"),
            ("e164(4930)", "e164: number must be a string, got 4930"),
            ("e164('030', 'DE')", "e164: country must be a country code like \"49\", got \"DE\""),
            ("is_international('hello')", "is_international: \"hello\" is not a phone number"),
            ("match_prefix('123', '1')", "match_prefix: prefixes must be a list of strings, got \"1\""),
            ("match_prefix('123', {'1', 2})", "match_prefix: prefixes[2] must be a string, got 2"),
            ("starts_with(nil, 'a')", "starts_with: s must be a string, got a nil"),
            ("user_by_extension(201)", "user_by_extension: extension must be a string, got 201"),
            ("user_exists({})", "user_exists: name must be a string or nil, got a table"),
            ("did_user(nil)", "did_user: number must be a string, got a nil"),
            ("call.vars[1] = 'x'", "call.vars: names must be strings of 1 to 64 bytes, got 1"),
            ("call.vars.x = {}", "call.vars.x: values must be strings (up to 1024 bytes) or numbers, got a table"),
        ]
        for (line, message) in cases {
            let script = try XCTUnwrap(Scripts.compile("-- bad arguments\n" + line, name: "args.lua"))
            let error = DrivenRun(script, call: .browser(to: "bob")).error()
            XCTAssertEqual(error?.kind, .runtime, line)
            XCTAssertEqual(error?.file, "args.lua", line)
            XCTAssertEqual(error?.line, 2, line)
            XCTAssertEqual(error?.message, message, line)
        }
    }
}
