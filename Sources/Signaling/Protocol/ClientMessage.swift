/// A message from the browser (signaling-protocol.md), checked: every field
/// the protocol requires is present with the right type, digits and header
/// names are valid, codes are in range. Unknown fields are ignored.
public enum ClientMessage: Equatable, Sendable {
    case login(LoginCredentials)
    case ping
    case call(id: String, to: String, sdp: String, headers: [String: String])
    case hangup(call: String)
    case dtmf(call: String, digits: String, durationMilliseconds: Int)
    /// A trickled candidate; nil (or an empty string) ends the candidates.
    case candidate(call: String, candidate: String?)
    case ringing(call: String)
    case answer(call: String, sdp: String)
    case reject(call: String, code: Int)
    /// An addition to version 1 (docs/signaling.md): old clients never send it.
    case hold(call: String, held: Bool)
    /// An addition to version 1: hand the far end of an answered call to
    /// `to` (a number or user, as in `call`) and leave it (blind transfer).
    case transfer(call: String, to: String)
    /// An addition to version 1: join this call's far end to the far end of
    /// the connection's other call `replaces` (attended transfer) and leave both.
    case attendedTransfer(call: String, replaces: String)

    /// The call id the message names, if any.
    public var callID: String? {
        switch self {
        case .login, .ping: nil
        case .call(let id, _, _, _): id
        case .hold(let call, _), .transfer(let call, _), .attendedTransfer(let call, _): call
        case .hangup(let call), .dtmf(let call, _, _), .candidate(let call, _), .ringing(let call),
             .answer(let call, _), .reject(let call, _): call
        }
    }

    /// Ids are the client's own; bounded so a client cannot make the server keep huge strings.
    static let maximumIDLength = 128
    static let dtmfDigits = Set("0123456789*#ABCDabcd")

    /// Parses one text frame. The error names the call when the frame named one.
    public static func parse(_ text: String) throws(SignalingError) -> ClientMessage {
        guard let value = JSONValue.parse(text) else { throw SignalingError(400, "the message is not JSON") }
        guard case .object(let object) = value else { throw SignalingError(400, "the message is not a JSON object") }
        let fields = Fields(object)
        guard let type = object["type"] else { throw SignalingError(400, "the message has no 'type'", call: fields.callHint) }
        guard let type = type.string else {
            throw SignalingError(400, "'type' must be a string", call: fields.callHint)
        }
        switch type {
        case "login":
            if let token = try fields.optionalString("token"), !token.isEmpty {
                return .login(.token(token))
            }
            return .login(.password(user: try fields.string("user"), password: try fields.string("password")))
        case "ping":
            return .ping
        case "call":
            let id = try fields.callID()
            // Ids of calls the server starts begin with `in-`; a client's must not.
            guard !id.hasPrefix("in-") else { throw SignalingError(400, "call ids starting with 'in-' are the server's", call: id) }
            let to = try fields.string("to", call: id)
            guard !to.isEmpty, to.utf8.count <= 256 else {
                throw SignalingError(400, "'to' must be 1 to 256 characters", call: id)
            }
            return .call(id: id, to: to, sdp: try fields.string("sdp", call: id), headers: try fields.headers(call: id))
        case "hangup":
            return .hangup(call: try fields.callID())
        case "dtmf":
            let id = try fields.callID()
            let digits = try fields.string("digits", call: id)
            guard !digits.isEmpty, digits.count <= 64, digits.allSatisfy({ dtmfDigits.contains($0) }) else {
                throw SignalingError(400, "'digits' must be 1 to 64 of 0-9, *, #, A-D", call: id)
            }
            let duration = try fields.optionalInt("duration", call: id) ?? 100
            return .dtmf(call: id, digits: digits.uppercased(), durationMilliseconds: min(max(duration, 40), 2000))
        case "candidate":
            let id = try fields.callID()
            return .candidate(call: id, candidate: try fields.candidate(call: id))
        case "ringing":
            return .ringing(call: try fields.callID())
        case "answer":
            let id = try fields.callID()
            return .answer(call: id, sdp: try fields.string("sdp", call: id))
        case "hold", "unhold":
            return .hold(call: try fields.callID(), held: type == "hold")
        case "transfer":
            let id = try fields.callID()
            if let other = try fields.optionalString("replaces", call: id) {
                guard !other.isEmpty, other.utf8.count <= ClientMessage.maximumIDLength else {
                    throw SignalingError(400, "'replaces' must be a call id of 1 to \(ClientMessage.maximumIDLength) bytes",
                                         call: id)
                }
                guard other != id else { throw SignalingError(400, "a call cannot replace itself", call: id) }
                return .attendedTransfer(call: id, replaces: other)
            }
            let to = try fields.string("to", call: id)
            guard !to.isEmpty, to.utf8.count <= 256 else {
                throw SignalingError(400, "'to' must be 1 to 256 characters", call: id)
            }
            return .transfer(call: id, to: to)
        case "reject":
            let id = try fields.callID()
            let code = try fields.optionalInt("code", call: id) ?? 486
            return .reject(call: id, code: (400...699).contains(code) ? code : 486)
        default:
            let shown = type.count > 32 ? String(type.prefix(32)) + "…" : type
            throw SignalingError(400, "unknown message type '\(shown)'", call: fields.callHint)
        }
    }
}

/// How a client logs in.
public enum LoginCredentials: Equatable, Sendable, CustomStringConvertible {
    case password(user: String, password: String)
    case token(String)

    /// Never shows the secret.
    public var description: String {
        switch self {
        case .password(let user, _): "password login for \(user)"
        case .token: "token login"
        }
    }
}

/// Typed reads of a message's fields, with the protocol's errors.
private struct Fields {
    let object: [String: JSONValue]
    init(_ object: [String: JSONValue]) { self.object = object }

    /// The call id, when the message has a usable one (for error reports).
    var callHint: String? {
        guard let id = object["call"]?.string, !id.isEmpty, id.utf8.count <= ClientMessage.maximumIDLength else {
            return nil
        }
        return id
    }

    func callID() throws(SignalingError) -> String {
        guard let value = object["call"] else { throw SignalingError(400, "the message has no 'call'") }
        guard let id = value.string, !id.isEmpty, id.utf8.count <= ClientMessage.maximumIDLength else {
            throw SignalingError(400, "'call' must be a string of 1 to \(ClientMessage.maximumIDLength) bytes")
        }
        return id
    }

    func string(_ key: String, call: String? = nil) throws(SignalingError) -> String {
        guard let value = try optionalString(key, call: call) else {
            throw SignalingError(400, "the message has no '\(key)'", call: call)
        }
        return value
    }

    func optionalString(_ key: String, call: String? = nil) throws(SignalingError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let string = value.string else { throw SignalingError(400, "'\(key)' must be a string", call: call) }
        return string
    }

    func optionalInt(_ key: String, call: String?) throws(SignalingError) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        guard case .number(let double) = value, double.rounded() == double, abs(double) < 1e9 else {
            throw SignalingError(400, "'\(key)' must be a whole number", call: call)
        }
        return Int(double)
    }

    func headers(call: String) throws(SignalingError) -> [String: String] {
        guard let value = object["headers"], value != .null else { return [:] }
        guard case .object(let headers) = value else {
            throw SignalingError(400, "'headers' must be an object of strings", call: call)
        }
        guard headers.count <= 32 else { throw SignalingError(400, "at most 32 'headers'", call: call) }
        var result: [String: String] = [:]
        for (name, value) in headers {
            guard name.count > 2, name.lowercased().hasPrefix("x-"),
                  name.utf8.allSatisfy({ SIPTokenCharacters.contains($0) }) else {
                throw SignalingError(400, "header '\(name.prefix(64))' must be a token starting with X-", call: call)
            }
            guard let text = value.string, text.utf8.count <= 1024,
                  !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw SignalingError(400, "header '\(name)' needs a one-line string value", call: call)
            }
            result[name] = text
        }
        return result
    }

    func candidate(call: String) throws(SignalingError) -> String? {
        guard let value = object["candidate"], value != .null else { return nil }
        if let text = value.string { return text.isEmpty ? nil : text }
        guard case .object(let fields) = value else {
            throw SignalingError(400, "'candidate' must be an RTCIceCandidateInit object", call: call)
        }
        guard let text = fields["candidate"]?.string else {
            if fields["candidate"] == nil || fields["candidate"] == .null { return nil }
            throw SignalingError(400, "'candidate.candidate' must be a string", call: call)
        }
        return text.isEmpty ? nil : text
    }
}

/// RFC 3261 `token` characters: what a SIP header name may hold.
private let SIPTokenCharacters: Set<UInt8> = {
    var set = Set<UInt8>()
    for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { set.insert(byte) }
    for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { set.insert(byte) }
    for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { set.insert(byte) }
    for byte in "-.!%*_+`'~".utf8 { set.insert(byte) }
    return set
}()
