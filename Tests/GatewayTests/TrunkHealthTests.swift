// OPTIONS pings decide which trunks the dialplan's trunks() offers: driven
// through the real SIP core on a recording transport, the clock moved by hand.
import Config
import NIOCore
import SIP
import SIPTestSupport
import XCTest
@testable import Gateway

final class TrunkHealthTests: XCTestCase {
    func testASilentTrunkIsDownUntilItAnswersAgain() async throws {
        let env = try FakeCallEnvironment()
        var trunk = try XCTUnwrap(env.config.trunk(named: "carrier"))
        trunk.optionsInterval = .seconds(10)
        trunk.responseTimeout = .seconds(3)
        let pinged = trunk
        let health = TrunkHealth(userAgent: env.userAgent, logger: env.logger) { [env] in env.endpoint(for: $0) }
        try await env.onLoop { health.start([pinged]) }
        await env.advance(.seconds(9))
        XCTAssertTrue(env.transport.take().requests(.options).isEmpty, "the first ping waits one interval")
        await env.advance(.seconds(1))
        let first = try XCTUnwrap(env.transport.take().requests(.options).first, "a ping after 10 s")
        XCTAssertEqual(first.uri.host, "127.0.0.1")
        XCTAssertEqual(first.uri.port, 5070)
        let beforeDeadline = try await env.onLoop { health.downTrunks }
        XCTAssertEqual(beforeDeadline, [], "up until the ping's deadline")
        await env.advance(.seconds(3))
        let afterDeadline = try await env.onLoop { health.downTrunks }
        XCTAssertEqual(afterDeadline, ["carrier"], "no answer in 3 s: down")
        // The next ping gets any answer at all (a 405 shows the trunk is there): up again.
        await env.advance(.seconds(7))
        // (Timer E retransmits the first ping meanwhile; the second is a new Call-ID.)
        let second = try XCTUnwrap(env.transport.take().requests(.options).last { $0.headers.callID != first.headers.callID })
        try await env.deliver(sipResponse(to: second, 405))
        let answered = try await env.onLoop { health.downTrunks }
        XCTAssertEqual(answered, [], "an answer brings it back")
        try await env.onLoop { health.stop() }
        await env.advance(.seconds(30))
        // Only the unanswered first ping's own retransmissions (Timer E, until Timer F) may follow.
        let later = env.transport.take().requests(.options).filter { $0.headers.callID != first.headers.callID }
        XCTAssertTrue(later.isEmpty, "stopped: no new pings")
    }

    func testNoPingsUnlessAsked() async throws {
        let env = try FakeCallEnvironment()
        let health = TrunkHealth(userAgent: env.userAgent, logger: env.logger) { [env] in env.endpoint(for: $0) }
        try await env.onLoop { health.start(env.config.trunks) }
        await env.advance(.seconds(120))
        XCTAssertTrue(env.transport.take().requests(.options).isEmpty, "options_interval_s is 0 by default")
    }
}
