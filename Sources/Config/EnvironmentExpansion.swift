/// Expands environment variables in a configuration value, so secrets and
/// per-machine settings can stay out of the file:
///
/// - `${NAME}` is the variable's value; it is an error if NAME is unset.
/// - `${NAME:-default}` is the value, or `default` when NAME is unset or empty
///   (as in the shell). The default is literal text up to the first `}`.
/// - `$$` is a literal `$`.
/// - Any other `$` is kept as it is, so a password like `pa$word` needs no escaping.
enum EnvironmentExpansion {
    enum Failure: Error, Equatable {
        case unset(name: String)
        case badName(String)
        case unterminated
    }

    static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        // Fast path: most values have no `$` at all.
        guard text.contains("$") else { return .success(text) }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            if afterDollar.hasPrefix("$") {
                output += "$"
                rest = afterDollar.dropFirst()
            } else if afterDollar.hasPrefix("{") {
                guard let close = afterDollar.firstIndex(of: "}") else { return .failure(.unterminated) }
                let body = afterDollar[afterDollar.index(after: afterDollar.startIndex)..<close]
                switch substitute(body, environment: environment) {
                case .success(let value): output += value
                case .failure(let failure): return .failure(failure)
                }
                rest = afterDollar[afterDollar.index(after: close)...]
            } else {
                output += "$"
                rest = afterDollar
            }
        }
        output += rest
        return .success(output)
    }

    private static func substitute(_ body: Substring, environment: [String: String]) -> Result<String, Failure> {
        var name = body
        var fallback: Substring?
        if let separator = body.range(of: ":-") {
            name = body[..<separator.lowerBound]
            fallback = body[separator.upperBound...]
        }
        guard isVariableName(name) else {
            // Name the variable, never the whole value: the value may be a secret.
            let shown = name.count > 40 ? String(name.prefix(40)) + "..." : String(name)
            return .failure(.badName(shown))
        }
        let value = environment[String(name)]
        if let fallback {
            if let value, !value.isEmpty { return .success(value) }
            return .success(String(fallback))
        }
        guard let value else { return .failure(.unset(name: String(name))) }
        return .success(value)
    }

    /// POSIX shell variable names: a letter or underscore, then letters, digits, underscores.
    private static func isVariableName(_ name: Substring) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
