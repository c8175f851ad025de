import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// sipp (Debian's sip-tester 3.6.1) as a real SIP peer, started with the
/// flags `peers.md` says matter: loopback signalling and media addresses
/// (`-i`/`-mi 127.0.0.1`), its own control port (`-cp`), no stdin, a global
/// timeout that fails the run (`-timeout N -timeout_error`), and every trace
/// sipp has written to files in its own temporary directory, so a failing
/// test can show what sipp saw (`diagnostics`).
///
/// Exit status: 0 when every call succeeded; anything else is a failure,
/// mostly 1 (a call failed, or the scenario file could not be loaded) or 255
/// (fatal: the global timeout ran out, a port was taken, a scenario error).
///
/// The scenarios in `Scenarios/` that check credentials read them from the
/// keywords `[username]` and `[password]` (`-key username X -key password Y`);
/// sipp's own `-au`/`-ap` only feed its `[authentication]` keyword. So that
/// either spelling works, `-au X`/`-ap Y` are also passed on as those keys.
final class SippProcess: ChildProcess, @unchecked Sendable {
    /// The control port (`-cp`, UDP), distinct per instance.
    let controlPort: Int

    /// sipp as a UAS listening on 127.0.0.1:`port`.
    ///
    /// - Parameters:
    ///   - transport: `"u1"` (UDP) or `"t1"` (TCP; TLS through `SocatTLSFront`).
    ///   - scenario: the path of a scenario file (`scenarioPath("uas_answer")`),
    ///     or nil for sipp's built-in `uas` (which lingers 4 s after each BYE,
    ///     and over TCP fails a call whose connection closes meanwhile: prefer
    ///     `uas_answer` there).
    ///   - calls: `-m`: sipp exits after this many calls.
    ///   - timeout: `-timeout`, seconds: sipp gives up (status 255) after it.
    /// Returns once sipp has bound its UDP port or listens on its TCP port,
    /// so calls can be sent at once.
    static func uas(port: Int, transport: String = "u1", scenario: String? = nil, calls: Int = 1,
                    timeout: Int = 60, traceMessages: Bool = true, extraArgs: [String] = []) throws -> SippProcess {
        var arguments = scenario.map { ["-sf", $0] } ?? ["-sn", "uas"]
        arguments += ["-p", "\(port)", "-t", transport, "-m", "\(calls)"]
        let sipp = try SippProcess(arguments: arguments + extraArgs, timeout: timeout, traceMessages: traceMessages)
        sipp.waitUntilReady(port: port, udp: transport.hasPrefix("u"), timeout: 5)
        return sipp
    }

    /// sipp as a UAC calling `target` ("127.0.0.1:5060") from local `port`.
    ///
    /// - Parameters:
    ///   - scenario: a scenario path, or nil for sipp's built-in `uac`.
    ///   - calls: `-m`, the number of calls to place.
    ///   - rate: `-r`, new calls per second.
    ///   - durationMilliseconds: `-d`, how long each call stays up (the
    ///     built-in `uac`'s `<pause/>` before its BYE).
    static func uac(target: String, port: Int, transport: String = "u1", scenario: String? = nil,
                    calls: Int = 1, rate: Int = 10, durationMilliseconds: Int = 0, timeout: Int = 60,
                    traceMessages: Bool = true, extraArgs: [String] = []) throws -> SippProcess {
        var arguments = scenario.map { ["-sf", $0] } ?? ["-sn", "uac"]
        arguments += [target, "-p", "\(port)", "-t", transport, "-m", "\(calls)", "-r", "\(rate)",
                      "-d", "\(durationMilliseconds)"]
        return try SippProcess(arguments: arguments + extraArgs, timeout: timeout, traceMessages: traceMessages)
    }

    /// sipp with `arguments` (scenario, ports, transport...) plus the common
    /// flags and trace files.
    init(arguments: [String], timeout: Int = 60, traceMessages: Bool = true) throws {
        controlPort = freePort(udp: true)
        var common = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin", "-cp", "\(controlPort)",
                      "-timeout", "\(timeout)", "-timeout_error",
                      "-trace_err", "-error_file", Trace.errors,
                      "-trace_screen", "-screen_file", Trace.screen,
                      "-trace_logs", "-log_file", Trace.actions]
        if traceMessages { common += ["-trace_msg", "-message_file", Trace.messages] }
        try super.init(name: "sipp", executable: try executablePath("sipp"),
                       arguments: arguments + Self.credentialKeys(in: arguments) + common)
    }

    /// Trace file names, inside `directory`.
    private enum Trace {
        static let errors = "errors.log"
        static let screen = "screen.log"
        static let actions = "actions.log"
        static let messages = "messages.log"
    }

    /// What the scenario's `<log>` actions wrote.
    var actionLog: String { read(Trace.actions) }
    /// Every message sent and received, as sipp traced it (`-trace_msg`).
    var messageLog: String { read(Trace.messages) }
    /// Unexpected messages, failed checks, timeouts.
    var errorLog: String { read(Trace.errors) }
    /// The statistics screens, written when sipp exits.
    var finalScreen: String { read(Trace.screen) }

    /// The tails that explain a failure: errors, the scenario's log, the
    /// message counts of the final screen (or, if sipp was killed before it
    /// wrote one, its last screen on stdout), stderr, the last messages.
    override var diagnostics: String {
        var text = "$ \(commandLine)\n" + statusLine
        text += section("errors", errorLog, 4000)
        text += section("scenario log", actionLog, 3000)
        let screen = Self.scenarioScreen(finalScreen)
        text += screen.isEmpty ? section("stdout", strippingTerminalEscapes(read("stdout")), 2500)
                               : section("final screen", screen, 4000)
        text += section("stderr", read("stderr"), 2000)
        text += section("messages", messageLog, 3000)
        return text
    }

    /// Of sipp's screens, the scenario screen (messages, retransmissions,
    /// timeouts, unexpected messages per step) and the call totals.
    private static func scenarioScreen(_ screens: String) -> String {
        var lines: [Substring] = []
        var inScenario = false
        for line in screens.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            if line.contains("Scenario Screen") { inScenario = true }
            else if line.contains("Screen --") { inScenario = false }
            if inScenario || line.contains("Successful call") || line.contains("Failed call") {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// "Q" on the control port: sipp quits at once (ending open calls with
    /// BYE or CANCEL) and still writes its final screen.
    override func requestStop() -> Bool {
        sendDatagram("Q", toPort: controlPort)
        return true
    }

    /// Until sipp has bound its UDP port, or listens on its TCP port; gives
    /// up quietly if sipp exits first (`wait` then reports why).
    private func waitUntilReady(port: Int, udp: Bool, timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, !(udp ? isPortBound(port, udp: true) : isTCPListening(port)), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// `-key username`/`-key password` from `-au`/`-ap`, unless given as keys.
    private static func credentialKeys(in arguments: [String]) -> [String] {
        func value(after flag: String) -> String? {
            guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
            return arguments[index + 1]
        }
        func hasKey(_ name: String) -> Bool {
            arguments.indices.contains { arguments[$0] == "-key" && $0 + 1 < arguments.count && arguments[$0 + 1] == name }
        }
        var keys: [String] = []
        if let user = value(after: "-au"), !hasKey("username") { keys += ["-key", "username", user] }
        if let password = value(after: "-ap"), !hasKey("password") { keys += ["-key", "password", password] }
        return keys
    }
}

/// A child process with its output in files in its own temporary directory,
/// waited on with a deadline, and killed when the test is done with it,
/// whatever happened. `SippProcess` and `SocatTLSFront` are ones.
class ChildProcess: @unchecked Sendable {
    let process = Process()
    /// The working directory, holding `stdout`, `stderr` and any trace files.
    let directory: URL
    let name: String
    let commandLine: String

    init(name: String, executable: String, arguments: [String]) throws {
        self.name = name
        commandLine = ([executable] + arguments).map(Self.shellQuoted).joined(separator: " ")
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stdout = directory.appendingPathComponent("stdout")
        let stderr = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
    }

    /// Kills the process if it still runs; removes its files unless
    /// TIELINE_KEEP_TEST_FILES is set (then they stay for a post-mortem).
    deinit {
        terminate()
        if ProcessInfo.processInfo.environment["TIELINE_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    var isRunning: Bool { process.isRunning }

    /// Stops the process: asks it to stop (`requestStop`) and gives it half a
    /// second if it knows how, then kills it with SIGKILL, with its process group when it
    /// leads one (Foundation starts children in their own group), so a
    /// forking socat's children go too. Not SIGTERM: children of a Swift
    /// test process inherit a signal mask that blocks it.
    func terminate() {
        guard process.isRunning else { return }
        let deadline = Date().addingTimeInterval(requestStop() ? 0.5 : 0)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            let pid = process.processIdentifier
            kill(getpgid(pid) == pid ? -pid : pid, SIGKILL)
        }
        // Bounded: a child Foundation has not reaped yet must not hang the test.
        let reaped = Date().addingTimeInterval(3)
        while process.isRunning, Date() < reaped { Thread.sleep(forTimeInterval: 0.01) }
    }

    /// Asks the process to stop cleanly; false when it has no way to.
    func requestStop() -> Bool { false }

    /// The exit status, once the process ends; kills it and throws
    /// `ChildProcessError.timedOut` (with the diagnostics) after `timeout` seconds.
    func wait(timeout: TimeInterval) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                terminate()
                throw ChildProcessError.timedOut(name, diagnostics)
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The tails of what it wrote, for failure messages.
    var diagnostics: String {
        "$ \(commandLine)\n" + statusLine + section("stderr", read("stderr"), 3000)
            + section("stdout", read("stdout"), 3000)
    }

    var statusLine: String {
        process.isRunning ? "(still running)\n" : "(exited with status \(process.terminationStatus))\n"
    }

    /// A file in `directory`, or "" if there is none.
    func read(_ file: String) -> String {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) else {
            return ""
        }
        return String(decoding: data, as: UTF8.self)
    }

    func section(_ title: String, _ content: String, _ limit: Int) -> String {
        let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return "" }
        let tail = trimmed.count > limit ? "...\(trimmed.suffix(limit))" : trimmed
        return "--- \(name) \(title) ---\n\(tail)\n"
    }

    private static func shellQuoted(_ word: String) -> String {
        word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,@".contains($0) } ? word : "'\(word)'"
    }
}

enum ChildProcessError: Error, CustomStringConvertible {
    case timedOut(String, String)
    case notFound(String)
    case failed(String, String)

    var description: String {
        switch self {
        case .timedOut(let name, let diagnostics): "\(name) did not finish in time\n\(diagnostics)"
        case .notFound(let name): "\(name) is not installed (make test-deps installs it)"
        case .failed(let what, let output): "\(what) failed:\n\(output)"
        }
    }
}

/// The path of `name` in PATH (then /usr/bin, /usr/sbin), or `.notFound`.
func executablePath(_ name: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin"] {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw ChildProcessError.notFound(name)
}

/// One UDP datagram to 127.0.0.1:`port`, best effort.
private func sendDatagram(_ text: String, toPort port: Int) {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_DGRAM, 0)
    #endif
    guard fd >= 0 else { return }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let bytes = Array(text.utf8)
    _ = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
}

/// sipp redraws its screen with terminal escapes even with -nostdin.
private func strippingTerminalEscapes(_ text: String) -> String {
    text.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
}
