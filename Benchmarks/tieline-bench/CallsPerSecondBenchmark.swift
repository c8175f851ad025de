import Foundation

/// Call setups and teardowns per second: sipp's built-in UAC at rising rates
/// against `tieline serve` (release build) answering every call, with
/// failed calls, the gateway's CPU per call, and its memory before and after.
enum CallsPerSecondBenchmark {
    static func run() {
        guard let (sipp, binary) = tools(for: "cps") else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-bench-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = 15060 + Int(getpid() % 1000)
        let config = """
        log_level: error
        dialplan: \(BenchOffer.repository)/dialplans/default.lua
        data_directory: \(directory.path)
        sip:
          listen:
            - { transport: udp, address: "127.0.0.1:\(port)" }
          public_address: 127.0.0.1
        media:
          rtp_ports: "30000-39999"
          public_address: 127.0.0.1
        trunks:
          - { name: sipp, address: 127.0.0.1, port: 5999, allowed_sources: ["127.0.0.1"] }
        web: { https: off, http: off }
        # SIP only: every call is answered without media, as the foundation's load test needs.
        routing: { test_answer: true }
        """
        guard let gateway = serve(binary, config: config, in: directory, label: "cps") else { return }
        defer {
            gateway.terminate()
            gateway.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 1.0)
        let pid = gateway.processIdentifier
        let idleRSS = residentKiB(pid)
        print("cps: tieline serve idle RSS \(idleRSS) KiB")
        let rates = ProcessInfo.processInfo.environment["TIELINE_BENCH_RATES"]?
            .split(separator: ",").compactMap { Int($0) } ?? [250, 500, 1000, 1500, 2000]
        for rate in rates {
            let seconds = 6
            let cpuBefore = cpuMilliseconds(pid)
            let stats = directory.appendingPathComponent("stat-\(rate).csv").path
            let sippProcess = Process()
            sippProcess.executableURL = URL(fileURLWithPath: sipp)
            sippProcess.currentDirectoryURL = directory
            sippProcess.arguments = ["-sn", "uac", "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "\(port + 1)",
                                     "-mi", "127.0.0.1", "-r", "\(rate)", "-m", "\(rate * seconds)", "-d", "0",
                                     "-l", "\(rate * 2)", "-nostdin", "-cp", "\(port + 2)", "-timeout", "\(seconds + 30)",
                                     "-timeout_error", "-trace_stat", "-stf", stats, "-fd", "1",
                                     "-recv_timeout", "10000"]
            sippProcess.standardOutput = FileHandle.nullDevice
            sippProcess.standardError = FileHandle.nullDevice
            let start = Date()
            do { try sippProcess.run() } catch {
                print("cps: cannot start sipp: \(error)")
                return
            }
            sippProcess.waitUntilExit()
            let elapsed = Date().timeIntervalSince(start)
            let cpu = cpuMilliseconds(pid) - cpuBefore
            let (successful, failed) = lastCounts(statsFile: stats)
            let achieved = Double(successful) / elapsed
            print(String(format: "cps: offered %4d/s for %d s: %d successful, %d failed calls, achieved %.0f calls/s, tieline CPU %.3f ms per call, sipp exit %d",
                         rate, seconds, successful, failed, achieved,
                         successful > 0 ? Double(cpu) / Double(successful) : 0, sippProcess.terminationStatus))
        }
        // Transactions run out their timers (64·T1 = 32 s at the default T1),
        // then the gateway's idle check (every 10 s) gives freed memory back.
        Thread.sleep(forTimeInterval: 45)
        let afterRSS = residentKiB(pid)
        print(String(format: "cps: RSS idle %d KiB, 45 s after the runs %d KiB (ratio %.2f)",
                     idleRSS, afterRSS, Double(afterRSS) / Double(max(idleRSS, 1))))
    }

    /// sipp and the release `tieline` next to this benchmark, or nil (said
    /// under `label`) when either is missing.
    static func tools(for label: String) -> (sipp: String, tieline: String)? {
        guard let sipp = which("sipp") else {
            print("\(label): sipp not found (make bench installs sip-tester)")
            return nil
        }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("tieline").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("\(label): \(binary) missing (make bench builds it)")
            return nil
        }
        return (sipp, binary)
    }

    /// `tieline serve` (release) with `config` written to `directory`, or nil (said why) when it cannot start.
    static func serve(_ binary: String, config: String, in directory: URL, label: String) -> Process? {
        let configPath = directory.appendingPathComponent("\(label).yaml").path
        try? config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let gateway = Process()
        gateway.executableURL = URL(fileURLWithPath: binary)
        gateway.arguments = ["serve", "--config", configPath]
        gateway.standardOutput = FileHandle.nullDevice
        do { try gateway.run() } catch {
            print("\(label): cannot start tieline: \(error)")
            return nil
        }
        return gateway
    }

    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func residentKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// utime + stime of a process, in milliseconds.
    static func cpuMilliseconds(_ pid: Int32) -> Int {
        cpuTicks(pid) * 1000 / Int(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// utime + stime in clock ticks (finer than milliseconds rounded per read).
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command: state is 0, utime is 11, stime is 12.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }

    /// SuccessfulCall(C) and FailedCall(C) from the last line of sipp's statistics file.
    static func lastCounts(statsFile: String) -> (Int, Int) {
        guard let text = try? String(contentsOfFile: statsFile, encoding: .utf8) else { return (0, 0) }
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: ";", omittingEmptySubsequences: false),
              let last = lines.last?.split(separator: ";", omittingEmptySubsequences: false),
              let successful = header.firstIndex(of: "SuccessfulCall(C)"),
              let failed = header.firstIndex(of: "FailedCall(C)"),
              last.count > max(successful, failed) else { return (0, 0) }
        return (Int(last[successful]) ?? 0, Int(last[failed]) ?? 0)
    }
}
