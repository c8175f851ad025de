import Foundation
import XCTest
@testable import Gateway

/// Tieline against SIP equipment nobody here wrote: Kamailio as registrar and
/// record-routing proxy with digest auth, baresip as a phone registered to it
/// that auto-answers, plays a 440 Hz tone and records what it hears. The
/// browser is aiortc through the WebSocket protocol (1 kHz tone). Loopback only.
final class KamailioPhoneTests: XCTestCase {
    static let tieline = ("tieline", "tieline-secret")
    static let bob = ("bob", "bob-secret")

    /// Tieline with one trunk, Kamailio; `register` binds its `tl-kamailio` contact there.
    func gateway(kamailio: KamailioProcess, register: Bool, dids: String = "{}") async throws -> GatewayFixture {
        try await GatewayFixture(
            trunks: [TrunkSpec(name: "kamailio", port: kamailio.port, username: Self.tieline.0, password: Self.tieline.1,
                               register: register)],
            browsers: true, routing: "{ home_country: \"1\", dids: \(dids) }")
    }

    func testTielineRegistersWithMD5AndSHA256Challenges() async throws {
        for algorithm in [KamailioProcess.DigestAlgorithm.md5, .sha256] {
            let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1], algorithm: algorithm)
            defer { kamailio.stop() }
            let fixture = try await gateway(kamailio: kamailio, register: true)
            let line = try kamailio.waitForRegistration(user: Self.tieline.0)
            XCTAssertTrue(line.contains("sip:tl-kamailio@127.0.0.1:\(fixture.udpPort)"),
                          "\(algorithm): the registration's own contact: \(line)\n\(kamailio.diagnostics)")
            // Kamailio 5.6 challenges and checks with one algorithm per instance: a
            // binding here means Tieline answered that algorithm's challenge.
            await fixture.stop()
            _ = try? kamailio.waitForLog(containing: "unregistered sip:\(Self.tieline.0)@")
        }
    }

    func testABrowserCallsThePhoneThroughKamailioWithAudioBothWaysAndHangsUp() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550123": Self.bob.0])
        defer { kamailio.stop() }
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000)
        defer { phone.stop() }
        let fixture = try await gateway(kamailio: kamailio, register: false)
        let mark = phone.control.eventCount
        // The INVITE meets Kamailio's 407, is answered with the trunk's credentials, record-routed and retargeted.
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                                 "--call", "+15550123", "--duration", "4", "--hangup-after", "3"])
        XCTAssertNil(result["error"], "\(result)\n\(kamailio.diagnostics)\n\(phone.diagnostics)")
        XCTAssertEqual(BrowserPhone.messageTypes(result).filter { $0 == "answered" }.count, 1, "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 15)
        // The browser hung up: baresip saw the BYE through the proxy.
        let closed = try phone.waitForCallClosed(since: mark)
        XCTAssertNotNil(closed.type, "\(phone.diagnostics)")
        let heard = try XCTUnwrap(phone.receivedRecordings.last, "baresip recorded the call\n\(phone.diagnostics)")
        let audio = try WAVAudio.read(heard)
        XCTAssertEqual(Double(audio.peakFrequency(start: 1, duration: 1)), 1000, accuracy: 25,
                       "the phone heard the browser's tone")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    func testThePhoneCallsTheBrowserUsersDIDThroughTheRetargetHoldsResumesAndHangsUp() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550100": Self.tieline.0])
        defer { kamailio.stop() }
        let fixture = try await gateway(kamailio: kamailio, register: true, dids: #"{ "+15550100": alice }"#)
        _ = try kamailio.waitForRegistration(user: Self.tieline.0)
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000)
        defer { phone.stop() }
        // The browser answers whatever rings, for 7 s.
        async let browser = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                              "--answer", "--duration", "7"])
        for _ in 0..<100 where fixture.gateway.connectionCount(of: "alice") == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let capture = try RTPArrivals.start(rtpTo: phone.rtpPort, seconds: 9)
        let mark = phone.control.eventCount
        // The registrar rewrites the Request-URI to Tieline's contact; the number is only in To.
        try phone.dial("+15550100", timeout: 15)
        try await Task.sleep(for: .milliseconds(1500))
        let holdStarted = Date()
        try phone.hold()
        try await Task.sleep(for: .milliseconds(1500))
        try phone.resume()
        let resumed = Date()
        try await Task.sleep(for: .milliseconds(1500))
        try phone.hangup()
        let result = try await browser
        XCTAssertNil(result["error"], "\(result)")
        XCTAssertNotNil(result["incoming"], "the DID rang alice: \(result)\n\(kamailio.diagnostics)")
        XCTAssertEqual((result["ended"] as? [String: Any])?["code"] as? Int, 200, "the phone hung up: \(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 15)
        _ = mark
        // RFC 3264 §8: Tieline's SDP toward the phone is version 1, 2 (hold answered), 3 (resumed).
        let trace = phone.read("stdout")
        let versions = trace.matches(of: /o=tieline \d+ (\d+) IN/).map { Int($0.1)! }
        XCTAssertEqual(versions.reduce(into: [Int]()) { if $0.last != $1 { $0.append($1) } }, [1, 2, 3],
                       "o= versions seen by the phone\n\(trace)")
        XCTAssertTrue(trace.contains("a=recvonly"), "the hold answered recvonly")
        // No RTP toward the held phone; RTP again after the resume.
        let packets = capture.finishPackets()
        let arrivals = packets.map(\.time)
        let heldWindow = (holdStarted.timeIntervalSince1970 + 0.3)...(resumed.timeIntervalSince1970 - 0.3)
        XCTAssertGreaterThan(arrivals.count, 50, "RTP reached the phone at all")
        XCTAssertEqual(arrivals.filter { heldWindow.contains($0) }.count, 0, "RTP kept flowing to a held phone")
        let afterResume = packets.filter { $0.time > resumed.timeIntervalSince1970 + 0.3 }
        XCTAssertGreaterThan(afterResume.count, 20, "RTP flows again after the resume")
        // baresip records nothing after its own hold, so the audio after the
        // resume is read from the wire: the browser's tone, as PCMU.
        XCTAssertEqual(Double(WAVAudio(pcmu: afterResume.map(\.payload)).peakFrequency(start: 0, duration: 0.8)), 1000,
                       accuracy: 25, "the phone hears the browser's tone after the resume")
        // And the phone's tone still reaches the browser at the end of the call, after the resume.
        let lastSecond = try XCTUnwrap(result["browser_rx_last_second"] as? [String: Any], "\(result)")
        XCTAssertEqual((lastSecond["peak_hz"] as? NSNumber)?.doubleValue ?? 0, 440, accuracy: 15,
                       "the browser hears the phone after the resume: \(lastSecond)")
        let heard = try XCTUnwrap(phone.receivedRecordings.last, "baresip recorded the call")
        XCTAssertEqual(Double(try WAVAudio.read(heard).peakFrequency(start: 0.4, duration: 0.8)), 1000, accuracy: 25,
                       "the phone heard the browser's tone before the hold")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    /// `dtmf: info` toward a real phone: the browser's digits reach baresip
    /// as SIP INFO `application/dtmf-relay` through the record-routing
    /// proxy, and baresip (which reads INFO digits, RFC 2976 style) reports
    /// each as a DTMF event of its own.
    func testTheBrowsersDigitsReachThePhoneAsSIPInfoThroughTheProxy() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550123": Self.bob.0])
        defer { kamailio.stop() }
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000)
        defer { phone.stop() }
        let fixture = try await GatewayFixture(
            trunks: [TrunkSpec(name: "kamailio", port: kamailio.port, username: Self.tieline.0, password: Self.tieline.1,
                               dtmf: "info")],
            browsers: true, routing: "{ home_country: \"1\", dids: {} }")
        let mark = phone.control.eventCount
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                                 "--call", "+15550123", "--dtmf-to-phone", "19#", "--dtmf-delay", "1",
                                                 "--duration", "4", "--hangup-after", "3.5"])
        XCTAssertNil(result["error"], "\(result)\n\(phone.diagnostics)")
        _ = try phone.waitForCallClosed(since: mark)
        let trace = phone.read("stdout")
        let infos = trace.components(separatedBy: "INFO sip:").count - 1
        XCTAssertEqual(infos, 3, "one INFO per digit reached the phone\n\(trace)")
        for digit in ["1", "9", "#"] {
            XCTAssertTrue(trace.contains("Signal=\(digit)"), "Signal=\(digit) in an INFO\n\(trace)")
        }
        XCTAssertTrue(trace.contains("application/dtmf-relay"), "\(trace)")
        let started = try phone.control.waitForEvent("CALL_DTMF_START", since: mark, timeout: 1)
        XCTAssertEqual(started.param, "1", "baresip took the first digit: \(started)")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    /// The browser's blind transfer carried out by a real phone: alice talks
    /// to bob (baresip, through Kamailio) and transfers him to +15550124;
    /// the dialplan routes it to the call's own trunk, bob gets our REFER
    /// (through the proxy, record-routed), accepts it and calls carol
    /// (another baresip) himself; his NOTIFY of the answer ends alice's
    /// call as `transferred`, and bob and carol hear each other's tones.
    func testABrowserTransfersItsCallAndThePhoneCallsTheTarget() async throws {
        let carol = ("carol", "carol-secret")
        let kamailio = try KamailioProcess.start(
            users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1, carol.0: carol.1],
            dids: ["+15550123": Self.bob.0, "+15550124": carol.0])
        defer { kamailio.stop() }
        let bob = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                           codecs: ["PCMU"], toneFrequency: 440, toneSampleRate: 8000, calls: 2)
        defer { bob.stop() }
        let carolPhone = try BaresipProcess.start(user: carol.0, password: carol.1,
                                                  registrar: "127.0.0.1:\(kamailio.port)",
                                                  codecs: ["PCMU"], toneFrequency: 660, toneSampleRate: 8000)
        defer { carolPhone.stop() }
        let fixture = try await gateway(kamailio: kamailio, register: false)
        let carolMark = carolPhone.control.eventCount
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                                 "--call", "+15550123", "--transfer-to", "+15550124",
                                                 "--transfer-at", "2", "--duration", "10"])
        XCTAssertNil(result["error"], "\(result)\n\(kamailio.diagnostics)\n\(bob.diagnostics)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(types.filter { ["answered", "transferred", "hangup", "error"].contains($0) },
                       ["answered", "transferred", "hangup"], "\(types)\n\(bob.diagnostics)")
        XCTAssertEqual((result["ended"] as? [String: Any])?["reason"] as? String, "transferred", "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 15)
        // Bob called carol on his own: her phone answered that call.
        _ = try carolPhone.waitForCallEstablished(since: carolMark, timeout: 10)
        let bobTrace = bob.read("stdout")
        XCTAssertTrue(bobTrace.contains("REFER sip:") || bobTrace.contains("REFER "), "bob got the REFER\n\(bobTrace)")
        XCTAssertTrue(bobTrace.contains("+15550124@127.0.0.1:\(kamailio.port)"), "Refer-To names the trunk\n\(bobTrace)")
        try await Task.sleep(for: .milliseconds(2000))
        try carolPhone.hangup()
        _ = try carolPhone.waitForCallClosed(since: carolMark, timeout: 10)
        let heard = try XCTUnwrap(carolPhone.receivedRecordings.last, "carol recorded the call\n\(carolPhone.diagnostics)")
        XCTAssertEqual(Double(try WAVAudio.read(heard).peakFrequency(start: 0.5, duration: 1)), 440, accuracy: 25,
                       "carol hears bob, not the gateway")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }
}

/// When datagrams reach a UDP port on loopback, from tshark, and with
/// `start(rtpTo:)` their RTP payloads too.
final class RTPArrivals: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()

    static func start(port: Int, seconds: Int) throws -> RTPArrivals {
        try start(filter: "udp and dst port \(port)", seconds: seconds)
    }

    /// Datagrams matching a capture filter (pcap-filter syntax).
    static func start(filter: String, seconds: Int, extra: [String] = [],
                      fields: [String] = ["frame.time_epoch"]) throws -> RTPArrivals {
        let capture = RTPArrivals()
        capture.process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        capture.process.arguments = ["-i", "lo", "-f", filter, "-a", "duration:\(seconds)"] + extra
            + ["-T", "fields"] + fields.flatMap { ["-e", $0] } + ["-l", "-q"]
        capture.process.standardOutput = capture.output
        capture.process.standardError = FileHandle.nullDevice
        try capture.process.run()
        Thread.sleep(forTimeInterval: 1.0)  // tshark needs a moment before it captures
        return capture
    }

    /// RTP to `port`, decoded as such, with each packet's payload.
    static func start(rtpTo port: Int, seconds: Int) throws -> RTPArrivals {
        try start(filter: "udp and dst port \(port)", seconds: seconds, extra: ["-d", "udp.port==\(port),rtp"],
                  fields: ["frame.time_epoch", "rtp.payload"])
    }

    /// Stops the capture and returns the arrival times (seconds since 1970).
    func finish() -> [Double] { finishLines().compactMap { Double($0.first ?? "") } }

    /// Stops the capture: each RTP packet's arrival time and payload.
    func finishPackets() -> [(time: Double, payload: [UInt8])] {
        finishLines().compactMap { fields in
            guard fields.count == 2, let time = Double(fields[0]) else { return nil }
            // Hex digits, run together (tshark 3.x and later) or colon-separated.
            let hex = Array(fields[1].filter(\.isHexDigit).utf8)
            let payload = stride(from: 0, to: hex.count - 1, by: 2).compactMap {
                UInt8(String(decoding: hex[$0...($0 + 1)], as: UTF8.self), radix: 16)
            }
            return payload.isEmpty ? nil : (time, payload)
        }
    }

    private func finishLines() -> [[String]] {
        if process.isRunning { process.interrupt() }
        // Bounded: Foundation may report an exited child as running for a while.
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }
}

extension WAVAudio {
    /// G.711 µ-law payloads (ITU-T G.711), one after another, at 8 kHz.
    init(pcmu payloads: [[UInt8]]) {
        self.init(sampleRate: 8000, samples: payloads.joined().map { byte in
            let u = ~byte
            let magnitude = ((Int(u & 0x0F) << 3) + 0x84) << Int((u & 0x70) >> 4)
            return Int16(u & 0x80 != 0 ? 0x84 - magnitude : magnitude - 0x84)
        })
    }
}
