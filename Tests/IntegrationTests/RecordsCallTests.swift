import Foundation
import Gateway
import Records
import XCTest

/// Call records of real calls: what `tieline records` shows after an aiortc
/// browser called sipp through the gateway, in SQLite and in PostgreSQL,
/// and after the gateway was killed in the middle of a call.
final class RecordsCallTests: XCTestCase {
    // MARK: a 3-second call

    func testAThreeSecondCallLeavesARecordOfThreeSecondsInSQLite() async throws {
        try await assertThreeSecondCallRecord(records: "{ backend: sqlite }")
    }

    func testAThreeSecondCallLeavesARecordOfThreeSecondsInPostgreSQL() async throws {
        let url = try Self.postgresURL()
        try await assertThreeSecondCallRecord(records: "{ backend: postgres, postgres_url: \"\(url)\" }")
    }

    /// The browser dials a number of its own (so that a shared PostgreSQL
    /// database holds no other call to it), the trunk answers, the browser
    /// hangs up 3 s after `answered`.
    private func assertThreeSecondCallRecord(records: String, file: StaticString = #filePath,
                                             line: UInt = #line) async throws {
        let national = "030" + String((0..<7).map { _ in "0123456789".randomElement()! })
        let e164 = "+49" + national.dropFirst()
        let testStart = Date()
        let (result, sipp, fixture) = try await BrowserPhone.callTrunk(
            scenario: "uas_answer_phone", number: national, sippArguments: ["-key", "hangup_ms", "0"],
            peerArguments: ["--hangup-after", "3"], records: records)
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)", file: file, line: line)
        let status = try await sipp.wait(timeout: 15)
        XCTAssertEqual(status, 0, "\(sipp.diagnostics)", file: file, line: line)
        guard let store = fixture.gateway.recordStore else {
            await fixture.stop()
            return XCTFail("records are configured but the gateway has no record store", file: file, line: line)
        }

        // The end is written when the gateway has seen the browser's hangup.
        var record: CallRecord?
        let deadline = Date().addingTimeInterval(10)
        repeat {
            try await store.flush()
            let recent = try await store.recent(limit: 50)
            record = recent.first { $0.to == e164 || $0.to == national }
            if record?.state == .ended { break }
            try await Task.sleep(for: .milliseconds(100))
        } while Date() < deadline
        guard let record else {
            await fixture.stop()
            return XCTFail("no record of the call to \(national)", file: file, line: line)
        }
        XCTAssertEqual(record.state, .ended, "\(record)", file: file, line: line)
        XCTAssertEqual(record.status, 200, "an answered call ended normally: \(record)", file: file, line: line)
        XCTAssertEqual(record.direction, .browserToTrunk, file: file, line: line)
        XCTAssertEqual(record.from, "alice", file: file, line: line)
        XCTAssertEqual(record.user, "alice", file: file, line: line)
        XCTAssertEqual(record.trunk, "carrier", file: file, line: line)
        XCTAssertEqual(record.durationSeconds ?? -1, 3, accuracy: 0.5, "\(record)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(record.startedAt, testStart.addingTimeInterval(-1), file: file, line: line)
        guard let answeredAt = record.answeredAt, let endedAt = record.endedAt else {
            await fixture.stop()
            return XCTFail("answered and ended times are set: \(record)", file: file, line: line)
        }
        XCTAssertGreaterThanOrEqual(answeredAt, record.startedAt, file: file, line: line)
        XCTAssertEqual(endedAt.timeIntervalSince(answeredAt), 3, accuracy: 0.5, file: file, line: line)
        XCTAssertLessThanOrEqual(endedAt, Date(), file: file, line: line)
        if let sipCallID = record.sipCallID {
            XCTAssertTrue(sipp.messageLog.contains("Call-ID: \(sipCallID)"),
                          "the record's SIP Call-ID is the one the trunk saw: \(sipCallID)", file: file, line: line)
        }

        // `tieline records` shows the same call (JSON and table).
        let listed = try await TielineCommand.records(config: fixture.configPath)
        let row = listed.first { $0["recordId"] as? String == record.recordID.uuidString.lowercased() }
        XCTAssertNotNil(row, "tieline records --json lists the call: \(listed.prefix(3))", file: file, line: line)
        XCTAssertEqual(row?["state"] as? String, "ended", file: file, line: line)
        XCTAssertEqual(row?["status"] as? Int, 200, file: file, line: line)
        XCTAssertEqual((row?["durationSeconds"] as? Double) ?? -1, 3, accuracy: 0.5, file: file, line: line)
        let table = try await TielineCommand.run(["records", "--config", fixture.configPath])
        XCTAssertEqual(table.status, 0, "\(table)", file: file, line: line)
        XCTAssertTrue(table.stdout.contains(record.to), "the table shows the call: \(table)", file: file, line: line)

        await fixture.assertNothingLeft(within: 2)
        await fixture.stop()
    }

    /// A call the dialplan refuses is recorded too: never answered, 403.
    func testARefusedCallIsRecordedWith403AndNoDuration() async throws {
        let trunk = try UDPProbe()
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: trunk.port)], browsers: true,
                                               records: "{ backend: sqlite }")
        let result = try await BrowserPhone.run(["--ws", fixture.webSocketURL, "--user", "alice",
                                                 "--password", "alice-secret", "--call", "+44 20 7946 0000"])
        XCTAssertEqual((result["ended"] as? [String: Any])?["code"] as? Int, 403, "\(result)")
        guard let store = fixture.gateway.recordStore else {
            await fixture.stop()
            return XCTFail("records are configured but the gateway has no record store")
        }
        var record: CallRecord?
        let deadline = Date().addingTimeInterval(5)
        repeat {
            try await store.flush()
            record = try await store.recent(limit: 10).first
            if record?.state == .ended { break }
            try await Task.sleep(for: .milliseconds(100))
        } while Date() < deadline
        XCTAssertEqual(record?.state, .ended, "\(String(describing: record))")
        XCTAssertEqual(record?.status, 403, "\(String(describing: record))")
        XCTAssertEqual(record?.user, "alice")
        XCTAssertNil(record?.answeredAt)
        XCTAssertEqual(record?.durationSeconds, 0, "a call never answered lasts 0 s")
        XCTAssertNil(record?.trunk, "no trunk was tried")
        await fixture.stop()
    }

    // MARK: SIGKILL during a call

    /// The real `tieline serve`, SQLite records: a browser call to sipp is
    /// answered and held, the gateway is killed with SIGKILL, and the record
    /// stays `active` (unfinished); the next start of the same configuration
    /// marks it `ended-by-restart`, which `tieline records --json` shows.
    func testSIGKILLDuringACallLeavesAnUnfinishedRecordThatTheNextStartEndsByRestart() async throws {
        let setup = try ServeSetup()
        let first = try TielineServer(config: setup.configPath)
        try await first.waitUntilListening()
        let phonePort = freePort(udp: true)
        let sipp = try SippProcess.uas(port: setup.trunkPort, scenario: scenarioPath("uas_answer_phone"),
                                       extraArgs: ["-key", "phone_port", "\(phonePort)", "-key", "hangup_ms", "0"])
        // No --hangup-after: the browser holds the call until the server goes away.
        async let browser = BrowserPhone.run(["--ws", setup.webSocketURL, "--user", "alice", "--password", "alice-secret",
                                              "--phone-port", "\(phonePort)", "--call", "030 1234567",
                                              "--duration", "20"])

        // Until the call is answered and its record says so.
        var active: [String: Any]?
        let answerDeadline = Date().addingTimeInterval(30)
        while active == nil, Date() < answerDeadline, first.isRunning {
            active = try await Self.aliceRecords(setup).first {
                $0["state"] as? String == "active" && $0["answeredAt"] as? String != nil
            }
            if active == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        // Half a second of conversation, then the kill.
        try await Task.sleep(for: .milliseconds(500))
        first.kill9()
        XCTAssertEqual(first.process.terminationReason, .uncaughtSignal, first.diagnostics)
        let result = try await browser
        guard let recordID = active?["recordId"] as? String else {
            return XCTFail("the call was never recorded as answered and active:\n\(result)\n\(first.diagnostics)\n\(sipp.diagnostics)")
        }
        XCTAssertTrue(BrowserPhone.messageTypes(result).contains("answered"), "\(result)")

        // Killed: nothing closed the record.
        let left = try await Self.aliceRecords(setup)
        XCTAssertEqual(left.count, 1, "one call, one record: \(left)")
        XCTAssertEqual(left.first?["recordId"] as? String, recordID)
        XCTAssertEqual(left.first?["state"] as? String, "active", "unfinished after SIGKILL: \(left)")
        XCTAssertTrue(left.first?["endedAt"] is NSNull, "\(left)")

        // The next start of the same configuration closes it.
        let second = try TielineServer(config: setup.configPath)
        try await second.waitUntilListening()
        var restarted: [String: Any]?
        let restartDeadline = Date().addingTimeInterval(10)
        repeat {
            restarted = try await Self.aliceRecords(setup).first { $0["recordId"] as? String == recordID }
            if restarted?["state"] as? String == "ended-by-restart" { break }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < restartDeadline
        XCTAssertEqual(restarted?["state"] as? String, "ended-by-restart", "\(String(describing: restarted))\n\(second.diagnostics)")
        XCTAssertFalse(restarted?["endedAt"] is NSNull, "ended now: \(String(describing: restarted))")
        XCTAssertNotNil(restarted?["endedAt"] as? String, "\(String(describing: restarted))")
        XCTAssertTrue(restarted?["durationSeconds"] is NSNull, "the real end is unknown: \(String(describing: restarted))")
        XCTAssertNotNil(restarted?["answeredAt"] as? String, "the answer stays recorded: \(String(describing: restarted))")
        let all = try await Self.aliceRecords(setup)
        XCTAssertEqual(all.count, 1, "the restart adds no record: \(all)")
        let table = try await TielineCommand.run(["records", "--config", setup.configPath])
        XCTAssertTrue(table.stdout.contains("ended-by-restart"), "\(table)")

        second.terminate()
        sipp.terminate()
    }

    /// alice's records as `tieline records --json` prints them.
    private static func aliceRecords(_ setup: ServeSetup) async throws -> [[String: Any]] {
        try await TielineCommand.records(config: setup.configPath).filter { $0["user"] as? String == "alice" }
    }

    /// The server `make test` starts (Tests/Support/postgres.sh); never skipped.
    static func postgresURL(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TIELINE_TEST_POSTGRES_URL"], !url.isEmpty else {
            let message = """
                TIELINE_TEST_POSTGRES_URL is not set: run the PostgreSQL tests through `make test`, \
                which starts a throwaway server with Tests/Support/postgres.sh and sets it \
                (by hand: export TIELINE_TEST_POSTGRES_URL=$(Tests/Support/postgres.sh start))
                """
            XCTFail(message, file: file, line: line)
            throw ChildProcessError.failed("the PostgreSQL records test", message)
        }
        return url
    }
}
