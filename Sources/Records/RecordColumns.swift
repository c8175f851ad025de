import Foundation

/// The columns of the `call_records` table, the same in SQLite and
/// PostgreSQL. Both stores build their CREATE TABLE, INSERT and SELECT from
/// this list, so the two schemas cannot drift apart. (`from`, `to` and `user`
/// are SQL keywords, hence `from_uri`, `to_uri`, `user_name`.)
enum RecordColumn: String, CaseIterable {
    case recordID = "record_id", instance, callID = "call_id", sipCallID = "sip_call_id"
    case direction, from = "from_uri", to = "to_uri", user = "user_name", trunk
    case startedAt = "started_at", answeredAt = "answered_at", endedAt = "ended_at"
    case durationSeconds = "duration_seconds", status, reason, state
    case browserCodec = "browser_codec", phoneCodec = "phone_codec"
    case browserPacketsSent = "browser_packets_sent", browserPacketsReceived = "browser_packets_received"
    case browserPacketsLost = "browser_packets_lost", browserJitterMs = "browser_jitter_ms"
    case phonePacketsSent = "phone_packets_sent", phonePacketsReceived = "phone_packets_received"
    case phonePacketsLost = "phone_packets_lost", phoneJitterMs = "phone_jitter_ms"

    enum Kind { case uuid, text, integer, real, time }

    var kind: Kind {
        switch self {
        case .recordID: return .uuid
        case .startedAt, .answeredAt, .endedAt: return .time
        case .durationSeconds, .browserJitterMs, .phoneJitterMs: return .real
        case .status, .browserPacketsSent, .browserPacketsReceived, .browserPacketsLost,
             .phonePacketsSent, .phonePacketsReceived, .phonePacketsLost: return .integer
        default: return .text
        }
    }

    var isRequired: Bool {
        switch self {
        case .recordID, .instance, .callID, .direction, .from, .to, .startedAt, .state: return true
        default: return false
        }
    }

    static let names = allCases.map(\.rawValue).joined(separator: ", ")

    /// The CREATE TABLE body, with each backend's type names.
    static func tableDefinition(type: (Kind) -> String) -> String {
        allCases.map { column in
            var definition = "\(column.rawValue) \(type(column.kind))"
            if column == .recordID { definition += " PRIMARY KEY" }
            if column.isRequired { definition += " NOT NULL" }
            return definition
        }.joined(separator: ",\n    ")
    }
}

/// One column's value on its way into or out of a row.
enum ColumnValue {
    case uuid(UUID)
    case text(String?)
    case integer(Int?)
    case real(Double?)
    case time(Date?)
}

extension CallRecord {
    /// This record's values in `RecordColumn.allCases` order, for the INSERT.
    var columnValues: [ColumnValue] {
        RecordColumn.allCases.map { column in
            switch column {
            case .recordID: return .uuid(recordID)
            case .instance: return .text(instance)
            case .callID: return .text(callID)
            case .sipCallID: return .text(sipCallID)
            case .direction: return .text(direction.rawValue)
            case .from: return .text(from)
            case .to: return .text(to)
            case .user: return .text(user)
            case .trunk: return .text(trunk)
            case .startedAt: return .time(startedAt)
            case .answeredAt: return .time(answeredAt)
            case .endedAt: return .time(endedAt)
            case .durationSeconds: return .real(durationSeconds)
            case .status: return .integer(status)
            case .reason: return .text(reason)
            case .state: return .text(state.rawValue)
            case .browserCodec: return .text(codecs.browser)
            case .phoneCodec: return .text(codecs.phone)
            case .browserPacketsSent: return .integer(stats.browser?.packetsSent)
            case .browserPacketsReceived: return .integer(stats.browser?.packetsReceived)
            case .browserPacketsLost: return .integer(stats.browser?.packetsLost)
            case .browserJitterMs: return .real(stats.browser?.jitterMs)
            case .phonePacketsSent: return .integer(stats.phone?.packetsSent)
            case .phonePacketsReceived: return .integer(stats.phone?.packetsReceived)
            case .phonePacketsLost: return .integer(stats.phone?.packetsLost)
            case .phoneJitterMs: return .real(stats.phone?.jitterMs)
            }
        }
    }

    /// Rebuilds a record from a row; `read` gives a column's value (nil for NULL).
    init(reading read: (RecordColumn) throws(RecordStoreError) -> ColumnValue) throws(RecordStoreError) {
        func text(_ column: RecordColumn) throws(RecordStoreError) -> String? {
            guard case .text(let value) = try read(column) else { throw .corruptRow(reason: "\(column.rawValue) is not text") }
            return value
        }
        func required(_ column: RecordColumn) throws(RecordStoreError) -> String {
            guard let value = try text(column) else { throw .corruptRow(reason: "\(column.rawValue) is empty") }
            return value
        }
        func integer(_ column: RecordColumn) throws(RecordStoreError) -> Int? {
            guard case .integer(let value) = try read(column) else { throw .corruptRow(reason: "\(column.rawValue) is not an integer") }
            return value
        }
        func real(_ column: RecordColumn) throws(RecordStoreError) -> Double? {
            guard case .real(let value) = try read(column) else { throw .corruptRow(reason: "\(column.rawValue) is not a number") }
            return value
        }
        func time(_ column: RecordColumn) throws(RecordStoreError) -> Date? {
            guard case .time(let value) = try read(column) else { throw .corruptRow(reason: "\(column.rawValue) is not a time") }
            return value
        }
        func leg(_ sent: RecordColumn, _ received: RecordColumn, _ lost: RecordColumn,
                 _ jitter: RecordColumn) throws(RecordStoreError) -> LegStats? {
            // The end writes all four or none, so one NULL means no stats for the leg.
            guard let sent = try integer(sent), let received = try integer(received),
                  let lost = try integer(lost), let jitter = try real(jitter) else { return nil }
            return LegStats(packetsSent: sent, packetsReceived: received, packetsLost: lost, jitterMs: jitter)
        }
        guard case .uuid(let recordID) = try read(.recordID) else { throw .corruptRow(reason: "record_id is not a UUID") }
        guard let startedAt = try time(.startedAt) else { throw .corruptRow(reason: "started_at is empty") }
        let stateText = try required(.state)
        guard let state = RecordState(rawValue: stateText) else { throw .corruptRow(reason: "unknown state \(stateText)") }
        self.init(recordID: recordID, callID: try required(.callID), sipCallID: try text(.sipCallID),
                  direction: CallDirection(rawValue: try required(.direction)),
                  from: try required(.from), to: try required(.to), user: try text(.user), trunk: try text(.trunk),
                  startedAt: startedAt, answeredAt: try time(.answeredAt), endedAt: try time(.endedAt),
                  durationSeconds: try real(.durationSeconds), status: try integer(.status),
                  reason: try text(.reason), state: state,
                  codecs: CallCodecs(browser: try text(.browserCodec), phone: try text(.phoneCodec)),
                  stats: CallStats(
                    browser: try leg(.browserPacketsSent, .browserPacketsReceived, .browserPacketsLost, .browserJitterMs),
                    phone: try leg(.phonePacketsSent, .phonePacketsReceived, .phonePacketsLost, .phoneJitterMs)),
                  instance: try required(.instance))
    }
}

extension CallStats {
    /// The columns the end writes, in this order (see `columnValues`).
    static let columns: [RecordColumn] = [
        .browserPacketsSent, .browserPacketsReceived, .browserPacketsLost, .browserJitterMs,
        .phonePacketsSent, .phonePacketsReceived, .phonePacketsLost, .phoneJitterMs,
    ]

    var columnValues: [ColumnValue] {
        [.integer(browser?.packetsSent), .integer(browser?.packetsReceived),
         .integer(browser?.packetsLost), .real(browser?.jitterMs),
         .integer(phone?.packetsSent), .integer(phone?.packetsReceived),
         .integer(phone?.packetsLost), .real(phone?.jitterMs)]
    }
}
