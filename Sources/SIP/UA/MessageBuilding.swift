/// Fresh identifiers: branches with the magic cookie (§8.1.1.7), tags
/// (§19.3) and Call-IDs (§8.1.1.4), all with enough randomness to be
/// globally unique.
public enum SIPIdentifiers {
    public static func branch() -> String { magicCookie + randomToken(12) }
    public static func tag() -> String { randomToken(10) }
    public static func callID() -> String { randomToken(20) }

    /// `count` characters of [a-z0-9] from the system's CSPRNG. Each 64-bit
    /// draw gives 12 of them (36¹² < 2⁶⁴): one getrandom call per dozen
    /// characters, not per character, on every branch, tag and Call-ID.
    static func randomToken(_ count: Int) -> String {
        let alphabet: StaticString = "abcdefghijklmnopqrstuvwxyz0123456789"
        var generator = SystemRandomNumberGenerator()
        return String(unsafeUninitializedCapacity: count) { buffer in
            alphabet.withUTF8Buffer { letters in
                var draw: UInt64 = 0
                for i in 0..<count {
                    if i % 12 == 0 { draw = generator.next() }
                    buffer[i] = letters[Int(draw % 36)]
                    draw /= 36
                }
            }
            return count
        }
    }
}

extension SIPResponse {
    /// A response to `request` per RFC 3261 §8.2.6.2: Via, From, Call-ID and
    /// CSeq copied, To copied with a tag added when it has none (not on 100).
    public static func to(_ request: SIPRequest, statusCode: Int, reasonPhrase: String? = nil,
                          toTag: String? = nil) -> SIPResponse {
        var headers = SIPHeaders()
        for via in request.headers.all("Via") { headers.add("Via", via) }
        if let from = request.headers["From"] { headers.add("From", from) }
        if var to = request.headers.to {
            if to.tag == nil, statusCode > 100, let toTag { to.parameters.set("tag", toTag) }
            headers.add("To", to.description)
        } else if let to = request.headers["To"] {
            headers.add("To", to)
        }
        if let callID = request.headers["Call-ID"] { headers.add("Call-ID", callID) }
        if let cseq = request.headers["CSeq"] { headers.add("CSeq", cseq) }
        return SIPResponse(statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers)
    }
}
