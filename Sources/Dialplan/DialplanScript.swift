import CDialplanHelpers
import CLua
import Foundation

/// A dialplan compiled once (at configuration load) and run for many calls.
/// Holds Lua bytecode with line information, so a call only loads it.
public final class DialplanScript: Sendable {
    /// The name errors use for this script, e.g. `default.lua`.
    public let name: String
    let bytecode: [UInt8]

    private init(name: String, bytecode: [UInt8]) {
        self.name = name
        self.bytecode = bytecode
    }

    /// Reads and compiles a dialplan file; errors name it by its last path
    /// component (`default.lua:12: ...`).
    public static func compile(path: String) throws(DialplanError) -> DialplanScript {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let source: Data
        do {
            source = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DialplanError(kind: .cannotRead, file: path, message: "cannot read the dialplan: \(error.localizedDescription)")
        }
        return try compile(bytes: Array(source), name: name)
    }

    /// Compiles dialplan source; `name` is what errors call it.
    public static func compile(source: String, name: String) throws(DialplanError) -> DialplanScript {
        try compile(bytes: Array(source.utf8), name: name)
    }

    private static func compile(bytes: [UInt8], name: String) throws(DialplanError) -> DialplanScript {
        // "=" makes Lua show the name as it is rather than as a file path.
        // Debug information is kept: it is what names lines in runtime errors.
        switch bytecode(of: bytes, chunkName: "=" + name, kind: .syntax, strip: false) {
        case .success(let code): return DialplanScript(name: name, bytecode: code)
        case .failure(let error): throw error
        }
    }

    /// Source text to bytecode, or the compiler's error as `kind`.
    static func bytecode(of source: [UInt8], chunkName: String, kind: DialplanError.Kind,
                         strip: Bool) -> Result<[UInt8], DialplanError> {
        var code = dp_buffer()
        var message = dp_buffer()
        let status = source.withUnsafeBufferPointer { text in
            text.withMemoryRebound(to: CChar.self) { chars in
                dp_compile(chars.baseAddress, chars.count, chunkName, strip ? 1 : 0, &code, &message)
            }
        }
        defer {
            dp_free(code.bytes)
            dp_free(message.bytes)
        }
        guard status == LUA_OK else {
            let text = message.bytes.map { String(decoding: UnsafeBufferPointer(start: $0, count: message.length), as: UTF8.self) }
            return .failure(.fromLua(text ?? "cannot compile (out of memory)", kind: status == LUA_ERRMEM ? .memoryLimit : kind))
        }
        return .success(Array(UnsafeBufferPointer(start: code.bytes, count: code.length)))
    }
}
