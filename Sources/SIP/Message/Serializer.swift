// Serialization: start line, header fields in order as "Name: value", then a Content-Length that
// always matches the body (RFC 3261 §18.3 requires one on streams; writing it everywhere means a
// message never changes meaning between transports), a blank line and the body.

extension SIPRequest {
    public func serialize(into out: inout [UInt8]) {
        appendSerialized(to: &out, count: byteCount) { write(to: &$0) }
    }

    public var bytes: [UInt8] { writeBytes(count: byteCount) { write(to: &$0) } }

    private var byteCount: Int {
        method.rawValue.utf8.count + 1 + uri.byteCount + 10 + headers.byteCount(contentLength: body.count) + body.count
    }

    private func write(to out: inout ByteWriter) {
        out.write(method.rawValue)
        out.write(Octet.space)
        uri.write(to: &out)
        out.write(" SIP/2.0\r\n" as StaticString)
        headers.write(contentLength: body.count, to: &out)
        body.withUnsafeBufferPointer { out.write($0, 0, $0.count) }
    }
}

extension SIPResponse {
    public func serialize(into out: inout [UInt8]) {
        appendSerialized(to: &out, count: byteCount) { write(to: &$0) }
    }

    public var bytes: [UInt8] { writeBytes(count: byteCount) { write(to: &$0) } }

    private var byteCount: Int {
        8 + decimalDigitCount(statusCode) + 1 + reasonPhrase.utf8.count + 2
            + headers.byteCount(contentLength: body.count) + body.count
    }

    private func write(to out: inout ByteWriter) {
        out.write("SIP/2.0 " as StaticString)
        out.writeDecimal(statusCode)
        out.write(Octet.space)
        // The phrase is free text but must stay on the Status-Line.
        for c in reasonPhrase.utf8 { out.write(c == Octet.cr || c == Octet.lf ? Octet.space : c) }
        out.write("\r\n" as StaticString)
        headers.write(contentLength: body.count, to: &out)
        body.withUnsafeBufferPointer { out.write($0, 0, $0.count) }
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
        switch self {
        case .request(let r): return r.bytes
        case .response(let r): return r.bytes
        }
    }
}

/// Writes straight into the caller's buffer, so a buffer reused with `keepingCapacity` costs no
/// allocation per message.
private func appendSerialized(to out: inout [UInt8], count: Int, _ body: (inout ByteWriter) -> Void) {
    let start = out.count
    out.append(contentsOf: repeatElement(0, count: count))
    let written = out.withUnsafeMutableBufferPointer { buffer -> Int in
        guard let base = buffer.baseAddress else { return 0 }
        var writer = ByteWriter(base + start, capacity: count)
        body(&writer)
        return writer.count
    }
    if written < count { out.removeLast(count - written) }
}

extension SIPHeaders {
    /// Octets `write(contentLength:to:)` produces.
    func byteCount(contentLength: Int) -> Int {
        var n = 16 + decimalDigitCount(contentLength) + 4  // "Content-Length: N" CRLF CRLF
        for field in fields where field.kind != .contentLength {
            n += Int(field.nameHi - field.nameLo) + Int(field.valueHi - field.valueLo) + 4
        }
        return n
    }

    /// Writes every field except Content-Length, then the Content-Length of the body actually
    /// sent and the blank line. A received field already written as "Name: value" CRLF is still
    /// in storage in exactly that form, so runs of such fields go out as one copy.
    func write(contentLength: Int, to out: inout ByteWriter) {
        storage.withUnsafeBufferPointer { p in
            var runLo = 0, runHi = 0
            for field in fields where field.kind != .contentLength {
                let (nameLo, nameHi) = field.name
                let (valueLo, valueHi) = field.value
                let asWritten = valueLo == nameHi + 2 && valueHi + 2 <= p.count
                    && p[nameHi] == Octet.colon && p[nameHi + 1] == Octet.space
                    && p[valueHi] == Octet.cr && p[valueHi + 1] == Octet.lf
                if asWritten && nameLo == runHi && runHi > runLo {
                    runHi = valueHi + 2
                    continue
                }
                out.write(p, runLo, runHi)
                if asWritten {
                    (runLo, runHi) = (nameLo, valueHi + 2)
                    continue
                }
                (runLo, runHi) = (0, 0)
                out.write(p, nameLo, nameHi)
                out.write(Octet.colon)
                out.write(Octet.space)
                out.write(p, valueLo, valueHi)
                out.write(Octet.cr)
                out.write(Octet.lf)
            }
            out.write(p, runLo, runHi)
        }
        out.write("Content-Length: " as StaticString)
        out.writeDecimal(contentLength)
        out.write("\r\n\r\n" as StaticString)
    }
}
