import Yams

/// One YAML mapping being decoded against the keys it may have.
///
/// Unknown and repeated keys are rejected when the reader is made, before
/// any value is looked at, so a misspelt key is reported as such rather than
/// as a missing one. Getters return nil for absent keys and YAML nulls and
/// throw `ConfigError` with the value's line and column otherwise.
struct MappingReader {
    let context: ConfigContext
    /// Where this mapping is, for messages: "in sip", "in trunk 'carrier'", "at the top level".
    let place: String
    let mark: Mark?
    private var entries: [String: (keyMark: Mark?, value: Node)] = [:]

    init(_ node: Node, place: String, keys: [String], context: ConfigContext) throws(ConfigError) {
        self.context = context
        self.place = place
        self.mark = node.mark
        guard case .mapping(let mapping) = node else {
            throw context.error(node.mark, "expected a mapping of keys \(place), got \(ConfigContext.kind(of: node))")
        }
        for (keyNode, value) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw context.error(keyNode.mark, "expected a key name \(place), got \(ConfigContext.kind(of: keyNode))")
            }
            let key = keyScalar.string
            guard keys.contains(key) else {
                throw context.error(keyNode.mark, "unknown key \(ConfigContext.quoted(key)) \(place) "
                    + "(expected one of: \(keys.joined(separator: ", ")))")
            }
            if let first = entries[key] {
                throw context.error(keyNode.mark, "duplicate key '\(key)' \(place) (first given on line \(first.keyMark?.line ?? 0))")
            }
            entries[key] = (keyNode.mark, value)
        }
    }

    /// The value, unless the key is absent or its value is a YAML null.
    func node(_ key: String) -> Node? {
        guard let value = entries[key]?.value else { return nil }
        if case .scalar(let scalar) = value, ConfigContext.isNull(scalar) { return nil }
        return value
    }

    /// Whether the key is written at all, even with a null value.
    func has(_ key: String) -> Bool { entries[key] != nil }

    /// The key's own position, or the mapping's when the key is absent.
    func mark(of key: String) -> Mark? {
        entries[key]?.value.mark ?? entries[key]?.keyMark ?? mark
    }

    /// An optional string; empty (after `${VAR:-}` expansion, say) counts as not set.
    func string(_ key: String, secret: Bool = false) throws(ConfigError) -> String? {
        guard let node = node(key) else { return nil }
        guard let text = try context.scalar(node, key: key, secret: secret), !text.isEmpty else { return nil }
        return text
    }

    func requiredString(_ key: String, secret: Bool = false) throws(ConfigError) -> String {
        guard entries[key] != nil else { throw missing(key) }
        guard let text = try string(key, secret: secret) else {
            throw context.error(mark(of: key), "\(key) must not be empty")
        }
        return text
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let node = node(key), let text = try context.scalar(node, key: key) else { return nil }
        // Decimal only: YAML's 0x10 and 1_000 forms are more surprising than useful here.
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw context.error(node.mark, "expected an integer for \(key), got \(ConfigContext.quoted(text))")
        }
        guard let value = Int(text), range.contains(value) else {
            throw context.error(node.mark, "\(key) must be between \(range.lowerBound) and \(range.upperBound), "
                + "got \(ConfigContext.quoted(text))")
        }
        return value
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let node = node(key), let text = try context.scalar(node, key: key) else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw context.error(node.mark, "expected true or false for \(key), got \(ConfigContext.quoted(text))")
        }
    }

    /// A string that must be one of an enum's raw values (compared without case).
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws(ConfigError) -> T?
    where T.RawValue == String {
        guard let node = node(key), let text = try context.scalar(node, key: key) else { return nil }
        if let match = T.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) {
            return match
        }
        let names = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw context.error(node.mark, "\(key) must be one of \(names), got \(ConfigContext.quoted(text))")
    }

    func sequence(_ key: String) throws(ConfigError) -> [Node]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let items) = node else {
            throw context.error(node.mark, "expected a list for \(key), got \(ConfigContext.kind(of: node))")
        }
        return Array(items)
    }

    func mapping(_ key: String, place: String, keys: [String]) throws(ConfigError) -> MappingReader? {
        guard let node = node(key) else { return nil }
        return try MappingReader(node, place: place, keys: keys, context: context)
    }

    func missing(_ key: String) -> ConfigError {
        context.error(mark, "missing key '\(key)' \(place)")
    }
}
