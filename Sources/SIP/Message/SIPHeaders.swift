/// The header fields of a message, in order, names as written.
///
/// Lookups are case-insensitive and treat compact forms as their long forms (RFC 3261 §7.3.3).
/// For list headers (§7.3.1) `first` and `all` see values, not fields: `Via: a, b` and two Via
/// fields read the same.
///
/// Parsed fields are not turned into Strings up front: they point into `storage`, a copy of the
/// received header section, and become Strings only when read. Most fields of most messages are
/// only ever forwarded or re-serialized, so this is where parsing saves most of its time.
public struct SIPHeaders: Sendable, Sequence, Hashable, ExpressibleByDictionaryLiteral {
    /// A field's name or value: a span of `storage`, or a String set by the application.
    enum Text: Sendable {
        case span(UInt32, UInt32)
        case string(String)
    }

    struct Field: Sendable {
        var kind: HeaderKind
        var name: Text
        var value: Text
    }

    /// The received header section (plus the unfolded text of folded fields) that spans index.
    var storage: [UInt8]
    var fields: [Field]

    public init() {
        storage = []
        fields = []
    }

    init(storage: [UInt8], fields: [Field]) {
        self.storage = storage
        self.fields = fields
    }

    /// Fields in the literal's order; repeated names are kept.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init()
        for (name, value) in elements { add(name, value) }
    }

    /// Number of header fields (a field holding a comma list counts once).
    public var count: Int { fields.count }

    public struct Iterator: IteratorProtocol {
        let headers: SIPHeaders
        var index = 0
        public mutating func next() -> (name: String, value: String)? {
            guard index < headers.fields.count else { return nil }
            defer { index += 1 }
            let field = headers.fields[index]
            return (headers.string(field.name), headers.string(field.value))
        }
    }

    public func makeIterator() -> Iterator { Iterator(headers: self) }

    // MARK: Editing

    public mutating func add(_ name: String, _ value: String) {
        fields.append(Self.makeField(name, value))
    }

    /// Replaces every field of that name by one field, at the first one's position, else appends.
    public mutating func set(_ name: String, _ value: String) {
        let kind = HeaderKind(name: name)
        guard let first = firstIndex(kind, name) else {
            add(name, value)
            return
        }
        fields[first] = Self.makeField(name, value)
        var i = fields.count - 1
        while i > first {
            if matches(fields[i], kind, name) { fields.remove(at: i) }
            i -= 1
        }
    }

    public mutating func remove(_ name: String) {
        let kind = HeaderKind(name: name)
        var kept: [Field] = []
        kept.reserveCapacity(fields.count)
        for field in fields where !matches(field, kind, name) { kept.append(field) }
        fields = kept
    }

    /// Prepends a field; a proxy or UAC pushes its Via this way.
    public mutating func insertFirst(_ name: String, _ value: String) {
        fields.insert(Self.makeField(name, value), at: 0)
    }

    /// Removes the first value of that name: when the first field is a comma list of several
    /// values (e.g. `Via: a, b`), only its first value goes; otherwise the whole field.
    public mutating func removeFirst(_ name: String) {
        let kind = HeaderKind(name: name)
        guard let index = firstIndex(kind, name) else { return }
        if kind.isList, let rest = remainderAfterFirstValue(fields[index].value) {
            fields[index].value = .string(rest)
        } else {
            fields.remove(at: index)
        }
    }

    /// A header value cannot hold a line break: it would end the field and let the rest be read
    /// as another header. Breaks become spaces, as unfolding would make them.
    private static func makeField(_ name: String, _ value: String) -> Field {
        var clean = value
        if value.utf8.contains(where: { $0 == Byte.cr || $0 == Byte.lf }) {
            clean = String(decoding: value.utf8.map { $0 == Byte.cr || $0 == Byte.lf ? Byte.space : $0 }, as: UTF8.self)
        }
        return Field(kind: HeaderKind(name: name), name: .string(name), value: .string(clean))
    }

    // MARK: Reading

    /// The first value: the first field's value, or for a list header its first comma-separated
    /// value.
    public func first(_ name: String) -> String? {
        first(kind: HeaderKind(name: name), name: name)
    }

    public subscript(name: String) -> String? { first(name) }

    /// Every value: list headers split on commas outside quotes and `<>`, others one per field.
    public func all(_ name: String) -> [String] {
        let kind = HeaderKind(name: name)
        var result: [String] = []
        for field in fields where matches(field, kind, name) {
            if kind.isList {
                withBytes(field.value) { p, lo, hi in
                    HeaderList.ranges(p, lo, hi) { a, b in if a < b { result.append(makeString(p, a, b)) } }
                }
            } else {
                result.append(string(field.value))
            }
        }
        return result
    }

    public func contains(_ name: String) -> Bool { firstIndex(HeaderKind(name: name), name) != nil }

    func first(kind: HeaderKind, name: String = "") -> String? {
        for field in fields where matches(field, kind, name) {
            guard kind.isList else { return string(field.value) }
            let value: String? = withBytes(field.value) { p, lo, hi in
                var found: String?
                HeaderList.ranges(p, lo, hi) { a, b in
                    if found == nil && a < b { found = makeString(p, a, b) }
                }
                return found
            }
            if let value { return value }
        }
        return nil
    }

    /// Runs `body` over the bytes of every value of `kind`, list fields split into values; stops
    /// and returns false as soon as `body` does.
    func forEachValue(_ kind: HeaderKind, _ body: (Bytes, Int, Int) -> Bool) -> Bool {
        for field in fields where field.kind == kind {
            let ok = withBytes(field.value) { p, lo, hi -> Bool in
                guard kind.isList else { return body(p, lo, hi) }
                var ok = true
                HeaderList.ranges(p, lo, hi) { a, b in if ok && a < b { ok = body(p, a, b) } }
                return ok
            }
            if !ok { return false }
        }
        return true
    }

    // MARK: Text access

    func string(_ text: Text) -> String {
        switch text {
        case .string(let s): return s
        case .span(let lo, let hi):
            return storage.withUnsafeBufferPointer { makeString($0, Int(lo), Int(hi)) }
        }
    }

    func withBytes<R>(_ text: Text, _ body: (Bytes, Int, Int) -> R) -> R {
        switch text {
        case .string(let s): return withUTF8BytesNonThrowing(s) { body($0, 0, $0.count) }
        case .span(let lo, let hi): return storage.withUnsafeBufferPointer { body($0, Int(lo), Int(hi)) }
        }
    }

    private func firstIndex(_ kind: HeaderKind, _ name: String) -> Int? {
        fields.firstIndex { matches($0, kind, name) }
    }

    @inline(__always)
    func matches(_ field: Field, _ kind: HeaderKind, _ name: String) -> Bool {
        if kind != .other { return field.kind == kind }
        guard field.kind == .other else { return false }
        return withBytes(field.name) { p, lo, hi in
            asciiEqualsIgnoringCase(Bytes(rebasing: p[lo..<hi]), name.utf8)
        }
    }

    private func remainderAfterFirstValue(_ text: Text) -> String? {
        withBytes(text) { p, lo, hi -> String? in
            var starts: [Int] = []
            HeaderList.ranges(p, lo, hi) { a, b in if a < b { starts.append(a) } }
            guard starts.count > 1 else { return nil }
            return makeString(p, starts[1], trimTrailingWSP(p, starts[1], hi))
        }
    }

    // MARK: Hashable: fields compare by their text, wherever it is kept.

    public static func == (a: SIPHeaders, b: SIPHeaders) -> Bool {
        guard a.fields.count == b.fields.count else { return false }
        for (x, y) in zip(a.fields, b.fields) {
            if !a.textEquals(x.name, b, y.name) || !a.textEquals(x.value, b, y.value) { return false }
        }
        return true
    }

    private func textEquals(_ t: Text, _ other: SIPHeaders, _ u: Text) -> Bool {
        withBytes(t) { p, lo, hi in
            other.withBytes(u) { q, qlo, qhi in
                hi - lo == qhi - qlo && (0..<(hi - lo)).allSatisfy { p[lo + $0] == q[qlo + $0] }
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields.count)
        for field in fields {
            withBytes(field.name) { p, lo, hi in hasher.combine(bytes: UnsafeRawBufferPointer(Bytes(rebasing: p[lo..<hi]))) }
            hasher.combine(0xFF as UInt8)
            withBytes(field.value) { p, lo, hi in hasher.combine(bytes: UnsafeRawBufferPointer(Bytes(rebasing: p[lo..<hi]))) }
            hasher.combine(0xFF as UInt8)
        }
    }
}

// MARK: - Typed accessors

extension SIPHeaders {
    public var vias: [Via] { parseAll(.via) { p, lo, hi in try? Via.parse(p, lo, hi) } }
    public var topVia: Via? { parseFirst(.via) { p, lo, hi in try? Via.parse(p, lo, hi) } }
    public var from: NameAddress? { parseFirst(.from) { p, lo, hi in try? NameAddress.parse(p, lo, hi) } }
    public var to: NameAddress? { parseFirst(.to) { p, lo, hi in try? NameAddress.parse(p, lo, hi) } }

    public var callID: String? {
        guard let value = first(kind: .callID), !value.isEmpty else { return nil }
        return value
    }

    public var cseq: CSeq? { parseFirst(.cseq) { p, lo, hi in try? CSeq.parse(p, lo, hi) } }

    /// Contacts, empty when absent or malformed and for the REGISTER wildcard `*`.
    public var contacts: [NameAddress] {
        if hasWildcardContact { return [] }
        return parseAll(.contact) { p, lo, hi in try? NameAddress.parse(p, lo, hi) }
    }

    /// `Contact: *`, which asks a registrar to remove all bindings (RFC 3261 §10.2.2).
    public var hasWildcardContact: Bool { first(kind: .contact) == "*" }

    /// 0-255; nil when absent or malformed.
    public var maxForwards: Int? { decimal(.maxForwards, limit: 255) }
    public var contentLength: Int? { decimal(.contentLength, limit: Int.max) }
    public var contentType: String? { first(kind: .contentType) }
    public var routes: [NameAddress] { parseAll(.route) { p, lo, hi in try? NameAddress.parse(p, lo, hi) } }
    public var recordRoutes: [NameAddress] {
        parseAll(.recordRoute) { p, lo, hi in try? NameAddress.parse(p, lo, hi) }
    }
    /// delta-seconds up to 2^32-1; nil when absent or malformed (RFC 3261 §20.19 leaves the
    /// fallback to the caller, e.g. 3600 for REGISTER).
    public var expires: Int? { decimal(.expires, limit: Int(UInt32.max)) }

    /// All values parsed, or empty if any of them is malformed: a half-read route set or Via
    /// stack is worse than none.
    private func parseAll<T>(_ kind: HeaderKind, _ parse: (Bytes, Int, Int) -> T?) -> [T] {
        var result: [T] = []
        let ok = forEachValue(kind) { p, lo, hi in
            guard let value = parse(p, lo, hi) else { return false }
            result.append(value)
            return true
        }
        return ok ? result : []
    }

    private func parseFirst<T>(_ kind: HeaderKind, _ parse: (Bytes, Int, Int) -> T?) -> T? {
        var result: T?
        _ = forEachValue(kind) { p, lo, hi in
            result = parse(p, lo, hi)
            return false
        }
        return result
    }

    private func decimal(_ kind: HeaderKind, limit: Int) -> Int? {
        parseFirst(kind) { p, lo, hi -> Int? in
            let a = skipWSP(p, lo, hi)
            if case .value(let n) = parseDecimal(p, a, trimTrailingWSP(p, a, hi)), n <= limit { return n }
            return nil
        }
    }
}

/// Splitting of comma-separated header values (RFC 3261 §7.3.1): commas inside quoted strings
/// and inside `<...>` do not separate values.
enum HeaderList {
    /// Calls `body` with the trimmed byte range of every value, empty ones included.
    static func ranges(_ p: Bytes, _ lo: Int, _ hi: Int, _ body: (Int, Int) -> Void) {
        var start = lo
        var i = lo
        var inQuotes = false, inAngle = false
        while i < hi {
            let c = p[i]
            if inQuotes {
                if c == Byte.backslash { i += 1 } else if c == Byte.quote { inQuotes = false }
            } else if c == Byte.quote {
                inQuotes = true
            } else if c == Byte.lessThan {
                inAngle = true
            } else if c == Byte.greaterThan {
                inAngle = false
            } else if c == Byte.comma && !inAngle {
                let a = skipWSP(p, start, i)
                body(a, trimTrailingWSP(p, a, i))
                start = i + 1
            }
            i += 1
        }
        let a = skipWSP(p, start, hi)
        body(a, trimTrailingWSP(p, a, hi))
    }
}
