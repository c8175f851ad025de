import Media
import NIOCore
import NIOPosix
import SDP
import XCTest

/// Two sessions joined in process (a browser calling another browser):
/// while joined, the phone side takes no network address; unjoined (the
/// callee did not answer), it goes to the network again, as for a trunk.
final class MediaJoinTests: XCTestCase {
    private func engine(_ group: MultiThreadedEventLoopGroup) throws -> MediaEngine {
        var configuration = MediaEngine.Configuration()
        configuration.bindHost = "127.0.0.1"
        configuration.announcedAddress = "127.0.0.1"
        configuration.portRange = 20000...59999
        return try MediaEngine(configuration: configuration, group: group)
    }

    private let trunkAnswer = PlainAudioDescription(
        address: "127.0.0.1", port: 4000, codecs: [.pcmu], telephoneEvents: [.telephoneEvent(payloadType: 101)],
        ptime: 20, direction: .sendrecv).sessionDescription(sessionID: 1, sessionVersion: 1)

    func testJoinedSessionsHaveNoPhoneAddressAndUnjoinedTheyDo() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let engine = try engine(group)
        let caller = try await engine.makeSession()
        let callee = try await engine.makeSession(on: caller.eventLoop)
        XCTAssertTrue(callee.eventLoop === caller.eventLoop)
        try await caller.join(callee)
        // The caller's offer and the callee's answer still pick the codec; no address is taken.
        let offer = caller.phoneOffer(address: "127.0.0.1", codecs: [.g722, .pcmu])
        let answer = try await callee.answerPhoneOffer(offer, address: "127.0.0.1")
        try await caller.acceptPhoneAnswer(answer)
        var callerStats = try await caller.statistics()
        let calleeStats = try await callee.statistics()
        XCTAssertNil(callerStats.phoneTarget, "a joined phone side sends nothing to the network")
        XCTAssertNil(calleeStats.phoneTarget)
        // The callee did not answer after all: the caller's next far end is a trunk.
        caller.unjoin()
        try await caller.acceptPhoneAnswer(trunkAnswer)
        callerStats = try await caller.statistics()
        XCTAssertEqual(callerStats.phoneTarget, "[IPv4]127.0.0.1:4000")
        await caller.close()
        await callee.close()
        try await group.shutdownGracefully()
    }

    func testEndingOneSideUnjoinsTheOther() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let engine = try engine(group)
        let caller = try await engine.makeSession()
        let callee = try await engine.makeSession(on: caller.eventLoop)
        try await caller.join(callee)
        await callee.close(reason: "callee gone")
        try await caller.acceptPhoneAnswer(trunkAnswer)
        let stats = try await caller.statistics()
        XCTAssertEqual(stats.phoneTarget, "[IPv4]127.0.0.1:4000")
        await caller.close()
        try await group.shutdownGracefully()
    }

    func testSessionsOnDifferentLoopsAreNotJoined() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let engine = try engine(group)
        let first = try await engine.makeSession(on: group.any())
        var second = try await engine.makeSession()
        if second.eventLoop === first.eventLoop {
            await second.close()
            second = try await engine.makeSession()
        }
        XCTAssertFalse(second.eventLoop === first.eventLoop, "the group hands out its two loops in turn")
        do {
            try await first.join(second)
            XCTFail("joined across loops")
        } catch {
            XCTAssertTrue("\(error)".contains("one event loop"), "\(error)")
        }
        await first.close()
        await second.close()
        try await group.shutdownGracefully()
    }
}
