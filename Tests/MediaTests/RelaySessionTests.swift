import Codecs
import Foundation
import NIOCore
import NIOPosix
@testable import Media
import RTP
import SDP
import Testing

/// A relay's media on real loopback sockets: its offer/answer runs
/// synchronously on the owning call's loop (here not the media's), what the
/// media needs follows it in order, and RTP crosses both ways transcoded
/// (PCMU ⇄ PCMA); closing releases the ports and reports the figures.
@Suite("SIP relay session on sockets")
struct RelaySessionTests {
    /// A phone's RTP socket: blocking POSIX UDP on 127.0.0.1, a 0.5 s receive timeout.
    final class Phone {
        let descriptor: Int32
        let port: UInt16

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            self.descriptor = descriptor
            var address = Self.loopback(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                close(descriptor)
                throw MediaError.negotiation("cannot bind a test socket")
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            port = UInt16(bigEndian: address.sin_port)
            var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(descriptor) }

        static func loopback(port: UInt16) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return address
        }

        func send(_ bytes: [UInt8], to port: Int) {
            var address = Self.loopback(port: UInt16(port))
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                    bytes.withUnsafeBytes {
                        sendto(descriptor, $0.baseAddress, $0.count, 0, target, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        /// The next datagram, or nil after the timeout.
        func receive() -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: 2048)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            return count > 0 ? Array(buffer[0..<count]) : nil
        }

        /// Sends 20 ms frames of `byte` with `payloadType`, four in a row (RTP
        /// counts a source as received after two in sequence, RFC 3550 A.1),
        /// until one comes out at `other` (the first may race the media's copy
        /// of the agreement); returns the first that came out.
        func talk(_ payloadType: UInt8, byte: UInt8, to port: Int, heardBy other: Phone) -> Emitted? {
            var sequence: UInt16 = 100
            for _ in 0..<8 {
                for _ in 0..<4 {
                    send(rtpPacket(RTPHeader(payloadType: payloadType, sequenceNumber: sequence,
                                             timestamp: UInt32(sequence) * 160, ssrc: 0x1234_5678 + UInt32(payloadType)),
                                   [UInt8](repeating: byte, count: 160)), to: port)
                    sequence &+= 1
                }
                let heard = (0..<4).compactMap { _ in other.receive().flatMap(parseEmitted) }
                if let first = heard.first { return first }
            }
            return nil
        }
    }

    /// G.711 `byte` of one law as the other law codes the same sample.
    static func transcoded(_ byte: UInt8, from source: G711.Law, to sink: G711.Law) -> UInt8 {
        var pcm: Int16 = 0
        var out: UInt8 = 0
        withUnsafeBytes(of: byte) { bytes in
            withUnsafeMutablePointer(to: &pcm) { G711.decode(source, bytes, into: UnsafeMutableBufferPointer(start: $0, count: 1)) }
        }
        withUnsafePointer(to: pcm) { sample in
            withUnsafeMutablePointer(to: &out) {
                G711.encode(sink, UnsafeBufferPointer(start: sample, count: 1), into: UnsafeMutableBufferPointer(start: $0, count: 1))
            }
        }
        return out
    }

    static func description(port: UInt16, codec: SDPAudioCodec) -> SessionDescription {
        PlainAudioDescription(address: "127.0.0.1", port: port, codecs: [codec],
                              telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: 20, direction: .sendrecv)
            .sessionDescription(sessionID: 1, sessionVersion: 1)
    }

    @Test func negotiatesOnTheCallsLoopAndTranscodesBothWays() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var configuration = MediaEngine.Configuration()
        configuration.bindHost = "127.0.0.1"
        configuration.announcedAddress = "127.0.0.1"
        configuration.portRange = 40000...59999
        let engine = try MediaEngine(configuration: configuration, group: group)
        // The call's loop: the engine puts the media on the group's next, the other one.
        let control = group.next()
        let relay = try await engine.makeRelaySession(controlledFrom: control).get()
        #expect(relay.eventLoop !== control)
        #expect(engine.ports.reservedCount == 4)
        let caller = try Phone()
        let callee = try Phone()

        let callerOffer = Self.description(port: caller.port, codec: .pcmu)
        let calleeAnswer = Self.description(port: callee.port, codec: .pcma)
        let (offer, answer) = try await control.submit {
            let offer = try relay.calleeOffer(callerOffer: callerOffer, address: "127.0.0.1", allowed: [.pcma])
            let answer = try relay.acceptCalleeAnswer(calleeAnswer, address: "127.0.0.1", attempt: 0)
            return (try PlainAudioDescription(offer), try PlainAudioDescription(answer))
        }.get()
        #expect(offer.port == UInt16(relay.calleePort))
        #expect(offer.codecs.map(\.name) == ["PCMA"])
        #expect(answer.port == UInt16(relay.callerPort))
        #expect(answer.codecs.map(\.name) == ["PCMU"])
        // The agreement reaches the media's loop as a task; one more task
        // there runs after it (packets read in the same tick before it are dropped).
        try await relay.eventLoop.submit {}.get()

        // μ-law from the caller reaches the callee as A-law, and back (the
        // laws code different steps: A-law has no zero, 0xD5 is +8).
        let toCallee = caller.talk(0, byte: 0xFF, to: relay.callerPort, heardBy: callee)
        #expect(toCallee?.header.payloadType == 8)
        #expect(toCallee?.payload == [UInt8](repeating: Self.transcoded(0xFF, from: .mu, to: .a), count: 160))
        let toCaller = callee.talk(8, byte: 0xD5, to: relay.calleePort, heardBy: caller)
        #expect(toCaller?.header.payloadType == 0)
        #expect(toCaller?.payload == [UInt8](repeating: Self.transcoded(0xD5, from: .a, to: .mu), count: 160))
        #expect(Self.transcoded(0xD5, from: .a, to: .mu) == 0xFE)

        // A re-offer (hold) is answered on the control loop with the agreed codec, mirrored.
        let held = PlainAudioDescription(address: "127.0.0.1", port: caller.port, codecs: [.pcmu], ptime: 20,
                                         direction: .sendonly).sessionDescription(sessionID: 1, sessionVersion: 2)
        let holdAnswer = try await control.submit {
            try PlainAudioDescription(relay.answerReoffer(held, from: .caller, address: "127.0.0.1"))
        }.get()
        #expect(holdAnswer.direction == .recvonly)
        #expect(holdAnswer.codecs.map(\.name) == ["PCMU"])

        let statistics = try await relay.close(reason: "test over").get()
        #expect(statistics.phoneCodec == "PCMA")
        #expect(statistics.browserCodec == "PCMU")
        #expect(statistics.packetsFromBrowser >= 1)
        #expect(statistics.packetsFromPhone >= 1)
        #expect(engine.ports.reservedCount == 0)
        try await group.shutdownGracefully()
    }

    @Test func anAnswerWithoutTheOfferedCodecIsRefusedAndTheMediaStaysIdle() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = MediaEngine.Configuration()
        configuration.bindHost = "127.0.0.1"
        configuration.portRange = 40000...59999
        let engine = try MediaEngine(configuration: configuration, group: group)
        let loop = group.next()
        let relay = try await engine.makeRelaySession(controlledFrom: loop).get()
        let refused = try await loop.submit { () -> Bool in
            _ = try relay.calleeOffer(callerOffer: Self.description(port: 4000, codec: .pcmu), address: "127.0.0.1",
                                      allowed: [.pcmu])
            do {
                _ = try relay.acceptCalleeAnswer(Self.description(port: 4002, codec: .g722), address: "127.0.0.1",
                                                 attempt: 0)
                return false
            } catch {
                return true
            }
        }.get()
        #expect(refused)
        let statistics = try await relay.close(reason: "refused").get()
        #expect(statistics.phoneCodec == nil)
        #expect(engine.ports.reservedCount == 0)
        try await group.shutdownGracefully()
    }
}
