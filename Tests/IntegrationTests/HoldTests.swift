import Foundation
import XCTest

/// The browser holds a call to a trunk and resumes it (docs/signaling.md,
/// `hold`/`unhold`): sipp checks the re-INVITEs (sendonly, then sendrecv, the
/// o= version rising), and the test's RTP phone must hear the browser's 1 kHz,
/// then the configured hold music (a 700 Hz WAV file), then the browser again.
final class BrowserHoldTests: XCTestCase {
    func testTheBrowserHoldsTheTrunkHearsTheMusicFileThenTheBrowserAgain() async throws {
        let music = FileManager.default.temporaryDirectory.appendingPathComponent("hold-\(UUID().uuidString).wav")
        try Self.wav(hertz: 700, seconds: 1).write(to: music)
        defer { try? FileManager.default.removeItem(at: music) }
        let trunkPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunkPort)], browsers: true, holdMusic: music.path)
        let phonePort = freePort(udp: true)
        let sipp = try SippProcess.uas(port: trunkPort, scenario: scenarioPath("uas_held_by_browser"),
                                       extraArgs: ["-key", "phone_port", "\(phonePort)"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password",
                                                 "alice-secret", "--phone-port", "\(phonePort)", "--call", "+49301234567",
                                                 "--hold-at", "1.5", "--unhold-at", "4", "--hangup-after", "6"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(types.filter { ["answered", "held", "unheld"].contains($0) }, ["answered", "held", "unheld"],
                       "\(types)")
        BrowserPhone.assertTone(result, "phone_rx_before_hold", hertz: 1000, tolerance: 20)
        BrowserPhone.assertTone(result, "phone_rx_held", hertz: 700, tolerance: 15)
        BrowserPhone.assertTone(result, "phone_rx_resumed", hertz: 1000, tolerance: 20)
        BrowserPhone.assertTone(result, "browser_rx_last_second", hertz: 440, tolerance: 10)
        let held = result["phone_rx_held"] as? [String: Any]
        XCTAssertEqual(held?["ssrcs"] as? [Int], (result["phone_rx_before_hold"] as? [String: Any])?["ssrcs"] as? [Int],
                       "the music comes in the call's own RTP stream")
        let status = try await sipp.wait(timeout: 15)
        XCTAssertEqual(status, 0, "the trunk saw sendonly then sendrecv re-INVITEs:\n\(sipp.diagnostics)")
        XCTAssertTrue(sipp.actionLog.contains("held: a=sendonly"), sipp.diagnostics)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A WAV file of 16-bit mono PCM at 8 kHz with a sine.
    static func wav(hertz: Double, seconds: Double) -> Data {
        let count = Int(8000 * seconds)
        var data = Data()
        func append32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { data.append(contentsOf: $0) } }
        func append16(_ value: Int) { withUnsafeBytes(of: UInt16(value).littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8))
        append32(36 + 2 * count)
        data.append(contentsOf: Array("WAVEfmt ".utf8))
        append32(16)
        append16(1)
        append16(1)
        append32(8000)
        append32(16000)
        append16(2)
        append16(16)
        data.append(contentsOf: Array("data".utf8))
        append32(2 * count)
        for index in 0..<count {
            let sample = Int16(8000 * sin(2 * Double.pi * hertz * Double(index) / 8000))
            append16(Int(UInt16(bitPattern: sample)))
        }
        return data
    }
}
