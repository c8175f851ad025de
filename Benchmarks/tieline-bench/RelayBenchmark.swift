import Foundation

/// The SIP ⇄ SIP bridge's cost per call, measured the way a stateful
/// proxy's is: sipp's built-in UAC → `tieline serve` (release build) → sipp's
/// built-in UAS, at rising rates, each call answered and hung up at once
/// (`-d 0`), so no media flows but every call has its relay's four ports
/// bound and closed, the dialplan run, two INVITE transactions, two dialogs
/// and a record. Printed: the gateway's CPU-µs per completed call at each
/// rate (from /proc, the whole process) and the highest rate with no failed call.
///
/// Then the same load through Kamailio as a stateful, record-routing proxy
/// (tm, one UDP worker: with more, two workers may pass a call's 180 and
/// 200 on out of order, which sipp's scenario counts as a failed call), its processes' CPU summed,
/// so the target (Kamailio's cost) is measured on this machine, beside ours,
/// rather than quoted. Kamailio forwards one transaction and anchors no
/// media; Tieline terminates two dialogs and binds four sockets per call.
enum RelayBenchmark {
    /// One system under test: where the UAC sends, and whose CPU counts.
    struct Subject {
        let name: String
        let port: Int
        let cpuTicks: () -> Int
    }

    struct Result {
        var clean: Int?
        /// CPU-µs per call at each rate that ran clean.
        var costs: [Int: Double] = [:]
        var median: Double { Self.median(Array(costs.values)) }

        static func median(_ values: [Double]) -> Double { values.sorted().dropFirst(values.count / 2).first ?? 0 }
    }

    static func run() {
        guard let (sipp, binary) = CallsPerSecondBenchmark.tools(for: "relay") else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-relay-bench-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = 16060 + Int(getpid() % 1000) * 8
        let uasPort = port + 1
        let rates = ProcessInfo.processInfo.environment["TIELINE_BENCH_RELAY_RATES"]?
            .split(separator: ",").compactMap { Int($0) } ?? [50, 100, 200, 400, 600, 800, 1000, 1200]

        let uas = Process()
        uas.executableURL = URL(fileURLWithPath: sipp)
        uas.currentDirectoryURL = directory
        uas.arguments = ["-sn", "uas", "-i", "127.0.0.1", "-p", "\(uasPort)", "-mi", "127.0.0.1", "-nostdin",
                         "-cp", "\(port + 2)"]
        uas.standardOutput = FileHandle.nullDevice
        uas.standardError = FileHandle.nullDevice
        do { try uas.run() } catch {
            return print("relay: cannot start the sipp UAS: \(error)")
        }
        defer {
            uas.terminate()
            uas.waitUntilExit()
        }

        guard let gateway = startTieline(binary, directory: directory, port: port, uasPort: uasPort) else { return }
        Thread.sleep(forTimeInterval: 1.0)
        print("relay: tieline serve idle RSS \(CallsPerSecondBenchmark.residentKiB(gateway.processIdentifier)) KiB")
        let ours = measure(Subject(name: "tieline", port: port,
                                   cpuTicks: { CallsPerSecondBenchmark.cpuTicks(gateway.processIdentifier) }),
                           rates: rates, sipp: sipp, directory: directory, uacPort: port + 3)
        gateway.terminate()
        gateway.waitUntilExit()
        print(String(format: "relay: tieline: highest clean rate %@ calls/s; median CPU over the clean rates %.0f µs per call",
                     ours.clean.map { "\($0)" } ?? "none", ours.median))

        guard let kamailio = startKamailio(directory: directory, port: port + 5, uasPort: uasPort) else {
            return print("relay: kamailio not found or did not start (make test-deps installs it); no side-by-side figure")
        }
        defer {
            kamailio.terminate()
            kamailio.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 1.0)
        let pid = kamailio.processIdentifier
        let theirs = measure(Subject(name: "kamailio", port: port + 5, cpuTicks: { processTreeTicks(pid) }),
                             rates: rates, sipp: sipp, directory: directory, uacPort: port + 6)
        print(String(format: "relay: kamailio (stateful proxy): highest clean rate %@ calls/s; median CPU over the clean rates %.0f µs per call",
                     theirs.clean.map { "\($0)" } ?? "none", theirs.median))
        // Compared rate by rate, where both ran clean (the cost per call
        // falls as the rate rises: more messages per wake-up).
        let common = Set(ours.costs.keys).intersection(theirs.costs.keys).sorted()
        let ratios = common.compactMap { rate in theirs.costs[rate].flatMap { $0 > 0 ? ours.costs[rate]! / $0 : nil } }
        if ratios.isEmpty {
            print("relay: no rate ran clean through both; no ratio")
        } else {
            print(String(format: "relay: tieline costs %.2f× Kamailio's CPU per call (median over %@ calls/s; target: at most 1×)",
                         Result.median(ratios), common.map(String.init).joined(separator: ", ")))
        }
    }

    /// The load at each rate: 6 s of calls, the subject's CPU before and after.
    static func measure(_ subject: Subject, rates: [Int], sipp: String, directory: URL, uacPort: Int) -> Result {
        var result = Result()
        for rate in rates {
            let seconds = 6
            let ticksBefore = subject.cpuTicks()
            let stats = directory.appendingPathComponent("stat-\(subject.name)-\(rate).csv").path
            let uac = Process()
            uac.executableURL = URL(fileURLWithPath: sipp)
            uac.currentDirectoryURL = directory
            uac.arguments = ["-sn", "uac", "127.0.0.1:\(subject.port)", "-i", "127.0.0.1", "-p", "\(uacPort)",
                             "-mi", "127.0.0.1", "-r", "\(rate)", "-m", "\(rate * seconds)", "-d", "0",
                             "-l", "\(rate * 2)", "-nostdin", "-cp", "\(uacPort + 1)", "-timeout", "\(seconds + 30)",
                             "-timeout_error", "-trace_stat", "-stf", stats, "-fd", "1", "-recv_timeout", "10000"]
            uac.standardOutput = FileHandle.nullDevice
            uac.standardError = FileHandle.nullDevice
            let start = Date()
            do { try uac.run() } catch {
                print("relay: cannot start the sipp UAC: \(error)")
                return result
            }
            // waitpid, not `waitUntilExit`: with Kamailio's workers running,
            // Foundation never noticed the UAC's exit (it stayed a zombie).
            var status: Int32 = 0
            while waitpid(uac.processIdentifier, &status, 0) < 0, errno == EINTR {}
            let exitCode = (status >> 8) & 0xFF
            let elapsed = Date().timeIntervalSince(start)
            let cpuMicroseconds = Double(subject.cpuTicks() - ticksBefore) * 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
            let (successful, failed) = CallsPerSecondBenchmark.lastCounts(statsFile: stats)
            let perCall = successful > 0 ? cpuMicroseconds / Double(successful) : 0
            if failed == 0, successful == rate * seconds, exitCode == 0 {
                result.clean = rate
                result.costs[rate] = perCall
            }
            print(String(format: "relay: %@ offered %4d/s for %d s: %d successful, %d failed calls, achieved %.0f calls/s, CPU %.0f µs per call, sipp exit %d",
                         subject.name, rate, seconds, successful, failed, Double(successful) / elapsed, perCall,
                         exitCode))
        }
        return result
    }

    private static func startTieline(_ binary: String, directory: URL, port: Int, uasPort: Int) -> Process? {
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
        return CallsPerSecondBenchmark.serve(binary, config: config, in: directory, label: "relay")
    }

    /// Kamailio in the foreground (`-DD`), a stateful proxy to the UAS:
    /// initial INVITEs record-routed and every request relayed with tm
    /// (in-dialog ones by loose_route when they carry a Route), no logging.
    private static func startKamailio(directory: URL, port: Int, uasPort: Int) -> Process? {
        guard let kamailio = CallsPerSecondBenchmark.which("kamailio")
            ?? ["/usr/sbin/kamailio"].first(where: FileManager.default.isExecutableFile) else { return nil }
        let config = """
        #!KAMAILIO
        debug=-1
        log_stderror=yes
        fork=yes
        children=1
        disable_tcp=yes
        listen=udp:127.0.0.1:\(port)
        dns=no
        rev_dns=no
        auto_aliases=no
        mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "pv.so"
        loadmodule "maxfwd.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        request_route {
            if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
            # sipp's built-in UAC ignores Record-Route: its ACK and BYE come
            # without Route, and go on to the UAS all the same.
            if (has_totag()) {
                if (!loose_route()) { $du = "sip:127.0.0.1:\(uasPort)"; }
                t_relay();
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            t_check_trans();
            if (is_method("INVITE")) { record_route(); }
            $du = "sip:127.0.0.1:\(uasPort)";
            if (!t_relay()) { sl_reply_error(); }
        }
        """
        let path = directory.appendingPathComponent("kamailio.cfg").path
        try? config.write(toFile: path, atomically: true, encoding: .utf8)
        let run = directory.appendingPathComponent("kamailio-run")
        try? FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kamailio)
        process.arguments = ["-f", path, "-DD", "-E", "-m", "256", "-M", "16", "-Y", run.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        Thread.sleep(forTimeInterval: 1.5)
        return process.isRunning ? process : nil
    }

    /// CPU ticks of `root` and every process under it (Kamailio's workers).
    static func processTreeTicks(_ root: Int32) -> Int {
        var parents: [Int32: Int32] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, let parent = Int32(fields[2]) { parents[pid] = parent }
        }
        func descends(_ pid: Int32) -> Bool {
            var current = pid
            for _ in 0..<16 {
                if current == root { return true }
                guard let parent = parents[current], parent > 1 else { return false }
                current = parent
            }
            return false
        }
        return parents.keys.filter(descends).reduce(0) { $0 + CallsPerSecondBenchmark.cpuTicks($1) }
    }
}
