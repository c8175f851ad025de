/// What the next bytes of a stream hold.
public enum SIPStreamFrame: Equatable, Sendable {
    /// Not enough bytes yet to tell.
    case needMoreData
    /// That many leading CR/LF bytes to discard: RFC 5626 §3.5.1 keepalives (a CRLFCRLF ping or a
    /// CRLF pong) or the CRLFs RFC 3261 §7.5 lets precede a start line.
    case keepalive(Int)
    /// The next message, header fields and body, is that many bytes long.
    case message(Int)
}

/// Cuts a TCP or TLS byte stream into messages. On streams Content-Length is
/// mandatory (RFC 3261 §18.3, §20.14): without it the end of the message cannot be known.
public enum SIPStreamFramer {
    public static func nextFrame(_ bytes: UnsafeRawBufferPointer, maxMessageSize: Int = 65_536)
        throws(SIPParseError) -> SIPStreamFrame
    {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .needMoreData }
        return try frame(Octets(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count), maxMessageSize)
    }

    static func frame(_ p: Octets, _ maxMessageSize: Int) throws(SIPParseError) -> SIPStreamFrame {
        let n = p.count
        // Leading line ends: count whole CRLFs (and bare LFs); a final lone CR may be half a CRLF.
        var i = 0
        while i < n {
            if p[i] == Octet.lf { i += 1 }
            else if p[i] == Octet.cr && i + 1 < n && p[i + 1] == Octet.lf { i += 2 }
            else { break }
        }
        if i > 0 { return .keepalive(i) }
        if p[0] == Octet.cr { return .needMoreData }

        guard let bodyStart = endOfHeaders(p, n) else {
            if n >= maxMessageSize { throw SIPParseError("Message too large") }
            return .needMoreData
        }
        guard let length = try contentLength(p, bodyStart) else {
            throw SIPParseError("Missing Content-Length")
        }
        let (total, overflow) = bodyStart.addingReportingOverflow(length)
        if overflow || total > maxMessageSize { throw SIPParseError("Message too large") }
        return n >= total ? .message(total) : .needMoreData
    }

    /// The index just after the blank line ending the header section: a line break (CRLF or LF,
    /// as the parser accepts) followed at once by another. Scans with `firstLineBreak`, eight
    /// bytes at a time, since a slow sender makes the caller rescan its buffer on every read.
    private static func endOfHeaders(_ p: Octets, _ n: Int) -> Int? {
        var i = 0
        while true {
            let j = firstLineBreak(p, i, n)
            guard j < n else { return nil }
            var next = j + 1
            if p[j] == Octet.cr {
                guard next < n else { return nil }
                guard p[next] == Octet.lf else {
                    i = next
                    continue
                }
                next += 1
            }
            if next < n && p[next] == Octet.lf { return next + 1 }
            if next + 1 < n && p[next] == Octet.cr && p[next + 1] == Octet.lf { return next + 2 }
            i = next
        }
    }

    /// The Content-Length (or `l`) value of the header section; repeated fields must agree.
    private static func contentLength(_ p: Octets, _ end: Int) throws(SIPParseError) -> Int? {
        var found: Int?
        var i = 0
        while i < end {
            let lineEnd = firstIndex(of: Octet.lf, in: p, i, end) ?? end
            let contentEnd = lineEnd > i && p[lineEnd - 1] == Octet.cr ? lineEnd - 1 : lineEnd
            var j = i
            while j < contentEnd && isTokenChar(p[j]) { j += 1 }
            let nameEnd = j
            j = skipWSP(p, j, contentEnd)
            if nameEnd > i, j < contentEnd, p[j] == Octet.colon, HeaderKind(p, i, nameEnd) == .contentLength {
                let lo = skipWSP(p, j + 1, contentEnd)
                guard case .value(let n) = parseDecimal(p, lo, trimTrailingWSP(p, lo, contentEnd)) else {
                    throw SIPParseError("Invalid Content-Length")
                }
                if let found, found != n { throw SIPParseError("Multiple values for Content-Length") }
                found = n
            }
            i = lineEnd + 1
        }
        return found
    }
}
