import XCTest
@testable import Dialplan

/// The life of a run: start, resume, the end, and per-call variables.
final class DialplanRunTests: XCTestCase {
    func testAScriptThatNeverYieldsFinishes() throws {
        let script = try XCTUnwrap(Scripts.compile("local route = 'none'"))
        let driven = DrivenRun(script, call: .browser(to: "x"))
        XCTAssertEqual(driven.steps, [.finished])
        XCTAssertEqual(driven.run.fallbackResponse.code, 404)
        XCTAssertEqual(driven.run.fallbackResponse.reason, "No Route")
        XCTAssertEqual(driven.run.resume(.done), .finished)
    }

    func testHangupEndsTheScript() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            call.vars.before = "yes"
            call:hangup(486, "Busy Here")
            call.vars.after = "yes"
            log.info("after hangup")
            """))
        let run = DialplanRun(script: script, call: .browser(to: "x"), context: .test) { _, text in
            XCTFail("nothing runs after hangup: \(text)")
        }
        XCTAssertEqual(run.start(), .hangup(code: 486, reason: "Busy Here"))
        XCTAssertEqual(run.resume(.done), .finished)
        XCTAssertEqual(run.resume(.failed(code: 500, reason: "x")), .finished)
        XCTAssertEqual(run.variables, ["before": "yes"])
    }

    func testAHangupInsidePcallStillEndsTheScript() throws {
        let script = try XCTUnwrap(Scripts.compile("pcall(call.hangup, call, 480)\ncall:answer()"))
        let run = DialplanRun(script: script, call: .browser(to: "x"), context: .test) { _, _ in }
        XCTAssertEqual(run.start(), .hangup(code: 480, reason: nil))
        XCTAssertEqual(run.resume(.done), .finished)
    }

    func testMisuseIsReportedNotCrashed() throws {
        let script = try XCTUnwrap(Scripts.compile("call:answer()"))
        let run = DialplanRun(script: script, call: .browser(to: "x"), context: .test) { _, _ in }
        guard case .failed(let early) = run.resume(.done) else { return XCTFail("resume before start") }
        XCTAssertEqual(early.kind, .misuse)
        XCTAssertEqual(run.start(), .answer)
        guard case .failed(let twice) = run.start() else { return XCTFail("start twice") }
        XCTAssertEqual(twice.kind, .misuse)
        XCTAssertEqual(run.resume(.done), .finished)
    }

    func testResumingFromTheLogClosureIsRefused() throws {
        final class WeakRun { weak var run: DialplanRun? }
        let script = try XCTUnwrap(Scripts.compile("log.info('deciding')\ncall:answer()"))
        let holder = WeakRun()
        var inner: DialplanStep?
        let run = DialplanRun(script: script, call: .browser(to: "x"), context: .test) { _, _ in
            inner = holder.run?.resume(.done)
        }
        holder.run = run
        XCTAssertEqual(run.start(), .answer)
        guard case .failed(let error) = inner else { return XCTFail("the inner resume ran: \(String(describing: inner))") }
        XCTAssertEqual(error.kind, .misuse)
        XCTAssertEqual(run.resume(.done), .finished)
    }

    func testAFailedRunKeepsFailingTheSameWay() throws {
        let script = try XCTUnwrap(Scripts.compile("error('boom')", name: "boom.lua"))
        let run = DialplanRun(script: script, call: .browser(to: "x"), context: .test) { _, _ in }
        let failure = run.start()
        XCTAssertEqual(failure, .failed(DialplanError(kind: .runtime, file: "boom.lua", line: 1, message: "boom")))
        XCTAssertEqual(run.resume(.done), failure)
    }

    func testVariables() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            call.vars.route = "trunk"
            call.vars.attempts = 2
            call.vars.scratch = "x"
            call.vars.scratch = nil
            local names = {}
            for name, value in pairs(call.vars) do names[#names + 1] = name .. "=" .. value end
            table.sort(names)
            log.info(table.concat(names, " "), call.vars.attempts, call.vars.scratch)
            call:answer()
            call.vars.answered = "yes"
            error("after the variables")
            """))
        let driven = DrivenRun(script, call: .browser(to: "x"))
        XCTAssertEqual(driven.logs.map(\.text), ["attempts=2 route=trunk 2 nil"])
        XCTAssertEqual(driven.error()?.kind, .runtime)
        // Kept for the call record even though the run failed.
        XCTAssertEqual(driven.run.variables, ["route": "trunk", "attempts": "2", "answered": "yes"])
    }

    func testRequestsThePreludeDoesNotMakeAreRejected() {
        XCTAssertNil(DialplanRun.step(from: []))
        XCTAssertNil(DialplanRun.step(from: [.string("launch")]))
        XCTAssertNil(DialplanRun.step(from: [.string("hangup"), .string("486")]))
        XCTAssertNil(DialplanRun.step(from: [.string("bridge"), .string("trunk"), .string("carrier")]))
        XCTAssertEqual(DialplanRun.step(from: [.string("hangup"), .number(486), .none]), .hangup(code: 486, reason: nil))
    }

    func testRunsOfOneScriptAreIndependent() throws {
        let script = try XCTUnwrap(DialplanScript.compile(path: Scripts.defaultPath))
        let first = DialplanRun(script: script, call: .browser(to: "alice"), context: .test) { _, _ in }
        let second = DialplanRun(script: script, call: .browser(to: "600"), context: .test) { _, _ in }
        XCTAssertEqual(first.start(), .bridge(.user("alice"), BridgeOptions()))
        XCTAssertEqual(second.start(), .answer)
        XCTAssertEqual(first.resume(.bridged(code: 480, reason: nil, answered: false)), .finished)
        XCTAssertEqual(second.resume(.done), .echo)
    }
}
