import Dialplan
import Foundation
import Gateway
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The dialplan deciding real calls: an aiortc browser logged in over WSS,
/// sipp (or a bare UDP socket) as the trunks. The fixture runs the shipped
/// dialplans/default.lua with home country 49 unless a test brings its own.
final class DialplanCallTests: XCTestCase {
    private static let refusedAbroad = "international calls are not allowed for this user"

    /// The trunks `first` (answers 503) and `second` (answers): the same call
    /// goes on to the second, the browser hears only `trying` and then the
    /// second trunk's answer, and the audio flows both ways.
    func testA503FromTheFirstTrunkFailsOverToTheSecondWhichAnswers() async throws {
        let firstPort = try freeUDPAndTCPPort()
        let secondPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(name: "first", port: firstPort),
                                                        TrunkSpec(name: "second", port: secondPort)], browsers: true)
        let phonePort = freePort(udp: true)
        let unavailable = try SippProcess.uas(port: firstPort, scenario: scenarioPath("uas_503"))
        let answering = try SippProcess.uas(port: secondPort, scenario: scenarioPath("uas_answer_phone"),
                                            extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "030 1234567", "--hangup-after", "3.5"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertEqual(Array(types.prefix(2)), ["welcome", "trying"], "\(types)")
        XCTAssertTrue(types.contains("answered"), "the second trunk's answer reaches the browser: \(types)")
        XCTAssertFalse(types.contains("hangup"), "the first trunk's 503 is not the browser's business: \(types)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)

        let unavailableStatus = try await unavailable.wait(timeout: 15)
        XCTAssertEqual(unavailableStatus, 0, "the first trunk got the INVITE and the ACK for its 503:\n\(unavailable.diagnostics)")
        let answeringStatus = try await answering.wait(timeout: 15)
        XCTAssertEqual(answeringStatus, 0, "the second trunk saw a whole call:\n\(answering.diagnostics)")
        for sipp in [unavailable, answering] {
            XCTAssertTrue(sipp.messageLog.contains("INVITE sip:+49301234567@"),
                          "both trunks were asked for the number in E.164:\n\(sipp.diagnostics)")
        }
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A trunk that is down says nothing at all, not even 100 Trying. After
    /// its `response_timeout_ms` (3 s by default) the attempt fails with 408
    /// and the next trunk answers, long before Timer B (32 s at the RFC's
    /// T1, which this gateway runs with).
    func testASilentTrunkFailsOverToTheNextWithinItsResponseTimeout() async throws {
        let silent = try UDPProbe()
        let secondPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(name: "first", port: silent.port),
                                                        TrunkSpec(name: "second", port: secondPort)],
                                               t1Milliseconds: 500, browsers: true)
        let phonePort = freePort(udp: true)
        let answering = try SippProcess.uas(port: secondPort, scenario: scenarioPath("uas_answer_phone"),
                                            extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let started = Date()
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "030 1234567", "--hangup-after", "2"])
        XCTAssertNil(result["error"], "\(result)")
        let types = BrowserPhone.messageTypes(result)
        XCTAssertTrue(types.contains("answered"), "the second trunk answers: \(types)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 15, "failed over in seconds, not at Timer B")
        XCTAssertNotNil(silent.receive(timeout: 1), "the silent trunk was asked first")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        let answeringStatus = try await answering.wait(timeout: 15)
        XCTAssertEqual(answeringStatus, 0, answering.diagnostics)
        await fixture.stop()
    }

    /// With OPTIONS pings, a silent trunk is found down before any call:
    /// trunks() leaves it out, so the call goes straight to the next one and
    /// the silent trunk gets nothing but pings.
    func testATrunkDownByItsPingsIsSkipped() async throws {
        let silent = try UDPProbe()
        let secondPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(name: "first", port: silent.port, optionsInterval: 1),
                                                        TrunkSpec(name: "second", port: secondPort)],
                                               browsers: true)
        for _ in 0..<100 where await fixture.gateway.downTrunks.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
        }
        let down = await fixture.gateway.downTrunks
        XCTAssertEqual(down, ["first"], "no answer to its OPTIONS in 3 s")
        let phonePort = freePort(udp: true)
        let answering = try SippProcess.uas(port: secondPort, scenario: scenarioPath("uas_answer_phone"),
                                            extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "030 1234567", "--hangup-after", "2"])
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        var methods: [String] = []
        while let datagram = silent.receive(timeout: 0.2) {
            methods.append(String(decoding: datagram.prefix(while: { $0 != 0x20 }), as: UTF8.self))
        }
        XCTAssertFalse(methods.isEmpty, "the silent trunk was pinged")
        XCTAssertEqual(Set(methods), ["OPTIONS"], "and never sent the call")
        let answeringStatus = try await answering.wait(timeout: 15)
        XCTAssertEqual(answeringStatus, 0, answering.diagnostics)
        await fixture.stop()
    }

    /// With the only trunk silent, the browser hears a clear 408 naming the
    /// trunk within seconds, instead of sitting in "trying" for Timer B.
    func testTheOnlyTrunkSilentIsAClear408NamingIt() async throws {
        let silent = try UDPProbe()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(name: "carrier", port: silent.port)],
                                               t1Milliseconds: 500, browsers: true)
        let started = Date()
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "030 1234567"])
        let ended = try XCTUnwrap(result["ended"] as? [String: Any], "\(result)")
        XCTAssertEqual(ended["code"] as? Int, 408, "\(ended)")
        XCTAssertEqual(ended["reason"] as? String, "no response from trunk carrier in 3000 ms", "\(ended)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 15, "the browser heard it in seconds, not at Timer B")
        await fixture.stop()
    }

    /// `call:bridge("sip:...")` sends the INVITE straight to that URI (here a
    /// sipp PBX on a port given to the script through routing.variables),
    /// not through a trunk, and the call flows as any other.
    func testABridgeToASIPURIReachesThatAddress() async throws {
        let pbxPort = try freeUDPAndTCPPort()
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-uri-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("uri.lua").path
        try """
            local result = call:bridge("sip:2001@127.0.0.1:" .. variables.pbx_port, {ring_timeout = 10})
            if not result.ok then call:hangup(result.code, "pbx said " .. result.code) end

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script,
                                               routing: "{ home_country: \"49\", variables: { pbx_port: \"\(pbxPort)\" } }")
        let phonePort = freePort(udp: true)
        let pbx = try SippProcess.uas(port: pbxPort, scenario: scenarioPath("uas_answer_phone"),
                                      extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "2001", "--hangup-after", "2.5"])
        XCTAssertNil(result["error"], "\(result)")
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        let status = try await pbx.wait(timeout: 15)
        XCTAssertEqual(status, 0, "the PBX saw a whole call:\n\(pbx.diagnostics)")
        XCTAssertTrue(pbx.messageLog.contains("INVITE sip:2001@127.0.0.1:\(pbxPort) SIP/2.0"), pbx.diagnostics)
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// Caller ID the dialplan sets, withheld (privacy): the trusted trunk
    /// (`asserted_identity`) gets it in P-Asserted-Identity with `Privacy:
    /// id`, while From is anonymous (RFC 3323, RFC 3325).
    func testAWithheldCallerIDIsAssertedOnlyToATrustedTrunk() async throws {
        let trunkPort = try freeUDPAndTCPPort()
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-pai-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("pai.lua").path
        try """
            call:bridge("trunk:carrier", {number = "+49301234567", caller_id = "+4930555", caller_name = "Reception",
                                          privacy = true})

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunkPort, assertedIdentity: true)],
                                               browsers: true, dialplan: script)
        let phonePort = freePort(udp: true)
        let trunk = try SippProcess.uas(port: trunkPort, scenario: scenarioPath("uas_answer_phone"),
                                        extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--phone-port", "\(phonePort)",
                                                 "--call", "030 1234567", "--hangup-after", "1.5"])
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)")
        let status = try await trunk.wait(timeout: 15)
        XCTAssertEqual(status, 0, trunk.diagnostics)
        let invite = try XCTUnwrap(trunk.messageLog.components(separatedBy: "INVITE sip:").dropFirst().first,
                                   trunk.diagnostics)
        XCTAssertTrue(invite.contains("P-Asserted-Identity: Reception <sip:+4930555@127.0.0.1>"), invite)
        XCTAssertTrue(invite.contains("Privacy: id"), invite)
        XCTAssertTrue(invite.contains("From: Anonymous <sip:anonymous@anonymous.invalid>;tag="), invite)
        XCTAssertFalse(invite.contains("From: Reception"), "the caller is withheld in From: \(invite)")
        await fixture.stop()
    }

    /// 486 is the callee's answer: another trunk would only repeat it, so
    /// the browser gets it and the second trunk never hears of the call.
    func testBusyFromTheFirstTrunkDoesNotFailOver() async throws {
        let firstPort = try freeUDPAndTCPPort()
        let second = try UDPProbe()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(name: "first", port: firstPort),
                                                        TrunkSpec(name: "second", port: second.port)], browsers: true)
        let busy = try SippProcess.uas(port: firstPort, scenario: scenarioPath("uas_busy"))
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "030 1234567"])
        XCTAssertNil(result["error"], "\(result)")
        let ended = result["ended"] as? [String: Any]
        XCTAssertEqual(ended?["type"] as? String, "hangup", "\(result)")
        XCTAssertEqual(ended?["code"] as? Int, 486, "\(result)")
        let status = try await busy.wait(timeout: 15)
        XCTAssertEqual(status, 0, "\(busy.diagnostics)")
        assertNoInvite(at: second, within: 1, "the second trunk")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// alice may not call abroad: the dialplan refuses with 403 before any
    /// INVITE, and the browser is told why.
    func testAnInternationalNumberIsRefusedWith403AndNothingReachesTheTrunk() async throws {
        let trunk = try UDPProbe()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunk.port)], browsers: true)
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "+44 20 7946 0000"])
        XCTAssertNil(result["error"], "\(result)")
        XCTAssertEqual(BrowserPhone.messageTypes(result), ["welcome", "trying", "hangup"])
        let ended = result["ended"] as? [String: Any]
        XCTAssertEqual(ended?["type"] as? String, "hangup", "\(result)")
        XCTAssertEqual(ended?["code"] as? Int, 403, "\(result)")
        XCTAssertEqual(ended?["reason"] as? String, Self.refusedAbroad, "\(result)")
        assertNoInvite(at: trunk, within: 1, "the trunk")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A reload that does not compile is refused (`reloadDialplan` throws the
    /// script's error) and calls keep going the old script's way; a good new
    /// script written over the file is picked up by the file watcher.
    func testABrokenScriptAtReloadIsRefusedAndTheOldOneKeepsServing() async throws {
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("reload.lua").path
        try """
            -- version 1: every number out through the trunk "carrier"
            local number = e164(call.to)
            if not number then call:hangup(404, "Not Found") end
            call:bridge("trunk:carrier", {number = number})

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let trunkPort = try freeUDPAndTCPPort()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunkPort)], browsers: true, dialplan: script)
        let phonePort = freePort(udp: true)
        let sipp = try SippProcess.uas(port: trunkPort, scenario: scenarioPath("uas_answer_phone"), calls: 2,
                                       extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        let browser = ["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret"]

        // Version 1 works.
        let before = try await BrowserPhone.run(browser + ["--phone-port", "\(phonePort)", "--call", "030 1234567",
                                                           "--hangup-after", "2"])
        XCTAssertNil(before["error"], "\(before)")
        XCTAssertTrue(BrowserPhone.messageTypes(before).contains("answered"), "version 1 bridges: \(before)")

        // A broken script is refused with its file and line ...
        try """
            -- broken: does not compile
            if call.to == then
              call:hangup(500, "never")
            end

            """.write(toFile: script, atomically: true, encoding: .utf8)
        do {
            try await fixture.gateway.reloadDialplan()
            XCTFail("a script that does not compile was accepted")
        } catch let error as DialplanError {
            XCTAssertEqual(error.kind, .syntax, "\(error)")
            XCTAssertEqual(error.line, 2, "\(error)")
            XCTAssertTrue(error.description.contains("reload.lua:2:"), "\(error)")
        } catch {
            XCTFail("reloadDialplan threw something else than a DialplanError: \(error)")
        }

        // ... and calls still go version 1's way.
        let during = try await BrowserPhone.run(browser + ["--phone-port", "\(phonePort)", "--call", "030 1234567",
                                                           "--hangup-after", "2"])
        XCTAssertNil(during["error"], "\(during)")
        XCTAssertTrue(BrowserPhone.messageTypes(during).contains("answered"),
                      "the old script keeps serving after a refused reload: \(during)")
        let status = try await sipp.wait(timeout: 15)
        XCTAssertEqual(status, 0, "the trunk saw both calls complete:\n\(sipp.diagnostics)")

        // A good version 2 written over the file: the watcher (every second)
        // takes it without being asked. The calls above took well over a
        // second, so its modification time differs from the broken one's.
        try """
            -- version 2: refuses everything, distinctively
            call:hangup(480, "dialplan v2 is live")

            """.write(toFile: script, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(3))
        let after = try await BrowserPhone.run(browser + ["--call", "030 1234567"])
        XCTAssertNil(after["error"], "\(after)")
        XCTAssertEqual(BrowserPhone.messageTypes(after), ["welcome", "trying", "hangup"], "\(after)")
        let ended = after["ended"] as? [String: Any]
        XCTAssertEqual(ended?["code"] as? Int, 480, "version 2 is live within 3 s: \(after)")
        XCTAssertEqual(ended?["reason"] as? String, "dialplan v2 is live", "\(after)")

        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A script that fails while a call runs (here: indexing nil) ends that
    /// call with 500, and the gateway goes on serving the next one.
    func testAScriptErrorEndsTheCallWith500AndTheGatewayKeepsServing() async throws {
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-error-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("broken.lua").path
        try """
            if call.to == "1" then call:hangup(486, "one is busy") end
            local missing = nil
            missing.field = call.to   -- a runtime error on line 3

            """.write(toFile: script, atomically: true, encoding: .utf8)
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: freePort(udp: true))], browsers: true,
                                               dialplan: script)
        let browser = ["--ws", fixture.webSocketURL, "--user", "alice", "--password", "alice-secret"]
        for _ in 0..<2 {
            let failed = try await BrowserPhone.run(browser + ["--call", "2"])
            XCTAssertEqual(BrowserPhone.messageTypes(failed), ["welcome", "trying", "hangup"], "\(failed)")
            XCTAssertEqual((failed["ended"] as? [String: Any])?["code"] as? Int, 500, "\(failed)")
        }
        let busy = try await BrowserPhone.run(browser + ["--call", "1"])
        XCTAssertEqual((busy["ended"] as? [String: Any])?["code"] as? Int, 486, "still serving: \(busy)")
        XCTAssertEqual((busy["ended"] as? [String: Any])?["reason"] as? String, "one is busy", "\(busy)")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A DID in `routing.dids` rings its user: the trunk calls +4930111100,
    /// alice's browser gets the call, answers, and they hear each other.
    func testACallFromTheTrunkToADIDRingsItsUser() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: try freeUDPAndTCPPort())], browsers: true,
                                               routing: #"{ home_country: "49", dids: { "+4930111100": alice } }"#)
        let phonePort = freePort(udp: true)
        async let browser = BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                              "--password", "alice-secret", "--phone-port", "\(phonePort)", "--answer"])
        let loginDeadline = Date().addingTimeInterval(10)
        while !fixture.gateway.loggedInUsers.contains("alice"), Date() < loginDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertTrue(fixture.gateway.loggedInUsers.contains("alice"), "the browser logged in")
        let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                       scenario: scenarioPath("uac_call_phone"), durationMilliseconds: 3000,
                                       extraArgs: ["-s", "+4930111100", "-key", "phone_port", "\(phonePort)"])
        let result = try await browser
        XCTAssertNil(result["error"], "\(result)")
        let incoming = result["incoming"] as? [String: Any]
        XCTAssertNotNil(incoming, "the DID's user was rung: \(result)")
        XCTAssertEqual(incoming?["from"] as? String, "+15550001111", "\(result)")
        XCTAssertEqual((result["ended"] as? [String: Any])?["code"] as? Int, 200, "the caller hung up: \(result)")
        BrowserPhone.assertTone(result, "browser_rx", hertz: 440, tolerance: 10)
        BrowserPhone.assertTone(result, "phone_rx", hertz: 1000, tolerance: 20)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "\(sipp.diagnostics)")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A trunk's call to a number that is no DID, user or extension is 404,
    /// also when it is a number a browser's call would send out: calls from
    /// a trunk never go back out through a trunk (no open relay).
    func testCallsFromTheTrunkToUnknownDIDsOrOutsideNumbersAre404AndGoNowhere() async throws {
        let trunk = try UDPProbe()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunk.port)], browsers: true,
                                               routing: #"{ home_country: "49", dids: { "+4930111100": alice } }"#)
        for number in ["+4930999999", "+493012345678", "00442079460000", "600"] {
            let sipp = try SippProcess.uac(target: "127.0.0.1:\(fixture.udpPort)", port: try freeUDPAndTCPPort(),
                                           scenario: scenarioPath("uac_refused_404"), extraArgs: ["-s", number])
            let status = try await sipp.wait(timeout: 15)
            XCTAssertEqual(status, 0, "\(number) is refused with 404:\n\(sipp.diagnostics)")
        }
        assertNoInvite(at: trunk, within: 1, "the trunk")
        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// Fails if an INVITE arrives at `probe` (a trunk's address) within
    /// `seconds`; anything else that arrives is ignored.
    private func assertNoInvite(at probe: UDPProbe, within seconds: Double, _ who: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let datagram = probe.receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { return }
            let text = String(decoding: datagram, as: UTF8.self)
            if text.hasPrefix("INVITE ") {
                return XCTFail("\(who) got an INVITE:\n\(text)", file: file, line: line)
            }
        }
    }
}

/// `tieline serve` reloads the dialplan on SIGHUP. The script's modification
/// time is put back after every write, so the file watcher sees no change
/// and only the signal can be what reloads it.
final class DialplanSignalReloadTests: XCTestCase {
    func testSIGHUPReloadsTheDialplanAndABrokenScriptIsRefused() async throws {
        let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-sighup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        let script = scripts.appendingPathComponent("plan.lua").path
        // A whole second, so that putting it back is exact.
        let fixedTime = Date(timeIntervalSince1970: 1_577_836_800)
        func write(_ source: String) throws {
            try source.write(toFile: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: fixedTime], ofItemAtPath: script)
        }
        try write("""
            -- version 1
            call:hangup(480, "dialplan v1")

            """)
        let setup = try ServeSetup(dialplan: script, records: "{ backend: off }")
        let server = try TielineServer(config: setup.configPath)
        try await server.waitUntilListening()
        let call = ["--ws", setup.webSocketURL, "--user", "alice", "--password", "alice-secret", "--call", "030 1234567"]
        func reason() async throws -> String? {
            let result = try await BrowserPhone.run(call)
            XCTAssertNil(result["error"], "\(result)")
            return (result["ended"] as? [String: Any])?["reason"] as? String
        }
        let first = try await reason()
        XCTAssertEqual(first, "dialplan v1", server.diagnostics)

        // Broken, then SIGHUP: refused (and logged with file:line); version 1 keeps serving.
        try write("""
            -- broken: does not compile
            if call.to == then
              call:hangup(500, "never")
            end

            """)
        kill(server.process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .seconds(1))
        XCTAssertTrue(server.isRunning, "SIGHUP does not stop the gateway: \(server.diagnostics)")
        let during = try await reason()
        XCTAssertEqual(during, "dialplan v1", "the old script keeps serving: \(server.diagnostics)")
        XCTAssertTrue(server.read("stderr").contains("plan.lua:2:"), "the refusal is logged with file:line: \(server.diagnostics)")

        // Version 2, then SIGHUP: calls from now on run it.
        try write("""
            -- version 2
            call:hangup(480, "dialplan v2")

            """)
        kill(server.process.processIdentifier, SIGHUP)
        var after: String?
        let deadline = Date().addingTimeInterval(5)
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            after = try await reason()
        } while after != "dialplan v2" && Date() < deadline
        XCTAssertEqual(after, "dialplan v2", "SIGHUP reloaded the script: \(server.diagnostics)")
        XCTAssertTrue(server.isRunning, server.diagnostics)
        server.terminate()
    }
}
