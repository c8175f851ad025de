import Yams

/// Turns configuration text into a Yams node tree, with YAML's own errors
/// mapped to `ConfigError` at the line libyaml reports.
enum YAMLDocument {
    /// Yams builds the tree recursively, one stack frame group per level; deep
    /// enough nesting (thousands of `[`) overflows the stack. A configuration
    /// is a few levels deep, so anything near this is refused before parsing.
    static let maximumNesting = 100

    static func compose(_ yaml: String, context: ConfigContext) throws(ConfigError) -> Node? {
        if yaml.utf8.count > ConfigLoader.maximumFileSize {
            throw context.error(nil, "the configuration is larger than \(ConfigLoader.maximumFileSize) bytes")
        }
        if let line = lineExceedingNesting(yaml) {
            throw context.error(line: line, column: 1,
                                "the configuration nests more than \(maximumNesting) levels deep")
        }
        // libyaml would take a byte-order mark as content once the encoding is forced.
        let text = yaml.hasPrefix("\u{FEFF}") ? String(yaml.dropFirst()) : yaml
        do {
            // The basic resolver: values are typed by this loader, not by YAML's implicit tags.
            return try Yams.compose(yaml: text, Resolver.basic, Constructor.default, .utf8)
        } catch let error as YamlError {
            throw mapped(error, yaml: text, context: context)
        } catch {
            throw context.error(nil, "cannot parse the configuration: \(error)")
        }
    }

    private static func mapped(_ error: YamlError, yaml: String, context: ConfigContext) -> ConfigError {
        switch error {
        case .scanner(let yamlContext, let problem, let mark, _),
             .parser(let yamlContext, let problem, let mark, _),
             .composer(let yamlContext, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let yamlContext {
                message += " (\(yamlContext.text) that started on line \(yamlContext.mark.line))"
            }
            if lineStartsWithTab(yaml, line: mark.line) {
                message += "; indent with spaces, YAML does not allow tabs"
            }
            return context.error(mark, message)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { lineNumber(atCharacterOffset: $0, in: yaml) } ?? 0
            return context.error(line: line, column: 0, "cannot read the configuration: \(problem)")
        default:
            return context.error(nil, "cannot parse the configuration: \(error)")
        }
    }

    private static func lineNumber(atCharacterOffset offset: Int, in text: String) -> Int {
        1 + text.prefix(max(0, offset)).filter { $0 == "\n" }.count
    }

    private static func lineStartsWithTab(_ yaml: String, line: Int) -> Bool {
        guard line >= 1 else { return false }
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard line <= lines.count else { return false }
        return lines[line - 1].prefix { $0 == " " || $0 == "\t" }.contains("\t")
    }

    /// The first line where the nesting could exceed the limit, or nil.
    ///
    /// An over-estimate, cheap and independent of YAML's grammar: block
    /// nesting is bounded by twice the indentation plus the `- `, `: ` and
    /// `? ` indicators on the line, and flow nesting by the `[`/`{` still open
    /// (quotes are not tracked, so a bracket in a string counts too).
    static func lineExceedingNesting(_ yaml: String) -> Int? {
        var flowDepth = 0
        var lineNumber = 0
        for line in yaml.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let indentation = line.prefix { $0 == UInt8(ascii: " ") }.count
            var indicators = 0
            var deepestFlow = flowDepth
            var previous: UInt8 = UInt8(ascii: " ")
            var index = line.startIndex
            while index < line.endIndex {
                let byte = line[index]
                let next = line.index(after: index) < line.endIndex ? line[line.index(after: index)] : UInt8(ascii: " ")
                switch byte {
                case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t"):
                    index = line.endIndex
                    continue
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    flowDepth += 1
                    deepestFlow = max(deepestFlow, flowDepth)
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    flowDepth = max(0, flowDepth - 1)
                case UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "?"):
                    if next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\r") {
                        indicators += 1
                    }
                default:
                    break
                }
                previous = byte
                index = line.index(after: index)
            }
            if 2 * indentation + indicators + deepestFlow + 1 > maximumNesting { return lineNumber }
        }
        return nil
    }
}
