import CLua

/// Reading what the prelude yields. Each request is a flat list of values
/// (strings, numbers, booleans, nil), so reading needs no Lua allocation:
///
///     "answer" | "echo"
///     "hangup", code, reason?
///     "play", "tone", hertz, seconds | "play", "file", path
///     "collect", max, timeout, terminator?
///     "bridge", "trunk"|"user"|"uri", name-or-uri, number?, caller_id?,
///         caller_name?, ring_timeout?, "CODEC,CODEC"?, privacy, then header name, value, ...
extension DialplanRun {
    enum Value: Equatable {
        case none
        case string(String)
        case number(Double)
        case boolean(Bool)

        var string: String? { if case .string(let s) = self { return s } else { return nil } }
        var number: Double? { if case .number(let n) = self { return n } else { return nil } }
        var integer: Int? { number.flatMap { Int(exactly: $0) } }
    }

    /// The top `count` values of the coroutine's stack. lua_tolstring is only
    /// used on strings: on a number it would allocate a string (and could raise).
    static func values(of thread: OpaquePointer, count: Int32) -> [Value] {
        let top = lua_gettop(thread)
        guard count > 0, count <= top else { return [] }
        return ((top - count + 1)...top).map { index in
            switch lua_type(thread, index) {
            case LUA_TSTRING:
                var length = 0
                guard let bytes = lua_tolstring(thread, index, &length) else { return .none }
                return .string(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
            case LUA_TNUMBER:
                return .number(lua_tonumberx(thread, index, nil))
            case LUA_TBOOLEAN:
                return .boolean(lua_toboolean(thread, index) != 0)
            default:
                return .none
            }
        }
    }

    /// The step a request asks for; nil if it is not one the prelude makes.
    static func step(from values: [Value]) -> DialplanStep? {
        func at(_ i: Int) -> Value { i < values.count ? values[i] : .none }
        switch at(0).string {
        case "answer":
            return .answer
        case "echo":
            return .echo
        case "hangup":
            guard let code = at(1).integer else { return nil }
            return .hangup(code: code, reason: at(2).string)
        case "play":
            switch at(1).string {
            case "tone":
                guard let frequency = at(2).number, let duration = at(3).number else { return nil }
                return .play(.tone(frequency: frequency, duration: duration))
            case "file":
                guard let path = at(2).string else { return nil }
                return .play(.file(path))
            default:
                return nil
            }
        case "collect":
            guard let max = at(1).integer, let timeout = at(2).number else { return nil }
            return .collectDigits(max: max, timeout: timeout, terminator: at(3).string)
        case "bridge":
            guard let name = at(2).string else { return nil }
            let target: BridgeTarget
            switch at(1).string {
            case "trunk":
                guard let number = at(3).string else { return nil }
                target = .trunk(name: name, number: number)
            case "user": target = .user(name)
            case "uri": target = .uri(name)
            default: return nil
            }
            var options = BridgeOptions(callerID: at(4).string, callerName: at(5).string, ringTimeout: at(6).number,
                                        codecs: at(7).string.map { $0.split(separator: ",").map(String.init) })
            options.privacy = at(8) == .boolean(true)
            options.relay = at(9) == .boolean(true)
            var index = 10
            while index + 1 < values.count {
                guard let header = at(index).string, let value = at(index + 1).string else { return nil }
                options.headers[header] = value
                index += 2
            }
            return .bridge(target, options)
        default:
            return nil
        }
    }
}
