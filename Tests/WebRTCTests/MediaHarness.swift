import Foundation
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SDP
import XCTest

/// One call's media between the aiortc peer and a Tieline media session:
/// the peer's offer goes to the session, its answer back, the phone leg is
/// described by a plain SDP as a trunk would answer, and the events the
/// session reports are collected.
struct MediaCall {
    var result: PeerResult
    var statistics: MediaStatistics
    var events: [MediaEvent]
    var answer: String

    var endedReason: String? {
        for case .ended(let reason) in events { return reason }
        return nil
    }

    var dtmf: [DTMFReport] {
        events.compactMap { if case .dtmf(let report) = $0 { report } else { nil } }
    }

    /// Runs the peer with `arguments`; the phone leg speaks `phoneCodec`
    /// with `packetTime` ms packets and telephone-event 101.
    static func run(_ arguments: [String], phoneCodec: PhoneCodec = .pcmu, packetTime: Int = 20,
                    gatewayOffers: Bool = false, gatewaySetup: SDPSetup = .actpass, configure: (inout MediaEngine.Configuration) -> Void = { _ in },
                    file: StaticString = #filePath, line: UInt = #line) async throws -> MediaCall {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let call = try await run(arguments, phoneCodec: phoneCodec, packetTime: packetTime,
                                     gatewayOffers: gatewayOffers, gatewaySetup: gatewaySetup, group: group, configure: configure, file: file, line: line)
            try? await group.shutdownGracefully()
            return call
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func run(_ arguments: [String], phoneCodec: PhoneCodec, packetTime: Int, gatewayOffers: Bool,
                            gatewaySetup: SDPSetup,
                            group: MultiThreadedEventLoopGroup, configure: (inout MediaEngine.Configuration) -> Void,
                            file: StaticString, line: UInt) async throws -> MediaCall {
        var configuration = MediaEngine.Configuration()
        configuration.bindHost = "127.0.0.1"
        configuration.announcedAddress = "127.0.0.1"
        configuration.portRange = 20000...59999
        configuration.session.rtcpInterval = 1
        configure(&configuration)
        let engine = try MediaEngine(configuration: configuration, group: group)
        let session = try await engine.makeSession()
        let collected = NIOLockedValueBox<[MediaEvent]>([])
        let collector = Task {
            for await event in session.events { collected.withLockedValue { $0.append(event) } }
        }
        let peer = try WebRTCPeer(arguments: (gatewayOffers ? ["--gateway-offers"] : []) + arguments)
        let hello = try peer.next(timeout: 30)
        guard let phonePort = (hello["phone_port"] as? NSNumber)?.intValue else {
            throw PeerError("the peer did not say where its phone socket is: \(hello)")
        }
        let phone = PlainAudioDescription(
            address: "127.0.0.1", port: UInt16(phonePort),
            codecs: [SDPAudioCodec(payloadType: phoneCodec.staticPayloadType, name: phoneCodec.rawValue, clockRate: 8000)],
            telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: packetTime, direction: .sendrecv)
        try await session.acceptPhoneAnswer(phone.sessionDescription(sessionID: 1, sessionVersion: 1))
        var answerText = ""
        if gatewayOffers {
            let offer = session.browserOffer(setup: gatewaySetup).serialize()
            try peer.send(["offer": offer, "phone_port": session.phonePort])
            let reply = try peer.next(timeout: 30)
            guard let answer = reply["answer"] as? String else { throw PeerError("no answer from the peer: \(reply)") }
            answerText = answer
            try await session.acceptBrowserAnswer(try SessionDescription.parse(answer))
        } else {
            guard let offer = hello["offer"] as? String else { throw PeerError("no offer from the peer: \(hello)") }
            do {
                let answer = try await session.answerBrowserOffer(try SessionDescription.parse(offer)).serialize()
                answerText = answer
                try peer.send(["answer": answer, "phone_port": session.phonePort])
            } catch {
                XCTFail("offer refused: \(error)\n\(offer)", file: file, line: line)
                throw error
            }
        }
        let result: PeerResult
        do {
            result = try peer.result(timeout: 60)
        } catch {
            XCTFail("\(error)\npeer stderr:\n\(peer.diagnostics)", file: file, line: line)
            throw error
        }
        if ProcessInfo.processInfo.environment["TIELINE_SHOW_PEER"] != nil { print(result) }
        let statistics = try await session.statistics()
        await session.close(reason: "test over")
        _ = await collector.value
        XCTAssertEqual(engine.ports.reservedCount, 0, "the session's ports were released", file: file, line: line)
        return MediaCall(result: result, statistics: statistics, events: collected.withLockedValue { $0 },
                         answer: answerText)
    }
}
