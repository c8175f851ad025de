#if os(Linux)
import Foundation
import XCTest
@testable import Records

/// A gateway killed with SIGKILL during a call: the start row is already in
/// the database (marked active), and the next start marks it ended by
/// restart. The "gateway" is this test binary run again as a child that
/// opens a store, starts a call and waits to be killed.
final class RecordsKillTests: XCTestCase {
    private static let targetVariable = "TIELINE_RECORDS_KILL_CHILD_TARGET"
    private static let instanceVariable = "TIELINE_RECORDS_KILL_CHILD_INSTANCE"
    private static let startedLine = "tieline-records-child: call started"

    /// The child's side; in a normal run (no variables) there is nothing to do.
    func testKillChildEntryPoint() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let target = environment[Self.targetVariable], let instance = environment[Self.instanceVariable] else {
            return
        }
        let store: any CallRecordStore = target.hasPrefix("postgres")
            ? try PostgresRecordStore(url: target) : SQLiteRecordStore(path: target)
        try await store.open()
        store.callStarted(Fixtures.call("killed", instance: instance))
        // No flush: the parent kills us half a second after this line.
        FileHandle.standardOutput.write(Data((Self.startedLine + "\n").utf8))
        try await Task.sleep(for: .seconds(60))
    }

    func testSIGKILLDuringACallSQLite() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("records.sqlite").path
        try await killDuringCall(target: path) { SQLiteRecordStore(path: path) }
    }

    func testSIGKILLDuringACallPostgres() async throws {
        let url = try PostgresRecordStoreTests.serverURL()
        try await killDuringCall(target: url) { try PostgresRecordStore(url: url) }
    }

    private func killDuringCall(target: String, makeStore: () throws -> any CallRecordStore) async throws {
        let instance = Fixtures.uniqueInstance()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["RecordsTests.RecordsKillTests/testKillChildEntryPoint"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.targetVariable] = target
        environment[Self.instanceVariable] = instance
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        try child.run()

        let started = await Self.waitForLine(Self.startedLine, in: output.fileHandleForReading, timeout: 30)
        if started { try await Task.sleep(for: .milliseconds(500)) }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertTrue(started, "the child never started its call")
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertEqual(child.terminationStatus, SIGKILL)

        let store = try makeStore()
        try await store.open()
        let left = try await store.recent(limit: 5, instance: instance)
        XCTAssertEqual(left.map(\.callID), ["killed"], "the killed call's start row must be there")
        XCTAssertEqual(left.first?.state, .active)
        let marked = try await store.markUnfinishedEndedByRestart(instance: instance)
        XCTAssertEqual(marked, 1)
        let after = try await store.recent(limit: 5, instance: instance)
        XCTAssertEqual(after.first?.state, .endedByRestart)
        XCTAssertNotNil(after.first?.endedAt)
        await store.close()
    }

    /// Reads the child's output on a thread of its own until `line` shows up,
    /// the output ends, or the time is up.
    private static func waitForLine(_ line: String, in handle: FileHandle, timeout: TimeInterval) async -> Bool {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            let reader = Thread {
                var seen = ""
                while true {
                    let data = handle.availableData
                    if data.isEmpty { return once.resume(false) }
                    seen += String(decoding: data, as: UTF8.self)
                    if seen.contains(line) { return once.resume(true) }
                }
            }
            reader.start()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { once.resume(false) }
        }
    }

    private final class ResumeOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Bool, Never>?
        init(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation = continuation }
        func resume(_ value: Bool) {
            lock.lock()
            let pending = continuation
            continuation = nil
            lock.unlock()
            pending?.resume(returning: value)
        }
    }
}
#endif
