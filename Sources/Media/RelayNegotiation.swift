import SDP

/// Offer/answer across a relayed call (RFC 3264 on each leg): the caller's
/// offer decides what the callee is offered, and the callee's answer what
/// the caller is answered. The callee is offered the caller's own codecs
/// first, so that both legs usually agree on one and the media passes
/// through untranscoded; then the allowed codecs the gateway can transcode
/// to one of the caller's (G.711's two laws into each other: G.722 runs at
/// 16 kHz and there is no resampler here).
public struct RelayNegotiation: Sendable, Equatable {
    public let callerOffer: PlainAudioDescription
    /// The caller's codecs the gateway carries, in the caller's order.
    public let callerCodecs: [PhoneCodec]
    /// What the callee is offered, in order.
    public let calleeCodecs: [PhoneCodec]

    /// - Parameter allowed: the codecs the callee's trunk (or the dialplan) allows, in order.
    public init(callerOffer: PlainAudioDescription, allowed: [PhoneCodec]) throws(MediaError) {
        guard !callerOffer.secure else { throw MediaError.negotiation("SRTP (RTP/SAVP) is not relayed") }
        self.callerOffer = callerOffer
        var callerCodecs: [PhoneCodec] = []
        for codec in callerOffer.codecs {
            if let phone = PhoneCodec(name: codec.name), codec.clockRate == phone.sdp.clockRate,
               !callerCodecs.contains(phone) {
                callerCodecs.append(phone)
            }
        }
        guard !callerCodecs.isEmpty else {
            throw MediaError.negotiation("the caller offered no PCMU, PCMA, G722 or opus")
        }
        let same = callerCodecs.filter(allowed.contains)
        let transcodable = allowed.filter { codec in
            !same.contains(codec) && callerCodecs.contains { $0.sampleRate == codec.sampleRate }
        }
        guard !(same + transcodable).isEmpty else {
            throw MediaError.negotiation("the caller's \(callerCodecs.map(\.rawValue).joined(separator: ", ")) cannot reach a callee that takes \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        self.callerCodecs = callerCodecs
        calleeCodecs = same + transcodable
    }

    /// The caller's codec for the one the callee answered: the same when
    /// the caller offered it, else the caller's first of the same clock.
    public func callerCodec(for callee: PhoneCodec) -> RelayLegCodec? {
        let chosen = callerCodecs.first(where: { $0 == callee })
            ?? callerCodecs.first(where: { $0.sampleRate == callee.sampleRate })
        guard let chosen, let offered = callerOffer.codecs.first(where: { PhoneCodec(name: $0.name) == chosen }) else {
            return nil
        }
        let event = callerOffer.telephoneEvents.first(where: { $0.clockRate == 8000 })
        return RelayLegCodec(codec: chosen, payloadType: offered.payloadType, telephoneEvent: event?.payloadType,
                             packetTime: callerOffer.ptime ?? 20)
    }

    /// What the callee's answer agreed on.
    public static func calleeCodec(in answer: PlainAudioDescription, offered: [PhoneCodec]) -> RelayLegCodec? {
        guard let codec = answer.codecs.first(where: { PhoneCodec(name: $0.name).map(offered.contains) ?? false }),
              let phone = PhoneCodec(name: codec.name) else { return nil }
        let event = answer.telephoneEvents.first(where: { $0.clockRate == 8000 })
        return RelayLegCodec(codec: phone, payloadType: codec.payloadType, telephoneEvent: event?.payloadType,
                             packetTime: answer.ptime ?? 20)
    }
}
