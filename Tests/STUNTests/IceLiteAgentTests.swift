import STUN
import XCTest

/// The ICE-lite agent answers only checks a browser that knows our
/// credentials would send, and follows nomination and consent.
final class IceLiteAgentTests: XCTestCase {
    let browser = IceLiteAgent.Address(ip: "127.0.0.1", port: 50_000)

    func agent() -> IceLiteAgent {
        IceLiteAgent(localUfrag: "gw12", localPassword: "gatewaypassword1234567", remoteUfrag: "br34")
    }

    func check(username: String = "gw12:br34", password: String = "gatewaypassword1234567",
               useCandidate: Bool = false, controlled: Bool = false) -> [UInt8] {
        var attributes: [STUNAttribute] = [.username(username), .priority(1_853_824_767)]
        attributes.append(controlled ? .iceControlled(tieBreaker: 1) : .iceControlling(tieBreaker: 42))
        if useCandidate { attributes.append(.useCandidate) }
        let message = STUNMessage(messageClass: .request, transactionID: STUNMessage.randomTransactionID(),
                                  attributes: attributes)
        return message.serialize(integrityKey: Array(password.utf8), fingerprint: true)
    }

    func response(_ outcome: IceLiteAgent.Outcome) throws -> (STUNMessage, [UInt8]) {
        guard case .respond(let bytes) = outcome else { throw NoResponse(outcome: outcome) }
        return (try STUNMessage.parse(bytes), bytes)
    }

    func testAValidCheckIsAnsweredWithTheSourceAddressAndOurIntegrity() throws {
        var agent = agent()
        let (message, bytes) = try response(agent.receive(check(), from: browser, now: 0))
        XCTAssertEqual(message.messageClass, .successResponse)
        XCTAssertEqual(message.xorMappedAddress?.description, "127.0.0.1:50000")
        XCTAssertTrue(message.verifyIntegrity(key: Array("gatewaypassword1234567".utf8), in: bytes))
        XCTAssertTrue(message.verifyFingerprint(in: bytes))
        // Before nomination, media may already go to the first validated address.
        XCTAssertEqual(agent.mediaTarget, browser)
        XCTAssertNil(agent.nominated)
    }

    func testWrongPasswordOrUsernameGets401AndNoMedia() throws {
        var agent = agent()
        for bad in [check(password: "not-the-password-at-all"), check(username: "gw12:someoneelse")] {
            let (message, _) = try response(agent.receive(bad, from: browser, now: 0))
            XCTAssertEqual(message.messageClass, .errorResponse)
            XCTAssertEqual(message.errorCode?.code, 401)
        }
        XCTAssertNil(agent.mediaTarget)
    }

    func testMediaFollowsTheNominatedPath() throws {
        var agent = agent()
        let other = IceLiteAgent.Address(ip: "::1", port: 40_000)
        _ = agent.receive(check(), from: browser, now: 0)
        _ = agent.receive(check(useCandidate: true), from: other, now: 1)
        XCTAssertEqual(agent.mediaTarget, other)
        _ = agent.receive(check(useCandidate: true), from: browser, now: 2)
        XCTAssertEqual(agent.mediaTarget, browser)
    }

    func testConsentExpiresThirtySecondsAfterTheLastValidCheck() {
        var agent = agent()
        _ = agent.receive(check(useCandidate: true), from: browser, now: 100)
        XCTAssertFalse(agent.consentExpired(now: 125))
        _ = agent.receive(check(), from: browser, now: 125)
        XCTAssertFalse(agent.consentExpired(now: 150))
        // Invalid checks do not renew consent.
        _ = agent.receive(check(password: "wrong-wrong-wrong-wrong"), from: browser, now: 150)
        XCTAssertTrue(agent.consentExpired(now: 155.5))
    }

    func testAControlledPeerIsARoleConflict() throws {
        var agent = agent()
        let (message, _) = try response(agent.receive(check(controlled: true), from: browser, now: 0))
        XCTAssertEqual(message.errorCode?.code, 487)
        XCTAssertNil(agent.mediaTarget)
    }

    func testGarbageIsDroppedWithoutACrash() {
        var agent = agent()
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if case .respond = agent.receive(bytes, from: browser, now: 0) {
                XCTFail("answered random bytes")
            }
        }
    }

    func testRFC7983Demultiplexing() {
        XCTAssertEqual(MediaDatagramKind(firstByte: 0x00), .stun)
        XCTAssertEqual(MediaDatagramKind(firstByte: 22), .dtls)
        XCTAssertEqual(MediaDatagramKind(firstByte: 0x80), .rtpOrRTCP)
        XCTAssertEqual(MediaDatagramKind(firstByte: 0xFF), .unknown)
    }
}

struct NoResponse: Error, CustomStringConvertible {
    var outcome: IceLiteAgent.Outcome
    var description: String { "expected a response, got \(outcome)" }
}
