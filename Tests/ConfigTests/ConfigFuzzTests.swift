import TestSupport
import XCTest
@testable import Config

/// Random damage to a real configuration: the loader must either load it or
/// say where it went wrong, never crash, and never print the secret.
final class ConfigFuzzTests: XCTestCase {
    private let secret = "fuzz-s3cret-value"

    func testMutatedShippedConfigNeverCrashes() throws {
        let original = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
        let lineCount = original.split(separator: "\n", omittingEmptySubsequences: false).count
        // FUZZ_ROUNDS and FUZZ_SEED let a longer run be made by hand; the default stays quick.
        let environment = ProcessInfo.processInfo.environment
        let rounds = environment["FUZZ_ROUNDS"].flatMap { Int($0) } ?? 600
        var random = SeededGenerator(seed: environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 2024)
        var loaded = 0
        var failed = 0
        for _ in 0..<rounds {
            var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for _ in 0...Int(random.next() % 4) {
                mutate(&lines, with: &random)
            }
            let yaml = lines.joined(separator: "\n")
            do {
                _ = try ConfigLoader.load(yaml: yaml, file: "fuzz.yaml",
                                          environment: ["TIELINE_ALICE_PASSWORD": secret, "TRUNK_USER": "u",
                                                         "TRUNK_PASSWORD": secret])
                loaded += 1
            } catch {
                failed += 1
                if environment["FUZZ_VERBOSE"] != nil { print("FUZZ", error) }
                XCTAssertFalse(error.message.isEmpty)
                XCTAssertTrue((0...lineCount + 40).contains(error.line), "\(error) for:\n\(yaml)")
                XCTAssertFalse(error.description.contains(secret), "leaked in \(error) for:\n\(yaml)")
            }
        }
        XCTAssertGreaterThan(loaded, rounds / 20, "some mutations should still load")
        XCTAssertGreaterThan(failed, rounds / 5, "most mutations should be caught")
    }

    private func mutate(_ lines: inout [String], with random: inout SeededGenerator) {
        let pieces = [":", "- ", "[", "]", "{", "}", "#", "&a ", "*a", "!!int ", "|", ">", "'", "\"", "%",
                      "@", "`", " ", "\t", "$", "${", "}", "~", ",", "?", "0", "99999", "-1", "tls", "\u{0}",
                      "\u{FEFF}", "é", "\r", "\\", "null", "true", "::", "/", "10.0.0.0/8", "listen:"]
        let index = Int(random.next() % UInt64(lines.count))
        var line = Array(lines[index])
        let position = line.isEmpty ? 0 : Int(random.next() % UInt64(line.count + 1))
        switch random.next() % 7 {
        case 0:   // insert a YAML-significant piece
            line.insert(contentsOf: pieces[Int(random.next() % UInt64(pieces.count))], at: position)
        case 1:   // delete a few characters
            let end = min(line.count, position + 1 + Int(random.next() % 4))
            if position < end { line.removeSubrange(position..<end) }
        case 2:   // re-indent
            line = Array(String(repeating: " ", count: Int(random.next() % 7))) + line.drop { $0 == " " }
        case 3:   // duplicate the line
            lines.insert(lines[index], at: index)
            return
        case 4:   // swap with another line
            lines.swapAt(index, Int(random.next() % UInt64(lines.count)))
            return
        case 5:   // drop the line
            if lines.count > 1 { lines.remove(at: index); return }
        default:  // replace a character
            if position < line.count { line[position] = pieces[Int(random.next() % UInt64(pieces.count))].first ?? "x" }
        }
        lines[index] = String(line)
    }
}
