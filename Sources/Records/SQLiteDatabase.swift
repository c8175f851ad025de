import CSQLite
import Foundation

/// A thin, typed-error wrapper around one sqlite3 connection. Not thread
/// safe: the records store confines it to its writer thread (tests use
/// their own connection on their own thread).
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// Opens (creating if needed) the database file.
    init(path: String) throws(RecordStoreError) {
        self.path = path
        var db: OpaquePointer?
        // NOMUTEX: one thread uses the connection, so SQLite's own mutexes are not needed.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw .cannotOpen(target: path, reason: reason)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// How long a statement waits for another process's lock before SQLITE_BUSY.
    func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// Runs statements that return no rows we need.
    func execute(_ sql: String, operation: String) throws(RecordStoreError) {
        guard let handle else { throw .closed }
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw error(code: code, operation: operation) }
    }

    func prepare(_ sql: String, operation: String) throws(RecordStoreError) -> SQLiteStatement {
        guard let handle else { throw .closed }
        var statement: OpaquePointer?
        // PERSISTENT: these statements are kept and reused for every call.
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code: code, operation: operation) }
        return SQLiteStatement(statement, database: self)
    }

    /// The first column of the first row, as text (PRAGMA answers).
    func scalarText(_ sql: String, operation: String) throws(RecordStoreError) -> String? {
        let statement = try prepare(sql, operation: operation)
        defer { statement.finalize() }
        guard try statement.step(operation: operation) else { return nil }
        return statement.text(0)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    func close() {
        guard let handle else { return }
        // close_v2 defers the close until forgotten statements are finalized
        // instead of failing with SQLITE_BUSY.
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    func error(code: Int32, operation: String) -> RecordStoreError {
        let primary = code & 0xff
        if primary == SQLITE_BUSY || primary == SQLITE_LOCKED { return .busy(operation: operation) }
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        return .database(operation: operation, reason: "\(message) (SQLite code \(code))")
    }
}

/// A prepared statement, bound by 1-based index as SQLite counts.
final class SQLiteStatement {
    private var statement: OpaquePointer?
    // Strong: the connection must outlive its statements (close_v2 waits for them).
    private let database: SQLiteDatabase

    fileprivate init(_ statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit { finalize() }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_text(statement, index, value, -1, csqlite_transient())
    }

    func bind(_ index: Int32, _ value: Int?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_int64(statement, index, Int64(value))
    }

    func bind(_ index: Int32, _ value: Double?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_double(statement, index, value)
    }

    /// Dates are kept as Unix time in seconds with fractions: sortable,
    /// exact to microseconds, and easy to subtract in SQL for durations.
    func bind(_ index: Int32, _ value: Date?) {
        bind(index, value?.timeIntervalSince1970)
    }

    /// True when a row is ready, false when done.
    func step(operation: String) throws(RecordStoreError) -> Bool {
        let code = sqlite3_step(statement)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            // Reset so the statement can be used again after the failure.
            sqlite3_reset(statement)
            throw database.error(code: code, operation: operation)
        }
    }

    /// Runs to the end and readies the statement for the next use.
    func run(operation: String) throws(RecordStoreError) {
        defer { reset() }
        while try step(operation: operation) {}
    }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String? {
        guard !isNull(column), let bytes = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: bytes)
    }

    func int(_ column: Int32) -> Int? {
        isNull(column) ? nil : Int(sqlite3_column_int64(statement, column))
    }

    func double(_ column: Int32) -> Double? {
        isNull(column) ? nil : sqlite3_column_double(statement, column)
    }

    func date(_ column: Int32) -> Date? {
        double(column).map { Date(timeIntervalSince1970: $0) }
    }

    func finalize() {
        sqlite3_finalize(statement)
        statement = nil
    }
}
