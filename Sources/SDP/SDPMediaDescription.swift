// One media description (RFC 8866 §5.14): an m= line and the c=, b= and a= lines under it.

public struct SDPMediaDescription: Sendable, Equatable {
    /// "audio", "video", "application", ...
    public var media: String
    /// 0 marks a stream rejected or disabled (RFC 3264 §6), or bundle-only (RFC 8843).
    public var port: UInt16
    /// "RTP/AVP" for plain SIP, "UDP/TLS/RTP/SAVPF" for WebRTC.
    public var proto: String
    /// Payload type numbers for RTP profiles, in the writer's order of preference.
    public var formats: [String]
    public var connection: SDPConnection?
    /// b= values as written, e.g. "AS:64" or "TIAS:64000".
    public var bandwidths: [String]
    public var attributes: [SDPAttribute]
    /// The m= line's number in the parsed text, for errors found when reading the media;
    /// 0 when built in code. Not part of equality.
    public internal(set) var sourceLine: Int = 0

    public init(media: String, port: UInt16, proto: String, formats: [String],
                connection: SDPConnection? = nil, bandwidths: [String] = [], attributes: [SDPAttribute] = []) {
        self.media = media
        self.port = port
        self.proto = proto
        self.formats = formats
        self.connection = connection
        self.bandwidths = bandwidths
        self.attributes = attributes
    }

    public static func == (lhs: SDPMediaDescription, rhs: SDPMediaDescription) -> Bool {
        lhs.media == rhs.media && lhs.port == rhs.port && lhs.proto == rhs.proto && lhs.formats == rhs.formats
            && lhs.connection == rhs.connection && lhs.bandwidths == rhs.bandwidths && lhs.attributes == rhs.attributes
    }

    /// The value of the first attribute with this name; nil when there is none or it has no value
    /// (use `hasAttribute` for property attributes such as rtcp-mux).
    public func attribute(_ name: String) -> String? {
        attributes.first(named: name)?.value
    }

    /// The values of every attribute with this name, in order ("" for ones without a value).
    public func attributes(_ name: String) -> [String] {
        attributes.values(named: name)
    }

    public func hasAttribute(_ name: String) -> Bool {
        attributes.first(named: name) != nil
    }

    public var direction: SDPDirection? {
        attributes.direction
    }

    /// The m= line without "m=".
    var lineValue: String {
        ([media, String(port), proto] + formats).joined(separator: " ")
    }
}
