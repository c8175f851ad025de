// Shared helpers for the message-layer tests: loading the torture vectors and parsing text.
// Names are specific on purpose: the SIPTests module is shared with other layers' tests.
import TestSupport
import Foundation
import Testing
@testable import SIP

enum TortureVectors {
    /// The bytes of Vectors/<set>/<name>.dat, exactly as stored.
    static func bytes(_ set: String, _ name: String) throws -> [UInt8] {
        let root = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        let url = root.appendingPathComponent(set).appendingPathComponent(name + ".dat")
        return Array(try Data(contentsOf: url))
    }

    /// Every .dat name in a vector set, sorted.
    static func names(_ set: String) throws -> [String] {
        let root = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(set).path)
        return files.filter { $0.hasSuffix(".dat") }.map { String($0.dropLast(4)) }.sorted()
    }
}

/// Parses text whose lines end in "\n", sending CRLF as SIP requires.
func parseSIPText(_ text: String) throws(SIPParseError) -> SIPMessage {
    try SIPParser.parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
}

/// The reason a parse fails with, or nil when it succeeds.
func sipParseFailure(_ bytes: [UInt8]) -> SIPParseError? {
    do throws(SIPParseError) {
        _ = try SIPParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}


/// A typical INVITE with SDP, the shape the gateway sends and receives most.
let sampleInviteText = """
INVITE sip:+15551234567@carrier.example.com;user=phone SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport
Max-Forwards: 70
To: <sip:+15551234567@carrier.example.com;user=phone>
From: "Alice Example" <sip:alice@gateway.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@gateway.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@192.0.2.10:5060;transport=udp>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS
Supported: replaces, timer
Content-Type: application/sdp
Content-Length: 37

v=0
o=- 1 1 IN IP4 192.0.2.10
s=-

"""
