import Config
import SIP
import XCTest
@testable import Gateway

/// Where a trunk's INVITE names the number it is for (`CalledNumber`).
final class CalledNumberTests: XCTestCase {
    let ours: Set<String> = ["tieline", "tl-carrier"]

    func invite(uri: String, to: String, extra: [(String, String)] = []) throws -> SIPRequest {
        var text = "INVITE \(uri) SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
        text += "From: <sip:15550001@127.0.0.1>;tag=a\r\nTo: \(to)\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
        for (name, value) in extra { text += "\(name): \(value)\r\n" }
        text += "Content-Length: 0\r\n\r\n"
        guard case .request(let request) = try SIPParser.parse(Array(text.utf8)) else { throw XCTSkip("not a request") }
        return request
    }

    func testRequestURIUserIsTheDIDOnAPlainTrunk() throws {
        let request = try invite(uri: "sip:+15550100@127.0.0.1", to: "<sip:+15550199@carrier>")
        XCTAssertEqual(CalledNumber.find(in: request, source: .requestURI, ourContactUsers: ours), "+15550100")
    }

    func testRetargetToOurRegistrationContactReadsTo() throws {
        // RFC 3261 §16.6 step 2: the registrar put our contact in the Request-URI.
        let request = try invite(uri: "sip:tl-carrier@127.0.0.1:5080", to: "<sip:15550100@registrar.example>")
        XCTAssertEqual(CalledNumber.find(in: request, source: .requestURI, ourContactUsers: ours), "15550100")
        let plain = try invite(uri: "sip:tieline@127.0.0.1", to: "\"Sales\" <sip:15550101@registrar.example>;tag=x")
        XCTAssertEqual(CalledNumber.find(in: plain, source: .requestURI, ourContactUsers: ours), "15550101")
    }

    func testToWhenConfigured() throws {
        let request = try invite(uri: "sip:+15550100@127.0.0.1", to: "<sip:15550177@carrier>")
        XCTAssertEqual(CalledNumber.find(in: request, source: .to, ourContactUsers: ours), "15550177")
    }

    func testHeadersWhenConfiguredAndPresent() throws {
        let pcpid = try invite(uri: "sip:tl-carrier@127.0.0.1", to: "<sip:x@carrier>",
                               extra: [("P-Called-Party-ID", "<sip:+15550123@ims.example>")])
        XCTAssertEqual(CalledNumber.find(in: pcpid, source: .pCalledPartyID, ourContactUsers: ours), "+15550123")
        // History-Info: the first entry is the number first called (RFC 7044).
        let history = try invite(uri: "sip:tl-carrier@127.0.0.1", to: "<sip:x@carrier>", extra: [
            ("History-Info", "<sip:15550100@carrier;cause=302>;index=1, <sip:15550999@carrier>;index=1.1"),
        ])
        XCTAssertEqual(CalledNumber.find(in: history, source: .historyInfo, ourContactUsers: ours), "15550100")
        // Diversion: the last entry is the original (RFC 5806), over two header lines.
        let diversion = try invite(uri: "sip:tl-carrier@127.0.0.1", to: "<sip:x@carrier>", extra: [
            ("Diversion", "<sip:15550888@carrier>;reason=unconditional"),
            ("Diversion", "\"Front, Desk\" <sip:15550100@carrier>;reason=no-answer"),
        ])
        XCTAssertEqual(CalledNumber.find(in: diversion, source: .diversion, ourContactUsers: ours), "15550100")
        // Missing header: the Request-URI rule, then To.
        let missing = try invite(uri: "sip:tl-carrier@127.0.0.1", to: "<sip:15550100@carrier>")
        XCTAssertEqual(CalledNumber.find(in: missing, source: .pCalledPartyID, ourContactUsers: ours), "15550100")
    }

    func testConfigReadsCalledNumberAndRegistrationContact() throws {
        let yaml = """
        trunks:
          - name: carrier
            address: 127.0.0.1
            username: tieline
            register: true
            called_number: p-called-party-id
        """
        let trunk = try XCTUnwrap(ConfigLoader.load(yaml: yaml, file: "test.yaml", environment: [:]).trunk(named: "carrier"))
        XCTAssertEqual(trunk.calledNumber, .pCalledPartyID)
        XCTAssertEqual(trunk.registrationContactUser, "tl-carrier")
        let bad = yaml.replacingOccurrences(of: "p-called-party-id", with: "somewhere")
        XCTAssertThrowsError(try ConfigLoader.load(yaml: bad, file: "test.yaml", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("called_number"), "\(error)")
        }
    }
}
