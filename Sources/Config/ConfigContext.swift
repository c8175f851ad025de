import Yams

/// What every part of the decoder needs: the file name for messages, the
/// directory relative paths start from, and the environment for `${VAR}`.
struct ConfigContext {
    let file: String
    let directory: String
    let environment: [String: String]

    func error(_ mark: Mark?, _ message: String) -> ConfigError {
        ConfigError(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message)
    }

    func error(line: Int, column: Int, _ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, message: message)
    }

    /// The scalar's text after environment expansion, or nil for a YAML null
    /// (`~`, `null`, or nothing after the colon). Lists and mappings are errors.
    /// For secrets, no message shows any part of the value.
    func scalar(_ node: Node, key: String, secret: Bool = false) throws(ConfigError) -> String? {
        guard case .scalar(let scalar) = node else {
            throw error(node.mark, "expected \(secret ? "a string" : "a single value") for \(key), got \(Self.kind(of: node))")
        }
        if Self.isNull(scalar) { return nil }
        switch EnvironmentExpansion.expand(scalar.string, environment: environment) {
        case .success(let text):
            return text
        case .failure(.unset(let name)):
            throw error(node.mark, "environment variable \(name) is not set (used in \(key); "
                + "write ${\(name):-default} to give a default)")
        case .failure(.badName(let name)):
            let shown = secret ? "" : " '${\(name)'"
            throw error(node.mark, "bad environment reference\(shown) in \(key): a name is letters, digits "
                + "and underscores (write $$ for a literal $)")
        case .failure(.unterminated):
            throw error(node.mark, "unterminated ${ in \(key) (write $$ for a literal $)")
        }
    }

    /// A relative path made absolute against `base` (by default the config
    /// file's directory), with `.` and `..` taken out. Symbolic links are left alone.
    func absolutePath(_ path: String, base: String? = nil) -> String {
        let joined = path.hasPrefix("/") ? path : (base ?? directory) + "/" + path
        return Self.normalize(joined)
    }

    static func normalize(_ absolutePath: String) -> String {
        var parts: [Substring] = []
        for part in absolutePath.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How a value reads in a message: the value itself (shortened) for scalars.
    static func kind(of node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            if isNull(scalar) { return "nothing" }
            return quoted(scalar.string)
        }
    }

    /// Shortened, with control characters escaped so a stray escape
    /// sequence in the file cannot garble the terminal that shows the message.
    static func quoted(_ text: String) -> String {
        let short = text.count > 60 ? String(text.prefix(57)) + "..." : text
        var shown = ""
        for scalar in short.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                shown += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return "'\(shown)'"
    }
}
