import Codecs
import Foundation
import XCTest
@testable import Gateway

/// SIP ⇄ SIP through the dialplan (an SBC-style bridge) with real phones:
/// bob (baresip, PCMU only, 440 Hz) calls Tieline's DID through Kamailio;
/// the script relays the call back out through that trunk to carol's DID
/// (another baresip, PCMA only, 660 Hz). The media is anchored in the
/// gateway and transcoded between the two laws; each phone must hear the
/// other's tone. Without `relay = true` the same script is refused 403:
/// a call from a trunk never goes out again on its own.
final class RelayTests: XCTestCase {
    static let tieline = ("tieline", "tieline-secret")
    static let bob = ("bob", "bob-secret")
    static let carol = ("carol", "carol-secret")

    func testATrunkCallRelayedToAnotherPhoneHasAudioBothWaysAndEndsOnBothSides() async throws {
        try await withRelay(allowed: true) { kamailio, fixture, bob, carol in
            let carolMark = carol.control.eventCount
            let bobMark = bob.control.eventCount
            try bob.dial("+15550100", timeout: 15)
            _ = try carol.waitForCallEstablished(since: carolMark, timeout: 10)
            try await Task.sleep(for: .milliseconds(3000))
            try bob.hangup()
            _ = try bob.waitForCallClosed(since: bobMark, timeout: 10)
            // Bob's BYE reached carol as the gateway's BYE on the other dialog.
            let closed = try carol.waitForCallClosed(since: carolMark, timeout: 10)
            XCTAssertNotNil(closed.type, carol.diagnostics)
            let carolHeard = try XCTUnwrap(carol.receivedRecordings.last, "carol recorded the call\n\(carol.diagnostics)")
            XCTAssertEqual(Double(try WAVAudio.read(carolHeard).peakFrequency(start: 1, duration: 1)), 440, accuracy: 25,
                           "carol (PCMA) hears bob (PCMU)")
            let bobHeard = try XCTUnwrap(bob.receivedRecordings.last, "bob recorded the call\n\(bob.diagnostics)")
            XCTAssertEqual(Double(try WAVAudio.read(bobHeard).peakFrequency(start: 1, duration: 1)), 660, accuracy: 25,
                           "bob (PCMU) hears carol (PCMA)")
            // The two laws met in the gateway: carol was offered bob's PCMU first and answered PCMA.
            let carolTrace = carol.read("stdout")
            XCTAssertTrue(carolTrace.contains("m=audio") && carolTrace.contains("RTP/AVP 0 8"),
                          "carol's offer leads with the caller's codec\n\(carolTrace)")
            await fixture.assertNothingLeft(within: 3)
        }
    }

    /// G.722 on both phones: both legs agree on G.722 and the relay passes
    /// it through untouched (baresip 1.0's own G.722 path is band-limited
    /// to 4 kHz, so the tones stay below that; what is shown is G.722 end
    /// to end, decoded at 16 kHz on each side).
    func testG722BetweenTwoG722PhonesPassesThroughEndToEnd() async throws {
        try await withRelay(allowed: true, bob: Phone(codec: "G722/16000/1", tone: 1200, rate: 16000),
                            carol: Phone(codec: "G722/16000/1", tone: 900, rate: 16000)) { _, fixture, bob, carol in
            let carolMark = carol.control.eventCount
            let bobMark = bob.control.eventCount
            try bob.dial("+15550100", timeout: 15)
            _ = try carol.waitForCallEstablished(since: carolMark, timeout: 10)
            try await Task.sleep(for: .milliseconds(3000))
            try bob.hangup()
            _ = try bob.waitForCallClosed(since: bobMark, timeout: 10)
            _ = try carol.waitForCallClosed(since: carolMark, timeout: 10)
            let carolHeard = try WAVAudio.read(try XCTUnwrap(carol.receivedRecordings.last, carol.diagnostics))
            XCTAssertEqual(carolHeard.sampleRate, 16000, "carol decoded G.722")
            XCTAssertEqual(Double(carolHeard.peakFrequency(start: 1, duration: 1)), 1200, accuracy: 30,
                           "carol hears bob's tone")
            let bobHeard = try WAVAudio.read(try XCTUnwrap(bob.receivedRecordings.last, bob.diagnostics))
            XCTAssertEqual(bobHeard.sampleRate, 16000, "bob decoded G.722")
            XCTAssertEqual(Double(bobHeard.peakFrequency(start: 1, duration: 1)), 900, accuracy: 30,
                           "bob hears carol's tone")
            let carolTrace = carol.read("stdout")
            XCTAssertTrue(carolTrace.contains("RTP/AVP 9 101"), "carol is offered bob's G.722 alone\n\(carolTrace)")
            await fixture.assertNothingLeft(within: 3)
        }
    }

    /// A PBX that calls without SDP and requires 100rel (sipp), relayed to
    /// a SIP URI (sipp answering): the callee is offered our codecs, its
    /// answer makes our offer in the PBX's 200, the PBX's ACK answers it.
    /// Both phones are sockets of this test: the PBX's sends 440 Hz to the
    /// port our offer named, the callee's answers 660 Hz to wherever the
    /// relayed RTP came from; each must hear the other.
    func testALateOfferFromAPBXIsRelayedWithAudioBothWays() async throws {
        let calleePort = try freeUDPAndTCPPort()
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-relay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("relay.lua").path
        try """
            local r = call:bridge("sip:2001@127.0.0.1:" .. variables.callee_port, {relay = true})
            if not r.ok then call:hangup(r.code, r.reason) end

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script,
                                               routing: "{ home_country: \"1\", variables: { callee_port: \"\(calleePort)\" } }")
        let callerPhone = try UDPProbe(), calleePhone = try UDPProbe()
        let callee = try SippProcess.uas(port: calleePort, scenario: scenarioPath("uas_answer_phone"),
                                         extraArgs: ["-key", "phone_port", "\(calleePhone.port)", "-key", "hangup_ms", "0"])
        let pbx = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                      scenario: scenarioPath("uac_late_offer_100rel"), durationMilliseconds: 4000,
                                      extraArgs: ["-s", "+15550100", "-key", "phone_port", "\(callerPhone.port)"])
        // Our offer in the 200, as the PBX logged it, names the caller's port.
        var offeredPort: Int?
        for _ in 0..<100 where offeredPort == nil {
            try await Task.sleep(for: .milliseconds(50))
            offeredPort = pbx.actionLog.firstMatch(of: #/offer: m=audio (\d+) /#).flatMap { Int($0.1) }
        }
        let gatewayPort = try XCTUnwrap(offeredPort, "the PBX got our offer\n\(pbx.diagnostics)")
        var toCallee = ToneStream(frequency: 440), toCaller = ToneStream(frequency: 660)
        var heardByCallee: [[UInt8]] = [], heardByCaller: [[UInt8]] = []
        var calleeReplyPort: Int?
        for _ in 0..<150 {
            callerPhone.send(toCallee.next(), toPort: gatewayPort)
            if let port = calleeReplyPort { calleePhone.send(toCaller.next(), toPort: port) }
            try await Task.sleep(for: .milliseconds(20))
            while let packet = calleePhone.receiveFrom(timeout: 0) {
                calleeReplyPort = packet.port
                heardByCallee.append(Array(packet.bytes.dropFirst(12)))
            }
            while let packet = callerPhone.receiveFrom(timeout: 0) { heardByCaller.append(Array(packet.bytes.dropFirst(12))) }
        }
        XCTAssertGreaterThan(heardByCallee.count, 100, "the callee's phone got the PBX's RTP")
        XCTAssertGreaterThan(heardByCaller.count, 80, "the PBX's phone got the callee's RTP")
        XCTAssertEqual(Double(WAVAudio(pcmu: heardByCallee).peakFrequency(start: 0.5, duration: 1)), 440, accuracy: 20)
        XCTAssertEqual(Double(WAVAudio(pcmu: heardByCaller).peakFrequency(start: 0.5, duration: 1)), 660, accuracy: 20)
        let pbxStatus = try await pbx.wait(timeout: 20)
        XCTAssertEqual(pbxStatus, 0, "the PBX: reliable 180, our offer, its BYE answered\n\(pbx.diagnostics)")
        XCTAssertTrue(pbx.actionLog.contains("reliable 180: RSeq"), pbx.diagnostics)
        let calleeStatus = try await callee.wait(timeout: 10)
        XCTAssertEqual(calleeStatus, 0, "the callee got our BYE\n\(callee.diagnostics)")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }

    func testWithoutRelayTheScriptsBridgeToATrunkIsRefused403() async throws {
        try await withRelay(allowed: false) { kamailio, fixture, bob, carol in
            let carolMark = carol.control.eventCount
            XCTAssertThrowsError(try bob.dial("+15550100", timeout: 15)) { error in
                XCTAssertTrue("\(error)".contains("403"), "bob hears 403: \(error)\n\(bob.diagnostics)")
            }
            XCTAssertThrowsError(try carol.waitForCallEstablished(since: carolMark, timeout: 2),
                                 "no INVITE went out to carol")
            await fixture.assertNothingLeft(within: 3)
        }
    }

    /// A PCMU tone as RTP, 20 ms a packet.
    struct ToneStream {
        let frequency: Double
        var sequence: UInt16 = 1
        var sample = 0
        let ssrc = UInt32.random(in: 1...UInt32.max)

        init(frequency: Double) { self.frequency = frequency }

        mutating func next() -> [UInt8] {
            let pcm = (0..<160).map { i in
                Int16(8000 * sin(2 * Double.pi * frequency * Double(sample + i) / 8000))
            }
            var packet: [UInt8] = [0x80, 0, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
            let timestamp = UInt32(truncatingIfNeeded: sample)
            packet += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: timestamp >> $0) }
            packet += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: ssrc >> $0) }
            var payload = [UInt8](repeating: 0, count: 160)
            pcm.withUnsafeBufferPointer { source in
                payload.withUnsafeMutableBufferPointer { G711.encode(.mu, source, into: $0) }
            }
            sequence &+= 1
            sample += 160
            return packet + payload
        }
    }

    struct Phone {
        var codec: String
        var tone: Double
        var rate = 8000
    }

    /// Kamailio with the three accounts and both DIDs, Tieline registered as
    /// `tieline` with a script that relays calls from the `kamailio` trunk to
    /// +15550124 (with or without `relay = true`), bob and carol registered.
    private func withRelay(allowed: Bool, bob bobPhone: Phone = Phone(codec: "PCMU", tone: 440),
                           carol carolPhone: Phone = Phone(codec: "PCMA", tone: 660),
                           _ body: (KamailioProcess, GatewayFixture, BaresipProcess, BaresipProcess) async throws -> Void)
        async throws {
        let kamailio = try KamailioProcess.start(
            users: [Self.tieline.0: Self.tieline.1, Self.bob.0: Self.bob.1, Self.carol.0: Self.carol.1],
            dids: ["+15550100": Self.tieline.0, "+15550124": Self.carol.0])
        defer { kamailio.stop() }
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-relay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("relay.lua").path
        try """
            if call.direction == "trunk" and call.trunk == "kamailio" then
              local r = call:bridge("trunk:kamailio", {number = "+15550124", relay = \(allowed)})
              if not r.ok then call:hangup(r.code, r.reason) end
            end

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(
            trunks: [TrunkSpec(name: "kamailio", port: kamailio.port, username: Self.tieline.0,
                               password: Self.tieline.1, register: true)],
            browsers: true, dialplan: script, routing: "{ home_country: \"1\" }")
        _ = try kamailio.waitForRegistration(user: Self.tieline.0)
        let registrar = "127.0.0.1:\(kamailio.port)"
        let bob = try BaresipProcess.start(user: Self.bob.0, password: Self.bob.1, registrar: registrar,
                                           codecs: [bobPhone.codec], toneFrequency: bobPhone.tone,
                                           toneSampleRate: bobPhone.rate)
        defer { bob.stop() }
        let carol = try BaresipProcess.start(user: Self.carol.0, password: Self.carol.1, registrar: registrar,
                                             codecs: [carolPhone.codec], toneFrequency: carolPhone.tone,
                                             toneSampleRate: carolPhone.rate)
        defer { carol.stop() }
        try await body(kamailio, fixture, bob, carol)
        await fixture.stop()
    }
}
