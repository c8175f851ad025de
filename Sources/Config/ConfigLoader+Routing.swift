import Yams

// The `routing` section: what the dialplan sees besides the call, and its limits.
extension ConfigLoader {
    static let routingKeys = ["home_country", "dids", "variables", "instruction_limit", "memory_limit_kb", "test_answer"]

    static func decodeRouting(_ reader: MappingReader?, users: [UserConfig],
                              context: ConfigContext) throws(ConfigError) -> RoutingConfig {
        var routing = RoutingConfig()
        guard let reader else { return routing }
        routing.testAnswer = try reader.bool("test_answer") ?? false
        if let country = try reader.string("home_country") {
            let digits = country.hasPrefix("+") ? String(country.dropFirst()) : country
            guard (1...3).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  digits.first != "0" else {
                throw context.error(reader.mark(of: "home_country"), "home_country is a country calling code of "
                    + "1 to 3 digits, such as 1 or 49, got \(ConfigContext.quoted(country))")
            }
            routing.homeCountry = digits
        }
        routing.instructionLimit = try reader.int("instruction_limit", in: 10_000...1_000_000_000) ?? routing.instructionLimit
        routing.memoryLimitKB = try reader.int("memory_limit_kb", in: 256...1_048_576) ?? routing.memoryLimitKB
        for (number, user, mark) in try stringMapping(reader, "dids", context: context) {
            guard users.contains(where: { $0.name == user }) else {
                throw context.error(mark, "DID \(number) names no user: \(ConfigContext.quoted(user))")
            }
            routing.dids[number] = user
        }
        for (name, value, _) in try stringMapping(reader, "variables", context: context) {
            routing.variables[name] = value
        }
        return routing
    }

    /// A mapping of plain strings to strings, in file order, with each value's position.
    private static func stringMapping(_ reader: MappingReader, _ key: String,
                                      context: ConfigContext) throws(ConfigError) -> [(String, String, Mark?)] {
        guard let node = reader.node(key) else { return [] }
        guard case .mapping(let mapping) = node else {
            throw context.error(node.mark, "expected a mapping for \(key), got \(ConfigContext.kind(of: node))")
        }
        var entries: [(String, String, Mark?)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let name) = keyNode, !name.string.isEmpty else {
                throw context.error(keyNode.mark, "expected a name in \(key), got \(ConfigContext.kind(of: keyNode))")
            }
            if entries.contains(where: { $0.0 == name.string }) {
                throw context.error(keyNode.mark, "duplicate key \(ConfigContext.quoted(name.string)) in \(key)")
            }
            guard let text = try context.scalar(value, key: "\(key).\(name.string)") else {
                throw context.error(value.mark, "\(key).\(name.string) needs a value")
            }
            entries.append((name.string, text, value.mark))
        }
        return entries
    }
}
