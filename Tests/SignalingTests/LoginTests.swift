import Foundation
import Signaling
import XCTest

/// Passwords, tokens and the failed-login throttle on their own.
final class LoginTests: XCTestCase {
    func testPasswordsAndHashesAreChecked() {
        let hash = UserDirectory.hash("hashed-secret")
        XCTAssertTrue(hash.hasPrefix("$2b$"), hash)
        let users = UserDirectory(users: [("alice", .password("plain-secret")), ("bob", .bcryptHash(hash))], tokenSecret: nil)
        XCTAssertEqual(users.authenticate(.password(user: "alice", password: "plain-secret")), .success("alice"))
        XCTAssertEqual(users.authenticate(.password(user: "bob", password: "hashed-secret")), .success("bob"))
        XCTAssertEqual(users.authenticate(.password(user: "alice", password: "Plain-secret")), .failure(.wrongPassword))
        XCTAssertEqual(users.authenticate(.password(user: "carol", password: "x")), .failure(.unknownUser))
        XCTAssertEqual(users.authenticate(.token("v1.a.b")), .failure(.tokensDisabled))
        XCTAssertFalse(users.hasWellKnownPassword("alice"))
        XCTAssertTrue(UserDirectory(users: [("d", .password("changeme"))], tokenSecret: nil).hasWellKnownPassword("d"))
    }

    func testTokensCarryUserAndExpiryAndRefuseTampering() {
        let signer = LoginTokenSigner(secret: "sixteen-byte-key!")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let token = signer.sign(user: "alice", expires: now.addingTimeInterval(60))
        XCTAssertEqual(signer.verify(token, now: now), .success("alice"))
        XCTAssertEqual(signer.verify(token, now: now.addingTimeInterval(61)), .failure(.expiredToken))
        XCTAssertEqual(LoginTokenSigner(secret: "another-key-16by").verify(token, now: now), .failure(.badSignature))
        let parts = token.split(separator: ".")
        // Another user's payload under the same signature.
        let forged = "v1." + Data(#"{"user":"root","exp":1900000000}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "") + "." + parts[2]
        XCTAssertEqual(signer.verify(forged, now: now), .failure(.badSignature))
        for junk in ["", "v1", "v2.a.b", "v1.a", "v1.!!.b", String(repeating: "a", count: 5000)] {
            XCTAssertNotEqual(signer.verify(junk, now: now), .success("alice"), junk)
        }
        // A signed payload whose user name could not be configured is refused too.
        XCTAssertEqual(signer.verify(signer.sign(user: "a b", expires: now.addingTimeInterval(60)), now: now),
                       .failure(.malformedToken))
    }

    func testTheThrottleBlocksAfterFailuresWithinTheWindow() {
        let throttle = LoginThrottle(policy: .init(maximumFailures: 3, window: 60, blockDuration: 30))
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        throttle.recordFailure("192.0.2.1", now: t0)
        throttle.recordFailure("192.0.2.1", now: t0.addingTimeInterval(61))  // the first is out of the window
        throttle.recordFailure("192.0.2.1", now: t0.addingTimeInterval(62))
        XCTAssertFalse(throttle.isBlocked("192.0.2.1", now: t0.addingTimeInterval(62)))
        throttle.recordFailure("192.0.2.1", now: t0.addingTimeInterval(63))
        XCTAssertTrue(throttle.isBlocked("192.0.2.1", now: t0.addingTimeInterval(63)))
        XCTAssertFalse(throttle.isBlocked("192.0.2.2", now: t0.addingTimeInterval(63)), "per address")
        XCTAssertFalse(throttle.isBlocked("192.0.2.1", now: t0.addingTimeInterval(94)), "the block ends")
        let off = LoginThrottle(policy: .init(maximumFailures: 0))
        for _ in 0..<10 { off.recordFailure("192.0.2.3") }
        XCTAssertFalse(off.isBlocked("192.0.2.3"), "0 turns the limit off")
    }
}
