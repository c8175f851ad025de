/// An ordered list of `;name=value` or `;flag` parameters, as found on URIs and on header values.
///
/// Names compare case-insensitively (RFC 3261 §19.1.4, §7.3.1). Values are kept exactly as
/// written (URI escapes and the quotes of a quoted-string value stay), so a message re-serializes
/// byte for byte; use `unquotedValue(_:)` to read a quoted value.
public struct SIPParameters: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public struct Item: Hashable, Sendable {
        public var name: String
        public var value: String?
        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    public var items: [Item]

    public init() { items = [] }
    public init(_ items: [Item]) { self.items = items }
    public init(arrayLiteral elements: Item...) { items = elements }
    /// `["lr": nil, "transport": "tcp"]`; the literal's order is kept.
    public init(dictionaryLiteral elements: (String, String?)...) {
        items = elements.map { Item(name: $0.0, value: $0.1) }
    }

    public var isEmpty: Bool { items.isEmpty }

    /// The value of the first parameter with this name; nil when absent or when it has no value.
    public func value(_ name: String) -> String? {
        for item in items where asciiEqualsIgnoringCase(item.name, name) { return item.value }
        return nil
    }

    /// The value with surrounding quotes removed and backslash escapes resolved.
    public func unquotedValue(_ name: String) -> String? {
        guard let raw = value(name) else { return nil }
        return unquote(raw)
    }

    public func contains(_ name: String) -> Bool {
        items.contains { asciiEqualsIgnoringCase($0.name, name) }
    }

    /// Replaces the first parameter of that name (keeping its position and dropping any repeats),
    /// or appends one.
    public mutating func set(_ name: String, _ value: String?) {
        guard let first = items.firstIndex(where: { asciiEqualsIgnoringCase($0.name, name) }) else {
            items.append(Item(name: name, value: value))
            return
        }
        items[first] = Item(name: name, value: value)
        var i = items.count - 1
        while i > first {
            if asciiEqualsIgnoringCase(items[i].name, name) { items.remove(at: i) }
            i -= 1
        }
    }

    public mutating func remove(_ name: String) {
        items.removeAll { asciiEqualsIgnoringCase($0.name, name) }
    }

    public var description: String { writeString(count: byteCount) { write(to: &$0) } }

    var byteCount: Int {
        var n = 0
        for item in items { n += 1 + item.name.utf8.count + (item.value.map { 1 + $0.utf8.count } ?? 0) }
        return n
    }

    func write(to out: inout ByteWriter) {
        for item in items {
            out.write(Octet.semicolon)
            out.write(item.name)
            if let value = item.value {
                out.write(Octet.equals)
                out.write(value)
            }
        }
    }
}

// MARK: - Grammar

extension SIPParameters {
    /// uri-parameters = *( ";" pname [ "=" pvalue ] ), no whitespace anywhere. Starts at a ';'
    /// (or returns at once) and stops at the first byte that cannot continue a parameter.
    static func scanURIParameters(_ p: Octets, _ start: Int, _ hi: Int) throws(SIPParseError) -> Int {
        var i = start
        while i < hi && p[i] == Octet.semicolon {
            let nameStart = i + 1
            i = try scanEscaped(p, nameStart, hi, isParamChar)
            guard i > nameStart else { throw SIPParseError("Empty URI parameter") }
            if i < hi && p[i] == Octet.equals {
                let valueStart = i + 1
                i = try scanEscaped(p, valueStart, hi, isParamChar)
                guard i > valueStart else { throw SIPParseError("Empty URI parameter value") }
            }
        }
        return i
    }

    /// Builds parameters from text `scanURIParameters` accepted.
    static func buildURIParameters(_ p: Octets, _ lo: Int, _ hi: Int) -> SIPParameters {
        var params = SIPParameters()
        var i = lo
        while i < hi {
            let start = i + 1  // past ';'
            let end = firstIndex(of: Octet.semicolon, in: p, start, hi) ?? hi
            if let eq = firstIndex(of: Octet.equals, in: p, start, end) {
                params.items.append(Item(name: decodeString(p, start, eq), value: decodeString(p, eq + 1, end)))
            } else {
                params.items.append(Item(name: decodeString(p, start, end), value: nil))
            }
            i = end
        }
        return params
    }

    /// *( SEMI generic-param ) after a header value, where SEMI and EQUAL allow whitespace around
    /// them (RFC 3261 §25.1). Stops at `hi`, or at a ',' ending a list value when `stopAtComma`;
    /// returns where it stopped. Anything else that is not a parameter is an error.
    static func scanHeaderParameters(_ p: Octets, _ start: Int, _ hi: Int, stopAtComma: Bool) throws(SIPParseError) -> Int {
        var unused = SIPParameters()
        return try headerParameters(p, start, hi, stopAtComma: stopAtComma, into: &unused, build: false)
    }

    /// Builds parameters from text `scanHeaderParameters` accepted.
    static func buildHeaderParameters(_ p: Octets, _ start: Int, _ hi: Int) -> SIPParameters {
        var params = SIPParameters()
        _ = try? headerParameters(p, start, hi, stopAtComma: false, into: &params, build: true)
        return params
    }

    private static func headerParameters(_ p: Octets, _ start: Int, _ hi: Int, stopAtComma: Bool,
                                         into params: inout SIPParameters, build: Bool) throws(SIPParseError) -> Int {
        var i = skipWSP(p, start, hi)
        while i < hi {
            if stopAtComma && p[i] == Octet.comma { return i }
            guard p[i] == Octet.semicolon else { throw SIPParseError("Unexpected text after value") }
            i = skipWSP(p, i + 1, hi)
            let nameStart = i
            while i < hi && isTokenChar(p[i]) { i += 1 }
            guard i > nameStart else { throw SIPParseError("Empty parameter") }
            let nameEnd = i
            i = skipWSP(p, i, hi)
            var valueStart = -1, valueEnd = -1
            if i < hi && p[i] == Octet.equals {
                i = skipWSP(p, i + 1, hi)
                valueStart = i
                if i < hi && p[i] == Octet.quote {
                    i = try skipQuotedString(p, i, hi)
                } else {
                    while i < hi && isGenValueChar(p[i]) { i += 1 }
                }
                guard i > valueStart else { throw SIPParseError("Empty parameter value") }
                valueEnd = i
                i = skipWSP(p, i, hi)
            }
            if build {
                params.items.append(Item(name: decodeString(p, nameStart, nameEnd),
                                         value: valueStart < 0 ? nil : decodeString(p, valueStart, valueEnd)))
            }
        }
        return i
    }
}

/// Advances over characters of a class and `%XX` escapes; a `%` not followed by two hex digits
/// is an error (RFC 3261 §25.1 escaped).
@inline(__always)
func scanEscaped(_ p: Octets, _ start: Int, _ hi: Int, _ allowed: (UInt8) -> Bool) throws(SIPParseError) -> Int {
    var i = start
    while i < hi {
        let c = p[i]
        if c == Octet.percent {
            guard i + 2 < hi, isASCIIHexDigit(p[i + 1]), isASCIIHexDigit(p[i + 2])
            else { throw SIPParseError("Invalid % escape") }
            i += 3
        } else if allowed(c) {
            i += 1
        } else {
            break
        }
    }
    return i
}

/// Returns the index just past a quoted-string starting at `start` (which holds the opening quote).
func skipQuotedString(_ p: Octets, _ start: Int, _ hi: Int) throws(SIPParseError) -> Int {
    var i = start + 1
    while i < hi {
        switch p[i] {
        case Octet.quote: return i + 1
        case Octet.backslash: i += 2
        case Octet.cr, Octet.lf: throw SIPParseError("Line break in quoted string")
        default: i += 1
        }
    }
    throw SIPParseError("Unterminated quoted string")
}

/// Removes the quotes of a quoted-string and resolves its backslash escapes; other text is
/// returned unchanged.
func unquote(_ raw: String) -> String {
    let u = raw.utf8
    guard u.count >= 2, u.first == Octet.quote, u.last == Octet.quote else { return raw }
    var out: [UInt8] = []
    out.reserveCapacity(u.count)
    var escaped = false
    for c in u.dropFirst().dropLast() {
        if escaped { out.append(c); escaped = false }
        else if c == Octet.backslash { escaped = true }
        else { out.append(c) }
    }
    return String(decoding: out, as: UTF8.self)
}
