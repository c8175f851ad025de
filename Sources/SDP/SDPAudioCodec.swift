// Audio codecs of an RTP m-line: a=rtpmap and a=fmtp (RFC 8866 §6.6, §6.15), the static payload
// types of RFC 3551 §6, telephone-event (RFC 4733) and opus (RFC 7587).

public struct SDPAudioCodec: Sendable, Equatable {
    public var payloadType: UInt8
    /// The encoding name as written; names are case-insensitive (RFC 4855 §3), so compare with
    /// `isNamed`.
    public var name: String
    public var clockRate: Int
    /// 1 unless the rtpmap says otherwise; opus always says 2 (RFC 7587 §7).
    public var channels: Int
    /// The a=fmtp parameters after the payload type, e.g. "minptime=10;useinbandfec=1".
    public var fmtp: String?

    public init(payloadType: UInt8, name: String, clockRate: Int, channels: Int = 1, fmtp: String? = nil) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
    }

    /// DTMF and other named events (RFC 4733), sent beside the voice codec rather than instead of it.
    public var isTelephoneEvent: Bool { isNamed("telephone-event") }

    /// Formats that travel beside a voice codec and cannot carry a call alone: comfort noise
    /// (RFC 3389), redundancy (RFC 2198), FEC and retransmission.
    public var isAuxiliary: Bool {
        isTelephoneEvent || ["CN", "red", "ulpfec", "flexfec", "rtx"].contains { isNamed($0) }
    }

    public func isNamed(_ other: String) -> Bool {
        name.lowercased() == other.lowercased()
    }

    /// The a=rtpmap value: "<pt> <name>/<rate>[/<channels>]".
    public var rtpmapValue: String {
        "\(payloadType) \(name)/\(clockRate)" + (channels != 1 ? "/\(channels)" : "")
    }

    // MARK: Codecs the gateway offers

    /// Opus as browsers write it (RFC 7587 §7): always 48000/2; 10 ms minimum packets and in-band FEC.
    public static func opus(payloadType: UInt8) -> SDPAudioCodec {
        SDPAudioCodec(payloadType: payloadType, name: "opus", clockRate: 48000, channels: 2,
                      fmtp: "minptime=10;useinbandfec=1")
    }

    public static let pcmu = SDPAudioCodec(payloadType: 0, name: "PCMU", clockRate: 8000)
    public static let pcma = SDPAudioCodec(payloadType: 8, name: "PCMA", clockRate: 8000)
    /// G.722 samples at 16 kHz but its RTP clock is 8000, an error kept for compatibility (RFC 3551 §4.5.2).
    public static let g722 = SDPAudioCodec(payloadType: 9, name: "G722", clockRate: 8000)

    /// telephone-event with the DTMF events 0-15 and flash (16), the set RFC 4733 §2.4.1 suggests.
    public static func telephoneEvent(payloadType: UInt8, clockRate: Int = 8000) -> SDPAudioCodec {
        SDPAudioCodec(payloadType: payloadType, name: "telephone-event", clockRate: clockRate, fmtp: "0-16")
    }

    /// The static audio payload types of RFC 3551 Table 4 that a peer may use without an rtpmap.
    static func staticPayloadType(_ payloadType: UInt8) -> SDPAudioCodec? {
        switch payloadType {
        case 0: pcmu
        case 3: SDPAudioCodec(payloadType: 3, name: "GSM", clockRate: 8000)
        case 4: SDPAudioCodec(payloadType: 4, name: "G723", clockRate: 8000)
        case 8: pcma
        case 9: g722
        case 13: SDPAudioCodec(payloadType: 13, name: "CN", clockRate: 8000)
        case 18: SDPAudioCodec(payloadType: 18, name: "G729", clockRate: 8000)
        default: nil
        }
    }
}

extension SDPMediaDescription {
    /// The codecs of the m-line in its preference order. A format with neither an rtpmap nor a
    /// static assignment, or with an rtpmap that does not parse, is left out: it cannot be used.
    public var audioCodecs: [SDPAudioCodec] {
        var rtpmaps: [UInt8: SDPAudioCodec] = [:]
        var fmtps: [UInt8: String] = [:]
        for attribute in attributes {
            guard attribute.name == "rtpmap" || attribute.name == "fmtp", let value = attribute.value else { continue }
            let (typeText, rest) = splitPayloadType(value)
            guard let payloadType = decimal(typeText, as: UInt8.self) else { continue }
            if attribute.name == "fmtp" {
                if fmtps[payloadType] == nil { fmtps[payloadType] = rest.trimmed }
            } else if rtpmaps[payloadType] == nil, let codec = parseRTPMap(payloadType, rest) {
                rtpmaps[payloadType] = codec
            }
        }
        var seen = Set<UInt8>()
        return formats.compactMap { format in
            guard let payloadType = decimal(format, as: UInt8.self), payloadType < 128,
                  seen.insert(payloadType).inserted,
                  var codec = rtpmaps[payloadType] ?? SDPAudioCodec.staticPayloadType(payloadType) else { return nil }
            codec.fmtp = fmtps[payloadType]
            return codec
        }
    }

    /// "<pt> <rest>" -> ("<pt>", "<rest>").
    private func splitPayloadType(_ value: String) -> (Substring, Substring) {
        let trimmed = value.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed, "") }
        return (trimmed[..<space], trimmed[trimmed.index(after: space)...])
    }

    /// "<name>/<clock rate>[/<channels>]".
    private func parseRTPMap(_ payloadType: UInt8, _ encoding: Substring) -> SDPAudioCodec? {
        let parts = encoding.trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty,
              let clockRate = decimal(parts[1], as: Int.self), clockRate > 0 else { return nil }
        var channels = 1
        if parts.count == 3 {
            guard let count = decimal(parts[2], as: Int.self), count > 0 else { return nil }
            channels = count
        }
        return SDPAudioCodec(payloadType: payloadType, name: String(parts[0]), clockRate: clockRate, channels: channels)
    }
}
