import Dialplan
import Foundation

/// What running the dialplan adds to a call: `dialplans/default.lua` for a
/// browser user calling a number that goes out through a trunk, from a new
/// `DialplanRun` through `start()` to its first step, the bridge to the
/// first trunk, and the run's teardown (a fresh Lua state with the safe
/// libraries, the prelude and the script loaded from bytecode, the script
/// run, the state freed). The gateway does this on an event loop for every
/// call it routes.
enum DialplanBenchmark {
    /// dialplans/default.lua, two folders above this file.
    static let defaultDialplan = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("dialplans/default.lua").path

    static func run() {
        let script: DialplanScript
        do {
            script = try DialplanScript.compile(path: defaultDialplan)
        } catch {
            print("dialplan: failed: \(error)")
            return
        }
        let context = DialplanContext(
            users: [.init(name: "alice", extension: "201", international: true), .init(name: "bob", extension: "202"),
                    .init(name: "carol", extension: "203")],
            trunks: ["carrier", "backup"], dids: ["+4930123456": "alice", "+4930123457": "bob"], homeCountryCode: "49")
        // A national number in international form, as browsers send it.
        let call = DialplanCall(from: "bob", to: "+49 30 1234567", user: "bob", direction: .fromBrowser, id: "call-1")

        func oneCall() {
            let run = DialplanRun(script: script, call: call, context: context) { _, _ in }
            guard case .bridge(.trunk(name: "carrier", number: "+49301234567"), _) = run.start() else {
                fatalError("the default dialplan did not bridge the benchmark call to the carrier trunk")
            }
        }   // the run, and with it its Lua state, is freed here

        let calls = 20_000
        for _ in 0..<1000 { oneCall() }   // warm-up: caches, the prelude's bytecode, spare arena chunks
        var rounds: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<calls { oneCall() }
            let nanoseconds = DispatchTime.now().uptimeNanoseconds - start
            rounds.append(Double(nanoseconds) / 1000 / Double(calls))
        }
        let median = rounds.sorted()[rounds.count / 2]
        print(String(format: "dialplan: %@, call to an E.164 number: median %.1f µs per call (rounds: %@; target < 50 µs)",
                     script.name, median, rounds.map { String(format: "%.1f", $0) }.joined(separator: ", ")))
    }
}
