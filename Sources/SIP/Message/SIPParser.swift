/// Parses one whole SIP message: a UDP datagram, or a message the stream framer has cut out.
public enum SIPParser {
    /// Content-Length, if present, must not exceed the bytes after the blank line; bytes beyond it
    /// are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8). Without one, the body is the rest.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(SIPParseError) -> SIPMessage {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { throw SIPParseError("Empty message") }
        return try MessageReader.read(Octets(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }

    public static func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        let result: Result<SIPMessage, SIPParseError> = bytes.withUnsafeBufferPointer { p in
            do throws(SIPParseError) { return .success(try MessageReader.read(p)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

enum MessageReader {
    /// Where a line's content ends (before CR LF, or a bare LF) and where the next line starts.
    /// nil when no line end is left, or when a CR stands alone: a bare CR inside a field could be
    /// read as a line break by a peer, so it is never let through.
    @inline(__always)
    static func lineEnd(_ p: Octets, _ from: Int, _ n: Int) -> (end: Int, next: Int)? {
        let i = firstLineBreak(p, from, n)
        guard i < n else { return nil }
        if p[i] == Octet.lf { return (i, i + 1) }
        guard i + 1 < n, p[i + 1] == Octet.lf else { return nil }
        return (i, i + 2)
    }

    static func read(_ p: Octets) throws(SIPParseError) -> SIPMessage {
        let n = p.count
        // Field spans are 32-bit offsets; nothing near this size is a SIP message anyway.
        guard UInt64(n) < UInt64(UInt32.max) else { throw SIPParseError("Message too large") }
        var pos = 0
        // RFC 3261 §7.5: CRLFs before the start line are ignored.
        while pos < n && (p[pos] == Octet.cr || p[pos] == Octet.lf) { pos += 1 }
        guard pos < n else { throw SIPParseError("Empty message") }
        guard let line = lineEnd(p, pos, n) else { throw SIPParseError("Incomplete start line") }

        if line.end - pos >= 4 && equalsExactly(p, pos, pos + 4, "SIP/") {
            let (code, phrase) = try StartLine.status(p, pos, line.end)
            let section = readHeaders(p, line.next, n, method: nil)
            if let failure = section.failure { throw failure }
            let body = try bodyBytes(p, section)
            return .response(SIPResponse(statusCode: code, reasonPhrase: phrase, headers: section.headers, body: body))
        }

        // A request: once the method is known, an error carries what was read so that the caller
        // can still answer 400 (or 505).
        let (method, uri, lineError) = try StartLine.request(p, pos, line.end)
        let section = readHeaders(p, line.next, n, method: method)
        var failure = lineError ?? section.failure
        if failure == nil {
            do throws(SIPParseError) {
                let body = try bodyBytes(p, section)
                return .request(SIPRequest(method: method, uri: uri, headers: section.headers, body: body))
            } catch {
                failure = error
            }
        }
        var error = failure ?? SIPParseError("Malformed request")
        error.request = SIPRequest(method: method, uri: uri, headers: section.headers)
        throw error
    }

    /// Finishes validation and cuts the body to Content-Length.
    private static func bodyBytes(_ p: Octets, _ section: HeaderSection) throws(SIPParseError) -> [UInt8] {
        let available = p.count - section.bodyStart
        let length = try section.checker.finish(available: available) ?? available
        guard length > 0 else { return [] }
        return Array(Octets(rebasing: p[section.bodyStart..<(section.bodyStart + length)]))
    }

    struct HeaderSection {
        var headers: SIPHeaders
        var bodyStart: Int
        var failure: SIPParseError?
        var checker: HeaderChecker
    }

    /// Reads header fields up to the blank line, unfolding continuation lines (RFC 3261 §7.3.1)
    /// and checking each field as it goes. After a malformed line it keeps reading, so an error
    /// can still carry every readable field.
    static func readHeaders(_ p: Octets, _ start: Int, _ n: Int, method: SIPMethod?) -> HeaderSection {
        var fields: [SIPHeaders.Field] = []
        fields.reserveCapacity(16)
        var checker = HeaderChecker(method: method)
        var failure: SIPParseError?
        // Unfolded values of folded fields; they are appended to the storage after the section,
        // so their spans are fixed up once the section's length is known.
        var unfolded: [UInt8] = []
        var unfoldedFields: [Int] = []
        var pos = start

        func finish(_ end: Int, bodyStart: Int) -> HeaderSection {
            var storage: [UInt8] = []
            storage.reserveCapacity(end - start + unfolded.count)
            storage.append(contentsOf: Octets(rebasing: p[start..<end]))
            storage.append(contentsOf: unfolded)
            let shift = UInt32(truncatingIfNeeded: end - start)
            for index in unfoldedFields {
                fields[index].valueLo &+= shift
                fields[index].valueHi &+= shift
            }
            return HeaderSection(headers: SIPHeaders(storage: storage, fields: fields), bodyStart: bodyStart,
                                 failure: failure, checker: checker)
        }

        while true {
            guard let line = lineEnd(p, pos, n) else {
                let bareCR = firstIndex(of: Octet.lf, in: p, pos, n) != nil
                failure = failure ?? SIPParseError(
                    bareCR ? "Bare CR in header field" : "Message ends before the blank line after the header fields")
                return finish(pos, bodyStart: n)
            }
            if line.end == pos { return finish(pos, bodyStart: line.next) }
            if isWSP(p[pos]) {
                failure = failure ?? SIPParseError("Folded line without a header field")
                pos = line.next
                continue
            }
            // field-name HCOLON, where HCOLON = *( SP / HTAB ) ":" SWS
            var i = pos
            while i < line.end && isTokenChar(p[i]) { i += 1 }
            let nameEnd = i
            i = skipWSP(p, i, line.end)
            guard nameEnd > pos, i < line.end, p[i] == Octet.colon else {
                failure = failure ?? SIPParseError("Malformed header field")
                pos = line.next
                while pos < n && isWSP(p[pos]), let more = lineEnd(p, pos, n) { pos = more.next }
                continue
            }
            let kind = HeaderKind(p, pos, nameEnd)
            let valueStart = skipWSP(p, i + 1, line.end)
            var next = line.next
            if next < n && isWSP(p[next]) {
                // Continuation lines: each fold becomes a single SP.
                let lo = unfolded.count
                unfolded.append(contentsOf: Octets(rebasing: p[valueStart..<trimTrailingWSP(p, valueStart, line.end)]))
                while next < n && isWSP(p[next]), let more = lineEnd(p, next, n) {
                    let a = skipWSP(p, next, more.end)
                    let b = trimTrailingWSP(p, a, more.end)
                    if a < b {
                        if unfolded.count > lo { unfolded.append(Octet.space) }
                        unfolded.append(contentsOf: Octets(rebasing: p[a..<b]))
                    }
                    next = more.next
                }
                let hi = unfolded.count
                unfolded.withUnsafeBufferPointer { checker.check(kind, $0, lo, hi) }
                unfoldedFields.append(fields.count)
                fields.append(SIPHeaders.Field(kind: kind, name: (pos - start, nameEnd - start), value: (lo, hi)))
            } else {
                let valueEnd = trimTrailingWSP(p, valueStart, line.end)
                checker.check(kind, p, valueStart, valueEnd)
                fields.append(SIPHeaders.Field(kind: kind, name: (pos - start, nameEnd - start),
                                               value: (valueStart - start, valueEnd - start)))
            }
            pos = next
        }
    }
}
