import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Call records in PostgreSQL, for several gateways sharing one database
/// (each marks only its own `instance`'s rows at restart).
///
/// The `call…` methods yield to an AsyncStream and return; one task takes
/// the changes in order and runs each as its own statement on one
/// connection (autocommit), so the start row is in the database one round
/// trip after the call. A lost connection is reopened and the change tried
/// again (three attempts in all, about a second); a change that still fails
/// is logged and reported by `flush()`. Queries are parameterized; the
/// password is only handed to PostgresNIO, never put in an error or a log.
public final class PostgresRecordStore: CallRecordStore {
    public let url: PostgresURL
    private let jobs: AsyncStream<PostgresWriter.Job>.Continuation
    private let queued: QueueCounter
    private let failures: WriteFailures

    public init(url: String, logger: Logger = Logger(label: "tieline.records")) throws(RecordStoreError) {
        let parsed = try PostgresURL(url)
        self.url = parsed
        failures = WriteFailures(logger: logger)
        queued = QueueCounter()
        let (stream, continuation) = AsyncStream.makeStream(of: PostgresWriter.Job.self)
        jobs = continuation
        let writer = PostgresWriter(url: parsed, logger: logger, failures: failures, queued: queued)
        // The task holds the writer, not the store; it ends when the stream does.
        Task { await writer.run(stream) }
    }

    deinit { jobs.finish() }

    public func open() async throws(RecordStoreError) {
        try await perform { writer throws(RecordStoreError) in try await writer.createSchema() }
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
        try await perform { writer throws(RecordStoreError) in try await writer.markUnfinished(instance: instance, at: Date()) }
    }

    public func recent(limit: Int, instance: String?) async throws(RecordStoreError) -> [CallRecord] {
        try await perform { writer throws(RecordStoreError) in
            try await writer.recent(limit: limit, instance: instance)
        }
    }

    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if case .terminated = jobs.yield(.stop { continuation.resume() }) { continuation.resume() }
        }
        jobs.finish()
    }

    private func enqueue(_ write: RecordWrite) {
        guard queued.add() else { return failures.record(.queueFull, write: write) }
        if case .terminated = jobs.yield(.write(write)) {
            queued.remove()
            failures.record(.closed, write: write)
        }
    }

    private func perform<T: Sendable>(
        _ body: @escaping @Sendable (PostgresWriter) async throws(RecordStoreError) -> T
    ) async throws(RecordStoreError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, RecordStoreError>, Never>) in
            let job = PostgresWriter.Job.run { writer in
                do throws(RecordStoreError) {
                    continuation.resume(returning: .success(try await body(writer)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if case .terminated = jobs.yield(job) { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }
}

/// Counts queued writes so that a long outage cannot grow the queue
/// without bound (AsyncStream's own limit would drop silently).
final class QueueCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func add() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard count < maximumQueuedWrites else { return false }
        count += 1
        return true
    }

    func remove() {
        lock.lock(); count -= 1; lock.unlock()
    }
}
