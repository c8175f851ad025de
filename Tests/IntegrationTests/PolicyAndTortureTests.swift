import Foundation
import Gateway
import SIP
import XCTest

/// What Tieline answers on a live UDP listener: strangers are refused
/// (no open relay), malformed requests get 400 with the reason, and the
/// RFC 4475 §3.3 application-level cases get the RFC's status codes.
final class PolicyAndTortureTests: XCTestCase {
    func invite(from probe: UDPProbe, to port: Int, fromUser: String = "mallory", callID: String = UUID().uuidString) -> [UInt8] {
        let text = """
        INVITE sip:+15551234567@127.0.0.1:\(port) SIP/2.0\r
        Via: SIP/2.0/UDP 127.0.0.1:\(probe.port);branch=z9hG4bK\(UUID().uuidString.prefix(8));rport\r
        Max-Forwards: 70\r
        From: <sip:\(fromUser)@127.0.0.1>;tag=abc123\r
        To: <sip:+15551234567@127.0.0.1>\r
        Call-ID: \(callID)\r
        CSeq: 1 INVITE\r
        Contact: <sip:\(fromUser)@127.0.0.1:\(probe.port)>\r
        Content-Length: 0\r
        \r

        """
        return Array(text.utf8)
    }

    func testInviteFromAnUnknownSourceIsRefusedWith403() async throws {
        // The only trunk may send from 127.0.0.9; our probe sends from 127.0.0.1.
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999, allowedSources: ["127.0.0.9"])])
        let probe = try UDPProbe()
        probe.send(invite(from: probe, to: fixture.udpPort), toPort: fixture.udpPort)
        let response = probe.receiveFinalStatus(timeout: 5)
        XCTAssertEqual(response?.code, 403, response?.text ?? "no response")
        let statistics = await fixture.gateway.currentStatistics
        XCTAssertEqual(statistics.inboundAnswered, 0)
        await fixture.assertNothingLeft()
        await fixture.stop()
    }

    func testAConfiguredUserFromAnUnknownSourceIsChallengedNotServed() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999, allowedSources: ["127.0.0.9"])])
        let probe = try UDPProbe()
        probe.send(invite(from: probe, to: fixture.udpPort, fromUser: "alice"), toPort: fixture.udpPort)
        let response = probe.receiveFinalStatus(timeout: 5)
        XCTAssertEqual(response?.code, 407, response?.text ?? "no response")
        XCTAssertTrue(response?.text.contains("Proxy-Authenticate: Digest") ?? false)
        await fixture.stop()
    }

    func testOptionsKeepaliveFromATrunkGets200() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let probe = try UDPProbe()
        let options = """
        OPTIONS sip:127.0.0.1:\(fixture.udpPort) SIP/2.0\r
        Via: SIP/2.0/UDP 127.0.0.1:\(probe.port);branch=z9hG4bKopt1\r
        Max-Forwards: 70\r
        From: <sip:keepalive@127.0.0.1>;tag=k1\r
        To: <sip:127.0.0.1>\r
        Call-ID: options-keepalive-1\r
        CSeq: 1 OPTIONS\r
        Content-Length: 0\r
        \r

        """
        probe.send(Array(options.utf8), toPort: fixture.udpPort)
        let response = probe.receiveFinalStatus(timeout: 5)
        XCTAssertEqual(response?.code, 200, response?.text ?? "no response")
        XCTAssertTrue(response?.text.contains("Allow: INVITE") ?? false)
        await fixture.stop()
    }

    /// RFC 4475 messages sent on the wire, with what Tieline must answer.
    func testTortureMessagesGetTheStatusTheRFCAsksFor() async throws {
        let fixture = try await GatewayFixture(trunks: [TrunkSpec(port: 5999)])
        let expectations: [(file: String, code: Int, reasonContains: String?)] = [
            ("badinv01", 400, nil), ("clerr", 400, "Content-Length"), ("ncl", 400, "Content-Length"),
            ("scalar02", 400, nil), ("quotbal", 400, nil), ("ltgtruri", 400, nil), ("lwsruri", 400, nil),
            ("lwsstart", 400, nil), ("trws", 400, nil), ("escruri", 400, nil), ("badaspec", 400, nil),
            ("baddn", 400, nil), ("badvers", 505, nil), ("mismatch01", 400, "CSeq"),
            ("insuf", 400, nil), ("multi01", 400, nil), ("mcl01", 400, nil),
            ("unkscm", 416, nil), ("novelsc", 416, nil), ("bext01", 420, nil), ("invut", 415, nil),
            // §3.3.11: an endpoint processes Max-Forwards: 0 as if it were positive.
            ("zeromf", 200, nil),
        ]
        for expectation in expectations {
            let path = rfc4475Path(expectation.file)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let probe = try UDPProbe()
            // The vectors name hosts that do not exist; responses go to the
            // source address because we add rport to the top Via.
            bytes = addRport(bytes)
            // Several vectors share a branch; a fresh one per message keeps
            // each from matching the previous one's transaction.
            bytes = Array(String(decoding: bytes, as: UTF8.self)
                .replacingOccurrences(of: "branch=z9hG4bK", with: "branch=z9hG4bK\(expectation.file)").utf8)
            probe.send(bytes, toPort: fixture.udpPort)
            let response = probe.receiveFinalStatus(timeout: 3)
            XCTAssertEqual(response?.code, expectation.code, "\(expectation.file): \(response?.text.prefix(200) ?? "no response")")
            if let needle = expectation.reasonContains {
                let statusLine = response?.text.prefix { $0 != "\r" } ?? ""
                XCTAssertTrue(statusLine.contains(needle), "\(expectation.file): reason '\(statusLine)' lacks '\(needle)'")
            }
        }
        // The gateway is still serving after all of that.
        let probe = try UDPProbe()
        probe.send(invite(from: probe, to: fixture.udpPort), toPort: fixture.udpPort)
        XCTAssertNotNil(probe.receiveFinalStatus(timeout: 5))
        await fixture.stop()
    }

    /// Inserts `;rport` after the top Via's sent-by so the answer comes back to us.
    func addRport(_ bytes: [UInt8]) -> [UInt8] {
        var text = String(decoding: bytes, as: UTF8.self)
        for marker in ["\r\nVia: ", "\r\nv: ", "\r\nVia:", "\r\nVIA: ", "\r\nv:"] {
            guard let range = text.range(of: marker) else { continue }
            let rest = text[range.upperBound...]
            let lineEnd = rest.range(of: "\r\n")?.lowerBound ?? text.endIndex
            let cut = rest[..<lineEnd].firstIndex(where: { $0 == ";" || $0 == "," }) ?? lineEnd
            text.insert(contentsOf: ";rport", at: cut)
            return Array(text.utf8)
        }
        return bytes
    }

    func rfc4475Path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SIPTests/Vectors/rfc4475/\(name).dat").path
    }
}
