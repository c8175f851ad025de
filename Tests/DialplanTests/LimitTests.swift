import XCTest
@testable import Dialplan

/// The instruction and memory limits end runaway scripts with a clear error.
final class LimitTests: XCTestCase {
    private func run(_ source: String, instructions: Int = 100_000, memory: Int = 1 << 20,
                     outcomes: [DialplanOutcome] = []) throws -> DrivenRun {
        let script = try XCTUnwrap(Scripts.compile(source, name: "limits.lua"))
        return DrivenRun(script, call: .browser(to: "x"),
                         limits: DialplanLimits(instructions: instructions, memoryBytes: memory), outcomes: outcomes)
    }

    func testAnInfiniteLoopHitsTheInstructionLimit() throws {
        let driven = try run("local n = 0\nwhile true do n = n + 1 end")
        let error = try XCTUnwrap(driven.error())
        XCTAssertEqual(error.kind, .instructionLimit)
        XCTAssertEqual(error.description, "limits.lua:2: instruction limit exceeded (100000 instructions)")
    }

    /// A library call counts as one instruction however long it runs, so a
    /// loop of slow ones (upper-casing a megabyte) is ended by the CPU-time
    /// check instead: one step may take 100 ms of CPU, not the seconds this
    /// loop would need.
    func testALoopOfSlowLibraryCallsHitsTheTimeLimit() throws {
        let driven = try run("""
            local s = string.rep("a", 1000000)
            for i = 1, 5000 do
              local t = s:upper()
            end
            """, instructions: 1_000_000, memory: 4 << 20)
        let error = try XCTUnwrap(driven.error())
        XCTAssertEqual(error.kind, .instructionLimit, "\(error)")
        // The position is the loop's, its head or its body, wherever the hook caught it.
        XCTAssertTrue(["limits.lua:2: ", "limits.lua:3: "].contains { error.description.hasPrefix($0) }, error.description)
        XCTAssertTrue(error.description.hasSuffix("time limit exceeded (100 ms of CPU in one step)"), error.description)
    }

    func testCatchingTheLimitWithPcallDoesNotHelp() throws {
        let driven = try run("""
            while true do
              pcall(function() while true do end end)
            end
            """)
        XCTAssertEqual(driven.error()?.kind, .instructionLimit)
    }

    func testTheInstructionLimitCountsTheWholeCallAcrossActions() throws {
        // Each loop takes about 60% of the budget: the first fits, the second does not.
        let source = """
            local function work() local n = 0 for i = 1, 30000 do n = n + i end end
            work()
            call:answer()
            work()
            call:hangup()
            """
        let driven = try run(source)
        XCTAssertEqual(driven.steps.first, .answer)
        let error = try XCTUnwrap(driven.error())
        XCTAssertEqual(error.kind, .instructionLimit)
        XCTAssertEqual(error.line, 1)
        let generous = try run(source, instructions: 1_000_000)
        XCTAssertEqual(generous.steps, [.answer, .hangup(code: 200, reason: nil)])
    }

    func testStringGrowthHitsTheMemoryLimit() throws {
        let driven = try run("local s = 'x'\nwhile true do s = s .. s end", instructions: 10_000_000)
        let error = try XCTUnwrap(driven.error())
        XCTAssertEqual(error.kind, .memoryLimit)
        XCTAssertEqual(error.description, "limits.lua:2: memory limit exceeded (1048576 bytes)")
    }

    func testTableGrowthAndHugeRepsHitTheMemoryLimit() throws {
        let table = try run("local t = {}\nfor i = 1, 1e9 do t[i] = i end", instructions: 100_000_000)
        XCTAssertEqual(table.error()?.kind, .memoryLimit)
        XCTAssertEqual(table.error()?.line, 2)
        let rep = try run("local s = string.rep('x', 1e8)")
        XCTAssertEqual(rep.error()?.kind, .memoryLimit)
        XCTAssertEqual(rep.error()?.line, 1)
    }

    func testGarbageIsCollectedBeforeTheLimitRefuses() throws {
        // Far more than 1 MiB allocated in total, little of it alive at once.
        let driven = try run("""
            local kept = 0
            for i = 1, 100000 do local t = {i, tostring(i)} kept = kept + #t end
            log.info(kept)
            """, instructions: 10_000_000)
        XCTAssertEqual(driven.last, .finished)
        XCTAssertEqual(driven.logs.map(\.text), ["200000"])
    }

    func testAMemoryErrorCaughtByTheScriptLetsItGoOn() throws {
        let driven = try run("local ok, err = pcall(string.rep, 'x', 1e8)\nlog.info(ok, err)")
        XCTAssertEqual(driven.last, .finished)
        XCTAssertEqual(driven.logs.map(\.text), ["false not enough memory"])
    }

    func testRunawayRecursionFailsInsteadOfCrashing() throws {
        let lua = try run("local function f(n) return f(n + 1) + 1 end\nf(1)", instructions: 10_000_000)
        XCTAssertEqual(lua.error()?.description, "limits.lua:1: memory limit exceeded (1048576 bytes)")
        // Recursion through a C function stops at Lua's C-stack bound.
        let c = try run("local function f() string.gsub('a', 'a', f) end\nf()", instructions: 10_000_000)
        XCTAssertEqual(c.error()?.description, "limits.lua:1: C stack overflow")
    }

    func testALimitTooSmallForTheSandboxFailsAtStart() throws {
        let driven = try run("log.info('never')", memory: 4096)
        XCTAssertEqual(driven.steps.count, 1)
        XCTAssertEqual(driven.error()?.kind, .memoryLimit)
        XCTAssertTrue(driven.logs.isEmpty)
    }
}
