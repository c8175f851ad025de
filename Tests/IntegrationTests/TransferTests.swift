import Foundation
import XCTest

/// A dialplan script in a fresh temporary directory, which the caller removes.
private func temporaryDialplan(_ lua: String) throws -> (directory: URL, script: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-transfer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let script = directory.appendingPathComponent("dialplan.lua").path
    try lua.write(toFile: script, atomically: true, encoding: .utf8)
    return (directory, script)
}

/// 2001 goes to the PBX, 2002 to the transfer target, anything else is refused.
private let pbxAndTargetDialplan = """
    if call.to == "2001" then
      call:bridge("sip:2001@127.0.0.1:" .. variables.pbx_port)
    elseif call.to == "2002" then
      call:bridge("sip:2002@127.0.0.1:" .. variables.target_port)
    else
      call:hangup(403, "not from here")
    end

    """

/// A PBX transfers the browser's call blind (REFER, RFC 3515): sipp answers
/// alice's call with media toward a port nobody listens on, then REFERs her
/// to 2002, which the dialplan (run as alice's own call) sends to a second
/// sipp whose SDP names the test's RTP phone. The PBX sees 202 and the
/// sipfrag NOTIFYs, ending with 200, and our BYE; the phone behind the new
/// far end hears the browser's 1 kHz and the browser hears its 440 Hz,
/// while the browser was told nothing and its SDP never changed.
final class BlindTransferTests: XCTestCase {
    func testAPBXTransfersTheBrowserToANumberTheDialplanRoutes() async throws {
        let pbxPort = try freeUDPAndTCPPort()
        let targetPort = try freeUDPAndTCPPort()
        let (scripts, script) = try temporaryDialplan(pbxAndTargetDialplan)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let routing = "{ home_country: \"49\", variables: { pbx_port: \"\(pbxPort)\", target_port: \"\(targetPort)\" } }"
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script, routing: routing)
        let phonePort = freePort(udp: true)
        let pbx = try SippProcess.uas(port: pbxPort, scenario: scenarioPath("uas_refer"),
                                      extraArgs: ["-key", "silent_port", "\(freePort(udp: true))", "-key", "refer_to", "2002"])
        let target = try SippProcess.uas(port: targetPort, scenario: scenarioPath("uas_answer_phone"),
                                         extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "2001", "--hangup-after", "5"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(types.filter { ["answered", "progress", "hangup"].contains($0) }, ["answered"],
                       "the browser hears of no change: \(types)")
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        BrowserPhone.assertTone(result, "browser_rx_last_second", hertz: 440, tolerance: 10)
        let pbxStatus = try await pbx.wait(timeout: 15)
        XCTAssertEqual(pbxStatus, 0, "the PBX saw 202, NOTIFYs and our BYE:\n\(pbx.diagnostics)")
        XCTAssertTrue(pbx.actionLog.contains("first sipfrag: SIP/2.0 100 Trying"), pbx.diagnostics)
        XCTAssertTrue(pbx.actionLog.contains("sipfrag: SIP/2.0 200 OK"), pbx.diagnostics)
        let targetStatus = try await target.wait(timeout: 15)
        XCTAssertEqual(targetStatus, 0, "the target's call ended with the browser's BYE:\n\(target.diagnostics)")
        XCTAssertTrue(target.messageLog.contains("INVITE sip:2002@127.0.0.1:\(targetPort) SIP/2.0"), target.diagnostics)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }
}

/// The browser transfers its call blind (`transfer`, an addition to the
/// protocol): alice calls 2001 at a PBX and, talking, asks for 2002; the
/// dialplan (run as her call) sends 2002 to a SIP URI, which the REFER to
/// the PBX names. The PBX answers 202 and NOTIFYs 100 then 200; alice hears
/// `transferred` and `hangup` 200, the PBX our BYE.
final class BrowserTransferTests: XCTestCase {
    func testTheBrowserTransfersItsCallThroughThePBX() async throws {
        let pbxPort = try freeUDPAndTCPPort()
        let targetPort = freePort(udp: true)
        let (scripts, script) = try temporaryDialplan(pbxAndTargetDialplan)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let routing = "{ home_country: \"49\", variables: { pbx_port: \"\(pbxPort)\", target_port: \"\(targetPort)\" } }"
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script, routing: routing)
        let phonePort = freePort(udp: true)
        let pbx = try SippProcess.uas(port: pbxPort, scenario: scenarioPath("uas_accepts_refer"),
                                      extraArgs: ["-key", "phone_port", "\(phonePort)"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "2001", "--transfer-to", "2002", "--transfer-at", "2"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(types.filter { ["answered", "transferred", "hangup", "error"].contains($0) },
                       ["answered", "transferred", "hangup"], "\(types)")
        let ended = result["ended"] as? [String: Any]
        XCTAssertEqual(ended?["code"] as? Int, 200, "\(result)")
        XCTAssertEqual(ended?["reason"] as? String, "transferred", "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        let pbxStatus = try await pbx.wait(timeout: 15)
        XCTAssertEqual(pbxStatus, 0, "the PBX got the REFER, its NOTIFYs 200, and our BYE:\n\(pbx.diagnostics)")
        XCTAssertTrue(pbx.actionLog.contains("refer to: sip:2002@127.0.0.1:\(targetPort)"), pbx.diagnostics)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }
}

/// An attended transfer completed by the PBX (RFC 3891): alice talks to a
/// PBX, then another party sends the gateway an INVITE with Replaces naming
/// that dialog. The gateway answers it from the call's media, ends the
/// PBX's dialog with BYE, and alice now hears the new party's 440 Hz and it
/// hers, with nothing said to her browser.
final class ReplacesTests: XCTestCase {
    func testAnInviteWithReplacesTakesOverTheBrowsersCall() async throws {
        let pbxPort = try freeUDPAndTCPPort()
        let (scripts, script) = try temporaryDialplan("call:bridge(\"sip:2001@127.0.0.1:\" .. variables.pbx_port)\n")
        defer { try? FileManager.default.removeItem(at: scripts) }
        let replacesFile = scripts.appendingPathComponent("replaces").path
        let routing = "{ home_country: \"49\", variables: { pbx_port: \"\(pbxPort)\" } }"
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script, routing: routing)
        let phonePort = freePort(udp: true)
        let pbx = try SippProcess.uas(port: pbxPort, scenario: scenarioPath("uas_replaced"),
                                      extraArgs: ["-key", "silent_port", "\(freePort(udp: true))",
                                                  "-key", "replaces_file", replacesFile])
        async let browser = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                              "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                              "--call", "2001", "--hangup-after", "5"])
        var replaces = ""
        for _ in 0..<200 where replaces.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            replaces = (try? String(contentsOfFile: replacesFile, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        XCTAssertFalse(replaces.isEmpty, "the PBX answered and named its dialog:\n\(pbx.diagnostics)")
        let party = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                        scenario: scenarioPath("uac_replaces"),
                                        extraArgs: ["-s", "alice", "-key", "replaces", replaces,
                                                    "-key", "phone_port", "\(phonePort)"])
        let result = try await browser
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(types.filter { ["answered", "progress", "hangup"].contains($0) }, ["answered"],
                       "the browser hears of no change: \(types)")
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        BrowserPhone.assertTone(result, "browser_rx_last_second", hertz: 440, tolerance: 10)
        let pbxStatus = try await pbx.wait(timeout: 15)
        XCTAssertEqual(pbxStatus, 0, "the PBX's dialog ended with our BYE:\n\(pbx.diagnostics)")
        let partyStatus = try await party.wait(timeout: 15)
        XCTAssertEqual(partyStatus, 0, "the new party was answered and got the browser's BYE:\n\(party.diagnostics)")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }
}

/// An attended transfer the far end refuses, completed in the gateway:
/// alice calls 2001 (a phone that takes no REFER) and holds it, calls 2002,
/// and asks to join them (`transfer` with `replaces`). 2001 answers the
/// REFER 405, so the gateway re-INVITEs 2002, then 2001, toward a relay of
/// its own; alice hears `transferred` and `hangup` 200 for both calls, and
/// the two phones behind the far ends now hear each other's tones (440 and
/// 660 Hz), not the browser's. When 2001 hangs up, 2002 hears our BYE.
final class GatewayJoinedTransferTests: XCTestCase {
    func testARefusedAttendedTransferIsJoinedInTheGateway() async throws {
        let firstPort = try freeUDPAndTCPPort()
        let secondPort = try freeUDPAndTCPPort()
        let (scripts, script) = try temporaryDialplan(pbxAndTargetDialplan)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let routing = "{ home_country: \"49\", variables: { pbx_port: \"\(firstPort)\", target_port: \"\(secondPort)\" } }"
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script, routing: routing)
        let (phone1, phone2) = (freePort(udp: true), freePort(udp: true))
        let join1 = scripts.appendingPathComponent("join1").path
        let join2 = scripts.appendingPathComponent("join2").path
        let first = try SippProcess.uas(port: firstPort, scenario: scenarioPath("uas_refuses_refer"),
                                        extraArgs: ["-key", "phone_port", "\(phone1)", "-key", "hangup_ms", "6000",
                                                    "-key", "join_file", join1])
        let second = try SippProcess.uas(port: secondPort, scenario: scenarioPath("uas_joined"),
                                         extraArgs: ["-key", "phone_port", "\(phone2)", "-key", "join_file", join2])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call1", "2001", "--call2", "2002",
                                                 "--phone1-port", "\(phone1)", "--phone2-port", "\(phone2)",
                                                 "--phone1-join-file", join1, "--phone2-join-file", join2,
                                                 "--listen", "3"], script: "attended_browser.py")
        XCTAssertNil(result["error"], "\(result)")
        let errors = result["errors"] as? [Any] ?? []
        XCTAssertTrue(errors.isEmpty, "\(errors)")
        let hangups = result["hangups"] as? [[String: Any]] ?? []
        XCTAssertEqual(hangups.count, 2, "\(result)")
        for hangup in hangups {
            XCTAssertEqual(hangup["code"] as? Int, 200, "\(hangup)")
            XCTAssertEqual(hangup["reason"] as? String, "transferred", "\(hangup)")
        }
        BrowserPhone.assertTone(result, "phone1_rx_joined", hertz: 660, tolerance: 10)
        BrowserPhone.assertTone(result, "phone2_rx_joined", hertz: 440, tolerance: 10)
        let firstStatus = try await first.wait(timeout: 20)
        XCTAssertEqual(firstStatus, 0, "2001 was held, refused the REFER, was joined and hung up:\n\(first.diagnostics)")
        XCTAssertTrue(first.actionLog.contains("join direction: a=sendrecv"), first.diagnostics)
        let secondStatus = try await second.wait(timeout: 20)
        XCTAssertEqual(secondStatus, 0, "2002 was joined and heard our BYE:\n\(second.diagnostics)")
        await fixture.assertNothingLeft(within: 3)
        await fixture.stop()
    }
}
