/// The checks a message must pass before the transaction layer sees it (RFC 3261 §8.2, §16.3,
/// §18.3; RFC 4475 §3.1.2). Every header a typed accessor reads is checked here, so on a parsed
/// message those accessors never come back nil for a header that is present.
///
/// Fields are checked as the parser meets them, on the received bytes and without building
/// values (the `scan` half of each grammar), so validation costs no allocations.
struct HeaderChecker {
    /// nil for a response.
    let method: SIPMethod?
    private var counts = Counts()
    private var failure: SIPParseError?
    private var contentLength: Int?
    private var contentLengthOverflow = false
    private var contactWildcard = false

    init(method: SIPMethod?) { self.method = method }

    private static let mandatory: [HeaderKind] = [.via, .from, .to, .callID, .cseq]
    private static let singleValued: [HeaderKind] = [.from, .to, .callID, .cseq, .maxForwards, .contentLength]

    /// Checks one field; the first failure is kept for `finish`.
    mutating func check(_ kind: HeaderKind, _ p: Octets, _ lo: Int, _ hi: Int) {
        counts.add(kind)
        guard failure == nil else { return }
        do throws(SIPParseError) {
            if try !isValid(kind, p, lo, hi) { failure = SIPParseError("Invalid \(kind.canonicalName)") }
        } catch {
            failure = error
        }
    }

    /// Missing and repeated fields first (they say most about what is wrong), then the first bad
    /// value, then a body shorter than Content-Length. Returns the Content-Length, if any.
    func finish(available: Int) throws(SIPParseError) -> Int? {
        if counts.lacksMandatory {
            let missing = Self.mandatory.filter { counts[$0] == 0 }
            let names = missing.map(\.canonicalName).joined(separator: ", ")
            throw SIPParseError(missing.count == 1 ? "Missing \(names) header field" : "Missing header fields: \(names)")
        }
        if counts.repeatsSingleValued {
            let repeated = Self.singleValued.filter { counts[$0] > 1 }
            throw SIPParseError("Multiple values for \(repeated.map(\.canonicalName).joined(separator: ", "))")
        }
        if let failure { throw failure }
        if contactWildcard && counts[.contact] > 1 { throw SIPParseError("Invalid Contact") }
        if contentLengthOverflow { throw SIPParseError("Content-Length larger than message") }
        if let contentLength, contentLength > available { throw SIPParseError("Content-Length larger than message") }
        return contentLength
    }

    private mutating func isValid(_ kind: HeaderKind, _ p: Octets, _ lo: Int, _ hi: Int) throws(SIPParseError) -> Bool {
        switch kind {
        case .via:
            var parts = Via.Parts()
            return Self.eachListValue(p, lo, hi) { a, b throws(SIPParseError) in
                try Via.scan(p, a, b, stopAtComma: true, &parts)
            }
        case .from, .to:
            var parts = NameAddress.Parts()
            return (try? NameAddress.scan(p, lo, hi, stopAtComma: false, &parts)) == hi
        case .contact:
            if hi - lo == 1 && p[lo] == UInt8(ascii: "*") {
                contactWildcard = true
                return true
            }
            fallthrough
        case .route, .recordRoute:
            var parts = NameAddress.Parts()
            return Self.eachListValue(p, lo, hi) { a, b throws(SIPParseError) in
                try NameAddress.scan(p, a, b, stopAtComma: true, &parts)
            }
        case .callID:
            return Self.isCallID(p, lo, hi)
        case .cseq:
            let cseq = try CSeq.parse(p, lo, hi)
            if let method {
                guard cseq.sequence <= UInt32(Int32.max) else { throw SIPParseError("CSeq number too large") }
                guard cseq.method == method else { throw SIPParseError("CSeq method does not match request method") }
            }
            return true
        case .maxForwards:
            if case .value(let n) = parseDecimal(p, lo, hi), n <= 255 { return true }
            return false
        case .contentLength:
            switch parseDecimal(p, lo, hi) {
            case .value(let n): contentLength = n
            case .overflow: contentLengthOverflow = true
            case .invalid: return false
            }
            return true
        case .date:
            return Self.isRFC1123Date(p, lo, hi)
        default:
            return true
        }
    }

    /// Runs an element scanner over each comma-separated value; `scan` returns where the value
    /// ended. An empty value (`a,,b`) fails in the scanner, as it should.
    private static func eachListValue(_ p: Octets, _ lo: Int, _ hi: Int,
                                      _ scan: (Int, Int) throws(SIPParseError) -> Int) -> Bool {
        var i = lo
        while true {
            guard let end = try? scan(i, hi) else { return false }
            if end >= hi { return true }
            guard p[end] == Octet.comma else { return false }
            i = end + 1
        }
    }

    /// callid = word [ "@" word ]
    private static func isCallID(_ p: Octets, _ lo: Int, _ hi: Int) -> Bool {
        guard lo < hi else { return false }
        var ats = 0
        for i in lo..<hi {
            if p[i] == Octet.at {
                ats += 1
                if ats > 1 || i == lo || i == hi - 1 { return false }
            } else if !isWordChar(p[i]) {
                return false
            }
        }
        return true
    }

    private static let weekdays: [StaticString] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let months: [StaticString] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §20.17: only GMT is allowed,
    /// which is what RFC 4475 §3.1.2.12 tests).
    private static func isRFC1123Date(_ p: Octets, _ lo: Int, _ hi: Int) -> Bool {
        guard hi - lo == 29 else { return false }
        func digits(_ at: Int, _ count: Int) -> Bool { (at..<(at + count)).allSatisfy { isASCIIDigit(p[$0]) } }
        func byte(_ at: Int, _ c: Character) -> Bool { p[at] == c.asciiValue }
        return weekdays.contains { equalsExactly(p, lo, lo + 3, $0) }
            && byte(lo + 3, ",") && byte(lo + 4, " ") && digits(lo + 5, 2) && byte(lo + 7, " ")
            && months.contains { equalsExactly(p, lo + 8, lo + 11, $0) }
            && byte(lo + 11, " ") && digits(lo + 12, 4) && byte(lo + 16, " ")
            && digits(lo + 17, 2) && byte(lo + 19, ":") && digits(lo + 20, 2) && byte(lo + 22, ":")
            && digits(lo + 23, 2) && byte(lo + 25, " ") && equalsExactly(p, lo + 26, hi, "GMT")
    }

    /// Field counts for the kinds validation cares about, without allocating.
    private struct Counts {
        private var storage: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0)

        mutating func add(_ kind: HeaderKind) {
            switch kind {
            case .via: storage.0 &+= 1
            case .from: storage.1 &+= 1
            case .to: storage.2 &+= 1
            case .callID: storage.3 &+= 1
            case .cseq: storage.4 &+= 1
            case .maxForwards: storage.5 &+= 1
            case .contentLength: storage.6 &+= 1
            case .contact: storage.7 &+= 1
            default: break
            }
        }

        var lacksMandatory: Bool {
            storage.0 == 0 || storage.1 == 0 || storage.2 == 0 || storage.3 == 0 || storage.4 == 0
        }

        var repeatsSingleValued: Bool {
            storage.1 > 1 || storage.2 > 1 || storage.3 > 1 || storage.4 > 1 || storage.5 > 1 || storage.6 > 1
        }

        subscript(kind: HeaderKind) -> UInt32 {
            switch kind {
            case .via: return storage.0
            case .from: return storage.1
            case .to: return storage.2
            case .callID: return storage.3
            case .cseq: return storage.4
            case .maxForwards: return storage.5
            case .contentLength: return storage.6
            case .contact: return storage.7
            default: return 0
            }
        }
    }
}
