import Foundation

/// What `tieline records` prints.
///
/// JSON: an array of objects, newest first, with these keys (always all of
/// them; an unknown value is null), times in ISO 8601 UTC with milliseconds:
///
///     recordId, callId, sipCallId, instance, direction, from, to, user, trunk,
///     startedAt, answeredAt, endedAt, durationSeconds, status, reason, state,
///     codecs { browser, phone },
///     stats { browser { packetsSent, packetsReceived, packetsLost, jitterMs }, phone { ... } }
///
/// `direction` is browser-to-trunk, trunk-to-browser or a dialplan's own kind;
/// `state` is active, ended or ended-by-restart. These names are an interface:
/// scripts read them, so they only ever get additions.
public enum RecordsOutput {
    public static func json(_ records: [CallRecord]) -> String {
        guard !records.isEmpty else { return "[]" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(isoFormat))
        }
        // Encoding plain values into JSON cannot fail; "[]" keeps the output
        // valid JSON should that ever change.
        guard let data = try? encoder.encode(records) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads `json` back (tests, and tools that post-process the output).
    public static func decodeJSON(_ text: String) throws -> [CallRecord] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            return try isoFormat.parse(try container.decode(String.self))
        }
        return try decoder.decode([CallRecord].self, from: Data(text.utf8))
    }

    private static let isoFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static let tableHeader = ["START", "DIRECTION", "FROM", "TO", "USER", "TRUNK", "DURATION", "STATUS", "REASON", "STATE"]

    /// An aligned text table, one call a line, start times in `timeZone`.
    public static func table(_ records: [CallRecord], timeZone: TimeZone = .current) -> String {
        let rows = [tableHeader] + records.map { record in
            [startTime(record.startedAt, timeZone), record.direction.rawValue, record.from, record.to,
             record.user ?? "-", record.trunk ?? "-", duration(record.durationSeconds),
             record.status.map(String.init) ?? "-", record.reason ?? "-", record.state.rawValue]
                .map { cell($0) }
        }
        var widths = [Int](repeating: 0, count: tableHeader.count)
        for row in rows {
            for (index, value) in row.enumerated() { widths[index] = max(widths[index], value.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, value in
                index == row.count - 1 ? value : value + String(repeating: " ", count: widths[index] - value.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// "3.0s" under a minute, "2m05s", "1h02m03s"; "-" when unknown.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        if seconds < 60 { return String(format: "%.1fs", max(0, seconds)) }
        let whole = Int(seconds.rounded())
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60)
        if hours == 0 { return String(format: "%dm%02ds", minutes, rest) }
        return String(format: "%dh%02dm%02ds", hours, minutes, rest)
    }

    /// "2025-03-01 14:02:09", built from calendar fields so that the locale
    /// never changes the format.
    static func startTime(_ date: Date, _ timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    /// Values come from SIP headers and browsers: control characters would
    /// break the lines, and a long reason would push every column away.
    static func cell(_ value: String, limit: Int = 40) -> String {
        let cleaned = String(value.map { character in
            let control = character.unicodeScalars.contains { $0.properties.generalCategory == .control }
            return control || character.isNewline ? " " : character
        })
        let text = cleaned.isEmpty ? "-" : cleaned
        return text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }
}
