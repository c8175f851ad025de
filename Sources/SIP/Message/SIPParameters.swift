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
        items[first].value = value
        var i = items.count - 1
        while i > first {
            if asciiEqualsIgnoringCase(items[i].name, name) { items.remove(at: i) }
            i -= 1
        }
    }

    public mutating func remove(_ name: String) {
        items.removeAll { asciiEqualsIgnoringCase($0.name, name) }
    }

    public var description: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func write(into out: inout [UInt8]) {
        for item in items {
            out.append(Byte.semicolon)
            appendUTF8(item.name, to: &out)
            if let value = item.value {
                out.append(Byte.equals)
                appendUTF8(value, to: &out)
            }
        }
    }
}

// MARK: - Grammar

extension SIPParameters {
    /// uri-parameters = *( ";" pname [ "=" pvalue ] ), no whitespace anywhere. Starts at a ';'
    /// (or returns at once) and stops at the first byte that cannot continue a parameter.
    static func scanURIParameters(_ p: Bytes, _ start: Int, _ hi: Int) throws(SIPParseError) -> Int {
        var i = start
        while i < hi && p[i] == Byte.semicolon {
            let nameStart = i + 1
            i = try scanEscaped(p, nameStart, hi, isParamChar)
            guard i > nameStart else { throw SIPParseError("Empty URI parameter") }
            if i < hi && p[i] == Byte.equals {
                let valueStart = i + 1
                i = try scanEscaped(p, valueStart, hi, isParamChar)
                guard i > valueStart else { throw SIPParseError("Empty URI parameter value") }
            }
        }
        return i
    }

    /// Builds parameters from text `scanURIParameters` accepted.
    static func buildURIParameters(_ p: Bytes, _ lo: Int, _ hi: Int) -> SIPParameters {
        var params = SIPParameters()
        var i = lo
        while i < hi {
            let start = i + 1  // past ';'
            let end = firstIndex(of: Byte.semicolon, in: p, start, hi) ?? hi
            if let eq = firstIndex(of: Byte.equals, in: p, start, end) {
                params.items.append(Item(name: makeString(p, start, eq), value: makeString(p, eq + 1, end)))
            } else {
                params.items.append(Item(name: makeString(p, start, end), value: nil))
            }
            i = end
        }
        return params
    }

    /// *( SEMI generic-param ) after a header value, where SEMI and EQUAL allow whitespace around
    /// them (RFC 3261 §25.1). Must consume everything up to `hi`.
    static func parseHeaderParameters(_ p: Bytes, _ start: Int, _ hi: Int,
                                      build: Bool = true) throws(SIPParseError) -> SIPParameters {
        var params = SIPParameters()
        var i = skipWSP(p, start, hi)
        while i < hi {
            guard p[i] == Byte.semicolon else { throw SIPParseError("Unexpected text after value") }
            i = skipWSP(p, i + 1, hi)
            let nameStart = i
            while i < hi && isTokenChar(p[i]) { i += 1 }
            guard i > nameStart else { throw SIPParseError("Empty parameter") }
            let nameEnd = i
            i = skipWSP(p, i, hi)
            var value: (Int, Int)?
            if i < hi && p[i] == Byte.equals {
                i = skipWSP(p, i + 1, hi)
                let valueStart = i
                if i < hi && p[i] == Byte.quote {
                    i = try skipQuotedString(p, i, hi)
                } else {
                    while i < hi && isGenValueChar(p[i]) { i += 1 }
                }
                guard i > valueStart else { throw SIPParseError("Empty parameter value") }
                value = (valueStart, i)
                i = skipWSP(p, i, hi)
            }
            if build {
                params.items.append(Item(name: makeString(p, nameStart, nameEnd),
                                         value: value.map { makeString(p, $0.0, $0.1) }))
            }
        }
        return params
    }
}

/// Advances over characters of a class and `%XX` escapes; a `%` not followed by two hex digits
/// is an error (RFC 3261 §25.1 escaped).
@inline(__always)
func scanEscaped(_ p: Bytes, _ start: Int, _ hi: Int, _ allowed: (UInt8) -> Bool) throws(SIPParseError) -> Int {
    var i = start
    while i < hi {
        let c = p[i]
        if c == Byte.percent {
            guard i + 2 < hi, isHexDigit(p[i + 1]), isHexDigit(p[i + 2])
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
func skipQuotedString(_ p: Bytes, _ start: Int, _ hi: Int) throws(SIPParseError) -> Int {
    var i = start + 1
    while i < hi {
        switch p[i] {
        case Byte.quote: return i + 1
        case Byte.backslash: i += 2
        case Byte.cr, Byte.lf: throw SIPParseError("Line break in quoted string")
        default: i += 1
        }
    }
    throw SIPParseError("Unterminated quoted string")
}

/// Removes the quotes of a quoted-string and resolves its backslash escapes; other text is
/// returned unchanged.
func unquote(_ raw: String) -> String {
    let u = raw.utf8
    guard u.count >= 2, u.first == Byte.quote, u.last == Byte.quote else { return raw }
    var out: [UInt8] = []
    out.reserveCapacity(u.count)
    var escaped = false
    for c in u.dropFirst().dropLast() {
        if escaped { out.append(c); escaped = false }
        else if c == Byte.backslash { escaped = true }
        else { out.append(c) }
    }
    return String(decoding: out, as: UTF8.self)
}
