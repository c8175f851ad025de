import CSQLite
import Foundation

/// The connection and its prepared statements, confined to the writer
/// thread (`SQLiteWriterThread`); every method runs there.
final class SQLiteRecordWriter {
    let path: String
    private let busyTimeoutMilliseconds: Int32
    private let failures: WriteFailures
    private var database: SQLiteDatabase?
    private var statements: Statements?

    /// Prepared once at open and reused for every call.
    private struct Statements {
        let insert, route, answer, end, markRestarted, recent: SQLiteStatement
    }

    init(path: String, busyTimeoutMilliseconds: Int32, failures: WriteFailures) {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.failures = failures
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS call_records (
            \(RecordColumn.tableDefinition { kind in
                switch kind {
                case .uuid, .text: return "TEXT"
                case .integer: return "INTEGER"
                // Times are Unix seconds with fractions (see SQLiteStatement.bind).
                case .real, .time: return "REAL"
                }
            })
        );
        CREATE INDEX IF NOT EXISTS call_records_started_at ON call_records (started_at);
        CREATE INDEX IF NOT EXISTS call_records_active ON call_records (instance) WHERE state = 'active';
        """

    func open() throws(RecordStoreError) {
        guard database == nil else { return }
        try FileSystem.makeDirectories(for: path)
        try FileSystem.createPrivateFile(path)
        let database = try SQLiteDatabase(path: path)
        do throws(RecordStoreError) {
            database.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
            // WAL: readers (`tieline records`) never block the gateway's
            // writes, and a commit is an append to the -wal file. NORMAL
            // syncs at checkpoints only: a commit survives the process being
            // killed, though not a power cut right after it.
            let mode = try database.scalarText("PRAGMA journal_mode=WAL", operation: "switching to WAL")
            guard mode?.lowercased() == "wal" else {
                throw RecordStoreError.cannotOpen(target: path, reason: "the file system does not allow WAL mode (got \(mode ?? "nothing"))")
            }
            try database.execute("PRAGMA synchronous=NORMAL", operation: "setting synchronous=NORMAL")
            try database.execute(Self.schema, operation: "creating the call_records table")
            statements = try Self.prepareStatements(database)
        } catch {
            database.close()
            switch error {
            case .cannotOpen: throw error
            case .database(let operation, let reason): throw .cannotOpen(target: path, reason: "\(operation): \(reason)")
            case .busy(let operation): throw .cannotOpen(target: path, reason: "\(operation): locked by another process")
            default: throw .cannotOpen(target: path, reason: "\(error)")
            }
        }
        self.database = database
    }

    private static func prepareStatements(_ db: SQLiteDatabase) throws(RecordStoreError) -> Statements {
        let placeholders = (1...RecordColumn.allCases.count).map { "?\($0)" }.joined(separator: ", ")
        let stats = CallStats.columns.enumerated().map { "\($1.rawValue) = ?\($0 + 5)" }.joined(separator: ", ")
        let codecs = CallStats.columns.count + 5
        // Changes apply to active rows only: a late end must not reopen a
        // row that a restart already closed.
        return Statements(
            insert: try db.prepare("INSERT INTO call_records (\(RecordColumn.names)) VALUES (\(placeholders))",
                                   operation: "preparing the insert"),
            route: try db.prepare("""
                UPDATE call_records SET to_uri = COALESCE(?2, to_uri), trunk = COALESCE(?3, trunk),
                    sip_call_id = COALESCE(?4, sip_call_id)
                WHERE record_id = ?1 AND state = 'active'
                """, operation: "preparing the route update"),
            answer: try db.prepare("""
                UPDATE call_records SET answered_at = ?2, browser_codec = COALESCE(?3, browser_codec),
                    phone_codec = COALESCE(?4, phone_codec)
                WHERE record_id = ?1 AND state = 'active'
                """, operation: "preparing the answer update"),
            end: try db.prepare("""
                UPDATE call_records SET ended_at = ?2, status = ?3, reason = ?4, state = 'ended',
                    duration_seconds = CASE WHEN answered_at IS NULL THEN 0.0 ELSE round(max(0.0, ?2 - answered_at), 3) END,
                    \(stats), browser_codec = COALESCE(?\(codecs), browser_codec),
                    phone_codec = COALESCE(?\(codecs + 1), phone_codec)
                WHERE record_id = ?1 AND state = 'active'
                """, operation: "preparing the end update"),
            markRestarted: try db.prepare("""
                UPDATE call_records SET state = 'ended-by-restart', ended_at = ?1
                WHERE instance = ?2 AND state = 'active'
                """, operation: "preparing the restart update"),
            recent: try db.prepare("""
                SELECT \(RecordColumn.names) FROM call_records WHERE ?2 IS NULL OR instance = ?2
                ORDER BY started_at DESC, rowid DESC LIMIT ?1
                """, operation: "preparing the listing"))
    }

    /// Applies queued changes: one alone commits on its own, several share a
    /// transaction. A failing change is reported and does not stop the others.
    func apply(_ writes: [RecordWrite]) {
        guard !writes.isEmpty else { return }
        guard let database, let statements else {
            for write in writes { failures.record(.closed, write: write) }
            return
        }
        guard writes.count > 1 else {
            do { try apply(writes[0], statements, database) } catch { failures.record(error, write: writes[0]) }
            return
        }
        do {
            try database.execute("BEGIN IMMEDIATE", operation: "starting a transaction")
        } catch {
            for write in writes { failures.record(error, write: write) }
            return
        }
        var failed = Set<Int>()
        for (index, write) in writes.enumerated() {
            do { try apply(write, statements, database) } catch {
                failures.record(error, write: write)
                failed.insert(index)
            }
        }
        do {
            try database.execute("COMMIT", operation: "committing call records")
        } catch {
            try? database.execute("ROLLBACK", operation: "rolling back")
            for (index, write) in writes.enumerated() where !failed.contains(index) {
                failures.record(error, write: write)
            }
        }
    }

    private func apply(_ write: RecordWrite, _ statements: Statements, _ database: SQLiteDatabase) throws(RecordStoreError) {
        let statement: SQLiteStatement
        switch write {
        case .started(let record):
            statement = statements.insert
            for (index, value) in record.columnValues.enumerated() { bind(statement, Int32(index + 1), value) }
        case .routed(let id, let to, let trunk, let sipCallID):
            statement = statements.route
            statement.bind(1, id.uuidString.lowercased())
            statement.bind(2, to)
            statement.bind(3, trunk)
            statement.bind(4, sipCallID)
        case .answered(let id, let at, let codecs):
            statement = statements.answer
            statement.bind(1, id.uuidString.lowercased())
            statement.bind(2, at)
            statement.bind(3, codecs.browser)
            statement.bind(4, codecs.phone)
        case .ended(let id, let at, let status, let reason, let stats, let codecs):
            statement = statements.end
            statement.bind(1, id.uuidString.lowercased())
            statement.bind(2, at)
            statement.bind(3, status)
            statement.bind(4, reason)
            for (index, value) in stats.columnValues.enumerated() { bind(statement, Int32(index + 5), value) }
            statement.bind(Int32(CallStats.columns.count + 5), codecs.browser)
            statement.bind(Int32(CallStats.columns.count + 6), codecs.phone)
        }
        try statement.run(operation: write.name)
        if database.changes == 0 { throw .unknownRecord(write.recordID) }
    }

    private func bind(_ statement: SQLiteStatement, _ index: Int32, _ value: ColumnValue) {
        switch value {
        case .uuid(let uuid): statement.bind(index, uuid.uuidString.lowercased())
        case .text(let text): statement.bind(index, text)
        case .integer(let integer): statement.bind(index, integer)
        case .real(let real): statement.bind(index, real)
        case .time(let time): statement.bind(index, time)
        }
    }

    func markUnfinishedEndedByRestart(instance: String, at: Date) throws(RecordStoreError) -> Int {
        guard let database, let statements else { throw .closed }
        statements.markRestarted.bind(1, at)
        statements.markRestarted.bind(2, instance)
        try statements.markRestarted.run(operation: "marking unfinished calls")
        return database.changes
    }

    func recent(limit: Int, instance: String?) throws(RecordStoreError) -> [CallRecord] {
        guard let statements else { throw .closed }
        let statement = statements.recent
        defer { statement.reset() }
        statement.bind(1, max(0, limit))
        statement.bind(2, instance)
        var records: [CallRecord] = []
        while try statement.step(operation: "listing call records") {
            records.append(try CallRecord { (column: RecordColumn) throws(RecordStoreError) -> ColumnValue in
                let index = Int32(RecordColumn.allCases.firstIndex(of: column) ?? 0)
                switch column.kind {
                case .uuid:
                    guard let text = statement.text(index), let uuid = UUID(uuidString: text) else {
                        throw .corruptRow(reason: "record_id is not a UUID")
                    }
                    return .uuid(uuid)
                case .text: return .text(statement.text(index))
                case .integer: return .integer(statement.int(index))
                case .real: return .real(statement.double(index))
                case .time: return .time(statement.date(index))
                }
            })
        }
        return records
    }

    func close() {
        statements = nil  // finalizes them
        database?.close()
        database = nil
    }
}
