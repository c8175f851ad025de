// The telephone-event payload of RFC 4733 §2.3: one 4-byte event report.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   |     event     |E|R| volume    |          duration             |

public struct TelephoneEvent: Sendable, Equatable {
    public static let payloadLength = 4

    /// Event code; 0-15 are the DTMF digits of §3.2.
    public var event: UInt8
    /// E: the final report(s) of the event.
    public var end: Bool
    /// Power level in -dBm0, 0...63 (6 bits; higher bits are not written).
    public var volume: UInt8
    /// Duration so far, in timestamp units, from the event's RTP timestamp.
    public var duration: UInt16

    public init(event: UInt8, end: Bool = false, volume: UInt8 = 10, duration: UInt16) {
        self.event = event
        self.end = end
        self.volume = volume
        self.duration = duration
    }

    /// Reads the first event of `payload`. The R bit is ignored, as §2.3 asks.
    public static func parse(_ payload: UnsafeRawBufferPointer) throws(RTPError) -> TelephoneEvent {
        guard payload.count >= payloadLength else {
            throw .truncated(needed: payloadLength, available: payload.count)
        }
        return TelephoneEvent(event: payload[0], end: payload[1] & 0x80 != 0,
                              volume: payload[1] & 0x3F, duration: payload.uint16(at: 2))
    }

    /// Writes the 4-byte payload; returns 4, or 0 if the buffer is too small.
    public func write(to buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= Self.payloadLength else { return 0 }
        buffer[0] = event
        buffer[1] = (end ? 0x80 : 0) | (volume & 0x3F)
        buffer.store(duration, at: 2)
        return Self.payloadLength
    }

    // DTMF events of RFC 4733 §3.2: 0-9, then *, #, A-D.
    private static let dtmfDigits: [Character] =
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"]

    /// The event code of a DTMF digit (0-9, *, #, A-D; letters in either case).
    public static func event(forDigit digit: Character) -> UInt8? {
        let upper = Character(digit.uppercased())
        return dtmfDigits.firstIndex(of: upper).map { UInt8($0) }
    }

    /// The DTMF digit of this event, if it is one.
    public var digit: Character? {
        event < Self.dtmfDigits.count ? Self.dtmfDigits[Int(event)] : nil
    }
}
