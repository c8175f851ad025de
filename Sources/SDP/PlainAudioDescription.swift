// The phone leg's audio (RFC 3264 offer/answer over RTP/AVP): where to send RTP and which
// codecs, nothing of ICE or DTLS.

public struct PlainAudioDescription: Sendable, Equatable {
    /// Where the peer receives RTP. "0.0.0.0" is the RFC 2543 way of putting a call on hold.
    public var address: String
    public var port: UInt16
    /// Every codec except telephone-event, in the peer's order.
    public var codecs: [SDPAudioCodec]
    public var telephoneEvents: [SDPAudioCodec]
    /// Milliseconds of audio per packet the peer wants to receive (RFC 8866 §6.4); advisory.
    public var ptime: Int?
    public var direction: SDPDirection
    /// a=rtcp (RFC 3605): RTCP's port when it is not RTP's port + 1.
    public var rtcpPort: UInt16?
    /// m=audio says RTP/SAVP (or SAVPF): the stream is SRTP, keyed by `crypto` (RFC 4568).
    public var secure = false
    /// The a=crypto lines (SDES keys) that could be read, in order; an
    /// offer over RTP/AVP may carry them too ("best effort" SRTP).
    public var crypto: [SDPCrypto] = []

    public init(address: String, port: UInt16, codecs: [SDPAudioCodec], telephoneEvents: [SDPAudioCodec] = [],
                ptime: Int? = nil, direction: SDPDirection = .sendrecv, rtcpPort: UInt16? = nil) {
        self.address = address
        self.port = port
        self.codecs = codecs
        self.telephoneEvents = telephoneEvents
        self.ptime = ptime
        self.direction = direction
        self.rtcpPort = rtcpPort
    }

    /// Reads the first m=audio. A port of 0 means the peer rejected the stream (RFC 3264 §6),
    /// which for a one-stream call is a failure, so it is an error here.
    public init(_ description: SessionDescription) throws(SDPError) {
        guard let audio = description.firstAudio else {
            throw SDPError(line: 0, reason: "there is no m=audio line")
        }
        let line = audio.sourceLine
        guard audio.port != 0 else { throw SDPError(line: line, reason: "the m=audio line has port 0: the stream is rejected") }
        let proto = audio.proto.uppercased()
        guard ["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF"].contains(proto) else {
            throw SDPError(line: line, reason: "m=audio protocol \(quoted(audio.proto)) is not RTP/AVP or RTP/SAVP")
        }
        secure = proto.hasPrefix("RTP/SAVP")
        // A line that does not parse is skipped (RFC 4568 §7.1.1: the answerer ignores what it cannot use).
        crypto = audio.attributes.filter { $0.name == "crypto" }.compactMap { try? SDPCrypto(parsing: $0.value ?? "") }
        guard let connection = audio.connection ?? description.connection else {
            throw SDPError(line: line, reason: "neither the m=audio section nor the session has a c= line")
        }
        address = connection.address
        port = audio.port
        let allCodecs = audio.audioCodecs
        codecs = allCodecs.filter { !$0.isTelephoneEvent }
        telephoneEvents = allCodecs.filter(\.isTelephoneEvent)
        // Advisory, so a value that does not parse ("20.0" from a few phones: the integer part is
        // read) is dropped rather than failing the call.
        let ptimeText = (audio.attribute("ptime") ?? description.attribute("ptime") ?? "").trimmed
        ptime = decimal(ptimeText.prefix { $0 != "." }, as: Int.self).flatMap { $0 > 0 ? $0 : nil }
        direction = audio.direction ?? description.direction ?? .sendrecv
        if let rtcp = audio.attributes.first(named: "rtcp") {
            guard let parsed = decimal((rtcp.value ?? "").trimmed.prefix { $0 != " " }, as: UInt16.self) else {
                throw SDPError(line: rtcp.sourceLine, reason: "a=rtcp \(quoted(rtcp.value ?? "")) does not start with a port")
            }
            rtcpPort = parsed
        } else {
            rtcpPort = nil
        }
    }

    /// Our offer or answer: the connection at session level, one m=audio with every codec and then
    /// the telephone-events, in that order of preference.
    public func sessionDescription(sessionID: UInt64, sessionVersion: UInt64) -> SessionDescription {
        let allCodecs = codecs + telephoneEvents
        var attributes = allCodecs.flatMap(\.sdpAttributes)
        if let ptime { attributes.append(SDPAttribute("ptime", String(ptime))) }
        if let rtcpPort { attributes.append(SDPAttribute("rtcp", String(rtcpPort))) }
        attributes += crypto.map { SDPAttribute("crypto", $0.text) }
        attributes.append(SDPAttribute(direction.rawValue))
        let audio = SDPMediaDescription(media: "audio", port: port, proto: secure ? "RTP/SAVP" : "RTP/AVP",
                                        formats: allCodecs.map { String($0.payloadType) }, attributes: attributes)
        return SessionDescription(
            origin: SDPOrigin(username: "tieline", sessionID: String(sessionID), sessionVersion: sessionVersion,
                              address: address),
            sessionName: "-", connection: SDPConnection(address: address), media: [audio])
    }
}
