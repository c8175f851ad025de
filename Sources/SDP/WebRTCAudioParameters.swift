// The gateway's own description for the browser leg: an ICE-lite endpoint (RFC 8839 §2.5) with
// one host candidate, DTLS-SRTP, rtcp-mux and a BUNDLE group of the single audio m-line.
// Used as the answer to a browser's offer (setup active or passive per the offer) or as an offer
// (setup actpass, any mid).

public struct WebRTCAudioParameters: Sendable {
    public var sessionID: UInt64
    /// Bumped for each new description in the same session (RFC 3264 §8).
    public var sessionVersion: UInt64
    /// The host candidate: the address and port the browser's checks and media come to.
    public var address: String
    public var port: UInt16
    public var iceUfrag: String
    public var icePwd: String
    /// Of our DTLS certificate.
    public var fingerprint: SDPFingerprint
    public var setup: SDPSetup
    /// In an answer, the mid of the offer's audio m-line (RFC 8843 §7.3).
    public var mid: String
    /// What we send and receive, the first being the one chosen; in an answer, normally the
    /// single codec negotiateAudioCodec picked, with the offerer's payload type.
    public var codecs: [SDPAudioCodec]
    public var telephoneEvent: SDPAudioCodec?
    public var direction: SDPDirection
    public var ssrc: UInt32
    /// The RTCP CNAME (RFC 7022), tying our streams together for the browser.
    public var cname: String

    public init(sessionID: UInt64, sessionVersion: UInt64 = 1, address: String, port: UInt16,
                iceUfrag: String, icePwd: String, fingerprint: SDPFingerprint, setup: SDPSetup,
                mid: String, codecs: [SDPAudioCodec], telephoneEvent: SDPAudioCodec? = nil,
                direction: SDPDirection = .sendrecv, ssrc: UInt32, cname: String) {
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.address = address
        self.port = port
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprint = fingerprint
        self.setup = setup
        self.mid = mid
        self.codecs = codecs
        self.telephoneEvent = telephoneEvent
        self.direction = direction
        self.ssrc = ssrc
        self.cname = cname
    }

    /// The priority of our one host candidate: type preference 126, local preference 65535,
    /// component 1 (RFC 8445 §5.1.2.1).
    public static let hostCandidatePriority: UInt32 = 2_130_706_431

    public func sessionDescription() -> SessionDescription {
        let connection = SDPConnection(address: address)
        let candidate = ICECandidate(foundation: "1", component: 1, transport: "udp",
                                     priority: Self.hostCandidatePriority, address: address, port: port, type: "host")
        var attributes: [SDPAttribute] = [
            SDPAttribute("mid", mid),
            SDPAttribute(direction.rawValue),
            SDPAttribute("rtcp-mux"),
            // Redundant with rtcp-mux, but RFC 5761 §5.1.3 asks for it and some stacks read it.
            SDPAttribute("rtcp", String(port)),
            SDPAttribute("ice-ufrag", iceUfrag),
            SDPAttribute("ice-pwd", icePwd),
            SDPAttribute("fingerprint", fingerprint.text),
            SDPAttribute("setup", setup.rawValue),
        ]
        let allCodecs = codecs + (telephoneEvent.map { [$0] } ?? [])
        for codec in allCodecs {
            attributes += codec.sdpAttributes
        }
        attributes += [
            SDPAttribute("ssrc", "\(ssrc) cname:\(cname)"),
            SDPAttribute("candidate", candidate.attributeValue),
            // Lite agents have all their candidates at once (RFC 8840 §8.2).
            SDPAttribute("end-of-candidates"),
        ]
        let audio = SDPMediaDescription(media: "audio", port: port, proto: "UDP/TLS/RTP/SAVPF",
                                        formats: allCodecs.map { String($0.payloadType) },
                                        connection: connection, attributes: attributes)
        return SessionDescription(
            origin: SDPOrigin(username: "tieline", sessionID: String(sessionID), sessionVersion: sessionVersion,
                              address: address),
            sessionName: "-",
            attributes: [
                SDPAttribute("group", "BUNDLE \(mid)"),
                SDPAttribute("ice-lite"),
                SDPAttribute("msid-semantic", " WMS *"),
            ],
            media: [audio])
    }
}

extension SDPAudioCodec {
    /// a=rtpmap, and a=fmtp when there are parameters; telephone-event gets the DTMF range when it
    /// has none, since without an fmtp a receiver may assume only 0-15 (RFC 4733 §2.4.1).
    var sdpAttributes: [SDPAttribute] {
        var attributes = [SDPAttribute("rtpmap", rtpmapValue)]
        if let parameters = fmtp ?? (isTelephoneEvent ? "0-16" : nil) {
            attributes.append(SDPAttribute("fmtp", "\(payloadType) \(parameters)"))
        }
        return attributes
    }
}
