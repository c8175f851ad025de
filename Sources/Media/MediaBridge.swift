import Codecs
import RTP

/// What the two legs agreed on, from the SDP of each side.
public struct BridgeConfiguration: Sendable {
    public var browserCodec: BrowserCodec
    public var browserPayloadType: UInt8
    /// The browser's telephone-event payload type and its clock (8000 or 48000).
    public var browserTelephoneEvent: (payloadType: UInt8, clockRate: Int)?
    public var phoneCodec: PhoneCodec
    public var phonePayloadType: UInt8
    public var phoneTelephoneEvent: UInt8?
    /// Milliseconds per packet toward the phone, 10 to 40.
    public var phonePacketTime: Int
    public var opus: OpusEncoderConfiguration
    /// Detect DTMF tones in the phone's G.711 audio and send them on as RFC 4733 events.
    public var detectInbandDTMF = false

    public init(browserCodec: BrowserCodec, browserPayloadType: UInt8,
                browserTelephoneEvent: (payloadType: UInt8, clockRate: Int)? = nil,
                phoneCodec: PhoneCodec, phonePayloadType: UInt8? = nil, phoneTelephoneEvent: UInt8? = nil,
                phonePacketTime: Int = 20, opus: OpusEncoderConfiguration = OpusEncoderConfiguration()) {
        self.browserCodec = browserCodec
        self.browserPayloadType = browserPayloadType
        self.browserTelephoneEvent = browserTelephoneEvent
        self.phoneCodec = phoneCodec
        self.phonePayloadType = phonePayloadType ?? phoneCodec.staticPayloadType
        self.phoneTelephoneEvent = phoneTelephoneEvent
        self.phonePacketTime = min(max(phonePacketTime, 10), 40) / 10 * 10
        self.opus = opus
    }

    /// True when no audio is transcoded: only SRTP⇄RTP and restamping.
    public var isPassthrough: Bool { browserCodec == .leg(phoneCodec) }
}

/// A DTMF digit that crossed the bridge.
public struct DTMFReport: Sendable, Equatable {
    public enum Origin: Sendable { case browser, phone }
    public var origin: Origin
    public var digit: Character
    /// Final duration in milliseconds.
    public var milliseconds: Int
}

/// The two directions of one call's media. Socket-free, so the benchmark
/// drives exactly the code the event loop runs.
final class MediaBridge {
    let configuration: BridgeConfiguration
    let toPhone: MediaDirection
    let toBrowser: MediaDirection

    /// - Parameters: browserSSRC, phoneSSRC: of the streams the gateway sends on each leg.
    init(_ configuration: BridgeConfiguration, browserSSRC: UInt32, phoneSSRC: UInt32) throws(OpusError) {
        self.configuration = configuration
        let phone = BrowserCodec.leg(configuration.phoneCodec)
        let browserEvent = configuration.browserTelephoneEvent
        let phoneEvent = configuration.phoneTelephoneEvent.map { (payloadType: $0, clockRate: 8000) }
        let rate = configuration.phoneCodec.sampleRate
        toPhone = try MediaDirection(DirectionParameters(
            source: configuration.browserCodec, sourcePayloadType: configuration.browserPayloadType,
            sourceTelephoneEvent: browserEvent,
            sink: phone, sinkPayloadType: configuration.phonePayloadType, sinkTelephoneEvent: phoneEvent,
            sinkPacketTime: configuration.phonePacketTime, sampleRate: rate, opus: configuration.opus),
            ssrc: phoneSSRC)
        toBrowser = try MediaDirection(DirectionParameters(
            source: phone, sourcePayloadType: configuration.phonePayloadType, sourceTelephoneEvent: phoneEvent,
            sink: configuration.browserCodec, sinkPayloadType: configuration.browserPayloadType,
            sinkTelephoneEvent: browserEvent, sinkPacketTime: 20, sampleRate: rate, opus: configuration.opus,
            detectInbandDTMF: configuration.detectInbandDTMF),
            ssrc: browserSSRC)
    }

    /// A decrypted RTP packet from the browser; `emit` gets plain RTP for the phone.
    func fromBrowser(_ packet: UnsafeRawBufferPointer, now: Double,
                     emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> DTMFReport? {
        relay(packet, through: toPhone, origin: .browser, now: now, emit: emit)
    }

    /// An RTP packet from the phone; `emit` gets plain RTP for the browser (to protect).
    func fromPhone(_ packet: UnsafeRawBufferPointer, now: Double,
                   emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> DTMFReport? {
        relay(packet, through: toBrowser, origin: .phone, now: now, emit: emit)
    }

    private func relay(_ packet: UnsafeRawBufferPointer, through direction: MediaDirection, origin: DTMFReport.Origin,
                       now: Double, emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> DTMFReport? {
        guard let (header, range) = try? RTPHeader.parse(packet) else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: packet[range])
        guard let report = direction.receive(header: header, payload: payload, now: now, emit: emit),
              report.ended, let digit = report.digit else { return nil }
        return DTMFReport(origin: origin, digit: digit, milliseconds: report.milliseconds)
    }
}
