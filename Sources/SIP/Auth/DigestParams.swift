// Shared lexer for WWW-Authenticate / Proxy-Authenticate / Authorization /
// Proxy-Authorization values: `scheme param=value, param="quoted", ...`
// (RFC 3261 §25.1, RFC 7235 §2.1).
//
// It works on UTF-8 bytes with a single forward index, so every input ends in
// a result or a DigestError, never a trap. A value may hold several
// challenges (`Digest ..., Basic ...`): a token not followed by `=` starts a
// new scheme, which is also what keeps comma-less peers parseable.

/// One `name=value` pair; the name is lowercased, the value unquoted.
struct DigestParam: Sendable, Equatable {
    var name: String
    var value: String
}

/// One scheme with its parameters, in header order.
struct DigestSchemeItem: Sendable, Equatable {
    var scheme: String
    var params: [DigestParam]
    /// Set for `Basic <token68>`-style items; Digest never uses it.
    var token68: String?

    /// First value of `name` (lowercase). Challenge parsing is lenient and
    /// takes the first; credential parsing checks duplicates separately.
    func value(_ name: String) -> String? {
        params.first(where: { $0.name == name })?.value
    }

    /// Name of the first parameter that occurs twice, if any.
    var firstDuplicate: String? {
        var seen = Set<String>()
        for p in params where !seen.insert(p.name).inserted { return p.name }
        return nil
    }
}

enum DigestHeaderLexer {
    static func scan(_ text: String) throws(DigestError) -> [DigestSchemeItem] {
        var lexer = Cursor(bytes: Array(text.utf8))
        var items: [DigestSchemeItem] = []
        while true {
            lexer.skip { isSpace($0) || $0 == UInt8(ascii: ",") }
            guard !lexer.atEnd else { break }
            let token = lexer.take(while: isTokenChar)
            guard !token.isEmpty else {
                throw .malformed("unexpected character at offset \(lexer.index)")
            }
            lexer.skip(isSpace)
            if lexer.peek == UInt8(ascii: "=") {
                // A parameter of the current scheme.
                guard !items.isEmpty else { throw .malformed("parameter before any scheme") }
                lexer.index += 1
                lexer.skip(isSpace)
                let value = try lexer.value()
                items[items.count - 1].params.append(
                    DigestParam(name: asciiLowercased(token), value: value))
            } else {
                var item = DigestSchemeItem(scheme: string(token), params: [], token68: nil)
                item.token68 = lexer.token68()
                items.append(item)
            }
        }
        guard !items.isEmpty else { throw .malformed("empty header value") }
        return items
    }

    // MARK: character classes (RFC 3261 §25.1 token, RFC 7235 token68)

    static func isSpace(_ b: UInt8) -> Bool {
        // CR and LF only appear here if the caller did not unfold; treat them
        // as the folding whitespace they would have been.
        b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0a
    }

    private static let tokenPunctuation: [UInt8] = Array("-.!%*_+`'~".utf8)
    private static let token68Punctuation: [UInt8] = Array("-._~+/".utf8)

    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            tokenPunctuation.contains(b)
        }
    }

    static func isToken68Char(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            token68Punctuation.contains(b)
        }
    }

    /// Control characters other than HTAB may not appear in values: they
    /// would let a peer smuggle header breaks into anything we echo back.
    static func isForbiddenControl(_ b: UInt8) -> Bool {
        (b < 0x20 && b != 0x09) || b == 0x7f
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    static func asciiLowercased(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map { (0x41...0x5a).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func skip(_ predicate: (UInt8) -> Bool) {
            while let b = peek, predicate(b) { index += 1 }
        }

        mutating func take(while predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
            let start = index
            skip(predicate)
            return bytes[start..<index]
        }

        /// A quoted-string (with quoted-pair escapes) or a bare value running
        /// to the next comma or whitespace. Bare values are more permissive
        /// than `token` because peers send e.g. `uri=sip:bob@host` unquoted.
        mutating func value() throws(DigestError) -> String {
            guard peek == UInt8(ascii: "\"") else {
                let bare = take { b in
                    !isSpace(b) && b != UInt8(ascii: ",") && b != UInt8(ascii: "\"")
                        && !isForbiddenControl(b)
                }
                if let b = peek, isForbiddenControl(b) || b == UInt8(ascii: "\"") {
                    throw .malformed("unexpected character in a value at offset \(index)")
                }
                guard !bare.isEmpty else { throw .malformed("empty unquoted value") }
                return string(bare)
            }
            index += 1
            var out: [UInt8] = []
            while let b = peek {
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek, !isForbiddenControl(escaped) else {
                        throw .malformed("bad escape in a quoted string")
                    }
                    out.append(escaped)
                    index += 1
                case _ where isForbiddenControl(b):
                    throw .malformed("control character in a quoted string")
                default:
                    out.append(b)
                }
            }
            throw .malformed("unterminated quoted string")
        }

        /// After a scheme: `Basic dXNlcjpwYXNz==` carries a token68 instead of
        /// parameters. Recognised only when it runs to the end or a comma, so
        /// `name=value` is never mistaken for it; otherwise nothing is consumed.
        mutating func token68() -> String? {
            let start = index
            var probe = index
            while probe < bytes.count, isToken68Char(bytes[probe]) { probe += 1 }
            guard probe > start else { return nil }
            while probe < bytes.count, bytes[probe] == UInt8(ascii: "=") { probe += 1 }
            let end = probe
            while probe < bytes.count, isSpace(bytes[probe]) { probe += 1 }
            guard probe == bytes.count || bytes[probe] == UInt8(ascii: ",") else { return nil }
            index = probe
            return string(bytes[start..<end])
        }
    }
}

/// Writing side: quote a value for an outgoing header.
enum DigestHeaderWriter {
    /// `"value"` with `"` and `\` escaped. Control characters are refused
    /// rather than escaped: a CR or LF would split the SIP header.
    static func quoted(_ value: String, name: String) throws(DigestError) -> String {
        var out = "\""
        for u in value.unicodeScalars {
            if u.value < 0x20 && u.value != 0x09 || u.value == 0x7f {
                throw .malformed("the \(name) value contains a control character")
            }
            if u == "\"" || u == "\\" { out.append("\\") }
            out.unicodeScalars.append(u)
        }
        return out + "\""
    }

    /// Strip control characters from values we choose ourselves (realm).
    static func sanitized(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.filter {
            !($0.value < 0x20 && $0.value != 0x09) && $0.value != 0x7f
        }))
    }
}
