/// Writes the call and context as the small byte program the C helper
/// `dp_push_data` turns into Lua tables inside a protected call (Swift must
/// not push strings itself: a failed allocation would raise a Lua error
/// through Swift frames).
///
/// Program: 't' new table; 's' u32le length + bytes: string; 'b' byte:
/// boolean; 'f' sets t[k] = v; 'a' appends v to t.
struct DialplanData {
    private(set) var bytes: [UInt8] = []

    static func encode(call: DialplanCall, context: DialplanContext) -> [UInt8] {
        var data = DialplanData()
        data.bytes.reserveCapacity(512)
        data.table {
            $0.field("call") {
                $0.table {
                    $0.field("from", call.from)
                    $0.field("to", call.to)
                    $0.field("user", call.user)
                    $0.field("direction", call.direction.rawValue)
                    $0.field("trunk", call.sourceTrunk)
                    $0.field("display_name", call.displayName)
                    $0.field("id", call.id)
                    $0.field("headers", call.headers)
                }
            }
            $0.field("users") {
                $0.table {
                    for user in context.users {
                        $0.element {
                            $0.table {
                                $0.field("name", user.name)
                                $0.field("extension", user.extension)
                                $0.field("international") { $0.boolean(user.international) }
                            }
                        }
                    }
                }
            }
            $0.field("trunks") {
                $0.table { for trunk in context.trunks { $0.element { $0.string(trunk) } } }
            }
            $0.field("down_trunks") {
                $0.table { for trunk in context.trunks where context.downTrunks.contains(trunk) { $0.element { $0.string(trunk) } } }
            }
            $0.field("dids", context.dids)
            $0.field("country", context.homeCountryCode)
            $0.field("variables", context.variables)
        }
        return data.bytes
    }

    private mutating func table(_ contents: (inout DialplanData) -> Void) {
        bytes.append(UInt8(ascii: "t"))
        contents(&self)
    }

    private mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "s"))
        let utf8 = value.utf8
        let count = UInt32(clamping: utf8.count)
        withUnsafeBytes(of: count.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8.prefix(Int(count)))
    }

    private mutating func boolean(_ value: Bool) {
        bytes.append(UInt8(ascii: "b"))
        bytes.append(value ? 1 : 0)
    }

    private mutating func field(_ key: String, _ value: (inout DialplanData) -> Void) {
        string(key)
        value(&self)
        bytes.append(UInt8(ascii: "f"))
    }

    /// A nil value is left out, which is what nil means in a Lua table.
    private mutating func field(_ key: String, _ value: String?) {
        guard let value else { return }
        field(key) { $0.string(value) }
    }

    private mutating func field(_ key: String, _ map: [String: String]) {
        field(key) {
            $0.table {
                for (name, value) in map { $0.field(name, value) }
            }
        }
    }

    private mutating func element(_ value: (inout DialplanData) -> Void) {
        value(&self)
        bytes.append(UInt8(ascii: "a"))
    }
}
