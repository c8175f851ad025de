import Foundation
import XCTest
@testable import Records

final class SQLiteRecordStoreTests: XCTestCase {
    private var directory: URL!
    /// The stores' logs, kept out of the test output and looked at where it matters.
    private let logs = CapturedLogs()

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String = "records.sqlite") -> String {
        directory.appendingPathComponent(name).path
    }

    private func makeStore(_ path: String) -> SQLiteRecordStore {
        SQLiteRecordStore(path: path, logger: logs.logger(level: .info))
    }

    private func openStore(_ path: String) async throws -> SQLiteRecordStore {
        let store = makeStore(path)
        try await store.open()
        return store
    }

    func testRoundTrip() async throws {
        let store = try await openStore(path())
        try await assertRoundTrip(store)
        await store.close()
    }

    func testThreeSecondCallLastsThreeSeconds() async throws {
        let store = try await openStore(path())
        try await assertThreeSecondCall(store)
        await store.close()
    }

    func testFileIsWALAndPrivateInANewDirectory() async throws {
        let file = directory.appendingPathComponent("data/nested/records.sqlite").path
        let store = try await openStore(file)
        store.callStarted(Fixtures.call(instance: "wal"))
        try await store.flush()

        let database = try SQLiteDatabase(path: file)
        XCTAssertEqual(try database.scalarText("PRAGMA journal_mode", operation: "reading the journal mode"), "wal")
        for name in [file, file + "-wal"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: name)
            XCTAssertEqual(attributes[.posixPermissions] as? Int, 0o600, name)
        }
        let parent = try FileManager.default.attributesOfItem(atPath: (file as NSString).deletingLastPathComponent)
        XCTAssertEqual(parent[.posixPermissions] as? Int, 0o700)
        await store.close()
    }

    func testExistingFileIsMadePrivate() async throws {
        let file = path()
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o644]))
        let store = try await openStore(file)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        XCTAssertEqual(attributes[.posixPermissions] as? Int, 0o600)
        await store.close()
    }

    func testRestartMarksUnfinishedCalls() async throws {
        let file = path()
        try await assertRestartMarking { self.makeStore(file) }
    }

    func testConcurrentWritesAreAllKept() async throws {
        let store = try await openStore(path())
        try await assertConcurrentWrites(store, calls: 2000)
        await store.close()
    }

    /// Another process holding the write lock delays the writes, never the
    /// caller: the call returns while the row cannot be written yet, and the
    /// row arrives once the lock is gone.
    func testWritesDoNotBlockWhileTheDatabaseIsLocked() async throws {
        let file = path()
        let store = try await openStore(file)
        let record = Fixtures.call("while-locked", instance: "locked")

        let locker = try SQLiteDatabase(path: file)
        try locker.execute("BEGIN IMMEDIATE", operation: "taking the write lock")
        for _ in 0..<1000 {
            store.callStarted(Fixtures.call("burst", instance: "burst"))
        }
        store.callStarted(record)
        store.callAnswered(record.recordID, at: Date(), codecs: Fixtures.codecs)
        // Reaching this line is the assertion: nothing above waited for the lock.
        try await Task.sleep(for: .milliseconds(300))
        let count = try locker.prepare("SELECT count(*) FROM call_records WHERE call_id = 'while-locked'",
                                       operation: "counting")
        XCTAssertTrue(try count.step(operation: "counting"))
        XCTAssertEqual(count.int(0), 0, "the writer cannot have written while the lock is held")
        count.finalize()
        try locker.execute("COMMIT", operation: "releasing the write lock")

        try await store.flush()
        let rows = try await store.recent(limit: 5, instance: "locked")
        XCTAssertEqual(rows.map(\.callID), ["while-locked"])
        XCTAssertNotNil(rows.first?.answeredAt)
        await store.close()
    }

    func testStartRowIsCommittedWithoutAFlush() async throws {
        let file = path()
        let store = try await openStore(file)
        let record = Fixtures.call("no-flush", instance: "prompt")
        store.callStarted(record)
        // Another connection, as `tieline records` or the next run would be.
        let reader = try SQLiteDatabase(path: file)
        let count = try reader.prepare("SELECT count(*) FROM call_records WHERE call_id = 'no-flush'", operation: "counting")
        let deadline = Date().addingTimeInterval(1)
        var found = 0
        while found == 0 && Date() < deadline {
            _ = try count.step(operation: "counting")
            found = count.int(0) ?? 0
            count.reset()
            if found == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        XCTAssertEqual(found, 1, "the start row must be in the file well within a second, without flush()")
        count.finalize()
        await store.close()
    }

    func testUnknownRecordIsReportedByFlushOnce() async throws {
        let store = try await openStore(path())
        let stray = UUID()
        store.callAnswered(stray, at: Date(), codecs: CallCodecs())
        do {
            try await store.flush()
            XCTFail("flush must report the failed change")
        } catch {
            XCTAssertEqual(error, .writesFailed(count: 1, first: .unknownRecord(stray)))
        }
        // Logged when it happened, naming the record.
        XCTAssertTrue(logs.all.contains { $0.contains("call record change lost") && $0.contains(stray.uuidString.lowercased()) },
                      "\(logs.all)")
        try await store.flush()  // reported once, then clean
        await store.close()
    }

    func testChangesAfterCloseAreReportedNotCrashes() async throws {
        let store = try await openStore(path())
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

    func testWritesBeforeOpenFailCleanly() async throws {
        let store = makeStore(path())
        store.callStarted(Fixtures.call(instance: "early"))
        do {
            try await store.flush()
            XCTFail("a change before open() has nowhere to go")
        } catch {
            XCTAssertEqual(error, .writesFailed(count: 1, first: .closed))
        }
        await store.close()
    }

    func testPathUnderAFileIsACreateDirectoryError() async throws {
        let file = path("plain-file")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let store = makeStore(file + "/records.sqlite")
        do {
            try await store.open()
            XCTFail("open must fail")
        } catch {
            guard case .cannotCreateDirectory(let directory, let reason) = error else {
                return XCTFail("wrong error: \(error)")
            }
            XCTAssertEqual(directory, file)
            XCTAssertTrue(reason.contains("not a directory"), reason)
        }
        await store.close()
    }

    func testDirectoryAsPathIsAnOpenError() async throws {
        let store = makeStore(directory.path)
        do {
            try await store.open()
            XCTFail("open must fail")
        } catch {
            guard case .cannotOpen(let target, _) = error else { return XCTFail("wrong error: \(error)") }
            XCTAssertEqual(target, directory.path)
        }
        await store.close()
    }

    func testFileThatIsNotADatabaseIsAnOpenError() async throws {
        let file = path("garbage.sqlite")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(repeating: 0x41, count: 4096)))
        let store = makeStore(file)
        do {
            try await store.open()
            XCTFail("open must fail")
        } catch {
            guard case .cannotOpen(_, let reason) = error else { return XCTFail("wrong error: \(error)") }
            XCTAssertTrue(reason.contains("not a database"), reason)
        }
        await store.close()
    }

    func testRecentIsNewestFirstAndLimited() async throws {
        let store = try await openStore(path())
        let base = Date()
        for index in 0..<5 {
            store.callStarted(Fixtures.call("call-\(index)", instance: "order", startedAt: base.addingTimeInterval(Double(index))))
        }
        try await store.flush()
        let rows = try await store.recent(limit: 3)
        XCTAssertEqual(rows.map(\.callID), ["call-4", "call-3", "call-2"])
        await store.close()
    }
}
