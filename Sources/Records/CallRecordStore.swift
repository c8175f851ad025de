import Foundation

/// Where call records go. The gateway calls the four `call…` methods from its
/// event loop, so they only queue the change and return at once: they never
/// wait for the database, never throw, and keep the order of the calls. A
/// writer owned by the store applies the queue in that order; a change that
/// fails is logged and reported by the next `flush()`.
///
/// The start record is written as soon as the writer gets to it (normally
/// within a millisecond or two: a one-row INSERT committed on its own), so a
/// gateway killed a moment after a call starts still leaves the row, marked
/// `active`; `markUnfinishedEndedByRestart` at the next start closes it.
public protocol CallRecordStore: AnyObject, Sendable {
    /// Connects or opens the database and creates the schema if it is missing.
    func open() async throws(RecordStoreError)

    /// Queues the row for a new call (`record.state` should be `.active`).
    func callStarted(_ record: CallRecord)
    /// Queues what routing learned after the start: the number dialled, the
    /// trunk, the SIP Call-ID. Nil leaves a field as it was.
    func callRouted(_ recordID: UUID, to: String?, trunk: String?, sipCallID: String?)
    func callAnswered(_ recordID: UUID, at: Date, codecs: CallCodecs)
    /// Queues the end; the duration is computed from the stored answer time
    /// and `at` (0 if the call was never answered).
    /// The codecs, when given, are written too: they are only certain once
    /// media ran, and the end is one write the call makes anyway.
    func callEnded(_ recordID: UUID, at: Date, status: Int, reason: String, stats: CallStats, codecs: CallCodecs)

    /// Waits until everything queued before it is in the database; throws if
    /// any queued change failed since the last flush (tests and shutdown).
    func flush() async throws(RecordStoreError)

    /// For startup: this instance's rows still `active` belong to calls the
    /// previous run never finished (crash, kill). They become
    /// `ended-by-restart`, ended now, without a duration. Returns how many.
    func markUnfinishedEndedByRestart(instance: String) async throws(RecordStoreError) -> Int

    /// The newest records first (of one instance, or of all when nil),
    /// after everything queued before the call.
    func recent(limit: Int, instance: String?) async throws(RecordStoreError) -> [CallRecord]

    /// Applies what is queued, then closes. Later changes are dropped and
    /// counted as failures.
    func close() async
}

extension CallRecordStore {
    /// The end without codecs (those of the answer, if any, stay).
    public func callEnded(_ recordID: UUID, at: Date, status: Int, reason: String, stats: CallStats) {
        callEnded(recordID, at: at, status: status, reason: reason, stats: stats, codecs: CallCodecs())
    }

    /// The newest records of every instance.
    public func recent(limit: Int) async throws(RecordStoreError) -> [CallRecord] {
        try await recent(limit: limit, instance: nil)
    }
}

/// Everything that can go wrong with the records, said in words a person
/// running the gateway can act on. Never holds a database password.
public enum RecordStoreError: Error, Equatable, CustomStringConvertible {
    /// The directory for the SQLite file could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// The database could not be opened or set up (schema, WAL, permissions).
    case cannotOpen(target: String, reason: String)
    /// The database was still locked by someone else after the busy timeout.
    case busy(operation: String)
    /// A statement failed.
    case database(operation: String, reason: String)
    /// A PostgreSQL URL that cannot be used; `url` is already redacted.
    case invalidURL(url: String, reason: String)
    /// The change named a record that is not in the database, or is no
    /// longer active (its start failed, or a restart closed it).
    case unknownRecord(UUID)
    /// A value read back from the database does not fit the record.
    case corruptRow(reason: String)
    /// The store is not open, or closed already.
    case closed
    /// The writer's queue is full (the database has been unreachable for a
    /// long time); the change was dropped.
    case queueFull
    /// `flush()` found failed changes since the last flush: how many, and the first.
    indirect case writesFailed(count: Int, first: RecordStoreError)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create the records directory \(path): \(reason)"
        case .cannotOpen(let target, let reason):
            return "cannot open the call records at \(target): \(reason)"
        case .busy(let operation):
            return "call records: \(operation) timed out waiting for a lock held by another process"
        case .database(let operation, let reason):
            return "call records: \(operation) failed: \(reason)"
        case .invalidURL(let url, let reason):
            return "invalid records URL \(url): \(reason)"
        case .unknownRecord(let id):
            return "call records: no active record \(id.uuidString.lowercased())"
        case .corruptRow(let reason):
            return "call records: unreadable row: \(reason)"
        case .closed:
            return "call records: the store is closed"
        case .queueFull:
            return "call records: too many changes waiting for the database; change dropped"
        case .writesFailed(let count, let first):
            return "\(count) call record change\(count == 1 ? "" : "s") failed, the first: \(first)"
        }
    }
}
