import Foundation

/// The SIP ⇄ SIP bridge's cost per call, measured the way a stateful
/// proxy's is: sipp's built-in UAC → `tieline serve` (release build) → sipp's
/// built-in UAS, at rising rates, each call answered and hung up at once
/// (`-d 0`), so no media flows but every call has its relay's four ports
/// bound and closed, the dialplan run, two INVITE transactions, two dialogs
/// and a record. Printed: the gateway's CPU-µs per completed call at each
/// rate (from /proc, the whole process) and the highest rate with no failed call.
enum RelayBenchmark {
    static func run() {
        guard let (sipp, binary) = CallsPerSecondBenchmark.tools(for: "relay") else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-relay-bench-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = 16060 + Int(getpid() % 1000) * 4
        let uasPort = port + 1
        let script = directory.appendingPathComponent("relay.lua").path
        try? #"call:bridge("trunk:uas", {number = "2000", relay = true})"#.write(toFile: script, atomically: true,
                                                                               encoding: .utf8)
        let config = """
        log_level: error
        dialplan: \(script)
        data_directory: \(directory.path)
        sip:
          listen:
            - { transport: udp, address: "127.0.0.1:\(port)" }
          public_address: 127.0.0.1
        media:
          rtp_ports: "30000-39999"
          public_address: 127.0.0.1
        trunks:
          - { name: uas, address: 127.0.0.1, port: \(uasPort), allowed_sources: ["127.0.0.1"] }
        web: { https: off, http: off }
        records: { backend: off }
        """
        let configPath = directory.appendingPathComponent("relay.yaml").path
        try? config.write(toFile: configPath, atomically: true, encoding: .utf8)

        let gateway = Process()
        gateway.executableURL = URL(fileURLWithPath: binary)
        gateway.arguments = ["serve", "--config", configPath]
        gateway.standardOutput = FileHandle.nullDevice
        let uas = Process()
        uas.executableURL = URL(fileURLWithPath: sipp)
        uas.currentDirectoryURL = directory
        uas.arguments = ["-sn", "uas", "-i", "127.0.0.1", "-p", "\(uasPort)", "-mi", "127.0.0.1", "-nostdin",
                         "-cp", "\(port + 2)"]
        uas.standardOutput = FileHandle.nullDevice
        uas.standardError = FileHandle.nullDevice
        do {
            try gateway.run()
            try uas.run()
        } catch {
            print("relay: cannot start tieline or the sipp UAS: \(error)")
            return
        }
        defer {
            uas.terminate()
            gateway.terminate()
            uas.waitUntilExit()
            gateway.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 1.0)
        let pid = gateway.processIdentifier
        print("relay: tieline serve idle RSS \(CallsPerSecondBenchmark.residentKiB(pid)) KiB")
        let rates = ProcessInfo.processInfo.environment["TIELINE_BENCH_RELAY_RATES"]?
            .split(separator: ",").compactMap { Int($0) } ?? [50, 100, 200, 400, 600, 800, 1000]
        var clean: Int?
        var costs: [Double] = []
        for rate in rates {
            let seconds = 6
            let ticksBefore = CallsPerSecondBenchmark.cpuTicks(pid)
            let stats = directory.appendingPathComponent("stat-\(rate).csv").path
            let uac = Process()
            uac.executableURL = URL(fileURLWithPath: sipp)
            uac.currentDirectoryURL = directory
            uac.arguments = ["-sn", "uac", "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "\(port + 3)",
                             "-mi", "127.0.0.1", "-r", "\(rate)", "-m", "\(rate * seconds)", "-d", "0",
                             "-l", "\(rate * 2)", "-nostdin", "-cp", "\(port + 4)", "-timeout", "\(seconds + 30)",
                             "-timeout_error", "-trace_stat", "-stf", stats, "-fd", "1", "-recv_timeout", "10000"]
            uac.standardOutput = FileHandle.nullDevice
            uac.standardError = FileHandle.nullDevice
            let start = Date()
            do { try uac.run() } catch {
                print("relay: cannot start the sipp UAC: \(error)")
                return
            }
            uac.waitUntilExit()
            let elapsed = Date().timeIntervalSince(start)
            let cpuMicroseconds = Double(CallsPerSecondBenchmark.cpuTicks(pid) - ticksBefore) * 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
            let (successful, failed) = CallsPerSecondBenchmark.lastCounts(statsFile: stats)
            let perCall = successful > 0 ? cpuMicroseconds / Double(successful) : 0
            if failed == 0, successful == rate * seconds, uac.terminationStatus == 0 {
                clean = rate
                costs.append(perCall)
            }
            print(String(format: "relay: offered %4d/s for %d s: %d successful, %d failed calls, achieved %.0f calls/s, tieline CPU %.0f µs per call, sipp exit %d",
                         rate, seconds, successful, failed, Double(successful) / elapsed, perCall, uac.terminationStatus))
        }
        let median = costs.sorted().dropFirst(costs.count / 2).first ?? 0
        print(String(format: "relay: highest clean rate %@ calls/s; median CPU over the clean rates %.0f µs per call (target: at most 230, Kamailio's as a stateful proxy)",
                     clean.map { "\($0)" } ?? "none", median))
    }
}
