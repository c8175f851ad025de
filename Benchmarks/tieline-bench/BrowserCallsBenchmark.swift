import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers

/// Issue 4's figures, measured against `tieline serve` (release build) over
/// its plain WebSocket listener on loopback:
/// - latency: from sending the `call` message to the INVITE arriving at a
///   UDP socket of this process posing as the trunk (one call at a time, so
///   nothing queues), median and p99;
/// - setup rate: load clients speaking the browser protocol with a pre-made
///   offer and no media, each placing call after call against sipp's UAS
///   (answer, then the client hangs up, so the gateway sends BYE), and
///   whether the gateway's file descriptors and sipp's calls come back to
///   zero afterwards.
enum BrowserCallsBenchmark {
    static let password = "bench-password-7f3a"

    static func run() async {
        guard let sipp = CallsPerSecondBenchmark.which("sipp") else {
            say("browser: sipp not found (make bench installs sip-tester)")
            return
        }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("tieline").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            say("browser: \(binary) missing (make bench builds it)")
            return
        }
        let offer: String
        do { offer = try BenchOffer.chromium() } catch {
            say("browser: \(error)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-bench-web-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = 17000 + Int(getpid() % 500) * 4
        let sipPort = base, webPort = base + 1, latencyTrunkPort = base + 2, sippPort = base + 3

        await latency(binary: binary, directory: directory, sipPort: sipPort, webPort: webPort,
                      trunkPort: latencyTrunkPort, offer: offer)
        // Records must not slow call setup: the same load with records off
        // and with SQLite records (the default), in the order off, on, on,
        // off, so a drift of the shared machine weighs on both alike.
        var rates: [String: [Double]] = [:]
        for (index, records) in ["off", "sqlite", "sqlite", "off"].enumerated() {
            let rate = await setupRate(binary: binary, sipp: sipp, directory: directory,
                                       sipPort: sipPort + 2000 + index * 10, webPort: webPort + 2000 + index * 10,
                                       sippPort: sippPort + 2000 + index * 10, offer: offer, records: records,
                                       run: index)
            rates[records, default: []].append(rate)
        }
        let off = (rates["off"] ?? []).reduce(0, +) / 2, on = (rates["sqlite"] ?? []).reduce(0, +) / 2
        if off > 0 {
            say(String(format: "browser: setups/s with SQLite records %.0f vs %.0f without (means of two runs each): ratio %.2f (target >= 0.90)",
                       on, off, on / off))
        }
    }

    // MARK: call message to INVITE

    static func latency(binary: String, directory: URL, sipPort: Int, webPort: Int, trunkPort: Int, offer: String) async {
        let trunk: BusyTrunk
        do { trunk = try BusyTrunk(port: trunkPort) } catch {
            say("browser latency: \(error)")
            return
        }
        defer { trunk.stop() }
        guard let gateway = BenchGateway(binary: binary, directory: directory, name: "latency", sipPort: sipPort,
                                         webPort: webPort, trunkPort: trunkPort) else { return }
        defer { gateway.stop() }
        let samples = 1000, warmUp = 50
        let url = "ws://127.0.0.1:\(webPort)/ws"
        let sent = NIOLockedValueBox([Double]())
        do {
            try await WebSocketClient.connect(url: url, logger: Logger(label: "bench")) { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                try await outbound.write(.text(#"{"type":"login","user":"bench","password":"\#(password)"}"#))
                _ = try await BenchClient.next(&messages, type: "welcome")
                for index in 0..<(samples + warmUp) {
                    let id = "l\(index)"
                    let message = BenchClient.callMessage(id: id, offer: offer)
                    let start = monotonic()
                    try await outbound.write(.text(message))
                    sent.withLockedValue { $0.append(start) }
                    _ = try await BenchClient.next(&messages, type: "hangup", call: id)
                }
            }
        } catch {
            say("browser latency: client failed: \(error)")
            return
        }
        let starts = sent.withLockedValue { $0 }
        let arrivals = trunk.arrivals
        guard arrivals.count == starts.count else {
            say("browser latency: \(starts.count) calls sent but \(arrivals.count) INVITEs arrived")
            return
        }
        let latencies = zip(starts, arrivals).dropFirst(warmUp).map { ($1 - $0) * 1000 }.sorted()
        say(String(format: "browser: call message to INVITE on the wire, %d calls one at a time: median %.3f ms, p99 %.3f ms, max %.3f ms (target median < 2 ms)",
                     latencies.count, latencies[latencies.count / 2], latencies[latencies.count * 99 / 100],
                     latencies.last ?? 0))
    }

    // MARK: setups per second

    /// Returns the setups per second (0 when the run could not be made).
    @discardableResult
    static func setupRate(binary: String, sipp: String, directory: URL, sipPort: Int, webPort: Int, sippPort: Int,
                          offer: String, records: String, run: Int = 0) async -> Double {
        let stats = directory.appendingPathComponent("uas-stat-\(records)-\(run).csv").path
        let uas = Process()
        uas.executableURL = URL(fileURLWithPath: sipp)
        uas.currentDirectoryURL = directory
        uas.arguments = ["-sn", "uas", "-i", "127.0.0.1", "-p", "\(sippPort)", "-mi", "127.0.0.1", "-nostdin",
                         "-trace_stat", "-stf", stats, "-fd", "1"]
        uas.standardOutput = FileHandle.nullDevice
        uas.standardError = FileHandle.nullDevice
        do { try uas.run() } catch {
            say("browser rate: cannot start sipp: \(error)")
            return 0
        }
        defer { BenchGateway.stop(uas, grace: 0) }
        guard let gateway = BenchGateway(binary: binary, directory: directory, name: "rate-\(records)-\(run)", sipPort: sipPort,
                                         webPort: webPort, trunkPort: sippPort, records: records) else { return 0 }
        defer { gateway.stop() }
        let pid = gateway.process.processIdentifier
        let idleDescriptors = openDescriptors(pid)
        let idleTargets = descriptorTargets(pid)
        let idleRSS = CallsPerSecondBenchmark.residentKiB(pid)
        let url = "ws://127.0.0.1:\(webPort)/ws"
        let connections = 32, seconds = 10.0
        let tally = NIOLockedValueBox((answered: 0, failed: 0, setupMilliseconds: [Double]()))
        let cpuBefore = CallsPerSecondBenchmark.cpuMilliseconds(pid)
        let start = monotonic()
        let deadline = start + seconds
        await withTaskGroup(of: Void.self) { group in
            for connection in 0..<connections {
                group.addTask {
                    do {
                        try await WebSocketClient.connect(url: url, logger: Logger(label: "bench")) { inbound, outbound, _ in
                            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                            try await outbound.write(.text(#"{"type":"login","user":"bench","password":"\#(password)"}"#))
                            _ = try await BenchClient.next(&messages, type: "welcome")
                            var index = 0
                            while monotonic() < deadline {
                                let id = "r\(connection)-\(index)"
                                index += 1
                                let placed = monotonic()
                                try await outbound.write(.text(BenchClient.callMessage(id: id, offer: offer)))
                                let reply = try await BenchClient.next(&messages, type: ["answered", "hangup"], call: id)
                                if reply == "answered" {
                                    let setup = (monotonic() - placed) * 1000
                                    tally.withLockedValue { $0.answered += 1; $0.setupMilliseconds.append(setup) }
                                    try await outbound.write(.text(#"{"type":"hangup","call":"\#(id)"}"#))
                                } else {
                                    tally.withLockedValue { $0.failed += 1 }
                                }
                            }
                        }
                    } catch {
                        say("browser rate: connection \(connection) failed: \(error)")
                    }
                }
            }
        }
        let elapsed = monotonic() - start
        let cpu = CallsPerSecondBenchmark.cpuMilliseconds(pid) - cpuBefore
        let (answered, failed, setups) = tally.withLockedValue { ($0.answered, $0.failed, $0.setupMilliseconds.sorted()) }
        say(String(format: "browser (records %@): %d protocol clients for %.0f s against sipp UAS: %d calls set up and hung up, %d failed, %.0f setups/s, setup median %.1f ms p99 %.1f ms, tieline CPU %.2f ms per call (target >= 300/s)",
                     records, connections, seconds, answered, failed, Double(answered) / elapsed,
                     setups.isEmpty ? 0 : setups[setups.count / 2], setups.isEmpty ? 0 : setups[setups.count * 99 / 100],
                     answered > 0 ? Double(cpu) / Double(answered) : 0))
        // The clients only send `hangup`, which the protocol does not
        // acknowledge, so BYEs may still be queued when they stop. sipp
        // writes its statistics every second: wait (up to 30 s) until it has
        // no call open, so the complete-call rate counts every teardown.
        var (sippCurrent, sippFailed) = sippCurrentCalls(stats)
        for _ in 0..<20 where sippCurrent != 0 { (sippCurrent, sippFailed) = sippCurrentCalls(stats) }
        let drained = monotonic() - start
        say(String(format: "browser: sipp saw every call ended %.1f s after the first call (%.1f s after the clients stopped): %.0f complete calls/s (sipp open calls %d, failed %d)",
                   drained, drained - elapsed, Double(answered) / drained, sippCurrent, sippFailed))
        // Then the gateway's descriptors come back to their idle count.
        var descriptors = openDescriptors(pid)
        for _ in 0..<50 where descriptors > idleDescriptors {
            try? await Task.sleep(for: .milliseconds(100))
            descriptors = openDescriptors(pid)
        }
        let extra = descriptorTargets(pid).subtracting(idleTargets).sorted()
        say(String(format: "browser: after the run: gateway descriptors %d (idle %d)%@, RSS %d KiB (idle %d KiB)",
                   descriptors, idleDescriptors, extra.isEmpty ? "" : "; new since idle: \(extra.joined(separator: ", "))",
                   CallsPerSecondBenchmark.residentKiB(pid), idleRSS))
        return Double(answered) / elapsed
    }

    static func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// "fd -> what it is", to name what a run left open.
    static func descriptorTargets(_ pid: Int32) -> Set<String> {
        let directory = "/proc/\(pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(names.map { name in
            "\(name) -> \((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(name)")) ?? "?")"
        })
    }

    /// CurrentCall and FailedCall(C) from the last line of sipp's statistics
    /// (written every second by -fd 1; give it a moment).
    static func sippCurrentCalls(_ statsFile: String) -> (Int, Int) {
        Thread.sleep(forTimeInterval: 1.5)
        guard let text = try? String(contentsOfFile: statsFile, encoding: .utf8) else { return (-1, -1) }
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: ";", omittingEmptySubsequences: false),
              let last = lines.last?.split(separator: ";", omittingEmptySubsequences: false),
              let current = header.firstIndex(of: "CurrentCall"),
              let failed = header.firstIndex(of: "FailedCall(C)"),
              last.count > max(current, failed) else { return (-1, -1) }
        return (Int(last[current]) ?? -1, Int(last[failed]) ?? -1)
    }

    static func monotonic() -> Double { BenchRun.monotonicSeconds() }

    /// Printed at once: the benchmark runs for a while and may be piped.
    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }
}

/// The protocol's client side, as little as the benchmark needs.
enum BenchClient {
    static func callMessage(id: String, offer: String) -> String {
        #"{"type":"call","call":"\#(id)","to":"+15551230100","sdp":\#(offer)}"#
    }

    /// Reads messages until one of `types` (about `call`, if given) arrives;
    /// returns its type. An `error` message is thrown.
    static func next(_ messages: inout WebSocketInboundMessageStream.AsyncIterator, type types: Set<String>,
                     call: String? = nil) async throws -> String {
        while let message = try await messages.next() {
            guard case .text(let text) = message,
                  let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let type = object["type"] as? String else { continue }
            if type == "error" { throw BenchError("the gateway answered: \(text)") }
            if let call, object["call"] as? String != call { continue }
            if types.contains(type) { return type }
        }
        throw BenchError("the connection closed")
    }

    static func next(_ messages: inout WebSocketInboundMessageStream.AsyncIterator, type: String,
                     call: String? = nil) async throws -> String {
        try await next(&messages, type: [type], call: call)
    }
}

/// A Chromium offer, as JSON string literal ready to paste into a message.
enum BenchOffer {
    /// The repository, two folders above this file.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func chromium() throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("chromium_offer.sdp").path
        guard let sdp = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BenchError("cannot read \(path)")
        }
        let data = try JSONSerialization.data(withJSONObject: [sdp])
        return String(decoding: data, as: UTF8.self).dropFirst().dropLast().description
    }
}

/// `tieline serve` with a plain WebSocket listener, one user and one trunk.
final class BenchGateway {
    let process = Process()

    init?(binary: String, directory: URL, name: String, sipPort: Int, webPort: Int, trunkPort: Int,
          records: String = "off") {
        let config = """
        log_level: error
        dialplan: \(BenchOffer.repository)/dialplans/default.lua
        data_directory: \(directory.appendingPathComponent(name).path)
        sip:
          listen:
            - { transport: udp, address: "127.0.0.1:\(sipPort)" }
          public_address: 127.0.0.1
        media:
          rtp_ports: "40000-49999"
          public_address: 127.0.0.1
          bind_address: 127.0.0.1
        users:
          - { name: bench, password: "\(BrowserCallsBenchmark.password)" }
        trunks:
          - { name: trunk, address: 127.0.0.1, port: \(trunkPort), allowed_sources: ["127.0.0.1"] }
        records: { backend: \(records) }
        routing: { home_country: "1" }
        web:
          https: off
          http: "127.0.0.1:\(webPort)"
          max_calls_per_user: 1000
          max_connections_per_address: 0
        """
        let path = directory.appendingPathComponent("\(name).yaml").path
        try? config.write(toFile: path, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", path]
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            BrowserCallsBenchmark.say("browser: cannot start tieline: \(error)")
            return nil
        }
        // Ready once the web listener takes connections.
        for _ in 0..<100 {
            if Self.accepts(port: webPort) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        BrowserCallsBenchmark.say("browser: tieline did not listen on \(webPort) within 10 s")
        stop()
        return nil
    }

    func stop() { Self.stop(process, grace: 3) }

    /// SIGTERM, then SIGKILL after `grace` seconds: children of a process
    /// that runs Swift concurrency may inherit a mask that blocks SIGTERM.
    static func stop(_ process: Process, grace: Double) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
