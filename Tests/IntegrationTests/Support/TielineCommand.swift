import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `tieline` executable SwiftPM built next to the test bundle
/// (`.build/debug/tieline`), run as an operator runs it.
enum TielineCommand {
    static var executable: String {
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("tieline").path
    }

    struct Output: Sendable, CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        var description: String { "exit status \(status)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)" }
    }

    /// Runs `tieline arguments...` to its end and returns its status and
    /// output. The output goes to files (no pipe can fill up); a run longer
    /// than `timeout` is killed and throws.
    static func run(_ arguments: [String], timeout: TimeInterval = 60) async throws -> Output {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-command-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutPath = directory.appendingPathComponent("stdout")
        let stderrPath = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutPath.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath.path, contents: nil)
        let stdoutHandle = try FileHandle(forWritingTo: stdoutPath)
        let stderrHandle = try FileHandle(forWritingTo: stderrPath)
        defer {
            try? stdoutHandle.close()
            try? stderrHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                // SIGKILL: children of a Swift test process may have SIGTERM blocked.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw ChildProcessError.timedOut("tieline \(arguments.joined(separator: " "))",
                                                 read(stdoutPath) + read(stderrPath))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: read(stdoutPath), stderr: read(stderrPath))
    }

    private static func read(_ url: URL) -> String {
        FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// `tieline records --config CONFIG --json`: the records as the JSON
    /// objects `tieline records` prints (keys as in Sources/Records/RecordsOutput.swift).
    static func records(config: String, limit: Int = 50) async throws -> [[String: Any]] {
        let output = try await run(["records", "--config", config, "--limit", "\(limit)", "--json"])
        guard output.status == 0 else {
            throw ChildProcessError.failed("tieline records --json", output.description)
        }
        let text = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw ChildProcessError.failed("tieline records --json (not a JSON array)", output.description)
        }
        return array
    }
}

/// `tieline serve --config FILE` as a child process, with its output in
/// files (`read("stdout")`); killed with SIGKILL when released.
final class TielineServer: ChildProcess, @unchecked Sendable {
    init(config: String) throws {
        try super.init(name: "tieline-serve", executable: TielineCommand.executable,
                       arguments: ["serve", "--config", config])
    }

    /// Until serve has printed its "Web phone:" line (printed once the web
    /// listeners are bound, after the SIP listeners and the records store),
    /// so browsers can connect at once. Throws with the diagnostics if it
    /// exits first or takes longer than `timeout`.
    func waitUntilListening(timeout: TimeInterval = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !read("stdout").contains("Web phone:") {
            guard process.isRunning else { throw ChildProcessError.failed("tieline serve", diagnostics) }
            guard Date() < deadline else { throw ChildProcessError.timedOut("tieline serve", diagnostics) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGKILL, as a crash or `kill -9` would end it: no cleanup at all.
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A configuration for `tieline serve` in a temporary directory of its own:
/// SIP and plain-HTTP web listeners on free loopback ports, one trunk
/// `carrier` (sipp), alice, home country 49, the repository's default
/// dialplan unless given, and SQLite records in the directory's `data/`
/// unless `records` says otherwise. Removed when released.
final class ServeSetup: Sendable {
    let directory: URL
    let configPath: String
    let trunkPort: Int
    let webSocketURL: String

    init(dialplan: String? = nil, records: String = "{ backend: sqlite }") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let sipPort = try freeUDPAndTCPPort()
        trunkPort = try freeUDPAndTCPPort()
        let httpPort = freePort(udp: false)
        let mediaLow = 40000 + 200 * Int.random(in: 0..<50)
        webSocketURL = "ws://127.0.0.1:\(httpPort)/ws"
        let yaml = """
            log_level: info
            data_directory: "\(directory.appendingPathComponent("data").path)"
            sip:
              listen:
                - { transport: udp, address: "127.0.0.1:\(sipPort)" }
                - { transport: tcp, address: "127.0.0.1:\(sipPort)" }
              public_address: 127.0.0.1
              timers: { t1_ms: 100, t2_ms: 4000, t4_ms: 500 }
            media:
              rtp_ports: "\(mediaLow)-\(mediaLow + 199)"
              public_address: 127.0.0.1
              bind_address: 127.0.0.1
            web:
              https: off
              http: "127.0.0.1:\(httpPort)"
            users:
              - { name: alice, password: "alice-secret" }
            trunks:
              - { name: carrier, address: 127.0.0.1, port: \(trunkPort), allowed_sources: ["127.0.0.1"] }
            routing: { home_country: "49" }
            dialplan: "\(dialplan ?? GatewayFixture.defaultDialplan)"
            records: \(records)

            """
        configPath = directory.appendingPathComponent("tieline.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        if ProcessInfo.processInfo.environment["TIELINE_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }
}
