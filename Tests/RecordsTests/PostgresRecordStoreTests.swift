import Foundation
import XCTest
@testable import Records

/// Against a real PostgreSQL server: `make test` starts one
/// (Tests/Support/postgres.sh) and passes its URL in
/// TIELINE_TEST_POSTGRES_URL. Without it these tests fail, on purpose: a
/// skipped database test looks green and proves nothing.
final class PostgresRecordStoreTests: XCTestCase {
    static func serverURL(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let url = ProcessInfo.processInfo.environment["TIELINE_TEST_POSTGRES_URL"], !url.isEmpty else {
            let message = """
                TIELINE_TEST_POSTGRES_URL is not set: run the PostgreSQL tests through `make test`, \
                which starts a throwaway server with Tests/Support/postgres.sh and sets it \
                (by hand: export TIELINE_TEST_POSTGRES_URL=$(Tests/Support/postgres.sh start))
                """
            XCTFail(message, file: file, line: line)
            throw MissingServer(message: message)  // ends the test, already failed
        }
        return url
    }

    struct MissingServer: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private func openStore(logger: CapturedLogs? = nil) async throws -> PostgresRecordStore {
        let store = try PostgresRecordStore(url: try Self.serverURL(), logger: (logger ?? CapturedLogs()).logger(level: .info))
        try await store.open()
        return store
    }

    func testRoundTrip() async throws {
        let store = try await openStore()
        try await assertRoundTrip(store)
        await store.close()
    }

    func testThreeSecondCallLastsThreeSeconds() async throws {
        let store = try await openStore()
        try await assertThreeSecondCall(store)
        await store.close()
    }

    func testRestartMarksUnfinishedCalls() async throws {
        let url = try Self.serverURL()
        try await assertRestartMarking { try PostgresRecordStore(url: url, logger: CapturedLogs().logger(level: .info)) }
    }

    func testConcurrentWritesAreAllKept() async throws {
        let store = try await openStore()
        try await assertConcurrentWrites(store, calls: 300)
        await store.close()
    }

    /// Two gateways starting together on an empty database both create the
    /// table (taking turns), and opening again finds it there.
    func testSchemaCreatedFromScratchByTwoGatewaysAtOnce() async throws {
        let url = try Self.serverURL()
        _ = try Self.psql(url, "DROP TABLE IF EXISTS call_records")
        let first = try PostgresRecordStore(url: url)
        let second = try PostgresRecordStore(url: url)
        async let a: Void = first.open()
        async let b: Void = second.open()
        _ = try await (a, b)
        XCTAssertEqual(try Self.psql(url, "SELECT to_regclass('call_records') IS NOT NULL"), "t")
        try await first.open()
        try await assertRoundTrip(second)
        await first.close()
        await second.close()
    }

    /// Runs one statement with psql (it comes with the server) and returns
    /// its output, trimmed.
    static func psql(_ url: String, _ sql: String) throws -> String {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql]
        let output = Pipe()
        psql.standardOutput = output
        try psql.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        psql.waitUntilExit()
        XCTAssertEqual(psql.terminationStatus, 0, "psql failed: \(sql)")
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testStartRowIsCommittedWithoutAFlush() async throws {
        let store = try await openStore()
        let reader = try await openStore()
        let record = Fixtures.call("no-flush", instance: Fixtures.uniqueInstance())
        store.callStarted(record)
        let deadline = Date().addingTimeInterval(1)
        var rows: [CallRecord] = []
        while rows.isEmpty && Date() < deadline {
            rows = try await reader.recent(limit: 1, instance: record.instance)
            if rows.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }
        XCTAssertEqual(rows.first?.recordID, record.recordID, "the start row must be in the database well within a second")
        await store.close()
        await reader.close()
    }

    /// A wrong password gives a typed error that says what happened, and
    /// neither the error nor any log line (down to trace) holds the password.
    func testWrongPasswordIsATypedErrorWithoutThePassword() async throws {
        var url = try PostgresURL(try Self.serverURL())
        let password = "Wr0ngPassw0rd-\(UUID().uuidString.prefix(6))"
        let bad = "postgres://\(url.user):\(password)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
        url.password = password
        let logs = CapturedLogs()
        let store = try PostgresRecordStore(url: bad, logger: logs.logger(level: .trace))
        do {
            try await store.open()
            XCTFail("open must fail with a wrong password")
        } catch {
            guard case .cannotOpen(let target, let reason) = error else { return XCTFail("wrong error: \(error)") }
            XCTAssertTrue(reason.contains("password authentication failed"), reason)
            XCTAssertTrue(target.contains(":***@"), target)
            XCTAssertFalse("\(error)".contains(password))
            XCTAssertFalse(String(reflecting: error).contains(password))
        }
        store.callStarted(Fixtures.call(instance: "wrong-password"))
        do { try await store.flush() } catch {
            XCTAssertFalse("\(error)".contains(password))
        }
        XCTAssertFalse(logs.all.isEmpty, "trace logging was on; something should have been logged")
        for line in logs.all { XCTAssertFalse(line.contains(password), line) }
        await store.close()
    }

    /// The right password at trace level: still nowhere in the logs.
    func testPasswordNeverLoggedOnSuccess() async throws {
        let serverURL = try Self.serverURL()
        let password = try XCTUnwrap(try PostgresURL(serverURL).password)
        let logs = CapturedLogs()
        let store = try PostgresRecordStore(url: serverURL, logger: logs.logger(level: .trace))
        try await store.open()
        try await assertRoundTrip(store)
        await store.close()
        XCTAssertFalse(logs.all.isEmpty)
        for line in logs.all { XCTAssertFalse(line.contains(password), line) }
        XCTAssertFalse("\(store.url)".contains(password))
    }

    /// The server drops the connection (restart, failover, idle kill): the
    /// next change reconnects and nothing is lost.
    func testReconnectsWhenTheServerDropsTheConnection() async throws {
        let url = try Self.serverURL()
        let store = try await openStore()
        let instance = Fixtures.uniqueInstance()
        let before = Fixtures.call("before", instance: instance)
        store.callStarted(before)
        try await store.flush()

        // Every other session of our role ends, as in a server restart.
        let terminated = try Self.psql(url, """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE usename = current_user AND pid <> pg_backend_pid()
            """)
        XCTAssertGreaterThanOrEqual(Int(terminated) ?? 0, 1)

        store.callEnded(before.recordID, at: Date(), status: 200, reason: "ok", stats: CallStats())
        let after = Fixtures.call("after", instance: instance)
        store.callStarted(after)
        try await store.flush()
        let rows = try await store.recent(limit: 5, instance: instance)
        XCTAssertEqual(Set(rows.map(\.callID)), ["before", "after"])
        XCTAssertEqual(rows.first { $0.callID == "before" }?.state, .ended)
        await store.close()
    }

    func testChangesAfterCloseAreReportedNotCrashes() async throws {
        let store = try await openStore()
        await store.close()
        store.callStarted(Fixtures.call(instance: "closed"))
        do {
            try await store.flush()
            XCTFail("flush after close must fail")
        } catch {
            XCTAssertEqual(error, .closed)
        }
        do {
            _ = try await store.recent(limit: 1)
            XCTFail("recent after close must fail")
        } catch {
            XCTAssertEqual(error, .closed)
        }
        await store.close()  // twice is harmless
    }

    func testNothingListeningIsATypedError() async throws {
        // Port 1 on loopback: refused at once.
        let logs = CapturedLogs()
        let store = try PostgresRecordStore(url: "postgres://tieline:secret-pw@127.0.0.1:1/tieline?sslmode=disable",
                                            logger: logs.logger(level: .info))
        do {
            try await store.open()
            XCTFail("open must fail")
        } catch {
            guard case .cannotOpen(let target, let reason) = error else { return XCTFail("wrong error: \(error)") }
            XCTAssertEqual(target, "postgres://tieline:***@127.0.0.1:1/tieline?sslmode=disable")
            XCTAssertFalse(reason.isEmpty)
            XCTAssertFalse("\(error)".contains("secret-pw"))
        }
        XCTAssertTrue(logs.all.contains { $0.contains("retrying") }, "a refused connection is tried again")
        for line in logs.all { XCTAssertFalse(line.contains("secret-pw"), line) }
        await store.close()
    }
}
