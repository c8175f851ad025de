import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Signaling
import HummingbirdWSClient
import XCTest

/// The signaling server over real WebSockets on loopback: logins, limits,
/// and every kind of bad input, each answered with the protocol's error while
/// the server goes on serving. The call layer above is a small recording
/// backend here; whole calls with the real gateway are in IntegrationTests.
final class SignalingServerTests: XCTestCase {
    func testBeforeLoginOnlyPingIsAnsweredThenLoginWelcomes() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let received = try await server.converse([
            #"{"type":"ping"}"#,
            #"{"type":"call","call":"c1","to":"1","sdp":"v=0"}"#,
            #"{"type":"hangup","call":"c1"}"#,
            #"{"type":"login","user":"alice","password":"right-password"}"#,
        ])
        XCTAssertEqual(received.map(\.type), ["pong", "error", "error", "welcome"])
        XCTAssertEqual(received[1].code, 401)
        XCTAssertEqual(received[1].call, "c1", "the error names the call the message named")
        XCTAssertEqual(received[3].object["user"] as? String, "alice")
        let servers = received[3].object["iceServers"] as? [[String: Any]]
        XCTAssertEqual(servers?.first?["urls"] as? [String], ["stun:stun.example.net:3478"])
    }

    func testBadInputGetsTheProtocolsErrorsAndTheConnectionStays() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let offer = try TestServer.offer()
        let received = try await server.converse([
            #"{"type":"login","user":"alice","password":"right-password"}"#,
            "this is not json",
            #"{"type":"teleport","call":"c0"}"#,
            #"{"type":"call","call":"c1","to":"+15551234567"}"#,
            #"{"type":"call","call":"c2","to":"1","sdp":"garbage"}"#,
            #"{"type":"call","call":"c2","to":"1","sdp":"garbage"}"#,
            #"{"type":"hangup","call":"nope"}"#,
            #"{"type":"dtmf","call":"nope","digits":"1"}"#,
            #"{"type":"call","call":"c3","to":"1","sdp":\#(TestServer.quoted(offer)),"headers":{"Via":"x"}}"#,
            #"{"type":"call","call":"c4","to":"+15551234567","sdp":\#(TestServer.quoted(offer))}"#,
            #"{"type":"dtmf","call":"c4","digits":"1"}"#,
            #"{"type":"hangup","call":"c4"}"#,
            #"{"type":"hangup","call":"c4"}"#,
            #"{"type":"ping"}"#,
        ], expecting: 13)
        let summary = received.map { "\($0.type) \($0.code.map(String.init) ?? "") \($0.call ?? "")" }
        XCTAssertEqual(summary, [
            "welcome  ", "error 400 ", "error 400 c0", "error 400 c1", "error 488 c2",
            "error 400 c2",  // an id is never reused, even one whose call never started
            "error 481 nope", "error 481 nope", "error 400 c3", "trying  c4",
            "error 400 c4",  // digits only once media flows
            // the client's own hangup is not acknowledged; the next one names an ended call
            "error 481 c4", "pong  ",
        ].prefix(received.count).map { $0 }, "\(received.map(\.text))")
        XCTAssertEqual(server.backend.hangups, ["c4"])
        XCTAssertEqual(server.backend.placed, ["c4"])
        // Another client is served as before.
        let other = try await server.converse([#"{"type":"login","user":"alice","password":"right-password"}"#])
        XCTAssertEqual(other.map(\.type), ["welcome"])
    }

    func testAMessageOver64KiBClosesWith1009AndOthersAreServed() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let big = #"{"type":"ping","pad":""# + String(repeating: "x", count: 70_000) + #""}"#
        let (received, close) = try await server.converseUntilClosed([big])
        XCTAssertEqual(received.count, 0)
        XCTAssertEqual(close?.closeCode, .messageTooLarge)
        let after = try await server.converse([#"{"type":"ping"}"#])
        XCTAssertEqual(after.map(\.type), ["pong"])
    }

    func testWrongPasswordsAreRefusedThenTheAddressIsBlocked() async throws {
        var configuration = SignalingServer.Configuration()
        configuration.loginPolicy = LoginThrottle.Policy(maximumFailures: 3, window: 60, blockDuration: 60)
        let server = try await TestServer.start(configuration)
        defer { Task { await server.stop() } }
        for attempt in ["wrong", "alsowrong", "nope"] {
            let (received, close) = try await server.converseUntilClosed(
                [#"{"type":"login","user":"alice","password":"\#(attempt)"}"#])
            XCTAssertEqual(received.map(\.type), ["error"])
            XCTAssertEqual(received.first?.code, 401)
            XCTAssertEqual(close?.closeCode, .unknown(4401))
        }
        let (blocked, close) = try await server.converseUntilClosed(
            [#"{"type":"login","user":"alice","password":"right-password"}"#])
        XCTAssertEqual(blocked.first?.code, 429, "blocked whatever the credentials")
        XCTAssertEqual(close?.closeCode, .unknown(4429))
    }

    func testSignedTokensLogIn() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let signer = LoginTokenSigner(secret: TestServer.tokenSecret)
        let good = signer.sign(user: "bob", expires: Date().addingTimeInterval(60))
        let welcome = try await server.converse([#"{"type":"login","token":"\#(good)"}"#])
        XCTAssertEqual(welcome.first?.object["user"] as? String, "bob", "a token's user need not be configured")

        let expired = signer.sign(user: "bob", expires: Date().addingTimeInterval(-1))
        let tampered = LoginTokenSigner(secret: "another-secret-of-16").sign(user: "alice", expires: Date().addingTimeInterval(60))
        for token in [expired, tampered, "v1.garbage", good + "x"] {
            let (received, close) = try await server.converseUntilClosed([#"{"type":"login","token":"\#(token)"}"#])
            XCTAssertEqual(received.first?.code, 401, token)
            XCTAssertEqual(close?.closeCode, .unknown(4401), token)
        }
    }

    func testNoLoginWithinTheDeadlineClosesTheConnection() async throws {
        var configuration = SignalingServer.Configuration()
        configuration.loginTimeout = .milliseconds(300)
        let server = try await TestServer.start(configuration)
        defer { Task { await server.stop() } }
        let (received, close) = try await server.converseUntilClosed([#"{"type":"ping"}"#])
        XCTAssertEqual(received.map(\.type), ["pong"])
        XCTAssertEqual(close?.closeCode, .unknown(4408))
    }

    func testCallsPerUserAreLimitedAcrossConnections() async throws {
        var configuration = SignalingServer.Configuration()
        configuration.maximumCallsPerUser = 1
        let server = try await TestServer.start(configuration)
        defer { Task { await server.stop() } }
        let offer = TestServer.quoted(try TestServer.offer())
        let received = try await server.converse([
            #"{"type":"login","user":"alice","password":"right-password"}"#,
            #"{"type":"call","call":"a","to":"1","sdp":\#(offer)}"#,
            #"{"type":"call","call":"b","to":"2","sdp":\#(offer)}"#,
            #"{"type":"hangup","call":"a"}"#,
            #"{"type":"call","call":"c","to":"3","sdp":\#(offer)}"#,
        ], expecting: 4)
        XCTAssertEqual(received.map { "\($0.type) \($0.call ?? "")" }, ["welcome ", "trying a", "error b", "trying c"])
        XCTAssertEqual(received[2].code, 486)
    }

    func testConnectionsPerAddressAreLimited() async throws {
        var configuration = SignalingServer.Configuration()
        configuration.maximumConnectionsPerAddress = 1
        let server = try await TestServer.start(configuration)
        defer { Task { await server.stop() } }
        // The first connection stays open (logged in) while a second one tries.
        let first = Task { try await server.converse([#"{"type":"login","user":"alice","password":"right-password"}"#,
                                                        #"{"type":"ping"}"#], holdOpen: .seconds(2)) }
        try await Task.sleep(for: .milliseconds(700))
        let (refused, close) = try await server.converseUntilClosed([#"{"type":"ping"}"#])
        XCTAssertEqual(refused.first?.code, 429, "\(refused.map(\.text))")
        XCTAssertEqual(close?.closeCode, .unknown(1013))
        let held = try await first.value
        XCTAssertEqual(held.map(\.type), ["welcome", "pong"], "the first connection was not disturbed")
        // Once it has closed, the address may connect again.
        try await Task.sleep(for: .milliseconds(300))
        let again = try await server.converse([#"{"type":"ping"}"#])
        XCTAssertEqual(again.map(\.type), ["pong"])
    }

    func testAPageFromAnotherOriginCannotOpenTheWebSocket() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        var foreign = WebSocketClientConfiguration()
        foreign.additionalHeaders = [.origin: "https://evil.example"]
        do {
            try await WebSocketClient.connect(url: server.url, configuration: foreign, logger: Logger(label: "ws")) { _, _, _ in
                XCTFail("the upgrade was accepted")
            }
            XCTFail("the upgrade was accepted")
        } catch {
            // Refused before the upgrade: the server answers the plain HTTP request instead.
        }
        var same = WebSocketClientConfiguration()
        same.additionalHeaders = [.origin: "http://127.0.0.1:\(server.port)"]
        let texts = NIOLockedValueBox([String]())
        try await WebSocketClient.connect(url: server.url, configuration: same, logger: Logger(label: "ws")) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"ping"}"#))
            for try await message in inbound.messages(maxSize: 1 << 16) {
                if case .text(let text) = message { texts.withLockedValue { $0.append(text) } }
                return
            }
        }
        XCTAssertEqual(texts.withLockedValue { $0 }, [#"{"type":"pong"}"#], "the page's own origin is welcome")
    }

    func testHealthAndTheWebPhoneAreServed() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let health = try await server.get("/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.body, "ok\n")
        let page = try await server.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("id=\"login-form\""), "the web phone's page")
        XCTAssertTrue(page.body.contains("phone.js"))
        let script = try await server.get("/phone.js")
        XCTAssertTrue(script.body.contains("tieline.v1"), "the page offers the subprotocol")
        let missing = try await server.get("/nothing-here")
        XCTAssertEqual(missing.status, 404)
    }
}
