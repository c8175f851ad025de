import CAllocationCounter
import Codecs
import Foundation
import Media
import NIOCore
import STUN
import SecureMedia

/// What `CallMedia` sends, kept only while a call is being set up (the
/// handshake's replies); in the timed part it only counts.
final class BenchTransport: MediaTransport {
    var capturing = true
    var captured: [[UInt8]] = []
    var sent = 0

    func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: MediaSocket) {
        sent += 1
        if capturing { captured.append(Array(bytes)) }
    }

    func take() -> [[UInt8]] {
        defer { captured.removeAll() }
        return captured
    }
}

/// `calls` calls set up for real (an ICE check and a DTLS handshake with a
/// browser-side endpoint), each with `seconds` of recorded packets both ways.
struct BenchRun {
    struct Call {
        let media: CallMedia
        let transport: BenchTransport
        var browserPackets: [[UInt8]] = []
        var phonePackets: [[UInt8]] = []
    }

    struct Result {
        var cpuMillisecondsPerCallSecond: Double
        var allocationsPerPacket: Double
        var latencies: [Double]
    }

    static let browserAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 50000)
    static let phoneAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 40000)
    static let phoneRTCPAddress = try! SocketAddress(ipAddress: "127.0.0.1", port: 40001)

    var calls: [Call] = []
    let seconds: Int
    /// Heap in use once the calls were set up, and once their packets were recorded.
    private(set) var heapAfterSetup: UInt64 = 0
    private(set) var heapAfterRecording: UInt64 = 0
    private let scratch: UnsafeMutableRawBufferPointer

    init(calls count: Int, seconds: Int, profile: SRTPProfile, transcoding: Bool) throws {
        self.seconds = seconds
        scratch = .allocate(byteCount: 2048, alignment: 8)
        let gatewayCertificate = try DTLSCertificate.generate()
        let browserCertificate = try DTLSCertificate.generate()
        let configuration = MediaSessionConfiguration()
        let dtls = try DTLSContext(certificate: gatewayCertificate, profiles: [profile])
        var browserKeys: [(SRTPSession, UInt32)] = []
        for _ in 0..<count {
            let transport = BenchTransport()
            let media = CallMedia(dtls: dtls, configuration: configuration, transport: transport)
            let keys = try Self.connect(media, transport: transport, browserCertificate: browserCertificate, scratch: scratch)
            try media.installBridge(BridgeConfiguration(
                browserCodec: transcoding ? .opus : .phone(.pcmu), browserPayloadType: transcoding ? 111 : 0,
                browserTelephoneEvent: (110, 48000), phoneCodec: .pcmu, phoneTelephoneEvent: 101))
            media.setPhoneRemote(rtp: Self.phoneAddress, rtcp: Self.phoneRTCPAddress)
            calls.append(Call(media: media, transport: transport))
            browserKeys.append((keys, UInt32.random(in: 1...UInt32.max)))
        }
        heapAfterSetup = tieline_heap_in_use()
        // The recorded media: a 1 kHz tone from the browser, 440 Hz from the phone.
        let browserPayloads = try transcoding ? Self.opusFrames(seconds: seconds) : Self.pcmuFrames(seconds: seconds, hertz: 1000)
        let phonePayloads = Self.pcmuFrames(seconds: seconds, hertz: 440)
        for index in calls.indices {
            let (outbound, ssrc) = browserKeys[index]
            calls[index].browserPackets = try browserPayloads.enumerated().map { n, payload in
                try Self.packet(payloadType: transcoding ? 111 : 0, sequence: n, timestamp: n * (transcoding ? 960 : 160),
                                ssrc: ssrc, payload: payload, protectWith: outbound)
            }
            calls[index].phonePackets = try phonePayloads.enumerated().map { n, payload in
                try Self.packet(payloadType: 0, sequence: n, timestamp: n * 160, ssrc: 0xCA11_0000, payload: payload,
                                protectWith: nil)
            }
            calls[index].transport.capturing = false
        }
        heapAfterRecording = tieline_heap_in_use()
    }

    /// Plays every packet of every call, interleaved in 20 ms steps, with
    /// the 100 ms timer; the first second is warm-up, outside the figures.
    func drive(recordLatency: Bool) -> Result {
        let steps = seconds * 50
        var latencies: [Double] = []
        latencies.reserveCapacity(recordLatency ? steps : 0)
        var now = 1000.0
        var cpuStart = 0.0
        var allocationsStart: UInt64 = 0
        var packets = 0
        for step in 0..<steps {
            if step == 50 {
                cpuStart = Self.cpuSeconds()
                allocationsStart = tieline_allocation_count()
            }
            for call in calls {
                let started = recordLatency ? Self.monotonicSeconds() : 0
                deliver(call.browserPackets[step], to: call.media, from: Self.browserAddress, on: .browser, now: now)
                if recordLatency, step >= 50 { latencies.append(Self.monotonicSeconds() - started) }
                deliver(call.phonePackets[step], to: call.media, from: Self.phoneAddress, on: .phoneRTP, now: now)
                if step % 5 == 0 { call.media.tick(now: now) }
                if step >= 50 { packets += 2 }
            }
            now += 0.02
        }
        let cpu = Self.cpuSeconds() - cpuStart
        let allocations = tieline_allocation_count() - allocationsStart
        let callSeconds = Double(calls.count * (steps - 50)) / 50
        return Result(cpuMillisecondsPerCallSecond: cpu * 1000 / callSeconds,
                      allocationsPerPacket: Double(allocations) / Double(max(packets, 1)), latencies: latencies)
    }

    private func deliver(_ packet: [UInt8], to media: CallMedia, from source: SocketAddress, on socket: MediaSocket,
                         now: Double) {
        packet.withUnsafeBytes { scratch.copyMemory(from: $0) }
        media.receive(scratch, length: packet.count, from: source, on: socket, now: now)
    }

    // MARK: setup

    /// The browser's side of ICE and DTLS, in memory; returns its outbound SRTP session.
    static func connect(_ media: CallMedia, transport: BenchTransport, browserCertificate: DTLSCertificate,
                        scratch: UnsafeMutableRawBufferPointer) throws -> SRTPSession {
        let ufrag = "brws"
        try media.startBrowserLeg(BrowserTransportParameters(
            remoteUfrag: ufrag, remotePassword: String(repeating: "p", count: 22),
            remoteFingerprint: browserCertificate.fingerprint, dtlsRole: .server), now: 1000)
        let check = STUNMessage(messageClass: .request, transactionID: (0..<12).map { _ in UInt8.random(in: 0...255) },
                                attributes: [.username("\(media.iceUfrag):\(ufrag)"), .priority(2_130_706_431),
                                             .iceControlling(tieBreaker: 7), .useCandidate])
            .serialize(integrityKey: Array(media.icePassword.utf8), fingerprint: true)
        func deliver(_ datagram: [UInt8]) {
            datagram.withUnsafeBytes { scratch.copyMemory(from: $0) }
            media.receive(scratch, length: datagram.count, from: browserAddress, on: .browser, now: 1000)
        }
        deliver(check)
        _ = transport.take()
        let client = try DTLSEndpoint(role: .client, certificate: browserCertificate,
                                      remoteFingerprint: media.certificate.fingerprint)
        var flights = client.start()
        for _ in 0..<8 where !flights.isEmpty {
            flights.forEach(deliver)
            flights = transport.take().filter { (20...63).contains($0.first ?? 0) }.flatMap { client.receive($0) }
        }
        guard media.statistics().browserState == "connected", let keys = client.srtpKeys() else {
            throw BenchError("the in-memory handshake did not complete: \(media.statistics().browserState)")
        }
        return try SRTPSession(profile: keys.profile, masterKey: keys.local, outbound: true)
    }

    static func packet(payloadType: UInt8, sequence: Int, timestamp: Int, ssrc: UInt32, payload: [UInt8],
                       protectWith session: SRTPSession?) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12 + payload.count + SRTPSession.maxOverhead)
        bytes[0] = 0x80
        bytes[1] = payloadType
        bytes[2] = UInt8(truncatingIfNeeded: sequence >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: sequence)
        for i in 0..<4 {
            bytes[4 + i] = UInt8(truncatingIfNeeded: UInt32(truncatingIfNeeded: timestamp) >> (24 - 8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * i))
        }
        bytes.replaceSubrange(12..<(12 + payload.count), with: payload)
        guard let session else { return Array(bytes[0..<(12 + payload.count)]) }
        let length = try bytes.withUnsafeMutableBytes { try session.protect($0, length: 12 + payload.count) }
        return Array(bytes[0..<length])
    }

    static func opusFrames(seconds: Int) throws -> [[UInt8]] {
        let encoder = try OpusEncoder(sampleRate: 48000)
        var pcm = [Int16](repeating: 0, count: 960)
        var out = [UInt8](repeating: 0, count: 1500)
        return try (0..<(seconds * 50)).map { n in
            for i in 0..<960 { pcm[i] = Int16(8000 * sin(2 * Double.pi * 1000 * Double(n * 960 + i) / 48000)) }
            let length = try pcm.withUnsafeBufferPointer { samples in
                try out.withUnsafeMutableBytes { try encoder.encode(samples, into: $0) }
            }
            return Array(out[0..<length])
        }
    }

    static func pcmuFrames(seconds: Int, hertz: Double) -> [[UInt8]] {
        var pcm = [Int16](repeating: 0, count: 160)
        var out = [UInt8](repeating: 0, count: 160)
        return (0..<(seconds * 50)).map { n in
            for i in 0..<160 { pcm[i] = Int16(8000 * sin(2 * Double.pi * hertz * Double(n * 160 + i) / 8000)) }
            pcm.withUnsafeBufferPointer { samples in out.withUnsafeMutableBufferPointer { G711.encode(.mu, samples, into: $0) } }
            return out
        }
    }

    static func cpuSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
