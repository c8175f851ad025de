import Codecs
import Foundation
import SecureMedia

/// The raw library cost of one transcoded call-second (issue 3's reference
/// figure): 50 packets each way of Opus decode and encode at 8 kHz, G.711
/// encode and decode, SRTP unprotect and protect. Tieline's own cost through
/// the bridge is measured beside it (`BridgeBenchmark`).
enum MediaCostBenchmark {
    static func run() {
        for profile in SRTPProfile.allCases {
            var results: [Double] = []
            for _ in 0..<7 {
                guard let milliseconds = try? measureCallSeconds(profile: profile, callSeconds: 20) else {
                    print("media: setup failed")
                    return
                }
                results.append(milliseconds)
            }
            results.sort()
            print(String(format: "media: raw library cost of a transcoded call-second (Opus c5 8 kHz + G.711 + SRTP %@): median %.3f CPU-ms (min %.3f) → about %.0f calls per core",
                         "\(profile)", results[3], results[0], 1000 / results[3]))
        }
    }

    /// CPU milliseconds per call-second.
    static func measureCallSeconds(profile: SRTPProfile, callSeconds: Int) throws -> Double {
        let encoder = try OpusEncoder(sampleRate: 8000)
        let decoder = try OpusDecoder(sampleRate: 8000)
        let browserEncoder = try OpusEncoder(sampleRate: 48000)
        let key = [UInt8](repeating: 7, count: profile.keyLength + profile.saltLength)
        let browserSide = try SRTPSession(profile: profile, masterKey: key, outbound: true)
        let gatewayInbound = try SRTPSession(profile: profile, masterKey: key, outbound: false)
        let gatewayOutbound = try SRTPSession(profile: profile, masterKey: key.reversed(), outbound: true)

        // Prepare one second of browser packets (Opus at 48 kHz, SRTP-protected) outside the timing.
        var browserPackets: [[UInt8]] = []
        var pcm48 = [Int16](repeating: 0, count: 960)
        var opus = [UInt8](repeating: 0, count: 1500)
        for n in 0..<(50 * callSeconds) {
            for i in 0..<960 { pcm48[i] = Int16(8000 * sin(2 * Double.pi * 1000 * Double(n * 960 + i) / 48000)) }
            let length = try pcm48.withUnsafeBufferPointer { pcm in try opus.withUnsafeMutableBytes { try browserEncoder.encode(pcm, into: $0) } }
            var packet = [UInt8](repeating: 0, count: 12 + length + SRTPSession.maxOverhead)
            packet[0] = 0x80; packet[1] = 111
            packet[2] = UInt8((n >> 8) & 0xFF); packet[3] = UInt8(n & 0xFF)
            packet[11] = 1
            packet.replaceSubrange(12..<12 + length, with: opus[0..<length])
            let protected = try packet.withUnsafeMutableBytes { try browserSide.protect($0, length: 12 + length) }
            browserPackets.append(Array(packet[0..<protected]))
        }

        var work = [UInt8](repeating: 0, count: 1600)
        var pcm8 = [Int16](repeating: 0, count: 160)
        var g711 = [UInt8](repeating: 0, count: 160)
        var outgoing = [UInt8](repeating: 0, count: 1600)
        let start = clock()
        for (n, packet) in browserPackets.enumerated() {
            // Browser → phone: unprotect, Opus decode at 8 kHz, µ-law encode.
            work.replaceSubrange(0..<packet.count, with: packet)
            let plain = try work.withUnsafeMutableBytes { try gatewayInbound.unprotect($0, length: packet.count) }
            _ = try work[12..<plain].withUnsafeBytes { bytes in try pcm8.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) } }
            pcm8.withUnsafeBufferPointer { pcm in g711.withUnsafeMutableBufferPointer { G711.encode(.mu, pcm, into: $0) } }
            // Phone → browser: µ-law decode, Opus encode from 8 kHz, protect.
            g711.withUnsafeBytes { bytes in pcm8.withUnsafeMutableBufferPointer { G711.decode(.mu, bytes, into: $0) } }
            let length = try pcm8.withUnsafeBufferPointer { pcm in
                try outgoing.withUnsafeMutableBytes { try encoder.encode(pcm, into: UnsafeMutableRawBufferPointer(rebasing: $0[12...])) }
            }
            outgoing[0] = 0x80; outgoing[1] = 111
            outgoing[2] = UInt8((n >> 8) & 0xFF); outgoing[3] = UInt8(n & 0xFF)
            _ = try outgoing.withUnsafeMutableBytes { try gatewayOutbound.protect($0, length: 12 + length) }
        }
        let elapsed = Double(clock() - start) / Double(CLOCKS_PER_SEC) * 1000
        return elapsed / Double(callSeconds)
    }

    /// CPU milliseconds per passthrough call-second: SRTP unprotect and protect only.
    static func measurePassthroughCallSeconds(profile: SRTPProfile, callSeconds: Int) throws -> Double {
        let key = [UInt8](repeating: 7, count: profile.keyLength + profile.saltLength)
        let browserSide = try SRTPSession(profile: profile, masterKey: key, outbound: true)
        let gatewayInbound = try SRTPSession(profile: profile, masterKey: key, outbound: false)
        let gatewayOutbound = try SRTPSession(profile: profile, masterKey: key.reversed(), outbound: true)
        let packets = try (0..<(50 * callSeconds)).map { n -> [UInt8] in
            var packet = [UInt8](repeating: 0x55, count: 12 + 160 + SRTPSession.maxOverhead)
            packet[0] = 0x80; packet[1] = 0
            packet[2] = UInt8((n >> 8) & 0xFF); packet[3] = UInt8(n & 0xFF)
            packet[11] = 1
            let protected = try packet.withUnsafeMutableBytes { try browserSide.protect($0, length: 172) }
            return Array(packet[0..<protected])
        }
        var work = [UInt8](repeating: 0, count: 1600)
        var outgoing = [UInt8](repeating: 0x55, count: 1600)
        let start = clock()
        for (n, packet) in packets.enumerated() {
            work.replaceSubrange(0..<packet.count, with: packet)
            _ = try work.withUnsafeMutableBytes { try gatewayInbound.unprotect($0, length: packet.count) }
            outgoing[0] = 0x80; outgoing[1] = 0
            outgoing[2] = UInt8((n >> 8) & 0xFF); outgoing[3] = UInt8(n & 0xFF)
            _ = try outgoing.withUnsafeMutableBytes { try gatewayOutbound.protect($0, length: 172) }
        }
        return Double(clock() - start) / Double(CLOCKS_PER_SEC) * 1000 / Double(callSeconds)
    }
}
