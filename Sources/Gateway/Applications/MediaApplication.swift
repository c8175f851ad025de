import Codecs
import Foundation
import NIOCore
import NIOPosix

/// The gateway's own end of a call the dialplan answers itself (echo, tones,
/// menus): a plain RTP endpoint on loopback that the call's media session
/// treats as its phone. The session's bridge already transcodes the
/// browser's Opus to PCMU and relays its telephone-events, so this side only
/// ever sees G.711 and RFC 4733 on a local socket, and nothing in the media
/// plane changes for it. Confined to the gateway's event loop.
final class MediaApplication: @unchecked Sendable {
    static let audioPayloadType: UInt8 = 0
    static let eventPayloadType: UInt8 = 101

    private let channel: any Channel
    private let loop: any EventLoop
    /// Where the call's media session listens for its phone.
    private let remote: SocketAddress
    let port: Int
    private let ssrc = UInt32.random(in: 1...UInt32.max)
    private var sequence = UInt16.random(in: 0...UInt16.max)
    private var timestamp = UInt32.random(in: 0...UInt32.max)
    private var mode = Mode.idle
    private var tone: RepeatedTask?
    private var digitTimer: Scheduled<Void>?
    private var lastEventTimestamp: UInt32?
    private var closed = false

    private enum Mode {
        case idle
        case echo
        case collecting(digits: String, max: Int, terminator: Character?, done: (String) -> Void)
    }

    private init(channel: any Channel, remote: SocketAddress) {
        self.channel = channel
        loop = channel.eventLoop
        self.remote = remote
        port = channel.localAddress?.port ?? 0
    }

    /// Binds a loopback UDP socket on `loop`; `remote` is the media session's phone port.
    static func start(on loop: any EventLoop, remote: SocketAddress) -> EventLoopFuture<MediaApplication> {
        let handler = Inbound()
        return DatagramBootstrap(group: loop)
            .channelInitializer { $0.pipeline.addHandler(handler) }
            .bind(host: "127.0.0.1", port: 0)
            .map { channel in
                let application = MediaApplication(channel: channel, remote: remote)
                handler.application = application
                return application
            }
    }

    /// The answer the media session gets for its phone offer: PCMU and
    /// telephone-events at this socket.
    var answerSDP: String {
        let id = UInt64.random(in: 1...UInt64(Int64.max))
        return [
            "v=0", "o=tieline-app \(id) 1 IN IP4 127.0.0.1", "s=Tieline", "c=IN IP4 127.0.0.1", "t=0 0",
            "m=audio \(port) RTP/AVP \(Self.audioPayloadType) \(Self.eventPayloadType)",
            "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv",
        ].joined(separator: "\r\n") + "\r\n"
    }

    // MARK: what the dialplan asks for

    /// Sends the caller's audio back until the call ends.
    func echo() {
        stopTone()
        mode = .echo
    }

    /// A sine at `frequency` for `duration` seconds, then `done`.
    func play(frequency: Double, duration: Double, done: @escaping () -> Void) {
        stopTone()
        let generator = ToneGenerator(frequency: frequency, frames: max(1, Int((duration * 50).rounded())))
        let finished = LoopBound(done)
        tone = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(20)) { [self] task in
            guard !closed else { return task.cancel() }
            send(payloadType: Self.audioPayloadType, payload: generator.nextFrame(), samples: 160)
            if generator.isDone {
                task.cancel()
                tone = nil
                finished.value()
            }
        }
    }

    /// Digits from RFC 4733 events until `max` of them, the terminator (not
    /// included), or `timeout` seconds without a key; then `done`.
    func collectDigits(max: Int, timeout: Double, terminator: String?, done: @escaping (String) -> Void) {
        mode = .collecting(digits: "", max: max, terminator: terminator?.first, done: done)
        armDigitTimer(timeout)
    }

    func close() {
        guard !closed else { return }
        closed = true
        stopTone()
        digitTimer?.cancel()
        mode = .idle
        channel.close(promise: nil)
    }

    // MARK: packets

    fileprivate func received(_ buffer: ByteBuffer, timeout: Double) {
        guard !closed, buffer.readableBytes >= 12, let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              first >> 6 == 2, let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return }
        let payloadType = second & 0x7F
        let headerLength = 12 + 4 * Int(first & 0x0F)
        guard buffer.readableBytes > headerLength else { return }
        switch (mode, payloadType) {
        case (.echo, Self.audioPayloadType):
            var packet = buffer
            packet.setInteger(ssrc, at: packet.readerIndex + 8)
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: packet), promise: nil)
        case (.collecting, Self.eventPayloadType):
            guard let event = buffer.getInteger(at: buffer.readerIndex + headerLength, as: UInt8.self),
                  let flags = buffer.getInteger(at: buffer.readerIndex + headerLength + 1, as: UInt8.self),
                  flags & 0x80 != 0, let stamp = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self),
                  stamp != lastEventTimestamp, let digit = Self.digit(event) else { return }
            // The end of an event is sent three times (RFC 4733 §2.5.1.4): count it once.
            lastEventTimestamp = stamp
            heard(digit, timeout: timeout)
        default:
            break
        }
    }

    private func heard(_ digit: Character, timeout: Double) {
        guard case .collecting(var digits, let max, let terminator, let done) = mode else { return }
        if digit == terminator { return finishCollecting(digits) }
        digits.append(digit)
        if digits.count >= max { return finishCollecting(digits) }
        mode = .collecting(digits: digits, max: max, terminator: terminator, done: done)
        armDigitTimer(timeout)
    }

    private var digitTimeout = 5.0

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

    var currentDigitTimeout: Double { digitTimeout }

    private static func digit(_ event: UInt8) -> Character? {
        switch event {
        case 0...9: Character(String(event))
        case 10: "*"
        case 11: "#"
        case 12...15: Character(UnicodeScalar(UInt8(ascii: "A") + event - 12))
        default: nil
        }
    }

    private func send(payloadType: UInt8, payload: [UInt8], samples: UInt32) {
        var buffer = channel.allocator.buffer(capacity: 12 + payload.count)
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger(payloadType)
        buffer.writeInteger(sequence)
        buffer.writeInteger(timestamp)
        buffer.writeInteger(ssrc)
        buffer.writeBytes(payload)
        sequence &+= 1
        timestamp &+= samples
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
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

    /// Hands datagrams to the application, on its loop.
    private final class Inbound: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        weak var application: MediaApplication?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            application?.received(envelope.data, timeout: application?.currentDigitTimeout ?? 5)
        }
    }
}
