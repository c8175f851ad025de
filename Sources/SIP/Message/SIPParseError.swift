/// Why a message, or one of its parts, could not be read.
///
/// `reason` is written to be usable as the Reason-Phrase of the 400 a server sends back, so it
/// says what is wrong in a few plain words ("Invalid CSeq", "Content-Length larger than message").
public struct SIPParseError: Error, Sendable, CustomStringConvertible, Equatable {
    public var reason: String
    /// The request as far as it could be read (start line and header fields), when the start line
    /// was a request, so the caller can still build a response (RFC 3261 §8.2: a UAS answers a
    /// malformed request with 400 when it can). When the Request-URI itself is what failed, `uri`
    /// is a placeholder with an empty host. `nil` for responses and unreadable start lines.
    public var request: SIPRequest?
    /// The status code a server should answer with: 400, or 505 when the request names a
    /// SIP-Version other than 2.0 (RFC 3261 §8.2.2 / §21.5.6).
    public var statusCode: Int

    public init(_ reason: String, request: SIPRequest? = nil, statusCode: Int = 400) {
        self.reason = reason
        self.request = request
        self.statusCode = statusCode
    }

    public var description: String { reason }
}
