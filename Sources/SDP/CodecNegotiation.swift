// Choosing the codec of an answer (RFC 3264 §6.1).

/// The first codec of `offered`, in the offerer's order of preference, that `supported` names,
/// keeping the offerer's payload type and fmtp (the answerer must use the offerer's numbers for
/// what it sends, RFC 3264 §6.1). Telephone-event and the other auxiliary formats never win.
///
/// `supported` entries are encoding names ("opus", "PCMU"), compared case-insensitively, optionally
/// with a clock rate and channels ("L16/16000"). A bare name of a codec with a fixed rate also
/// requires that rate, so a "PCMU/16000" or an "opus/48000/1" is not taken for the real thing.
public func negotiateAudioCodec(offered: [SDPAudioCodec], supported: [String]) -> SDPAudioCodec? {
    let wanted = supported.map(SupportedCodec.init)
    return offered.first { codec in
        !codec.isAuxiliary && wanted.contains { $0.matches(codec) }
    }
}

private struct SupportedCodec {
    var name: String
    var clockRate: Int?
    var channels: Int?

    /// Rates fixed by the codec's RTP payload format, for names given without one.
    static let knownFormats: [String: (clockRate: Int, channels: Int)] = [
        "opus": (48000, 2), "pcmu": (8000, 1), "pcma": (8000, 1), "g722": (8000, 1),
        "g729": (8000, 1), "gsm": (8000, 1), "g723": (8000, 1),
    ]

    init(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        name = parts[0].lowercased()
        let known = Self.knownFormats[name]
        clockRate = parts.count > 1 ? Int(parts[1]) : known?.clockRate
        channels = parts.count > 2 ? Int(parts[2]) : known?.channels
    }

    func matches(_ codec: SDPAudioCodec) -> Bool {
        codec.name.lowercased() == name
            && (clockRate.map { $0 == codec.clockRate } ?? true)
            && (channels.map { $0 == codec.channels } ?? true)
    }
}
