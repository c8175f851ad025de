import CAllocationCounter
import Codecs
import Foundation
import Media
import NIOCore
import STUN
import SecureMedia

/// Tieline's own cost per call through the whole media path (demux, SRTP,
/// Opus⇄G.711, repacketizing, restamping, RTCP timers), driven in-process
/// from recorded packets through `CallMedia`, the code a session's event
/// loop runs; beside it, the raw library cost of the same work
/// (`MediaCostBenchmark`). Sockets and the kernel are not in either figure.
enum BridgeBenchmark {
    static func run() {
        do {
            for profile in [SRTPProfile.aeadAes128Gcm, .aes128CmSha1_80] {
                try compare(profile: profile)
            }
            try passthrough()
            try concurrency()
        } catch {
            print("bridge: failed: \(error)")
        }
    }

    /// One call, hot in cache, against the raw library cost; then latency and allocations.
    static func compare(profile: SRTPProfile) throws {
        var bridge: [Double] = []
        var raw: [Double] = []
        var allocations: [Double] = []
        var latencies: [Double] = []
        for _ in 0..<7 {
            let run = try BenchRun(calls: 1, seconds: 20, profile: profile, transcoding: true)
            let result = run.drive(recordLatency: true)
            bridge.append(result.cpuMillisecondsPerCallSecond)
            allocations.append(result.allocationsPerPacket)
            latencies.append(contentsOf: result.latencies)
            raw.append(try MediaCostBenchmark.measureCallSeconds(profile: profile, callSeconds: 20))
        }
        let ratios = zip(bridge, raw).map { $0 / $1 }.sorted()
        latencies.sort()
        print(String(format: "bridge: transcoded call-second through Tieline (Opus c5 ⇄ PCMU, SRTP %@): median %.3f CPU-ms; raw library cost median %.3f; ratio median %.2f (range %.2f–%.2f; target ≤ 1.3)",
                     "\(profile)", median(bridge), median(raw), ratios[ratios.count / 2], ratios.first!, ratios.last!))
        let library = try srtpAllocationsPerOperation(profile: profile)
        print(String(format: "bridge: heap allocations per packet in steady state: %.3f in all, of which libsrtp2 (Debian's, on NSS) makes %.3f per protect or unprotect → Tieline's own code %.3f per packet (target 0)",
                     median(allocations), library, max(0, median(allocations) - library)))
        print(String(format: "bridge: added latency per packet (browser packet in → phone packet out, processing only): median %.1f µs, p99 %.1f µs (target < 1000 µs)",
                     latencies[latencies.count / 2] * 1e6, latencies[latencies.count * 99 / 100] * 1e6))
    }

    static func passthrough() throws {
        var bridge: [Double] = []
        var raw: [Double] = []
        for _ in 0..<7 {
            let run = try BenchRun(calls: 1, seconds: 20, profile: .aeadAes128Gcm, transcoding: false)
            bridge.append(run.drive(recordLatency: false).cpuMillisecondsPerCallSecond)
            raw.append(try MediaCostBenchmark.measurePassthroughCallSeconds(profile: .aeadAes128Gcm, callSeconds: 20))
        }
        print(String(format: "bridge: passthrough call-second (PCMU both legs, SRTP GCM): median %.3f CPU-ms; raw SRTP cost median %.3f; ratio %.2f",
                     median(bridge), median(raw), median(bridge) / median(raw)))
    }

    /// Many calls interleaved, as on a loaded loop: calls per core and memory per call.
    static func concurrency() throws {
        let calls = 200
        var perCallSecond: [Double] = []
        var memory: [Double] = []
        for _ in 0..<3 {
            let before = tieline_heap_in_use()
            let run = try BenchRun(calls: calls, seconds: 5, profile: .aeadAes128Gcm, transcoding: true)
            perCallSecond.append(run.drive(recordLatency: false).cpuMillisecondsPerCallSecond)
            // What the calls hold once media flows: their setup, plus what
            // media changed (the recorded packets themselves not counted).
            let steady = Int64(run.heapAfterSetup) - Int64(before)
                + Int64(tieline_heap_in_use()) - Int64(run.heapAfterRecording)
            memory.append(Double(steady) / Double(calls))
        }
        print(String(format: "bridge: %d transcoded calls interleaved on one core: median %.3f CPU-ms per call-second → %.0f calls per core in real time",
                     calls, median(perCallSecond), 1000 / median(perCallSecond)))
        print(String(format: "bridge: heap per transcoded call in steady state (legs, SRTP, Opus, buffers): median %.0f KB (target ≤ 200 KB)",
                     median(memory) / 1024))
    }

    /// libsrtp2's own allocations per operation, one protect and one unprotect averaged.
    static func srtpAllocationsPerOperation(profile: SRTPProfile) throws -> Double {
        let key = [UInt8](repeating: 3, count: profile.keyLength + profile.saltLength)
        let outbound = try SRTPSession(profile: profile, masterKey: key, outbound: true)
        let inbound = try SRTPSession(profile: profile, masterKey: key, outbound: false)
        var packet = [UInt8](repeating: 0x55, count: 172 + SRTPSession.maxOverhead)
        packet[0] = 0x80
        let start = tieline_allocation_count()
        for n in 0..<1000 {
            packet[2] = UInt8(n >> 8)
            packet[3] = UInt8(n & 0xFF)
            try packet.withUnsafeMutableBytes { bytes in
                let length = try outbound.protect(bytes, length: 172)
                _ = try inbound.unprotect(bytes, length: length)
            }
        }
        return Double(tieline_allocation_count() - start) / 2000
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
}
