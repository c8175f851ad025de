// What the gateway needs from a browser's description of its audio: the first m=audio of an
// offer or answer, read per RFC 8829 (JSEP), RFC 8839 (ICE), RFC 8842/5763 (DTLS) and RFC 8843
// (BUNDLE). Anything the gateway cannot work with is an error here, before a call is set up.

public struct WebRTCAudioDescription: Sendable, Equatable {
    public var mid: String?
    public var iceUfrag: String
    public var icePwd: String
    /// The peer answers checks but never sends them (RFC 8839 §5.3).
    public var iceLite: Bool
    public var fingerprints: [SDPFingerprint]
    public var setup: SDPSetup
    /// Every codec except telephone-event, in the peer's preference order; auxiliary formats
    /// (red, CN) stay in the list, negotiateAudioCodec passes over them.
    public var codecs: [SDPAudioCodec]
    public var telephoneEvents: [SDPAudioCodec]
    /// UDP candidates only: the gateway does not do ICE-TCP (RFC 6544).
    public var candidates: [ICECandidate]
    public var rtcpMux: Bool
    public var direction: SDPDirection
    /// The first a=ssrc of the m-line, if the peer announced one.
    public var ssrc: UInt32?

    public init(_ description: SessionDescription) throws(SDPError) {
        guard let audio = description.firstAudio else {
            throw SDPError(line: 0, reason: "there is no m=audio line")
        }
        let line = audio.sourceLine
        func failure(_ reason: String, at attribute: SDPAttribute? = nil) -> SDPError {
            SDPError(line: attribute.map { $0.sourceLine } ?? line, reason: reason)
        }
        guard audio.port != 0 else { throw failure("the m=audio line has port 0: the stream is rejected or bundle-only") }
        let proto = audio.proto.uppercased()
        guard proto == "UDP/TLS/RTP/SAVPF" || proto == "UDP/TLS/RTP/SAVP" else {
            throw failure("m=audio protocol \(quoted(audio.proto)) is not UDP/TLS/RTP/SAVPF (DTLS-SRTP)")
        }
        // RFC 8839 §5.4 and RFC 8842 §5.1: these may sit at session level, the media level wins.
        func attribute(_ name: String) -> SDPAttribute? {
            audio.attributes.first(named: name) ?? description.attributes.first(named: name)
        }

        guard let ufrag = attribute("ice-ufrag") else { throw failure("a=ice-ufrag is missing") }
        guard let pwd = attribute("ice-pwd") else { throw failure("a=ice-pwd is missing") }
        iceUfrag = (ufrag.value ?? "").trimmed
        icePwd = (pwd.value ?? "").trimmed
        // RFC 8839 §5.4: ufrag 4 to 256 ice-chars, pwd 22 to 256; a short password is guessable.
        guard (4...256).contains(iceUfrag.utf8.count), iceUfrag.utf8.allSatisfy(isICEChar) else {
            throw failure("a=ice-ufrag \(quoted(iceUfrag)) is not 4 to 256 ICE characters", at: ufrag)
        }
        guard (22...256).contains(icePwd.utf8.count), icePwd.utf8.allSatisfy(isICEChar) else {
            throw failure("a=ice-pwd is not 22 to 256 ICE characters (it has \(icePwd.utf8.count))", at: pwd)
        }
        iceLite = description.hasAttribute("ice-lite") || audio.hasAttribute("ice-lite")

        var fingerprintAttributes = audio.attributes.filter { $0.name == "fingerprint" }
        if fingerprintAttributes.isEmpty {
            fingerprintAttributes = description.attributes.filter { $0.name == "fingerprint" }
        }
        guard !fingerprintAttributes.isEmpty else { throw failure("a=fingerprint is missing") }
        var fingerprints: [SDPFingerprint] = []
        for attribute in fingerprintAttributes {
            fingerprints.append(try SDPFingerprint(parsing: attribute.value ?? "", line: attribute.sourceLine))
        }
        self.fingerprints = fingerprints

        // RFC 4145 §4: without a=setup the role is active.
        if let setupAttribute = attribute("setup") {
            guard let parsed = SDPSetup(rawValue: (setupAttribute.value ?? "").trimmed) else {
                throw failure("a=setup value \(quoted(setupAttribute.value ?? "")) is not active, passive, actpass or holdconn",
                              at: setupAttribute)
            }
            setup = parsed
        } else {
            setup = .active
        }

        let allCodecs = audio.audioCodecs
        codecs = allCodecs.filter { !$0.isTelephoneEvent }
        telephoneEvents = allCodecs.filter(\.isTelephoneEvent)
        guard codecs.contains(where: { !$0.isAuxiliary }) else {
            throw failure("m=audio has no usable codec (formats \(audio.formats.joined(separator: " ")))")
        }

        var candidates: [ICECandidate] = []
        for attribute in audio.attributes where attribute.name == "candidate" {
            let candidate = try ICECandidate(parsing: attribute.value ?? "", line: attribute.sourceLine)
            if candidate.isUDP { candidates.append(candidate) }
        }
        self.candidates = candidates

        mid = audio.attribute("mid")?.trimmed
        rtcpMux = audio.hasAttribute("rtcp-mux")
        direction = audio.direction ?? description.direction ?? .sendrecv
        if let ssrcAttribute = audio.attributes.first(named: "ssrc") {
            let text = (ssrcAttribute.value ?? "").trimmed.prefix { $0 != " " }
            guard let parsed = decimal(text, as: UInt32.self) else {
                throw failure("a=ssrc \(quoted(ssrcAttribute.value ?? "")) does not start with a 32-bit number",
                              at: ssrcAttribute)
            }
            ssrc = parsed
        } else {
            ssrc = nil
        }
    }

    /// The fingerprint the gateway checks the peer's DTLS certificate against: browsers always
    /// send sha-256 (RFC 8827 §6.5), and it is the one our DTLS layer computes.
    public var sha256Fingerprint: SDPFingerprint? {
        fingerprints.first { $0.hashFunction == "sha-256" }
    }
}
