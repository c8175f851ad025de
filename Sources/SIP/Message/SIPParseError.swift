/// Why a message, or one of its parts, could not be read.
///
/// `reason` is written to be usable as the Reason-Phrase of the 400 a server sends back, so it
/// says what is wrong in a few plain words ("Invalid CSeq", "Content-Length larger than message").
public struct SIPParseError: Error, Sendable, CustomStringConvertible, Equatable {
    public var reason: String
    /// The status code a server should answer with: 400, or 505 when the request names a
    /// SIP-Version other than 2.0 (RFC 3261 §8.2.2 / §21.5.6).
    public var statusCode: Int
    // Boxed: typed throws pass this error through every grammar function, and a large inline
    // request would be copied on each of those paths.
    private var box: RequestBox?

    public init(_ reason: String, request: SIPRequest? = nil, statusCode: Int = 400) {
        self.reason = reason
        self.statusCode = statusCode
        self.box = request.map(RequestBox.init)
    }

    /// The request as far as it could be read (start line and header fields), when the start line
    /// was a request, so the caller can still build a response (RFC 3261 §8.2: a UAS answers a
    /// malformed request with 400 when it can). When the Request-URI itself is what failed, `uri`
    /// is a placeholder with an empty host. `nil` for responses and unreadable start lines.
    public var request: SIPRequest? {
        get { box?.request }
        set { box = newValue.map(RequestBox.init) }
    }

    public var description: String { reason }

    public static func == (a: SIPParseError, b: SIPParseError) -> Bool {
        a.reason == b.reason && a.statusCode == b.statusCode && a.request == b.request
    }

    private final class RequestBox: Sendable {
        let request: SIPRequest
        init(_ request: SIPRequest) { self.request = request }
    }
}
