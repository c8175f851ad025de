import Foundation
import Logging

/// Call records in a SQLite file (the default: `records.sqlite` in the data
/// directory), in WAL mode, mode 0600.
///
/// A dedicated thread owns the connection (`SQLiteWriterThread`); the
/// `call…` methods append to its queue and return. Guarantee: a change is
/// committed as soon as the thread reaches it, normally a millisecond or two
/// after the call (a single-row statement committed on its own, or with the
/// changes queued at the same moment), and once committed it survives the
/// gateway being killed (WAL, synchronous=NORMAL); a power cut may lose the
/// last commits since a checkpoint. Another process holding the database
/// locked delays the writes, up to `busyTimeout`, never the caller.
public final class SQLiteRecordStore: CallRecordStore {
    public let path: String
    private let thread: SQLiteWriterThread
    private let failures: WriteFailures

    public init(path: String, busyTimeout: Duration = .seconds(10),
                logger: Logger = Logger(label: "tieline.records")) {
        self.path = path
        failures = WriteFailures(logger: logger)
        let (seconds, attoseconds) = busyTimeout.components
        let milliseconds = min(Int64(Int32.max), max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        let writer = SQLiteRecordWriter(path: path, busyTimeoutMilliseconds: Int32(milliseconds), failures: failures)
        thread = SQLiteWriterThread(writer: writer, name: "tieline-records")
    }

    deinit {
        // A store dropped without close() still stops its thread.
        _ = thread.enqueue(.stop {})
    }

    public func open() async throws(RecordStoreError) {
        try await perform { writer throws(RecordStoreError) in try writer.open() }
    }

    public func callStarted(_ record: CallRecord) { enqueue(.started(record)) }

    public func callRouted(_ recordID: UUID, to: String?, trunk: String?, sipCallID: String?) {
        enqueue(.routed(recordID, to: to, trunk: trunk, sipCallID: sipCallID))
    }

    public func callAnswered(_ recordID: UUID, at: Date, codecs: CallCodecs) {
        enqueue(.answered(recordID, at: at, codecs: codecs))
    }

    public func callEnded(_ recordID: UUID, at: Date, status: Int, reason: String, stats: CallStats,
                          codecs: CallCodecs) {
        enqueue(.ended(recordID, at: at, status: status, reason: reason, stats: stats, codecs: codecs))
    }

    public func flush() async throws(RecordStoreError) {
        try await perform { _ in }
        if let error = failures.take() { throw error }
    }

    public func markUnfinishedEndedByRestart(instance: String) async throws(RecordStoreError) -> Int {
        try await perform { writer throws(RecordStoreError) in
            try writer.markUnfinishedEndedByRestart(instance: instance, at: Date())
        }
    }

    public func recent(limit: Int, instance: String?) async throws(RecordStoreError) -> [CallRecord] {
        try await perform { writer throws(RecordStoreError) in try writer.recent(limit: limit, instance: instance) }
    }

    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if thread.enqueue(.stop { continuation.resume() }) != .accepted { continuation.resume() }
        }
    }

    private func enqueue(_ write: RecordWrite) {
        switch thread.enqueue(.write(write)) {
        case .accepted: break
        case .stopped: failures.record(.closed, write: write)
        case .full: failures.record(.queueFull, write: write)
        }
    }

    /// Runs `body` on the writer thread after everything queued so far.
    private func perform<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteRecordWriter) throws(RecordStoreError) -> T
    ) async throws(RecordStoreError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, RecordStoreError>, Never>) in
            let job = SQLiteWriterThread.Job.run { writer in
                continuation.resume(returning: Result { () throws(RecordStoreError) -> T in try body(writer) })
            }
            if thread.enqueue(job) != .accepted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }
}
