/// Why a dialplan could not be compiled or a call's run failed. The gateway
/// rejects the call with 500 and logs `description`, which reads like a
/// compiler message: `default.lua:12: attempt to index a nil value`.
public struct DialplanError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The dialplan file could not be read.
        case cannotRead
        /// The script does not parse (found by `DialplanScript.compile`).
        case syntax
        /// The script raised an error during a call, including bad
        /// arguments to the dialplan API.
        case runtime
        /// The call ran more Lua VM instructions than `DialplanLimits.instructions`.
        case instructionLimit
        /// The call's Lua state needed more than `DialplanLimits.memoryBytes`.
        case memoryLimit
        /// `DialplanRun` was used out of order (say `resume` before `start`).
        case misuse
    }

    public var kind: Kind
    /// The file name as the script was compiled with (`default.lua`), when known.
    public var file: String?
    /// The line in `file`, counting from 1, when known.
    public var line: Int?
    /// What went wrong, without the location.
    public var message: String

    public init(kind: Kind, file: String? = nil, line: Int? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        switch (file, line) {
        case let (file?, line?): return "\(file):\(line): \(message)"
        case let (file?, nil): return "\(file): \(message)"
        default: return message
        }
    }

    /// Splits a Lua message of the form `name:12: text` into its parts
    /// (Lua puts the location first); a message without one is kept whole.
    static func fromLua(_ text: String, kind: Kind) -> DialplanError {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            // The first ":<digits>: " is the location's end; a name holding
            // ':' followed by digits and ": " would confuse this, and file
            // names given to compile never look like that.
            if bytes[index] == UInt8(ascii: ":") {
                var end = index + 1
                while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { end += 1 }
                if end > index + 1, end + 1 < bytes.count, bytes[end] == UInt8(ascii: ":"), bytes[end + 1] == UInt8(ascii: " "),
                   let line = Int(String(decoding: bytes[(index + 1)..<end], as: UTF8.self)) {
                    return DialplanError(kind: kind,
                                         file: String(decoding: bytes[..<index], as: UTF8.self),
                                         line: line,
                                         message: String(decoding: bytes[(end + 2)...], as: UTF8.self))
                }
            }
            index += 1
        }
        return DialplanError(kind: kind, message: text)
    }
}
