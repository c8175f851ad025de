import Foundation
import Logging

/// A queued change, applied by a store's writer in the order it was queued.
enum RecordWrite: Sendable {
    case started(CallRecord)
    case routed(UUID, to: String?, trunk: String?, sipCallID: String?)
    case answered(UUID, at: Date, codecs: CallCodecs)
    case ended(UUID, at: Date, status: Int, reason: String, stats: CallStats, codecs: CallCodecs)

    var recordID: UUID {
        switch self {
        case .started(let record): return record.recordID
        case .routed(let id, _, _, _), .answered(let id, _, _), .ended(let id, _, _, _, _, _): return id
        }
    }

    var name: String {
        switch self {
        case .started: return "writing the start of a call"
        case .routed: return "writing the route of a call"
        case .answered: return "writing the answer of a call"
        case .ended: return "writing the end of a call"
        }
    }
}

/// Failed changes since the last flush, shared by the caller's side (a full
/// queue) and the writer. A lock held for a few instructions: it never waits
/// for the database.
final class WriteFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var first: RecordStoreError?
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func record(_ error: RecordStoreError, write: RecordWrite?) {
        lock.lock()
        count += 1
        if first == nil { first = error }
        lock.unlock()
        var metadata: Logger.Metadata = ["error": "\(error)"]
        if let write {
            metadata["record"] = "\(write.recordID.uuidString.lowercased())"
        }
        logger.error("call record change lost", metadata: metadata)
    }

    /// The failures since the last call, as one error, and starts afresh.
    func take() -> RecordStoreError? {
        lock.lock()
        defer { count = 0; first = nil; lock.unlock() }
        guard let first else { return nil }
        return .writesFailed(count: count, first: first)
    }
}

/// The limit on changes waiting for the database. Far above what a busy
/// gateway queues in the seconds a database needs to come back; past it a
/// dead database would otherwise grow the queue without bound.
let maximumQueuedWrites = 100_000
