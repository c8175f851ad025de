import Codecs
import NIOCore
@testable import Media
import RTP
import SDP
import Testing

/// A relayed call's media (`RelayMedia`) without sockets, and the offer/answer
/// across its two legs (`RelayNegotiation`).
@Suite("SIP relay media")
struct RelayMediaTests {
    /// Collects what the relay sends, per socket.
    final class Sink: RelayTransport {
        var sent: [(socket: RelaySocket, to: SocketAddress, bytes: [UInt8])] = []
        func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress, on socket: RelaySocket) {
            sent.append((socket, address, Array(bytes)))
        }
        func packets(on socket: RelaySocket) -> [Emitted] {
            sent.filter { $0.socket == socket }.compactMap { parseEmitted($0.bytes) }
        }
    }

    let callerPeer = try! SocketAddress(ipAddress: "127.0.0.1", port: 31000)
    let calleePeer = try! SocketAddress(ipAddress: "127.0.0.1", port: 32000)

    func relay(caller: RelayLegCodec, callee: RelayLegCodec, sink: Sink) throws -> RelayMedia {
        var configuration = MediaSessionConfiguration()
        configuration.symmetricRTP = true
        let media = RelayMedia(configuration: configuration, transport: sink)
        try media.install(caller: caller, callee: callee)
        media.setRemote(.caller, rtp: callerPeer, rtcp: try SocketAddress(ipAddress: "127.0.0.1", port: 31001))
        media.setRemote(.callee, rtp: calleePeer, rtcp: try SocketAddress(ipAddress: "127.0.0.1", port: 32001))
        return media
    }

    func feed(_ media: RelayMedia, _ packet: [UInt8], from source: SocketAddress, side: RelaySide, now: Double) {
        packet.withUnsafeBytes { media.receive($0, from: source, on: .rtp(side), now: now) }
    }

    @Test("Same codec both ways: payloads pass untouched, restamped with the gateway's SSRC per leg")
    func passthrough() throws {
        let sink = Sink()
        let media = try relay(caller: RelayLegCodec(codec: .pcmu, payloadType: 0),
                              callee: RelayLegCodec(codec: .pcmu, payloadType: 0), sink: sink)
        var fromCaller = G711ToneSource(frequency: 440)
        var fromCallee = G711ToneSource(frequency: 660)
        fromCallee.ssrc = 0xCA11EE
        var sentPayloads: [[UInt8]] = []
        for i in 0..<20 {
            let packet = fromCaller.next()
            sentPayloads.append(Array(packet[RTPHeader.fixedLength...]))
            feed(media, packet, from: callerPeer, side: .caller, now: Double(i) * 0.02)
            feed(media, fromCallee.next(), from: calleePeer, side: .callee, now: Double(i) * 0.02)
        }
        let toCallee = sink.packets(on: .rtp(.callee))
        let toCaller = sink.packets(on: .rtp(.caller))
        #expect(toCallee.count == 20 && toCaller.count == 20)
        #expect(toCallee.map(\.payload) == sentPayloads)
        #expect(Set(toCallee.map(\.header.ssrc)) == [media.ssrc(.callee)])
        #expect(Set(toCaller.map(\.header.ssrc)) == [media.ssrc(.caller)])
        #expect(sink.sent.filter { $0.socket == .rtp(.callee) }.allSatisfy { $0.to == calleePeer })
        #expect(sequenceSteps(toCallee).allSatisfy { $0 == 1 })
        #expect(toneDominates(decodeG711(.mu, toCaller), sampleRate: 8000, frequency: 660))
        #expect(media.statistics().passthrough)
    }

    @Test("PCMU to PCMA: the tone crosses transcoded, in the callee's payload type")
    func transcodesBetweenTheLaws() throws {
        let sink = Sink()
        let media = try relay(caller: RelayLegCodec(codec: .pcmu, payloadType: 0),
                              callee: RelayLegCodec(codec: .pcma, payloadType: 8), sink: sink)
        var fromCaller = G711ToneSource(frequency: 440)
        var fromCallee = G711ToneSource(law: .a, frequency: 660, payloadType: 8)
        for i in 0..<25 {
            feed(media, fromCaller.next(), from: callerPeer, side: .caller, now: Double(i) * 0.02)
            feed(media, fromCallee.next(), from: calleePeer, side: .callee, now: Double(i) * 0.02)
        }
        let toCallee = sink.packets(on: .rtp(.callee))
        let toCaller = sink.packets(on: .rtp(.caller))
        #expect(toCallee.count >= 20 && toCallee.allSatisfy { $0.header.payloadType == 8 })
        #expect(toCaller.count >= 20 && toCaller.allSatisfy { $0.header.payloadType == 0 })
        #expect(toneDominates(decodeG711(.a, toCallee), sampleRate: 8000, frequency: 440))
        #expect(toneDominates(decodeG711(.mu, toCaller), sampleRate: 8000, frequency: 660))
        #expect(!media.statistics().passthrough)
    }

    @Test("Once latched, a stranger's packets are dropped; a held peer is sent nothing")
    func latchingAndHold() throws {
        let sink = Sink()
        let media = try relay(caller: RelayLegCodec(codec: .pcmu, payloadType: 0),
                              callee: RelayLegCodec(codec: .pcmu, payloadType: 0), sink: sink)
        var fromCaller = G711ToneSource(frequency: 440)
        feed(media, fromCaller.next(), from: callerPeer, side: .caller, now: 0)
        let stranger = try SocketAddress(ipAddress: "127.0.0.1", port: 39999)
        feed(media, fromCaller.next(), from: stranger, side: .caller, now: 0.02)
        #expect(sink.packets(on: .rtp(.callee)).count == 1)
        #expect(media.statistics().droppedForeignPhonePackets == 1)
        media.setSends(.callee, false)
        feed(media, fromCaller.next(), from: callerPeer, side: .caller, now: 0.04)
        #expect(sink.packets(on: .rtp(.callee)).count == 1, "nothing to a peer that holds")
    }

    @Test("Codecs of different clocks are not relayed (no resampler)")
    func differentClocksRefused() {
        let media = RelayMedia(configuration: MediaSessionConfiguration(), transport: Sink())
        #expect(throws: MediaError.self) {
            try media.install(caller: RelayLegCodec(codec: .g722, payloadType: 9),
                              callee: RelayLegCodec(codec: .pcmu, payloadType: 0))
        }
    }

    @Test("RTCP reports go to both legs once media runs")
    func rtcpBothLegs() throws {
        let sink = Sink()
        let media = try relay(caller: RelayLegCodec(codec: .pcmu, payloadType: 0),
                              callee: RelayLegCodec(codec: .pcmu, payloadType: 0), sink: sink)
        var fromCaller = G711ToneSource(frequency: 440)
        feed(media, fromCaller.next(), from: callerPeer, side: .caller, now: 0)
        media.tick(now: 10)
        #expect(sink.sent.contains { $0.socket == .rtcp(.caller) })
        #expect(sink.sent.contains { $0.socket == .rtcp(.callee) })
    }

    // MARK: negotiation

    func offer(_ codecs: [SDPAudioCodec], events: Bool = true) -> PlainAudioDescription {
        PlainAudioDescription(address: "127.0.0.1", port: 31000, codecs: codecs,
                              telephoneEvents: events ? [.telephoneEvent(payloadType: 101)] : [], ptime: 20)
    }

    @Test("The callee is offered the caller's codecs first, then what transcodes to them")
    func calleeOfferOrder() throws {
        let pcmuOnly = try RelayNegotiation(callerOffer: offer([.pcmu]), allowed: [.pcmu, .pcma, .g722])
        #expect(pcmuOnly.calleeCodecs == [.pcmu, .pcma])
        let wideband = try RelayNegotiation(callerOffer: offer([.g722, .pcma]), allowed: [.pcmu, .pcma, .g722])
        #expect(wideband.calleeCodecs == [.g722, .pcma, .pcmu])
        let onlyALaw = try RelayNegotiation(callerOffer: offer([.pcmu]), allowed: [.pcma])
        #expect(onlyALaw.calleeCodecs == [.pcma])
    }

    @Test("The caller is answered in the callee's codec when it offered it, else one of the same clock")
    func callerAnswer() throws {
        let negotiation = try RelayNegotiation(callerOffer: offer([.g722, .pcmu]), allowed: [.pcmu, .pcma, .g722])
        #expect(negotiation.callerCodec(for: .g722)?.codec == .g722)
        #expect(negotiation.callerCodec(for: .pcma)?.codec == .pcmu)
        #expect(negotiation.callerCodec(for: .pcma)?.telephoneEvent == 101)
        let answer = PlainAudioDescription(address: "127.0.0.1", port: 32000, codecs: [.pcma], ptime: 30)
        let callee = RelayNegotiation.calleeCodec(in: answer, offered: negotiation.calleeCodecs)
        #expect(callee == RelayLegCodec(codec: .pcma, payloadType: 8, telephoneEvent: nil, packetTime: 30))
    }

    @Test("An offer the gateway cannot carry, or cannot reach the callee's codecs, is refused")
    func refusals() {
        #expect(throws: MediaError.self) { try RelayNegotiation(callerOffer: offer([.opus(payloadType: 111)]), allowed: [.pcmu]) }
        #expect(throws: MediaError.self) { try RelayNegotiation(callerOffer: offer([.g722]), allowed: [.pcmu, .pcma]) }
    }
}
