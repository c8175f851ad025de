/// A problem with the configuration, and where it is.
///
/// The description has the shape compilers use (`file:line:column: message`)
/// so editors and terminals can jump to the spot. Messages never quote the
/// value of a secret (passwords, database URLs): only key names and, for
/// ordinary values, the value itself.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The configuration file as it was named to the loader (not made absolute).
    public var file: String
    /// 1-based line, or 0 when the problem is with the file as a whole.
    public var line: Int
    /// 1-based column in Unicode scalars, or 0 when unknown.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if line <= 0 { return "\(file): \(message)" }
        if column <= 0 { return "\(file):\(line): \(message)" }
        return "\(file):\(line):\(column): \(message)"
    }
}
