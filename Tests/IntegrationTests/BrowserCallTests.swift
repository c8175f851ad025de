import Foundation
import Gateway
import XCTest

/// Whole calls through the gateway with real peers on both sides: an aiortc
/// browser that logs in over WSS (signaling-protocol.md) and sipp as the
/// trunk, with an RTP phone socket of the test peer behind sipp's SDP. The
/// browser sends 1 kHz and the phone 440 Hz; each side must hear the other's
/// tone, and every ending must leave nothing behind.
final class BrowserCallTests: XCTestCase {
    func testBrowserCallsTheTrunkHearsItAndHangsUp() async throws {
        let trunkPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunkPort)], browsers: true)
        let phonePort = freePort(udp: true)
        let sipp = try SippProcess.uas(port: trunkPort, scenario: scenarioPath("uas_answer_phone"),
                                       extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "+15551234567", "--hangup-after", "3"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(types.first, "welcome")
        XCTAssertEqual(Array(types.dropFirst().prefix(1)), ["trying"], "\(types)")
        XCTAssertTrue(types.contains("answered"), "\(types)")
        XCTAssertFalse(types.contains("hangup"), "the browser's own hangup is not acknowledged: \(types)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        let status = try await sipp.wait(timeout: 15)
        XCTAssertEqual(status, 0, "the trunk saw the call fail:\n\(sipp.diagnostics)")
        // The browser's hangup ended both legs (its BYE reached sipp) well within a second.
        await fixture.assertNothingLeft(within: 1)
        await fixture.stop()
    }

    func testTheTrunkHangsUpAndTheBrowserIsTold() async throws {
        let trunkPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunkPort)], browsers: true)
        let phonePort = freePort(udp: true)
        let sipp = try SippProcess.uas(port: trunkPort, scenario: scenarioPath("uas_answer_phone"),
                                       extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "3000"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "0301234567"])
        XCTAssertNil(result["error"], "\(result)")
        let ended = result["ended"] as? [String: Any]
        XCTAssertEqual(ended?["type"] as? String, "hangup", "\(result)")
        XCTAssertEqual(ended?["code"] as? Int, 200, "a normal hang-up by the far end is 200: \(result)")
        if let after = result["hangup_received_after_answer_s"] as? Double {
            XCTAssertEqual(after, 3.0, accuracy: 1.0, "the BYE came 3 s after the ACK")
        }
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        let status = try await sipp.wait(timeout: 15)
        XCTAssertEqual(status, 0, "\(sipp.diagnostics)")
        await fixture.assertNothingLeft(within: 1)
        await fixture.stop()
    }

    func testTheTrunkCallsABrowserUserWhoAnswers() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)], browsers: true)
        let phonePort = freePort(udp: true)
        async let browser = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                              "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                              "--answer"])
        // The browser is logged in before the call comes.
        try await waitForLogin(fixture)
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                       scenario: scenarioPath("uac_call_phone"), durationMilliseconds: 3000,
                                       extraArgs: ["-s", "alice", "-key", "phone_port", "\(phonePort)"])
        let result = try await browser
        XCTAssertNil(result["error"], "\(result)")
        let incoming = result["incoming"] as? [String: Any]
        XCTAssertEqual(incoming?["from"] as? String, "+15550001111")
        XCTAssertEqual(incoming?["fromName"] as? String, "Bob")
        XCTAssertEqual(incoming?["to"] as? String, "alice")
        XCTAssertTrue((incoming?["call"] as? String)?.hasPrefix("in-") ?? false, "\(String(describing: incoming))")
        let ended = result["ended"] as? [String: Any]
        XCTAssertEqual(ended?["code"] as? Int, 200, "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "\(sipp.diagnostics)")
        await fixture.assertNothingLeft(within: 1)
        await fixture.stop()
    }

    private func waitForLogin(_ fixture: GatewayFixture) async throws {
        for _ in 0..<200 {
            if fixture.gateway.loggedInUsers.contains("alice") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("the browser did not log in")
    }
}

/// `Tests/WebRTCTests/Peers/browser_phone.py` through the venv `make test` makes.
enum BrowserPhone {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func run(_ arguments: [String], timeout: TimeInterval = 90) async throws -> [String: Any] {
        let python = ProcessInfo.processInfo.environment["TIELINE_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw BrowserPhoneError("no Python with aiortc at \(python): `make test` creates the venv")
        }
        let script = root.appendingPathComponent("Tests/WebRTCTests/Peers/browser_phone.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let collected = OutputCollector(output: output, errors: errors)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            process.terminate()
            throw BrowserPhoneError("the browser peer did not finish in \(timeout) s: \(collected.errorText)")
        }
        let text = collected.outputText
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{\"result\"") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let result = object["result"] as? [String: Any] else {
            throw BrowserPhoneError("the browser peer printed no result: \(text)\n\(collected.errorText)")
        }
        return result
    }

    static func messageTypes(_ result: [String: Any]) -> [String] {
        (result["signaling"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
    }

    static func assertTone(_ result: [String: Any], _ key: String, hertz: Double, tolerance: Double,
                           file: StaticString = #filePath, line: UInt = #line) {
        let analysis = result[key] as? [String: Any]
        guard let peak = analysis?["peak_hz"] as? Double else {
            return XCTFail("\(key): no tone heard: \(String(describing: analysis))", file: file, line: line)
        }
        XCTAssertEqual(peak, hertz, accuracy: tolerance, "\(key): \(String(describing: analysis))", file: file, line: line)
        let share = analysis?["energy_share"] as? Double ?? 0
        XCTAssertGreaterThan(share, 0.8, "\(key): the tone is most of the energy: \(String(describing: analysis))",
                             file: file, line: line)
        let level = analysis?["level_dbfs"] as? Double ?? -120
        XCTAssertGreaterThan(level, -20, "\(key): the tone arrives at a usable level", file: file, line: line)
    }
}

struct BrowserPhoneError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads a child's stdout and stderr as they come, so neither pipe fills up.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var output = Data()
    private var errors = Data()

    init(output: Pipe, errors: Pipe) {
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.output.append(data) }
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.errors.append(data) }
        }
    }

    var outputText: String { lock.withLock { String(decoding: output, as: UTF8.self) } }
    var errorText: String { lock.withLock { String(decoding: errors.suffix(6000), as: UTF8.self) } }
}
