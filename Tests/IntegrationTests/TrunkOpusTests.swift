import Foundation
import Records
import XCTest
@testable import Gateway

/// Opus toward a trunk that speaks it: baresip with only its opus module,
/// through Kamailio, and a trunk whose `codecs` list opus first. The
/// browser's Opus is passed through both ways (no transcoding), each side
/// hears the other's tone, and the record says so.
final class TrunkOpusTests: XCTestCase {
    static let tieline = ("tieline", "tieline-secret")
    static let bob = ("bob", "bob-secret")

    func testABrowserCallsAnOpusPhoneAndTheOpusPassesThroughBothWays() async throws {
        let kamailio = try KamailioProcess.start(users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1],
                                                 dids: ["+15550123": Self.bob.0])
        defer { kamailio.stop() }
        let phone = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: "127.0.0.1:\(kamailio.port)",
                                             codecs: ["opus/48000/2"], toneFrequency: 440, toneSampleRate: 48000)
        defer { phone.stop() }
        let fixture = try await GatewayFixture(
            trunks: [TrunkSpec(name: "kamailio", port: kamailio.port, username: Self.tieline.0, password: Self.tieline.1,
                               codecs: ["opus", "PCMU"])],
            browsers: true, routing: "{ home_country: \"1\", dids: {} }", records: "{ backend: sqlite }")
        let mark = phone.control.eventCount
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                                 "--call", "+15550123", "--duration", "4", "--hangup-after", "3"])
        XCTAssertNil(result["error"], "\(result)\n\(phone.diagnostics)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 15)
        _ = try phone.waitForCallClosed(since: mark)
        let trace = phone.read("stdout")
        XCTAssertTrue(trace.contains("m=audio") && trace.contains("RTP/AVP 111 0 101"), "our offer leads with Opus\n\(trace)")
        XCTAssertTrue(trace.contains("a=rtpmap:111 opus/48000/2"), "\(trace)")
        let heard = try WAVAudio.read(try XCTUnwrap(phone.receivedRecordings.last, "bob recorded\n\(phone.diagnostics)"))
        XCTAssertEqual(heard.sampleRate, 48000, "bob decoded Opus")
        XCTAssertEqual(Double(heard.peakFrequency(start: 1, duration: 1)), 1000, accuracy: 25, "bob hears the browser")
        await fixture.assertNothingLeft(within: 3)
        // The record names Opus on both legs: the bridge passed it through.
        let store = try XCTUnwrap(fixture.gateway.recordStore)
        var record: CallRecord?
        let deadline = Date().addingTimeInterval(10)
        repeat {
            try await store.flush()
            record = try await store.recent(limit: 5).first
            if record?.state == .ended { break }
            try await Task.sleep(for: .milliseconds(100))
        } while Date() < deadline
        XCTAssertEqual(record?.codecs, CallCodecs(browser: "opus", phone: "opus"), "\(String(describing: record))")
        await fixture.stop()
    }
}
