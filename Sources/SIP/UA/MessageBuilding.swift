/// Fresh identifiers: branches with the magic cookie (§8.1.1.7), tags
/// (§19.3) and Call-IDs (§8.1.1.4), all with enough randomness to be
/// globally unique.
public enum SIPIdentifiers {
    public static func branch() -> String { magicCookie + randomToken(12) }
    public static func tag() -> String { randomToken(10) }
    public static func callID() -> String { randomToken(20) }

    static func randomToken(_ count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count { bytes[i] = alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        return String(decoding: bytes, as: UTF8.self)
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
