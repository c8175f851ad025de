/// The CSeq header: a sequence number and the method it numbers (RFC 3261 §20.16).
public struct CSeq: Hashable, Sendable, CustomStringConvertible {
    public var sequence: UInt32
    public var method: SIPMethod

    public init(sequence: UInt32, method: SIPMethod) {
        self.sequence = sequence
        self.method = method
    }

    public var description: String { "\(sequence) \(method.rawValue)" }

    /// CSeq = 1*DIGIT LWS Method. A number above 2^32-1 is an error, never a wrap-around.
    public static func parse(_ text: Substring) throws(SIPParseError) -> CSeq {
        try withUTF8Bytes(text) { (p: Octets) throws(SIPParseError) -> CSeq in try parse(p, 0, p.count) }
    }

    public static func parse(_ text: String) throws(SIPParseError) -> CSeq { try parse(text[...]) }

    static func parse(_ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> CSeq {
        var i = skipWSP(p, lo, hi)
        let end = trimTrailingWSP(p, i, hi)
        let digits = i
        while i < end && isASCIIDigit(p[i]) { i += 1 }
        let number: Int
        switch parseDecimal(p, digits, i) {
        case .value(let n) where UInt64(n) <= UInt64(UInt32.max): number = n
        case .value, .overflow: throw SIPParseError("CSeq number too large")
        case .invalid: throw SIPParseError("Invalid CSeq")
        }
        let methodStart = skipWSP(p, i, end)
        guard methodStart > i, methodStart < end else { throw SIPParseError("Invalid CSeq") }
        var j = methodStart
        while j < end && isTokenChar(p[j]) { j += 1 }
        guard j == end else { throw SIPParseError("Invalid CSeq method") }
        return CSeq(sequence: UInt32(truncatingIfNeeded: number), method: SIPMethod.from(p, methodStart, end))
    }
}
