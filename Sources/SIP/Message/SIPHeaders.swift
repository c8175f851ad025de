/// The header fields of a message, in order, names as written.
///
/// Lookups are case-insensitive and treat compact forms as their long forms (RFC 3261 §7.3.3).
/// For list headers (§7.3.1) `first` and `all` see values, not fields: `Via: a, b` and two Via
/// fields read the same.
///
/// Every name and value is a span of `storage`: for a parsed message, a copy of the received
/// header section; fields the application adds are appended to it. Strings are made only when a
/// field is read, and fields are plain values that copy without reference counting. Most fields
/// of most messages are only forwarded or re-serialized, so this is where parsing saves its time.
public struct SIPHeaders: Sendable, Sequence, Hashable, ExpressibleByDictionaryLiteral {
    struct Field: Sendable {
        var kind: HeaderKind
        var nameLo: UInt32, nameHi: UInt32
        var valueLo: UInt32, valueHi: UInt32

        init(kind: HeaderKind, name: (Int, Int), value: (Int, Int)) {
            self.kind = kind
            nameLo = UInt32(truncatingIfNeeded: name.0)
            nameHi = UInt32(truncatingIfNeeded: name.1)
            valueLo = UInt32(truncatingIfNeeded: value.0)
            valueHi = UInt32(truncatingIfNeeded: value.1)
        }

        var name: (Int, Int) { (Int(nameLo), Int(nameHi)) }
        var value: (Int, Int) { (Int(valueLo), Int(valueHi)) }
    }

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
        fields.append(makeField(name, value))
    }

    /// Replaces every field of that name by one field, at the first one's position, else appends.
    public mutating func set(_ name: String, _ value: String) {
        let kind = HeaderKind(name: name)
        guard let first = firstIndex(kind, name) else {
            add(name, value)
            return
        }
        fields[first] = makeField(name, value)
        var kept = Array(fields[...first])
        for field in fields[(first + 1)...] where !matches(field, kind, name) { kept.append(field) }
        fields = kept
        compactIfWasteful()
    }

    public mutating func remove(_ name: String) {
        let kind = HeaderKind(name: name)
        fields = fields.filter { !matches($0, kind, name) }
        compactIfWasteful()
    }

    /// Prepends a field; a proxy or UAC pushes its Via this way.
    public mutating func insertFirst(_ name: String, _ value: String) {
        fields.insert(makeField(name, value), at: 0)
    }

    /// Removes the first value of that name: when the first field is a comma list of several
    /// values (e.g. `Via: a, b`), only its first value goes; otherwise the whole field.
    public mutating func removeFirst(_ name: String) {
        let kind = HeaderKind(name: name)
        guard let index = firstIndex(kind, name) else { return }
        var second: Int?
        if kind.isList {
            var values = 0
            withBytes(fields[index].value) { p, lo, hi in
                HeaderList.ranges(p, lo, hi) { a, b in
                    guard a < b else { return }
                    values += 1
                    if values == 2 { second = a }
                }
            }
        }
        if let second {
            // The remaining values are already in storage: just start the value later.
            fields[index].valueLo = UInt32(truncatingIfNeeded: second)
        } else {
            fields.remove(at: index)
            compactIfWasteful()
        }
    }

    /// Appends the text to storage. A header value cannot hold a line break: it would end the
    /// field and let the rest be read as another header, so breaks become spaces, as unfolding
    /// would make them.
    private mutating func makeField(_ name: String, _ value: String) -> Field {
        let nameLo = storage.count
        storage.append(contentsOf: name.utf8)
        let valueLo = storage.count
        storage.append(contentsOf: value.utf8)
        for i in valueLo..<storage.count where storage[i] == Octet.cr || storage[i] == Octet.lf {
            storage[i] = Octet.space
        }
        return Field(kind: HeaderKind(name: name), name: (nameLo, valueLo), value: (valueLo, storage.count))
    }

    /// Edits leave dead text in storage; rebuild it when most of it is dead, so a value edited
    /// over and over (a dialog's CSeq) cannot grow without bound.
    private mutating func compactIfWasteful() {
        var live = 0
        for field in fields { live += Int(field.nameHi - field.nameLo) + Int(field.valueHi - field.valueLo) }
        guard storage.count > 4096 && storage.count > 2 * live else { return }
        var compact: [UInt8] = []
        compact.reserveCapacity(live)
        var moved = fields
        storage.withUnsafeBufferPointer { old in
            for i in moved.indices {
                let field = moved[i]
                let nameLo = compact.count
                compact.append(contentsOf: Octets(rebasing: old[Int(field.nameLo)..<Int(field.nameHi)]))
                let valueLo = compact.count
                compact.append(contentsOf: Octets(rebasing: old[Int(field.valueLo)..<Int(field.valueHi)]))
                moved[i] = Field(kind: field.kind, name: (nameLo, valueLo), value: (valueLo, compact.count))
            }
        }
        storage = compact
        fields = moved
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
                    HeaderList.ranges(p, lo, hi) { a, b in if a < b { result.append(decodeString(p, a, b)) } }
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
                    if found == nil && a < b { found = decodeString(p, a, b) }
                }
                return found
            }
            if let value { return value }
        }
        return nil
    }

    /// Runs `body` over the bytes of every value of `kind`, list fields split into values; stops
    /// and returns false as soon as `body` does.
    func forEachValue(_ kind: HeaderKind, _ body: (Octets, Int, Int) -> Bool) -> Bool {
        storage.withUnsafeBufferPointer { p in
            for field in fields where field.kind == kind {
                let (lo, hi) = field.value
                if !kind.isList {
                    if !body(p, lo, hi) { return false }
                    continue
                }
                var ok = true
                HeaderList.ranges(p, lo, hi) { a, b in if ok && a < b { ok = body(p, a, b) } }
                if !ok { return false }
            }
            return true
        }
    }

    // MARK: Text access

    func string(_ span: (Int, Int)) -> String {
        storage.withUnsafeBufferPointer { decodeString($0, span.0, span.1) }
    }

    func withBytes<R>(_ span: (Int, Int), _ body: (Octets, Int, Int) -> R) -> R {
        storage.withUnsafeBufferPointer { body($0, span.0, span.1) }
    }

    private func firstIndex(_ kind: HeaderKind, _ name: String) -> Int? {
        fields.firstIndex { matches($0, kind, name) }
    }

    @inline(__always)
    func matches(_ field: Field, _ kind: HeaderKind, _ name: String) -> Bool {
        if kind != .other { return field.kind == kind }
        guard field.kind == .other else { return false }
        return withBytes(field.name) { p, lo, hi in
            asciiEqualsIgnoringCase(Octets(rebasing: p[lo..<hi]), name.utf8)
        }
    }

    // MARK: Hashable: fields compare by their text, wherever in storage it is.

    public static func == (a: SIPHeaders, b: SIPHeaders) -> Bool {
        guard a.fields.count == b.fields.count else { return false }
        return a.storage.withUnsafeBufferPointer { p in
            b.storage.withUnsafeBufferPointer { q in
                for (x, y) in zip(a.fields, b.fields) {
                    if !spansEqual(p, x.name, q, y.name) || !spansEqual(p, x.value, q, y.value) { return false }
                }
                return true
            }
        }
    }

    private static func spansEqual(_ p: Octets, _ s: (Int, Int), _ q: Octets, _ t: (Int, Int)) -> Bool {
        s.1 - s.0 == t.1 - t.0 && Octets(rebasing: p[s.0..<s.1]).elementsEqual(Octets(rebasing: q[t.0..<t.1]))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields.count)
        storage.withUnsafeBufferPointer { p in
            for field in fields {
                hasher.combine(bytes: UnsafeRawBufferPointer(Octets(rebasing: p[field.name.0..<field.name.1])))
                hasher.combine(0xFF as UInt8)
                hasher.combine(bytes: UnsafeRawBufferPointer(Octets(rebasing: p[field.value.0..<field.value.1])))
                hasher.combine(0xFF as UInt8)
            }
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
    public var expires: Int? { decimal(.expires, limit: Int(clamping: UInt32.max)) }

    /// All values parsed, or empty if any of them is malformed: a half-read route set or Via
    /// stack is worse than none.
    private func parseAll<T>(_ kind: HeaderKind, _ parse: (Octets, Int, Int) -> T?) -> [T] {
        var result: [T] = []
        let ok = forEachValue(kind) { p, lo, hi in
            guard let value = parse(p, lo, hi) else { return false }
            result.append(value)
            return true
        }
        return ok ? result : []
    }

    private func parseFirst<T>(_ kind: HeaderKind, _ parse: (Octets, Int, Int) -> T?) -> T? {
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
    static func ranges(_ p: Octets, _ lo: Int, _ hi: Int, _ body: (Int, Int) -> Void) {
        var start = lo
        var i = lo
        var inQuotes = false, inAngle = false
        while i < hi {
            let c = p[i]
            // Only '"' ',' '<' '>' '\' matter; skip everything else with one set test.
            guard inSet(c, 0x5000_1004_0000_0000, 0x0000_0000_1000_0000) else {
                i += 1
                continue
            }
            if inQuotes {
                if c == Octet.backslash { i += 1 } else if c == Octet.quote { inQuotes = false }
            } else if c == Octet.quote {
                inQuotes = true
            } else if c == Octet.lessThan {
                inAngle = true
            } else if c == Octet.greaterThan {
                inAngle = false
            } else if c == Octet.comma && !inAngle {
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
