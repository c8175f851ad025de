import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// The task side of `PostgresRecordStore`: owns the one connection and
/// applies jobs in order. Used only by the task that runs `run(_:)`.
final class PostgresWriter {
    enum Job: Sendable {
        case write(RecordWrite)
        case run(@Sendable (PostgresWriter) async -> Void)
        case stop(@Sendable () -> Void)
    }

    private let url: PostgresURL
    private let logger: Logger
    private let failures: WriteFailures
    private let queued: QueueCounter
    private var connection: PostgresConnection?
    private var connectionCount = 0
    /// Set by `stop`; later jobs fail with `.closed` instead of reconnecting.
    private var closed = false

    init(url: PostgresURL, logger: Logger, failures: WriteFailures, queued: QueueCounter) {
        self.url = url
        self.logger = logger
        self.failures = failures
        self.queued = queued
    }

    func run(_ jobs: AsyncStream<Job>) async {
        for await job in jobs {
            switch job {
            case .write(let write):
                queued.remove()
                do { try await apply(write) } catch { failures.record(error, write: write) }
            case .run(let body):
                await body(self)
            case .stop(let done):
                closed = true
                await disconnect()
                done()
                // No return: jobs queued meanwhile still get their answer
                // (.closed) until the store finishes the stream.
            }
        }
        await disconnect()
    }

    // MARK: Statements

    private static func type(_ kind: RecordColumn.Kind) -> String {
        switch kind {
        case .uuid: return "uuid"
        case .text: return "text"
        case .integer: return "bigint"
        case .real: return "double precision"
        case .time: return "timestamptz"
        }
    }

    func createSchema() async throws(RecordStoreError) {
        try await withConnection("creating the call_records table") { connection in
            // A table that is there already (perhaps made by a DBA who gave
            // the gateway no CREATE right) is left alone: CREATE ... IF NOT
            // EXISTS would still ask for that right.
            let rows = try await connection.query("SELECT to_regclass('call_records') IS NOT NULL",
                                                   logger: self.logger).collect()
            if try rows.first?.decode(Bool.self) == true { return }
            // Gateways starting together would race on CREATE TABLE IF NOT
            // EXISTS (it is not atomic in PostgreSQL); a transaction-scoped
            // advisory lock makes them take turns.
            try await connection.query("BEGIN", logger: self.logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('tieline.call_records'))", logger: self.logger)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS call_records (
                        \(RecordColumn.tableDefinition(type: Self.type))
                    )
                    """), logger: self.logger)
                try await connection.query("CREATE INDEX IF NOT EXISTS call_records_started_at ON call_records (started_at)",
                                           logger: self.logger)
                try await connection.query("""
                    CREATE INDEX IF NOT EXISTS call_records_active ON call_records (instance) WHERE state = 'active'
                    """, logger: self.logger)
                try await connection.query("COMMIT", logger: self.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    private static let insertSQL: String = {
        let placeholders = (1...RecordColumn.allCases.count).map { "$\($0)" }.joined(separator: ", ")
        // ON CONFLICT: a retry after a connection lost during a commit that
        // did happen must not fail on its own row.
        return """
            INSERT INTO call_records (\(RecordColumn.names)) VALUES (\(placeholders))
            ON CONFLICT (record_id) DO NOTHING RETURNING record_id
            """
    }()

    private static let endSQL: String = {
        let stats = CallStats.columns.enumerated().map { "\($1.rawValue) = $\($0 + 5)" }.joined(separator: ", ")
        let codecs = CallStats.columns.count + 5
        // The second half of the WHERE makes a retried end find its row again.
        return """
            UPDATE call_records SET ended_at = $2, status = $3, reason = $4, state = 'ended',
                duration_seconds = CASE WHEN answered_at IS NULL THEN 0
                    ELSE round(GREATEST(0, EXTRACT(EPOCH FROM ($2 - answered_at))), 3)::double precision END,
                \(stats), browser_codec = COALESCE($\(codecs), browser_codec),
                phone_codec = COALESCE($\(codecs + 1), phone_codec)
            WHERE record_id = $1 AND (state = 'active' OR (state = 'ended' AND ended_at = $2))
            RETURNING record_id
            """
    }()

    private func apply(_ write: RecordWrite) async throws(RecordStoreError) {
        // The SQL is fixed text built from the column list; every value is a
        // bind parameter.
        var binds = PostgresBindings()
        let sql: String
        switch write {
        case .started(let record):
            sql = Self.insertSQL
            for value in record.columnValues { Self.append(value, to: &binds) }
        case .routed(let id, let to, let trunk, let sipCallID):
            sql = """
                UPDATE call_records SET to_uri = COALESCE($2, to_uri), trunk = COALESCE($3, trunk),
                    sip_call_id = COALESCE($4, sip_call_id)
                WHERE record_id = $1 AND state = 'active' RETURNING record_id
                """
            binds.append(id)
            binds.append(to)
            binds.append(trunk)
            binds.append(sipCallID)
        case .answered(let id, let at, let codecs):
            sql = """
                UPDATE call_records SET answered_at = $2, browser_codec = COALESCE($3, browser_codec),
                    phone_codec = COALESCE($4, phone_codec)
                WHERE record_id = $1 AND state = 'active' RETURNING record_id
                """
            binds.append(id)
            binds.append(at)
            binds.append(codecs.browser)
            binds.append(codecs.phone)
        case .ended(let id, let at, let status, let reason, let stats, let codecs):
            sql = Self.endSQL
            binds.append(id)
            binds.append(at)
            binds.append(status)
            binds.append(reason)
            for value in stats.columnValues { Self.append(value, to: &binds) }
            binds.append(codecs.browser)
            binds.append(codecs.phone)
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let rows = try await withConnection(write.name) { connection in
            try await connection.query(query, logger: self.logger).collect().count
        }
        // A start that found its row already there (a retry) is fine too;
        // for the updates no row means no active record of that id.
        if rows == 0, case .started = write { return }
        if rows == 0 { throw .unknownRecord(write.recordID) }
    }

    private static func append(_ value: ColumnValue, to binds: inout PostgresBindings) {
        switch value {
        case .uuid(let uuid): binds.append(uuid)
        case .text(let text): binds.append(text)
        case .integer(let integer): binds.append(integer)
        case .real(let real): binds.append(real)
        case .time(let time): binds.append(time)
        }
    }

    func markUnfinished(instance: String, at: Date) async throws(RecordStoreError) -> Int {
        try await withConnection("marking unfinished calls") { connection in
            try await connection.query("""
                UPDATE call_records SET state = 'ended-by-restart', ended_at = \(at)
                WHERE instance = \(instance) AND state = 'active' RETURNING record_id
                """, logger: self.logger).collect().count
        }
    }

    func recent(limit: Int, instance: String?) async throws(RecordStoreError) -> [CallRecord] {
        var binds = PostgresBindings()
        binds.append(max(0, limit))
        binds.append(instance)
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(RecordColumn.names) FROM call_records WHERE $2::text IS NULL OR instance = $2
            ORDER BY started_at DESC, record_id LIMIT $1
            """, binds: binds)
        let rows = try await withConnection("listing call records") { connection in
            try await connection.query(query, logger: self.logger).collect()
        }
        var records: [CallRecord] = []
        for row in rows {
            let cells = row.makeRandomAccess()
            records.append(try CallRecord { (column: RecordColumn) throws(RecordStoreError) -> ColumnValue in
                let cell = cells[column.rawValue]
                do {
                    switch column.kind {
                    case .uuid: return .uuid(try cell.decode(UUID.self))
                    case .text: return .text(try cell.decode(String?.self))
                    case .integer: return .integer(try cell.decode(Int?.self))
                    case .real: return .real(try cell.decode(Double?.self))
                    case .time: return .time(try cell.decode(Date?.self))
                    }
                } catch {
                    throw .corruptRow(reason: "\(column.rawValue) cannot be read as \(column.kind)")
                }
            })
        }
        return records
    }

    // MARK: The connection

    /// Runs `body` on the connection, connecting first if needed. When the
    /// connection cannot be made or is lost, tries twice more after 0.2 s
    /// and 0.8 s; errors from the server itself (SQL, permissions) are final.
    private func withConnection<T>(
        _ operation: String, _ body: (PostgresConnection) async throws -> T
    ) async throws(RecordStoreError) -> T {
        var attempt = 0
        while true {
            if closed { throw .closed }
            attempt += 1
            do {
                let connection = try await connected()
                return try await body(connection)
            } catch {
                let failure = describe(error, operation: operation)
                guard Self.isConnectionProblem(error), attempt < 3 else { throw failure }
                logger.warning("call records: database connection problem, retrying",
                               metadata: ["error": "\(failure)", "attempt": "\(attempt)"])
                await disconnect()
                try? await Task.sleep(for: .milliseconds(200 * (1 << (2 * (attempt - 1)))))
            }
        }
    }

    private func connected() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        connectionCount += 1
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password,
            database: url.database, tls: try tls())
        configuration.options.connectTimeout = .seconds(5)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: connectionCount,
                                                              logger: logger)
        self.connection = connection
        return connection
    }

    /// libpq's sslmode semantics: require encrypts without checking the
    /// certificate, verify-ca checks the chain, verify-full the name too.
    private func tls() throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            configuration.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: configuration))
        case .require:
            configuration.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyFull:
            return .require(try NIOSSLContext(configuration: configuration))
        }
    }

    private func disconnect() async {
        guard let connection else { return }
        self.connection = nil
        try? await connection.close()
    }

    /// Worth another connection: the network or the server went away.
    /// Not: what the server said about the SQL, or a row we cannot read.
    private static func isConnectionProblem(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown: return true
            default: return false
            }
        case is RecordStoreError, is PostgresDecodingError, is CancellationError:
            return false
        default:
            return true  // socket, TLS and timeout errors from NIO
        }
    }

    /// A typed error saying what failed, from the server's own words when
    /// there are some. PSQLError's description is deliberately generic, so
    /// the useful fields are picked out here; none of them holds the
    /// password, and it is scrubbed anyway in case a server echoes it.
    private func describe(_ error: any Error, operation: String) -> RecordStoreError {
        if let error = error as? RecordStoreError { return error }
        var reason: String
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                reason = message
                if let detail = error.serverInfo?[.detail] { reason += " (\(detail))" }
                if let state = error.serverInfo?[.sqlState] { reason += " [SQLSTATE \(state)]" }
            } else {
                reason = "\(error.code)"
                if let underlying = error.underlying { reason += ": \(underlying)" }
            }
        } else {
            reason = "\(error)"
        }
        if let password = url.password, password.count >= 4 {
            reason = reason.replacingOccurrences(of: password, with: "***")
        }
        if Self.isConnectionProblem(error) || connection == nil {
            return .cannotOpen(target: url.description, reason: reason)
        }
        return .database(operation: operation, reason: reason)
    }
}
