// Character classes and small byte helpers for the RFC 3261 §25 grammar.
//
// Everything in the message layer scans UTF-8 bytes rather than Characters: SIP's grammar is
// defined over octets, and grapheme-cluster iteration would be both slower and wrong (a CR LF
// pair is one Character in Swift).

@usableFromInline typealias Bytes = UnsafeBufferPointer<UInt8>

enum Byte {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22      // "
    static let percent: UInt8 = 0x25    // %
    static let ampersand: UInt8 = 0x26  // &
    static let comma: UInt8 = 0x2C      // ,
    static let slash: UInt8 = 0x2F      // /
    static let colon: UInt8 = 0x3A      // :
    static let semicolon: UInt8 = 0x3B  // ;
    static let lessThan: UInt8 = 0x3C   // <
    static let equals: UInt8 = 0x3D     // =
    static let greaterThan: UInt8 = 0x3E // >
    static let question: UInt8 = 0x3F   // ?
    static let at: UInt8 = 0x40         // @
    static let leftBracket: UInt8 = 0x5B // [
    static let backslash: UInt8 = 0x5C  // \
    static let rightBracket: UInt8 = 0x5D // ]
}

@inline(__always) func isWSP(_ c: UInt8) -> Bool { c == Byte.space || c == Byte.tab }
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
@inline(__always) func isAlphanumeric(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
@inline(__always) func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20) &- 0x61 < 6 }
@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }
@inline(__always) func asciiUpper(_ c: UInt8) -> UInt8 { c &- 0x61 < 26 ? c & 0xDF : c }

/// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
@inline(__always) func isTokenChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case 0x2D, 0x2E, 0x21, 0x25, 0x2A, 0x5F, 0x2B, 0x60, 0x27, 0x7E: return true
    default: return false
    }
}

/// unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
@inline(__always) func isUnreserved(_ c: UInt8) -> Bool {
    switch c {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case 0x2D, 0x5F, 0x2E, 0x21, 0x7E, 0x2A, 0x27, 0x28, 0x29: return true
    default: return false
    }
}

/// Characters allowed unescaped in a SIP URI user part: unreserved / user-unreserved.
@inline(__always) func isUserChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x26, 0x3D, 0x2B, 0x24, 0x2C, 0x3B, 0x3F, 0x2F: return true  // & = + $ , ; ? /
    default: return isUnreserved(c)
    }
}

/// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
@inline(__always) func isPasswordChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x26, 0x3D, 0x2B, 0x24, 0x2C: return true
    default: return isUnreserved(c)
    }
}

/// paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
@inline(__always) func isParamChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x5B, 0x5D, 0x2F, 0x3A, 0x26, 0x2B, 0x24: return true
    default: return isUnreserved(c)
    }
}

/// hname / hvalue characters: hnv-unreserved / unreserved; hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
@inline(__always) func isURIHeaderChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x5B, 0x5D, 0x2F, 0x3F, 0x3A, 0x2B, 0x24: return true
    default: return isUnreserved(c)
    }
}

/// Host names are alphanum / "-" / "."; "_" is tolerated because real deployments use it.
@inline(__always) func isHostChar(_ c: UInt8) -> Bool {
    isAlphanumeric(c) || c == 0x2D || c == 0x2E || c == 0x5F
}

/// word (Call-ID) = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
///                    "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
@inline(__always) func isWordChar(_ c: UInt8) -> Bool {
    switch c {
    case 0x28, 0x29, 0x3C, 0x3E, 0x3A, 0x5C, 0x22, 0x2F, 0x5B, 0x5D, 0x3F, 0x7B, 0x7D: return true
    default: return isTokenChar(c)
    }
}

/// Generic parameter values may be a token, a host (including an IPv6 reference) or a quoted string;
/// this covers the unquoted forms.
@inline(__always) func isGenValueChar(_ c: UInt8) -> Bool {
    isTokenChar(c) || c == Byte.leftBracket || c == Byte.rightBracket || c == Byte.colon
}

// MARK: - Buffer helpers

@inline(__always) func makeString(_ p: Bytes, _ lo: Int, _ hi: Int) -> String {
    String(decoding: Bytes(rebasing: p[lo..<hi]), as: UTF8.self)
}

/// Skips spaces and tabs forward from `i`.
@inline(__always) func skipWSP(_ p: Bytes, _ i: Int, _ hi: Int) -> Int {
    var i = i
    while i < hi && isWSP(p[i]) { i += 1 }
    return i
}

/// Moves `hi` back over trailing spaces and tabs.
@inline(__always) func trimTrailingWSP(_ p: Bytes, _ lo: Int, _ hi: Int) -> Int {
    var hi = hi
    while hi > lo && isWSP(p[hi - 1]) { hi -= 1 }
    return hi
}

@inline(__always) func firstIndex(of c: UInt8, in p: Bytes, _ lo: Int, _ hi: Int) -> Int? {
    var i = lo
    while i < hi {
        if p[i] == c { return i }
        i += 1
    }
    return nil
}

/// Compares bytes against an ASCII literal ignoring case, without allocating.
@inline(__always) func equalsIgnoringCase(_ p: Bytes, _ lo: Int, _ hi: Int, _ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard hi - lo == n else { return false }
    let q = literal.utf8Start
    for k in 0..<n where asciiLower(p[lo + k]) != asciiLower(q[k]) { return false }
    return true
}

@inline(__always) func equalsExactly(_ p: Bytes, _ lo: Int, _ hi: Int, _ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard hi - lo == n else { return false }
    let q = literal.utf8Start
    for k in 0..<n where p[lo + k] != q[k] { return false }
    return true
}

/// Case-insensitive ASCII comparison of two strings (header and parameter names).
func asciiEqualsIgnoringCase<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
    asciiEqualsIgnoringCase(a.utf8, b.utf8)
}

func asciiEqualsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ x: A, _ y: B) -> Bool {
    guard x.count == y.count else { return false }
    var i = x.startIndex, j = y.startIndex
    while i != x.endIndex {
        if asciiLower(x[i]) != asciiLower(y[j]) { return false }
        x.formIndex(after: &i)
        y.formIndex(after: &j)
    }
    return true
}

enum DecimalParse: Equatable {
    case value(Int)
    case invalid   // empty or a non-digit
    case overflow  // digits only, but too large for Int
}

/// Parses 1*DIGIT with overflow detection; numbers from the wire must never trap.
@inline(__always) func parseDecimal(_ p: Bytes, _ lo: Int, _ hi: Int) -> DecimalParse {
    guard lo < hi else { return .invalid }
    var value = 0
    var overflowed = false
    for i in lo..<hi {
        let d = p[i] &- 0x30
        guard d < 10 else { return .invalid }
        if overflowed { continue }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.addingReportingOverflow(Int(d))
        if o1 || o2 { overflowed = true } else { value = s }
    }
    return overflowed ? .overflow : .value(value)
}

/// Runs `body` over the UTF-8 bytes of `text`, copying only when the string is not contiguous.
@inline(__always)
func withUTF8Bytes<S: StringProtocol, R>(
    _ text: S, _ body: (Bytes) throws(SIPParseError) -> R
) throws(SIPParseError) -> R {
    let direct: Result<R, SIPParseError>? = text.utf8.withContiguousStorageIfAvailable { p in
        do throws(SIPParseError) { return .success(try body(p)) } catch { return .failure(error) }
    }
    if let direct { return try direct.get() }
    let copy = Array(text.utf8)
    let copied: Result<R, SIPParseError> = copy.withUnsafeBufferPointer { p in
        do throws(SIPParseError) { return .success(try body(p)) } catch { return .failure(error) }
    }
    return try copied.get()
}

/// Appends a string's UTF-8 to a byte buffer (a memcpy for native strings).
@inline(__always) func appendUTF8(_ s: String, to out: inout [UInt8]) {
    out.append(contentsOf: s.utf8)
}

@inline(__always) func appendDecimal(_ n: Int, to out: inout [UInt8]) {
    if n < 0 { appendUTF8(String(n), to: &out); return }
    if n < 10 { out.append(UInt8(truncatingIfNeeded: n) &+ 0x30); return }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var v = n
    withUnsafeMutableBytes(of: &digits) { buf in
        while v > 0 {
            buf[count] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
            v /= 10
            count += 1
        }
        var k = count - 1
        while k >= 0 { out.append(buf[k]); k -= 1 }
    }
}
