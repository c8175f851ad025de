// Serialization: start line, header fields in order as "Name: value", then a Content-Length that
// always matches the body (RFC 3261 §18.3 requires one on streams; writing it everywhere means a
// message never changes meaning between transports), a blank line and the body.

extension SIPRequest {
    public func serialize(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + 64 + headers.estimatedSize + body.count)
        appendUTF8(method.rawValue, to: &out)
        out.append(Byte.space)
        uri.write(into: &out)
        appendUTF8(" SIP/2.0\r\n", to: &out)
        headers.write(contentLength: body.count, into: &out)
        out.append(contentsOf: body)
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }
}

extension SIPResponse {
    public func serialize(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + 48 + reasonPhrase.utf8.count + headers.estimatedSize + body.count)
        appendUTF8("SIP/2.0 ", to: &out)
        appendDecimal(statusCode, to: &out)
        out.append(Byte.space)
        // The phrase is free text but must stay on the Status-Line.
        for c in reasonPhrase.utf8 { out.append(c == Byte.cr || c == Byte.lf ? Byte.space : c) }
        appendUTF8("\r\n", to: &out)
        headers.write(contentLength: body.count, into: &out)
        out.append(contentsOf: body)
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }
}

extension SIPMessage {
    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .request(let r): r.serialize(into: &out)
        case .response(let r): r.serialize(into: &out)
        }
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }
}

extension SIPHeaders {
    var estimatedSize: Int {
        var n = 24
        for field in fields { n += Self.byteCount(field.name) + Self.byteCount(field.value) + 4 }
        return n
    }

    private static func byteCount(_ text: Text) -> Int {
        switch text {
        case .span(let lo, let hi): return Int(hi) - Int(lo)
        case .string(let s): return s.utf8.count
        }
    }

    /// Writes every field except Content-Length, then the Content-Length of the body actually
    /// sent and the blank line. Parsed fields are copied straight from the received bytes.
    func write(contentLength: Int, into out: inout [UInt8]) {
        storage.withUnsafeBufferPointer { received in
            @inline(__always) func append(_ text: Text) {
                switch text {
                case .span(let lo, let hi): out.append(contentsOf: Bytes(rebasing: received[Int(lo)..<Int(hi)]))
                case .string(let s): appendUTF8(s, to: &out)
                }
            }
            for field in fields where field.kind != .contentLength {
                append(field.name)
                out.append(Byte.colon)
                out.append(Byte.space)
                append(field.value)
                out.append(Byte.cr)
                out.append(Byte.lf)
            }
        }
        appendUTF8("Content-Length: ", to: &out)
        appendDecimal(contentLength, to: &out)
        appendUTF8("\r\n\r\n", to: &out)
    }
}
