import RTP

/// Carries RFC 4733 telephone-events from one leg to the other, between
/// clocks (a browser may use telephone-event/48000, phones use /8000): the
/// event keeps its own timestamp, taken from the sink stream's audio clock
/// when it starts; durations are rescaled; every update and every repeated
/// end packet is passed on, as §2.5.1 expects a sender to send them.
/// While an event plays, audio toward the sink is held back (§2.5.1.2).
struct TelephoneEventRelay {
    struct Report: Equatable {
        var digit: Character?
        var event: UInt8
        /// Duration in milliseconds when `ended`.
        var milliseconds: Int
        var ended: Bool
    }

    private let source: (payloadType: UInt8, clockRate: Int)?
    private let sink: (payloadType: UInt8, clockRate: Int)?
    private var sourceTimestamp: UInt32?
    private var sinkTimestamp: UInt32 = 0
    /// Where the last event ended on the sink's clock: a following event
    /// must start at or after it, even with no audio in between to move the
    /// clock, or the receiver would take it for a repeat of the last one.
    private var lastEventEnd: UInt32?
    private var endReported = false
    private var lastPacketAt = 0.0
    private(set) var inProgress = false
    /// Events whose end packets all went missing stop holding audio after this.
    private let staleAfter = 0.25

    init(source: (payloadType: UInt8, clockRate: Int)?, sink: (payloadType: UInt8, clockRate: Int)?) {
        self.source = source
        self.sink = sink
    }

    mutating func expire(now: Double) {
        if inProgress, now - lastPacketAt > staleAfter { inProgress = false }
    }

    /// Sends an event found in the audio (in-band DTMF) to the sink: a first
    /// packet when it begins, three end packets with its duration when it ends.
    mutating func synthesize(digit: Character, ended: Bool, milliseconds: Int, now: Double,
                             stream: inout RTPOutboundStream, packet: UnsafeMutableRawBufferPointer,
                             emit: (UnsafeMutableRawBufferPointer, Int) -> Void) {
        guard let sink, let code = TelephoneEvent.event(forDigit: digit) else { return }
        if !ended {
            sinkTimestamp = stream.timestamp
            if let lastEventEnd, Int32(bitPattern: lastEventEnd &- sinkTimestamp) >= 0 {
                sinkTimestamp = lastEventEnd &+ 1
            }
        }
        let duration = UInt16(clamping: milliseconds * sink.clockRate / 1000)
        let event = TelephoneEvent(event: code, end: ended, duration: duration)
        for copy in 0..<(ended ? 3 : 1) {
            let header = stream.nextHeader(payloadType: sink.payloadType, timestamp: sinkTimestamp,
                                           marker: !ended && copy == 0)
            let headerLength = header.write(to: packet)
            let written = event.write(to: UnsafeMutableRawBufferPointer(rebasing: packet[headerLength...]))
            stream.recordSent(payloadBytes: written, timestamp: sinkTimestamp, now: now)
            emit(packet, headerLength + written)
        }
        lastEventEnd = sinkTimestamp &+ UInt32(duration)
    }

    mutating func relay(header: RTPHeader, payload: UnsafeRawBufferPointer, now: Double,
                        stream: inout RTPOutboundStream, packet: UnsafeMutableRawBufferPointer,
                        emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> Report? {
        guard let source, var event = try? TelephoneEvent.parse(payload) else { return nil }
        lastPacketAt = now
        var report: Report?
        let isNew = sourceTimestamp != header.timestamp
        if isNew {
            sourceTimestamp = header.timestamp
            sinkTimestamp = stream.timestamp
            if let lastEventEnd, Int32(bitPattern: lastEventEnd &- sinkTimestamp) >= 0 {
                sinkTimestamp = lastEventEnd &+ 1
            }
            endReported = false
            inProgress = !event.end
            report = Report(digit: event.digit, event: event.event, milliseconds: 0, ended: false)
        }
        let milliseconds = Int(event.duration) * 1000 / source.clockRate
        if event.end {
            inProgress = false
            if !endReported {
                endReported = true
                report = Report(digit: event.digit, event: event.event, milliseconds: milliseconds, ended: true)
            }
        }
        guard let sink else { return report }
        let scaled = Int(event.duration) * sink.clockRate / source.clockRate
        event.duration = UInt16(clamping: scaled)
        lastEventEnd = sinkTimestamp &+ UInt32(event.duration)
        let header = stream.nextHeader(payloadType: sink.payloadType, timestamp: sinkTimestamp, marker: isNew)
        let headerLength = header.write(to: packet)
        let written = event.write(to: UnsafeMutableRawBufferPointer(rebasing: packet[headerLength...]))
        stream.recordSent(payloadBytes: written, timestamp: sinkTimestamp, now: now)
        emit(packet, headerLength + written)
        return report
    }
}
