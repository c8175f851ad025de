/// A message to the browser (signaling-protocol.md), written as one JSON
/// object per WebSocket text frame.
public enum ServerMessage: Equatable, Sendable {
    case welcome(user: String, iceServers: [ICEServer])
    case pong
    case error(code: Int, reason: String, call: String?)
    case trying(call: String)
    case ringing(call: String)
    case progress(call: String, sdp: String)
    /// `sdp` is nil for the confirmation of a call the client answered.
    case answered(call: String, sdp: String?)
    case hangup(call: String, code: Int, reason: String)
    case dtmf(call: String, digit: Character)
    case incoming(call: String, from: String, fromName: String?, to: String, sdp: String)
    /// `held` or `unheld`: the answer to `hold` or `unhold` (additions to version 1).
    case held(call: String, held: Bool)
    /// `transferred`: the far end accepted and completed the browser's
    /// `transfer`; a `hangup` (200) follows (an addition to version 1).
    case transferred(call: String)

    public var call: String? {
        switch self {
        case .welcome, .pong: nil
        case .error(_, _, let call): call
        case .trying(let call), .ringing(let call), .progress(let call, _), .answered(let call, _),
             .hangup(let call, _, _), .dtmf(let call, _), .incoming(let call, _, _, _, _), .held(let call, _),
             .transferred(let call): call
        }
    }

    /// The JSON text; keys in a fixed order so frames are reproducible.
    public var json: String {
        var writer = JSONObjectWriter()
        switch self {
        case .welcome(let user, let servers):
            writer.add("type", "welcome")
            writer.add("user", user)
            writer.addRaw("iceServers", "[" + servers.map(\.json).joined(separator: ",") + "]")
        case .pong:
            writer.add("type", "pong")
        case .error(let code, let reason, let call):
            writer.add("type", "error")
            writer.add("code", code)
            writer.add("reason", reason)
            if let call { writer.add("call", call) }
        case .trying(let call):
            writer.add("type", "trying")
            writer.add("call", call)
        case .ringing(let call):
            writer.add("type", "ringing")
            writer.add("call", call)
        case .progress(let call, let sdp):
            writer.add("type", "progress")
            writer.add("call", call)
            writer.add("sdp", sdp)
        case .answered(let call, let sdp):
            writer.add("type", "answered")
            writer.add("call", call)
            if let sdp { writer.add("sdp", sdp) }
        case .hangup(let call, let code, let reason):
            writer.add("type", "hangup")
            writer.add("call", call)
            writer.add("code", code)
            writer.add("reason", reason)
        case .dtmf(let call, let digit):
            writer.add("type", "dtmf")
            writer.add("call", call)
            writer.add("digit", String(digit))
        case .incoming(let call, let from, let fromName, let to, let sdp):
            writer.add("type", "incoming")
            writer.add("call", call)
            writer.add("from", from)
            if let fromName { writer.add("fromName", fromName) }
            writer.add("to", to)
            writer.add("sdp", sdp)
        case .held(let call, let held):
            writer.add("type", held ? "held" : "unheld")
            writer.add("call", call)
        case .transferred(let call):
            writer.add("type", "transferred")
            writer.add("call", call)
        }
        return writer.text
    }
}

/// An entry of `welcome.iceServers`, shaped for `new RTCPeerConnection({iceServers})`.
public struct ICEServer: Equatable, Sendable {
    public var urls: [String]
    public var username: String?
    public var credential: String?

    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }

    var json: String {
        var writer = JSONObjectWriter()
        writer.addRaw("urls", "[" + urls.map(JSONObjectWriter.quoted).joined(separator: ",") + "]")
        if let username { writer.add("username", username) }
        if let credential { writer.add("credential", credential) }
        return writer.text
    }
}

/// Writes a JSON object field by field (RFC 8259 string escaping).
struct JSONObjectWriter {
    private var body = ""

    mutating func add(_ key: String, _ value: String) { addRaw(key, Self.quoted(value)) }
    mutating func add(_ key: String, _ value: Int) { addRaw(key, String(value)) }

    mutating func addRaw(_ key: String, _ json: String) {
        if !body.isEmpty { body += "," }
        body += Self.quoted(key) + ":" + json
    }

    var text: String { "{" + body + "}" }

    static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
