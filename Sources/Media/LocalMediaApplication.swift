import Codecs
import Foundation
import NIOCore
import RTP

/// The gateway's own media as a session's phone side, for calls the
/// dialplan answers itself (echo, tones, menus). It lives inside the media
/// plane, on the session's loop: the bridge hands it the browser's audio as
/// PCMU and its key presses as RFC 4733 events (the same conversion a trunk
/// would get), and it answers with PCMU packets built with `RTPHeader`.
/// No socket is involved. Its public methods may be called from any
/// thread; their completions run on `callbackLoop`.
public final class LocalMediaApplication: @unchecked Sendable {
    public static let audioPayloadType: UInt8 = 0
    public static let eventPayloadType: UInt8 = 101

    // Everything below is confined to `loop`, the session's.
    private let loop: any EventLoop
    private let callbackLoop: any EventLoop
    private weak var media: CallMedia?
    private let ssrc = UInt32.random(in: 1...UInt32.max)
    private var sequence = UInt16.random(in: 0...UInt16.max)
    private var timestamp = UInt32.random(in: 0...UInt32.max)
    private var mode = Mode.idle
    private var tone: RepeatedTask?
    private var digitTimer: Scheduled<Void>?
    private var digitTimeout = 5.0
    private var lastEventTimestamp: UInt32?
    private var closed = false
    private let packet: UnsafeMutableRawBufferPointer

    private enum Mode {
        case idle
        case echo
        case collecting(digits: String, max: Int, terminator: Character?, done: (String) -> Void)
    }

    init(media: CallMedia, loop: any EventLoop, callbackLoop: any EventLoop) {
        self.media = media
        self.loop = loop
        self.callbackLoop = callbackLoop
        packet = .allocate(byteCount: 2048, alignment: 8)
        packet.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { packet.deallocate() }

    // MARK: what the dialplan asks for

    /// Sends the caller's audio back until the call ends.
    public func startEcho() {
        loop.execute { [self] in
            stopTone()
            mode = .echo
        }
    }

    /// A sine at `frequency` for `duration` seconds, then `done`.
    public func playTone(frequency: Double, duration: Double, then done: @escaping @Sendable () -> Void) {
        loop.execute { [self] in
            stopTone()
            let generator = ToneGenerator(frequency: frequency, frames: max(1, Int((duration * 50).rounded())))
            tone = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(20)) { [self] task in
                guard !closed else { return task.cancel() }
                let payload = generator.nextFrame()
                payload.withUnsafeBytes { send(payloadType: Self.audioPayloadType, payload: $0, samples: 160) }
                if generator.isDone {
                    task.cancel()
                    tone = nil
                    callbackLoop.execute(done)
                }
            }
        }
    }

    /// Digits from RFC 4733 events until `max` of them, the terminator (not
    /// included), or `timeout` seconds without a key; then `done`.
    public func collectDigits(max: Int, timeout: Double, terminator: String?,
                              then done: @escaping @Sendable (String) -> Void) {
        loop.execute { [self] in
            let callback = callbackLoop
            mode = .collecting(digits: "", max: max, terminator: terminator?.first,
                               done: { digits in callback.execute { done(digits) } })
            armDigitTimer(timeout)
        }
    }

    public func stop() {
        loop.execute { [self] in
            guard !closed else { return }
            closed = true
            stopTone()
            digitTimer?.cancel()
            mode = .idle
            media?.localPhone = nil
        }
    }

    // MARK: packets from the bridge (on the loop, inside its send)

    func received(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, let (header, payload) = try? RTPHeader.parse(bytes) else { return }
        switch (mode, header.payloadType) {
        case (.echo, Self.audioPayloadType):
            // Sent back once the bridge is done with this packet, not from inside it.
            let audio = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[payload]))
            let samples = UInt32(audio.count)
            loop.execute { [self] in
                guard case .echo = mode, !closed else { return }
                audio.withUnsafeBytes { send(payloadType: Self.audioPayloadType, payload: $0, samples: samples) }
            }
        case (.collecting, Self.eventPayloadType):
            guard let event = try? TelephoneEvent.parse(UnsafeRawBufferPointer(rebasing: bytes[payload])),
                  event.end, header.timestamp != lastEventTimestamp, let digit = Self.digit(event.event) else { return }
            // The end of an event is sent three times (RFC 4733 §2.5.1.4): count it once.
            lastEventTimestamp = header.timestamp
            heard(digit)
        default:
            break
        }
    }

    private func heard(_ digit: Character) {
        guard case .collecting(var digits, let max, let terminator, let done) = mode else { return }
        if digit == terminator { return finishCollecting(digits) }
        digits.append(digit)
        if digits.count >= max { return finishCollecting(digits) }
        mode = .collecting(digits: digits, max: max, terminator: terminator, done: done)
        armDigitTimer(digitTimeout)
    }

    private func armDigitTimer(_ seconds: Double) {
        digitTimeout = seconds
        digitTimer?.cancel()
        digitTimer = loop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            guard case .collecting(let digits, _, _, _) = mode else { return }
            finishCollecting(digits)
        }
    }

    private func finishCollecting(_ digits: String) {
        guard case .collecting(_, _, _, let done) = mode else { return }
        digitTimer?.cancel()
        mode = .idle
        done(digits)
    }

    private static func digit(_ event: UInt8) -> Character? {
        switch event {
        case 0...9: Character(String(event))
        case 10: "*"
        case 11: "#"
        case 12...15: Character(UnicodeScalar(UInt8(ascii: "A") + event - 12))
        default: nil
        }
    }

    private func send(payloadType: UInt8, payload: UnsafeRawBufferPointer, samples: UInt32) {
        guard let media, payload.count + RTPHeader.fixedLength <= packet.count else { return }
        let header = RTPHeader(payloadType: payloadType, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc)
        let headerLength = header.write(to: packet)
        UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<(headerLength + payload.count)]).copyMemory(from: payload)
        sequence &+= 1
        timestamp &+= samples
        media.receiveFromLocalPhone(UnsafeRawBufferPointer(rebasing: packet[0..<(headerLength + payload.count)]), now: MediaSession.now())
    }

    private func stopTone() {
        tone?.cancel()
        tone = nil
    }

    /// 20 ms PCMU frames of a sine; used only on the loop.
    private final class ToneGenerator: @unchecked Sendable {
        private var phase = 0.0
        private let step: Double
        private var remaining: Int
        private var pcm = [Int16](repeating: 0, count: 160)
        private var payload = [UInt8](repeating: 0, count: 160)

        init(frequency: Double, frames: Int) {
            step = 2 * Double.pi * frequency / 8000
            remaining = frames
        }

        var isDone: Bool { remaining <= 0 }

        func nextFrame() -> [UInt8] {
            for i in 0..<160 {
                pcm[i] = Int16(8000 * sin(phase))
                phase += step
            }
            phase = phase.truncatingRemainder(dividingBy: 2 * Double.pi)
            pcm.withUnsafeBufferPointer { samples in
                payload.withUnsafeMutableBufferPointer { G711.encode(.mu, samples, into: $0) }
            }
            remaining -= 1
            return payload
        }
    }
}

extension MediaSession {
    /// Makes the gateway's own media this session's phone side: PCMU at
    /// 20 ms with telephone-events, as if a phone had answered that, so the
    /// bridge converts the browser's audio exactly as for a trunk.
    /// Completions of the application run on `callbackLoop`.
    public func startLocalApplication(callbackLoop: any EventLoop) async throws -> LocalMediaApplication {
        try await eventLoop.submit { [self] in
            let application = LocalMediaApplication(media: media, loop: eventLoop, callbackLoop: callbackLoop)
            media.localPhone = { [weak application] bytes in application?.received(bytes) }
            phoneNegotiated = NegotiatedPhone(codec: .pcmu, payloadType: LocalMediaApplication.audioPayloadType,
                                              telephoneEvent: LocalMediaApplication.eventPayloadType, packetTime: 20)
            try startBridgeIfReady()
            return application
        }.get()
    }
}
