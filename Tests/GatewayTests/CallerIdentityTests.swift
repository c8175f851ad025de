// What a trunk learns of the caller (RFC 3323 privacy, RFC 3325 asserted
// identity), by what the INVITE's parameters carry.
import SIP
import XCTest
@testable import Gateway

final class CallerIdentityTests: XCTestCase {
    private func parameters() -> OutgoingInvite.Parameters {
        let uri = SIPURI(scheme: "sip", user: "+15551234567", host: "trunk.example.net")
        return OutgoingInvite.Parameters(
            requestURI: uri, from: NameAddress(uri: SIPURI(scheme: "sip", user: "+15550100", host: "gw.example.org")),
            to: NameAddress(uri: uri),
            destination: SIPEndpoint(transport: .udp, address: try! .init(ipAddress: "192.0.2.1", port: 5060)))
    }

    private func header(_ name: String, in parameters: OutgoingInvite.Parameters) -> String? {
        parameters.headers.first { $0.0 == name }?.1
    }

    func testATrustedTrunkGetsTheAssertedIdentity() {
        var invite = parameters()
        invite.present(callerName: "Reception", privacy: false, asserted: true)
        XCTAssertEqual(header("P-Asserted-Identity", in: invite), "Reception <sip:+15550100@gw.example.org>")
        XCTAssertEqual(invite.from.displayName, "Reception")
        XCTAssertNil(header("Privacy", in: invite))
    }

    func testWithheldTheTrustedTrunkStillLearnsItButFromIsAnonymous() {
        var invite = parameters()
        invite.present(callerName: "Reception", privacy: true, asserted: true)
        XCTAssertEqual(invite.from.description, "Anonymous <sip:anonymous@anonymous.invalid>")
        XCTAssertEqual(header("P-Asserted-Identity", in: invite), "Reception <sip:+15550100@gw.example.org>")
        XCTAssertEqual(header("Privacy", in: invite), "id")
    }

    func testAnUntrustedTrunkLearnsNothingWhenWithheld() {
        var invite = parameters()
        invite.present(callerName: "Reception", privacy: true, asserted: false)
        XCTAssertEqual(invite.from.uri.user, "anonymous")
        XCTAssertNil(header("P-Asserted-Identity", in: invite))
        XCTAssertFalse(invite.headers.contains { $0.1.contains("+15550100") || $0.1.contains("Reception") })
    }

    func testAnUntrustedTrunkSeesFromOnly() {
        var invite = parameters()
        invite.present(callerName: nil, privacy: false, asserted: false)
        XCTAssertEqual(invite.from.uri.user, "+15550100")
        XCTAssertTrue(invite.headers.isEmpty)
    }
}
