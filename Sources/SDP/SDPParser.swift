// Reading a session description (RFC 8866 §5, §9 grammar).
//
// Strict where a mistake would mislead the gateway (the v/o/s header, m= and c= lines, numbers),
// lenient where real stacks differ harmlessly: LF or CRLF line ends, blank lines, extra spaces
// between fields, session-level lines in any order after s=.

extension SessionDescription {
    /// Larger than any real description (a browser's with video and simulcast is ~10 KiB);
    /// the limit bounds the work a hostile peer can cause.
    public static let maximumSize = 64 * 1024

    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        let bytes = Array(text.utf8)
        guard bytes.count <= maximumSize else {
            throw SDPError(line: 0, reason: "the description is \(bytes.count) bytes, over the limit of \(maximumSize)")
        }
        var builder = Builder()
        for line in try SDPLine.split(bytes) {
            try builder.add(line)
        }
        return try builder.finish()
    }
}

/// One "<type>=<value>" line.
struct SDPLine {
    var number: Int
    var type: UInt8
    var value: String

    var text: String { String(UnicodeScalar(type)) + "=" + value }

    func error(_ reason: String) -> SDPError {
        SDPError(line: number, reason: reason + " in " + quoted(text))
    }

    /// Splits at LF, dropping one CR before it, and skips blank lines (several stacks end the
    /// body with an extra one). Anything else must look like a line of SDP.
    static func split(_ bytes: [UInt8]) throws(SDPError) -> [SDPLine] {
        var lines: [SDPLine] = []
        for (index, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let line = raw.last == 0x0D ? raw.dropLast() : raw[...]
            if line.isEmpty { continue }
            let number = index + 1
            let text = String(decoding: line, as: UTF8.self)
            guard line.count >= 2, let type = line.first, type >= 0x61, type <= 0x7A,
                  line[line.startIndex + 1] == 0x3D else {
                throw SDPError(line: number, reason: "expected <type>=<value> with a lowercase letter type, got " + quoted(text))
            }
            // RFC 8866 §5: no NUL, CR or LF inside a value; a bare CR would not survive re-writing.
            guard !line.contains(0x00), !line.contains(0x0D) else {
                throw SDPError(line: number, reason: "a value contains a NUL or bare CR character in " + quoted(text))
            }
            lines.append(SDPLine(number: number, type: type, value: String(decoding: line.dropFirst(2), as: UTF8.self)))
        }
        return lines
    }
}

/// Accumulates lines into a SessionDescription, tracking where in the grammar it is.
private struct Builder {
    var lastLine = 0
    var sawVersion = false
    var origin: SDPOrigin?
    var sessionName: String?
    var connection: SDPConnection?
    var bandwidths: [String] = []
    var timing: String?
    var attributes: [SDPAttribute] = []
    var media: [SDPMediaDescription] = []
    var current: SDPMediaDescription?

    mutating func add(_ line: SDPLine) throws(SDPError) {
        lastLine = line.number
        // The header order is fixed (RFC 8866 §5): v=0, then o=, then s=.
        if !sawVersion {
            guard line.type == UInt8(ascii: "v"), line.value == "0" else {
                throw line.error("the description must start with v=0")
            }
            sawVersion = true
            return
        }
        if origin == nil {
            guard line.type == UInt8(ascii: "o") else { throw line.error("expected the o= line after v=0") }
            origin = try parseOrigin(line)
            return
        }
        if sessionName == nil {
            guard line.type == UInt8(ascii: "s") else { throw line.error("expected the s= line after o=") }
            sessionName = line.value
            return
        }
        switch line.type {
        case UInt8(ascii: "v"), UInt8(ascii: "o"), UInt8(ascii: "s"):
            throw line.error("a second \(String(UnicodeScalar(line.type)))= line (only one description is allowed)")
        case UInt8(ascii: "t"):
            guard current == nil else { throw line.error("t= belongs before the first m= line") }
            // Several t= lines are legal but meaningless to offer/answer; the first one is kept.
            if timing == nil { timing = line.value }
        case UInt8(ascii: "c"):
            let parsed = try parseConnection(line)
            if current != nil {
                // Layered multicast may list several; a unicast peer has one, and the first wins.
                if current?.connection == nil { current?.connection = parsed }
            } else if connection == nil {
                connection = parsed
            }
        case UInt8(ascii: "b"):
            if current != nil { current?.bandwidths.append(line.value) } else { bandwidths.append(line.value) }
        case UInt8(ascii: "a"):
            let attribute = try parseAttribute(line)
            if current != nil { current?.attributes.append(attribute) } else { attributes.append(attribute) }
        case UInt8(ascii: "m"):
            if let current { media.append(current) }
            current = try parseMedia(line)
        case UInt8(ascii: "i"), UInt8(ascii: "u"), UInt8(ascii: "e"), UInt8(ascii: "p"),
             UInt8(ascii: "r"), UInt8(ascii: "z"), UInt8(ascii: "k"):
            break // informational or obsolete: see SessionDescription.
        default:
            // RFC 8866 §5: a description with a type letter the parser does not know is ignored as a whole.
            throw line.error("unknown line type \(String(UnicodeScalar(line.type)))=")
        }
    }

    mutating func finish() throws(SDPError) -> SessionDescription {
        guard sawVersion else { throw SDPError(line: 1, reason: "the description is empty, expected v=0") }
        guard let origin else { throw SDPError(line: lastLine + 1, reason: "the description ends before its o= line") }
        guard let sessionName else { throw SDPError(line: lastLine + 1, reason: "the description ends before its s= line") }
        if let current { media.append(current) }
        return SessionDescription(origin: origin, sessionName: sessionName, connection: connection,
                                  bandwidths: bandwidths, timing: timing ?? "0 0", attributes: attributes, media: media)
    }

    /// o=<username> <sess-id> <sess-version> IN <addrtype> <unicast-address>
    func parseOrigin(_ line: SDPLine) throws(SDPError) -> SDPOrigin {
        let parts = fields(line.value)
        guard parts.count == 6 else { throw line.error("o= needs 6 fields, has \(parts.count)") }
        guard let version = decimal(parts[2], as: UInt64.self) else {
            throw line.error("o= session version \(quoted(parts[2])) is not a number that fits 64 bits")
        }
        guard parts[3] == "IN" else { throw line.error("o= network type \(quoted(parts[3])) is not IN") }
        return SDPOrigin(username: String(parts[0]), sessionID: String(parts[1]), sessionVersion: version,
                         addressType: String(parts[4]), address: String(parts[5]))
    }

    /// c=IN <addrtype> <connection-address>
    func parseConnection(_ line: SDPLine) throws(SDPError) -> SDPConnection {
        let parts = fields(line.value)
        guard parts.count == 3 else { throw line.error("c= needs 3 fields, has \(parts.count)") }
        guard parts[0] == "IN" else { throw line.error("c= network type \(quoted(parts[0])) is not IN") }
        return SDPConnection(addressType: String(parts[1]), address: String(parts[2]))
    }

    /// a=<name>[:<value>]; the name is a token, so it has no spaces.
    func parseAttribute(_ line: SDPLine) throws(SDPError) -> SDPAttribute {
        let name: Substring
        let value: String?
        if let colon = line.value.firstIndex(of: ":") {
            name = line.value[..<colon]
            value = String(line.value[line.value.index(after: colon)...])
        } else {
            name = line.value[...]
            value = nil
        }
        guard !name.isEmpty, !name.contains(" "), !name.contains("\t") else {
            throw line.error("attribute name \(quoted(name)) is empty or contains a space")
        }
        var attribute = SDPAttribute(String(name), value)
        attribute.sourceLine = line.number
        return attribute
    }

    /// m=<media> <port>[/<number of ports>] <proto> <fmt> ...
    func parseMedia(_ line: SDPLine) throws(SDPError) -> SDPMediaDescription {
        let parts = fields(line.value)
        guard parts.count >= 4 else {
            throw line.error("m= needs a media type, port, protocol and at least one format")
        }
        // The port count of layered coding (RFC 8866 §5.14) has no use in a unicast call; it is dropped.
        let portText = parts[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port = decimal(portText[0], as: UInt16.self),
              portText.count == 1 || decimal(portText[1], as: UInt16.self) != nil else {
            throw line.error("m= port \(quoted(parts[1])) is not a number from 0 to 65535")
        }
        var description = SDPMediaDescription(media: String(parts[0]), port: port, proto: String(parts[2]),
                                              formats: parts[3...].map(String.init))
        description.sourceLine = line.number
        return description
    }
}
