// A session description (RFC 8866): the session-level lines and the media descriptions.
//
// Only what an offer/answer endpoint uses is kept. The informational lines (i=, u=, e=, p=),
// repeat times and time zones (r=, z=) and encryption keys (k=, obsolete) are read and dropped,
// so serialize() writes a description equivalent for offer/answer, not a byte copy.

public struct SessionDescription: Sendable, Equatable {
    public var origin: SDPOrigin
    public var sessionName: String
    public var connection: SDPConnection?
    public var bandwidths: [String]
    /// The t= value; "0 0" (an unbounded session) is all RFC 3264 uses.
    public var timing: String
    public var attributes: [SDPAttribute]
    public var media: [SDPMediaDescription]

    public init(origin: SDPOrigin, sessionName: String = "-", connection: SDPConnection? = nil,
                bandwidths: [String] = [], timing: String = "0 0", attributes: [SDPAttribute] = [],
                media: [SDPMediaDescription] = []) {
        self.origin = origin
        self.sessionName = sessionName
        self.connection = connection
        self.bandwidths = bandwidths
        self.timing = timing
        self.attributes = attributes
        self.media = media
    }

    /// The value of the first session-level attribute with this name.
    public func attribute(_ name: String) -> String? {
        attributes.first(named: name)?.value
    }

    public func attributes(_ name: String) -> [String] {
        attributes.values(named: name)
    }

    public func hasAttribute(_ name: String) -> Bool {
        attributes.first(named: name) != nil
    }

    /// The session-level direction, which applies to media that have none (RFC 3264 §5.1).
    public var direction: SDPDirection? {
        attributes.direction
    }

    /// The first m=audio description, the one a single-stream gateway answers.
    public var firstAudio: SDPMediaDescription? {
        media.first { $0.media == "audio" }
    }

    /// The description as text: CRLF line ends, lines in RFC 8866 §5 order.
    public func serialize() -> String {
        var lines = [
            "v=0",
            "o=\(origin.username) \(origin.sessionID) \(origin.sessionVersion) IN \(origin.addressType) \(origin.address)",
            "s=\(sessionName)",
        ]
        if let connection { lines.append("c=IN \(connection.addressType) \(connection.address)") }
        lines += bandwidths.map { "b=" + $0 }
        lines.append("t=\(timing)")
        lines += attributes.map { "a=" + $0.lineValue }
        for description in media {
            lines.append("m=" + description.lineValue)
            if let connection = description.connection {
                lines.append("c=IN \(connection.addressType) \(connection.address)")
            }
            lines += description.bandwidths.map { "b=" + $0 }
            lines += description.attributes.map { "a=" + $0.lineValue }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
