// Why a text is not an acceptable session description, or not one the gateway can use.
//
// A single struct rather than an enum of cases: SDP problems are too varied to enumerate usefully,
// and what a log reader needs is the line number and the offending text, which `reason` quotes.

public struct SDPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based line of the description the problem is on; 0 when it concerns the description as a
    /// whole (too large, no audio m-line) or a value parsed on its own, outside any description.
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String {
        line > 0 ? "SDP line \(line): \(reason)" : "SDP: \(reason)"
    }
}

/// Quotes text for an error reason, shortened so a hostile 60 KiB line does not flood the log.
func quoted(_ text: some StringProtocol) -> String {
    let limit = 100
    let shown = text.count > limit ? String(text.prefix(limit)) + "..." : String(text)
    return "\"" + shown + "\""
}

/// A decimal number made only of ASCII digits: Swift's integer initializers also accept a sign,
/// which SDP's grammar never does, and a "+9" read as 9 would not serialize back as written.
func decimal<T: FixedWidthInteger>(_ text: some StringProtocol, as type: T.Type = T.self) -> T? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return T(text, radix: 10)
}

/// Space-separated fields; SDP separates with exactly one space, but extra spaces are tolerated.
func fields(_ text: some StringProtocol) -> [Substring] {
    text.split(separator: " ", omittingEmptySubsequences: true).map { Substring($0) }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (values such as "msid-semantic: WMS" carry them).
    var trimmed: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }),
              let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}
