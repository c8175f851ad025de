// Character classes and small byte helpers for the RFC 3261 §25 grammar.
//
// Everything in the message layer scans UTF-8 bytes rather than Characters: SIP's grammar is
// defined over octets, and grapheme-cluster iteration would be both slower and wrong (a CR LF
// pair is one Character in Swift).

typealias Octets = UnsafeBufferPointer<UInt8>

enum Octet {
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

@inline(__always) func isWSP(_ c: UInt8) -> Bool { c == Octet.space || c == Octet.tab }
@inline(__always) func isASCIIDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
@inline(__always) func isASCIIAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
@inline(__always) func isASCIIAlphanumeric(_ c: UInt8) -> Bool { isASCIIAlpha(c) || isASCIIDigit(c) }
@inline(__always) func isASCIIHexDigit(_ c: UInt8) -> Bool { isASCIIDigit(c) || (c | 0x20) &- 0x61 < 6 }
@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }
@inline(__always) func asciiUpper(_ c: UInt8) -> UInt8 { c &- 0x61 < 26 ? c & 0xDF : c }

// The classes below are 128-bit sets (bit c set <=> byte c allowed), so a test is a shift and a
// mask instead of a chain of comparisons; the scanners spend most of their time in these tests.
// Each constant was generated from the RFC 3261 §25.1 production named in its comment.

@inline(__always) func inSet(_ c: UInt8, _ low: UInt64, _ high: UInt64) -> Bool {
    // Written to compile to conditional moves: these tests sit in every scanning loop.
    let word = c < 64 ? low : (c < 128 ? high : 0)
    return (word >> UInt64(c & 63)) & 1 != 0
}

/// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
@inline(__always) func isTokenChar(_ c: UInt8) -> Bool {
    inSet(c, 0x03FF_6CA2_0000_0000, 0x47FF_FFFF_87FF_FFFE)
}

/// unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
@inline(__always) func isUnreserved(_ c: UInt8) -> Bool {
    inSet(c, 0x03FF_6782_0000_0000, 0x47FF_FFFE_87FF_FFFE)
}

/// SIP URI user part: unreserved / user-unreserved ("&" / "=" / "+" / "$" / "," / ";" / "?" / "/")
@inline(__always) func isUserChar(_ c: UInt8) -> Bool {
    inSet(c, 0xABFF_FFD2_0000_0000, 0x47FF_FFFE_87FF_FFFE)
}

/// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
@inline(__always) func isPasswordChar(_ c: UInt8) -> Bool {
    inSet(c, 0x23FF_7FD2_0000_0000, 0x47FF_FFFE_87FF_FFFE)
}

/// paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
@inline(__always) func isParamChar(_ c: UInt8) -> Bool {
    inSet(c, 0x07FF_EFD2_0000_0000, 0x47FF_FFFE_AFFF_FFFE)
}

/// hname / hvalue: hnv-unreserved / unreserved; hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
@inline(__always) func isURIHeaderChar(_ c: UInt8) -> Bool {
    inSet(c, 0x87FF_EF92_0000_0000, 0x47FF_FFFE_AFFF_FFFE)
}

/// Host names are alphanum / "-" / "."; "_" is tolerated because real deployments use it.
@inline(__always) func isHostChar(_ c: UInt8) -> Bool {
    inSet(c, 0x03FF_6000_0000_0000, 0x07FF_FFFE_87FF_FFFE)
}

/// word (Call-ID) = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
///                    "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
@inline(__always) func isWordChar(_ c: UInt8) -> Bool {
    inSet(c, 0xD7FF_EFA6_0000_0000, 0x6FFF_FFFF_BFFF_FFFE)
}

/// Unquoted generic parameter values: a token or a host, including an IPv6 reference.
@inline(__always) func isGenValueChar(_ c: UInt8) -> Bool {
    inSet(c, 0x07FF_6CA2_0000_0000, 0x47FF_FFFF_AFFF_FFFE)
}

// MARK: - Buffer helpers

@inline(__always) func decodeString(_ p: Octets, _ lo: Int, _ hi: Int) -> String {
    String(decoding: Octets(rebasing: p[lo..<hi]), as: UTF8.self)
}

/// Skips spaces and tabs forward from `i`.
@inline(__always) func skipWSP(_ p: Octets, _ i: Int, _ hi: Int) -> Int {
    var i = i
    while i < hi && isWSP(p[i]) { i += 1 }
    return i
}

/// Moves `hi` back over trailing spaces and tabs.
@inline(__always) func trimTrailingWSP(_ p: Octets, _ lo: Int, _ hi: Int) -> Int {
    var hi = hi
    while hi > lo && isWSP(p[hi - 1]) { hi -= 1 }
    return hi
}

@inline(__always) func firstIndex(of c: UInt8, in p: Octets, _ lo: Int, _ hi: Int) -> Int? {
    var i = lo
    while i < hi {
        if p[i] == c { return i }
        i += 1
    }
    return nil
}

/// Compares bytes against an ASCII literal ignoring case, without allocating.
@inline(__always) func equalsIgnoringCase(_ p: Octets, _ lo: Int, _ hi: Int, _ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard hi - lo == n else { return false }
    let q = literal.utf8Start
    for k in 0..<n where asciiLower(p[lo + k]) != asciiLower(q[k]) { return false }
    return true
}

/// `equalsIgnoringCase` for header names: the bytes are already known to be token characters,
/// and the literal is letters, digits and '-', so setting bit 0x20 folds case exactly (no other
/// token character becomes a letter or '-'), eight bytes at a time.
@inline(__always) func tokenEqualsIgnoringCase(_ p: Octets, _ lo: Int, _ hi: Int, _ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard hi - lo == n, let base = p.baseAddress else { return false }
    let a = UnsafeRawPointer(base + lo)
    let b = UnsafeRawPointer(literal.utf8Start)
    let fold: UInt64 = 0x2020_2020_2020_2020
    var k = 0
    while k + 8 <= n {
        if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) | fold
            != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) | fold { return false }
        k += 8
    }
    while k < n {
        if a.load(fromByteOffset: k, as: UInt8.self) | 0x20 != b.load(fromByteOffset: k, as: UInt8.self) | 0x20 {
            return false
        }
        k += 1
    }
    return true
}

@inline(__always) func equalsExactly(_ p: Octets, _ lo: Int, _ hi: Int, _ literal: StaticString) -> Bool {
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
@inline(__always) func parseDecimal(_ p: Octets, _ lo: Int, _ hi: Int) -> DecimalParse {
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
    _ text: S, _ body: (Octets) throws(SIPParseError) -> R
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

/// For accessors that cannot fail: runs `body` over a string's bytes.
@inline(__always)
func withUTF8BytesNonThrowing<R>(_ text: String, _ body: (Octets) -> R) -> R {
    if let r = text.utf8.withContiguousStorageIfAvailable(body) { return r }
    return Array(text.utf8).withUnsafeBufferPointer(body)
}

/// Index of the first CR or LF at or after `from`, or `n`. Looks at eight bytes at a time: line
/// scanning is most of the work of reading a header section.
@inline(__always) func firstLineBreak(_ p: Octets, _ from: Int, _ n: Int) -> Int {
    var i = from
    if let base = p.baseAddress {
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= n {
            // Byte k of the input becomes bits 8k..8k+7 whatever the machine's byte order.
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let lf = word ^ (ones &* UInt64(Octet.lf))
            let cr = word ^ (ones &* UInt64(Octet.cr))
            // A high bit is set for each zero byte of lf or cr (plus, at most, false hits above a
            // true one, never below it), so the lowest set bit marks the first line break.
            let hits = (((lf &- ones) & ~lf) | ((cr &- ones) & ~cr)) & highs
            if hits != 0 { return i + hits.trailingZeroBitCount / 8 }
            i += 8
        }
    }
    while i < n {
        let c = p[i]
        if c == Octet.lf || c == Octet.cr { return i }
        i += 1
    }
    return n
}
