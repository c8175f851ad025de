import Foundation
import Logging
import XCTest
@testable import Records

/// Shared by the SQLite and PostgreSQL tests.
enum Fixtures {
    static let codecs = CallCodecs(browser: "opus/48000/2", phone: "PCMU/8000")
    static let stats = CallStats(
        browser: LegStats(packetsSent: 150, packetsReceived: 149, packetsLost: 1, jitterMs: 2.5),
        phone: LegStats(packetsSent: 149, packetsReceived: 150, packetsLost: 0, jitterMs: 0.75))

    static func call(_ callID: String = "c1", instance: String, startedAt: Date = Date()) -> CallRecord {
        CallRecord(callID: callID, direction: .browserToTrunk, from: "alice", to: "+15551234567",
                   user: "alice", trunk: nil, startedAt: startedAt, instance: instance)
    }

    /// A fresh directory under the system's temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-records-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func uniqueInstance() -> String { "test-\(UUID().uuidString.lowercased().prefix(8))" }
}

/// A start, a route, an answer 2 s later and an end 3 s after that, written
/// through `store` and read back: the fields must be what went in and the
/// duration exactly 3 s (the times are given, not measured).
func assertRoundTrip(_ store: any CallRecordStore, file: StaticString = #filePath, line: UInt = #line) async throws {
    let instance = Fixtures.uniqueInstance()
    let started = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
    let record = Fixtures.call(instance: instance, startedAt: started)
    store.callStarted(record)
    store.callRouted(record.recordID, to: nil, trunk: "main", sipCallID: "a84b4c76e66710@gw.example")
    store.callAnswered(record.recordID, at: started.addingTimeInterval(2), codecs: Fixtures.codecs)
    store.callEnded(record.recordID, at: started.addingTimeInterval(5), status: 200, reason: "caller hung up",
                    stats: Fixtures.stats)
    try await store.flush()

    let rows = try await store.recent(limit: 10, instance: instance)
    XCTAssertEqual(rows.count, 1, file: file, line: line)
    let row = try XCTUnwrap(rows.first, file: file, line: line)
    var expected = record
    expected.trunk = "main"
    expected.sipCallID = "a84b4c76e66710@gw.example"
    expected.answeredAt = started.addingTimeInterval(2)
    expected.endedAt = started.addingTimeInterval(5)
    expected.durationSeconds = 3
    expected.status = 200
    expected.reason = "caller hung up"
    expected.state = .ended
    expected.codecs = Fixtures.codecs
    expected.stats = Fixtures.stats
    // Times come back through the database's own representation (REAL
    // seconds, microseconds): compare them to the microsecond, the rest exactly.
    for (got, want) in [(row.startedAt, expected.startedAt), (row.answeredAt!, expected.answeredAt!),
                        (row.endedAt!, expected.endedAt!)] {
        XCTAssertEqual(got.timeIntervalSince1970, want.timeIntervalSince1970, accuracy: 0.000_01, file: file, line: line)
    }
    XCTAssertEqual(row.durationSeconds ?? -1, 3, accuracy: 0.000_01, file: file, line: line)
    var comparable = row
    comparable.startedAt = expected.startedAt
    comparable.answeredAt = expected.answeredAt
    comparable.endedAt = expected.endedAt
    comparable.durationSeconds = 3
    XCTAssertEqual(comparable, expected, file: file, line: line)

    // Rejected before any answer: the duration is 0, there are no codecs.
    let busy = Fixtures.call("c2", instance: instance)
    store.callStarted(busy)
    store.callEnded(busy.recordID, at: Date(), status: 486, reason: "Busy Here", stats: CallStats())
    try await store.flush()
    let busyRow = try await store.recent(limit: 10, instance: instance).first { $0.recordID == busy.recordID }
    XCTAssertEqual(busyRow?.state, .ended, file: file, line: line)
    XCTAssertEqual(busyRow?.status, 486, file: file, line: line)
    XCTAssertEqual(busyRow?.durationSeconds, 0, file: file, line: line)
    XCTAssertNil(busyRow?.answeredAt, file: file, line: line)
    XCTAssertEqual(busyRow?.codecs, CallCodecs(), file: file, line: line)
}

/// A call held for 3 s of real time: the record says 3 s ± 0.5 s.
func assertThreeSecondCall(_ store: any CallRecordStore, file: StaticString = #filePath, line: UInt = #line) async throws {
    let instance = Fixtures.uniqueInstance()
    let record = Fixtures.call("three-seconds", instance: instance)
    store.callStarted(record)
    try await Task.sleep(for: .milliseconds(300))  // ringing
    store.callAnswered(record.recordID, at: Date(), codecs: Fixtures.codecs)
    try await Task.sleep(for: .seconds(3))
    store.callEnded(record.recordID, at: Date(), status: 200, reason: "hung up", stats: Fixtures.stats)
    try await store.flush()
    let row = try await store.recent(limit: 1, instance: instance).first
    XCTAssertEqual(row?.durationSeconds ?? 0, 3, accuracy: 0.5, file: file, line: line)
}

/// The previous run left an active row (its store dropped, never closed):
/// the next start marks it ended-by-restart, and only this instance's rows.
func assertRestartMarking(makeStore: () throws -> any CallRecordStore,
                          file: StaticString = #filePath, line: UInt = #line) async throws {
    let instance = Fixtures.uniqueInstance()
    let otherInstance = Fixtures.uniqueInstance()
    let unfinished = Fixtures.call("unfinished", instance: instance)
    let finished = Fixtures.call("finished", instance: instance)
    let otherGateway = Fixtures.call("other-gateway", instance: otherInstance)
    do {
        let crashed = try makeStore()
        try await crashed.open()
        crashed.callStarted(unfinished)
        crashed.callAnswered(unfinished.recordID, at: Date(), codecs: Fixtures.codecs)
        crashed.callStarted(finished)
        crashed.callEnded(finished.recordID, at: Date(), status: 487, reason: "Request Terminated", stats: CallStats())
        crashed.callStarted(otherGateway)
        try await crashed.flush()
        // No callEnded for `unfinished`, no close: as after a kill.
    }

    let restarted = try makeStore()
    try await restarted.open()
    let before = Date()
    let marked = try await restarted.markUnfinishedEndedByRestart(instance: instance)
    XCTAssertEqual(marked, 1, file: file, line: line)
    let rows = try await restarted.recent(limit: 10, instance: instance)
    let row = rows.first { $0.recordID == unfinished.recordID }
    XCTAssertEqual(row?.state, .endedByRestart, file: file, line: line)
    XCTAssertGreaterThanOrEqual(row?.endedAt ?? .distantPast, before.addingTimeInterval(-0.001), file: file, line: line)
    XCTAssertNil(row?.durationSeconds, "the real end is unknown", file: file, line: line)
    XCTAssertNotNil(row?.answeredAt, file: file, line: line)
    XCTAssertEqual(rows.first { $0.recordID == finished.recordID }?.state, .ended, file: file, line: line)
    let other = try await restarted.recent(limit: 10, instance: otherInstance)
    XCTAssertEqual(other.first?.state, .active, "another gateway's call is not ours to close", file: file, line: line)

    // Marking again finds nothing; a late end for the closed row is refused.
    let again = try await restarted.markUnfinishedEndedByRestart(instance: instance)
    XCTAssertEqual(again, 0, file: file, line: line)
    restarted.callEnded(unfinished.recordID, at: Date(), status: 200, reason: "late", stats: CallStats())
    do {
        try await restarted.flush()
        XCTFail("an end for a row closed by the restart must be reported", file: file, line: line)
    } catch {
        XCTAssertEqual(error, .writesFailed(count: 1, first: .unknownRecord(unfinished.recordID)), file: file, line: line)
    }
    let still = try await restarted.recent(limit: 10, instance: instance).first { $0.recordID == unfinished.recordID }
    XCTAssertEqual(still?.state, .endedByRestart, file: file, line: line)
    _ = try await restarted.markUnfinishedEndedByRestart(instance: otherInstance)
    await restarted.close()
}

/// Many callers at once, from threads and tasks: every call is there, ended.
func assertConcurrentWrites(_ store: any CallRecordStore, calls: Int,
                            file: StaticString = #filePath, line: UInt = #line) async throws {
    let instance = Fixtures.uniqueInstance()
    DispatchQueue.concurrentPerform(iterations: calls / 2) { index in
        let record = Fixtures.call("thread-\(index)", instance: instance)
        store.callStarted(record)
        store.callAnswered(record.recordID, at: record.startedAt.addingTimeInterval(1), codecs: Fixtures.codecs)
        store.callEnded(record.recordID, at: record.startedAt.addingTimeInterval(2), status: 200, reason: "ok",
                        stats: Fixtures.stats)
    }
    await withTaskGroup(of: Void.self) { group in
        for index in calls / 2 ..< calls {
            group.addTask {
                let record = Fixtures.call("task-\(index)", instance: instance)
                store.callStarted(record)
                store.callAnswered(record.recordID, at: record.startedAt.addingTimeInterval(1), codecs: Fixtures.codecs)
                store.callEnded(record.recordID, at: record.startedAt.addingTimeInterval(2), status: 200, reason: "ok",
                                stats: Fixtures.stats)
            }
        }
    }
    try await store.flush()
    let rows = try await store.recent(limit: calls + 10, instance: instance)
    XCTAssertEqual(rows.count, calls, file: file, line: line)
    XCTAssertEqual(Set(rows.map(\.callID)).count, calls, file: file, line: line)
    XCTAssertTrue(rows.allSatisfy { $0.state == .ended && abs(($0.durationSeconds ?? 0) - 1) < 0.001 && $0.stats == Fixtures.stats },
                  file: file, line: line)
}

/// Collects log entries so tests can look for what must never be logged.
final class CapturedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }

    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "records-test") { _ in Handler(logs: self) }
        logger.logLevel = level
        return logger
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            logs.append("\(event.level) \(event.message) \(all) \(event.error.map { "\($0)" } ?? "")")
        }
    }
}
