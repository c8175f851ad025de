import Foundation
import Gateway
import Logging
import NIOCore
import NIOPosix
import SIP
import XCTest

/// Trunk registration against sipp acting as a registrar with a digest challenge.
final class RegistrationTests: XCTestCase {
    func testRegistersWithDigestRefreshesAndUnregistersOnStop() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("registrar_auth"),
                                       calls: 1, extraArgs: ["-au", "tieline", "-ap", "secret"])
        let fixture = try await GatewayFixture(trunks: [
            TrunkSpec(port: sippPort, username: "tieline", password: "secret", register: true, registerExpires: 60),
        ])
        // The registrar grants 4 s; the refresh comes at half of that.
        let deadline = Date().addingTimeInterval(15)
        var registrations = 0
        while Date() < deadline {
            registrations = try await fixture.gateway.eventLoop.submit {
                fixture.gateway.registrations["carrier"]?.registrations ?? 0
            }.get()
            if registrations >= 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertGreaterThanOrEqual(registrations, 2, "no refresh seen:\n\(sipp.diagnostics)")
        await fixture.stop()
        let state = try await fixture.gateway.eventLoop.submit {
            fixture.gateway.registrations["carrier"]?.state
        }.get()
        XCTAssertEqual(state, .unregistered)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, "the registrar scenario failed:\n\(sipp.diagnostics)")
    }
}

/// The SIP layer's registration client on its own: it recovers from a
/// registrar that is down, backing off between attempts.
final class RegistrationBackoffTests: XCTestCase {
    func testBackoffDoublesUpToTheMaximum() {
        let delays = (1...6).map {
            RegistrationClient.retryDelay(afterFailures: $0, base: .seconds(30), maximum: .seconds(180))
        }
        XCTAssertEqual(delays, [.seconds(30), .seconds(60), .seconds(120), .seconds(180), .seconds(180), .seconds(180)])
    }

    func testRetriesAfter503sUntilRegisteredThenUnregisters() async throws {
        let sippPort = try freeUDPAndTCPPort()
        let sipp = try SippProcess.uas(port: sippPort, transport: "u1", scenario: scenarioPath("registrar_503_then_ok"),
                                       calls: 1)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let userAgent = SIPUserAgent(eventLoop: loop, configuration: .init(publicAddress: "127.0.0.1"),
                                     logger: Logger(label: "registration-test"))
        _ = try await userAgent.sockets!.bindUDP(host: "127.0.0.1", port: 0).get()
        let registrar = SIPEndpoint(transport: .udp, address: try SocketAddress(ipAddress: "127.0.0.1", port: sippPort))
        let client = RegistrationClient(userAgent: userAgent, parameters: .init(
            registrar: registrar, addressOfRecord: SIPURI(user: "tieline", host: "127.0.0.1"),
            registrarURI: SIPURI(host: "127.0.0.1"), credentials: nil, expires: 60,
            retryDelay: .milliseconds(100), maxRetryDelay: .seconds(1)))
        let states = StateLog()
        client.onStateChange = { states.append($0) }
        client.start()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try await loop.submit({ client.isRegistered }).get() == false {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await client.stop().get()
        let seen = states.values
        XCTAssertEqual(seen.filter { if case .failed(let f) = $0 { return f.statusCode == 503 } else { return false } }.count, 2)
        XCTAssertTrue(seen.contains(.registered(expires: 60)), "states: \(seen)")
        XCTAssertEqual(seen.last, .unregistered)
        let status = try await sipp.wait(timeout: 20)
        XCTAssertEqual(status, 0, sipp.diagnostics)
        _ = try await userAgent.shutdown().get()
    }
}

final class StateLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [RegistrationClient.State] = []
    func append(_ state: RegistrationClient.State) { lock.lock(); log.append(state); lock.unlock() }
    var values: [RegistrationClient.State] { lock.lock(); defer { lock.unlock() }; return log }
}
