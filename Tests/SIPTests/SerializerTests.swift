// Serialization: the exact bytes written, Content-Length handling, and parse -> serialize ->
// parse round trips of the messages a gateway exchanges most.
import Testing
@testable import SIP

@Suite("Serializer") struct SerializerTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func requestBytesAreExact() {
        var headers = SIPHeaders()
        headers.add("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8")
        headers.add("Max-Forwards", "70")
        headers.add("To", "Bob <sip:bob@biloxi.example.com>")
        headers.add("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774")
        headers.add("Call-ID", "a84b4c76e66710")
        headers.add("CSeq", "314159 INVITE")
        headers.add("Content-Length", "999")  // replaced by the body's real length
        let request = SIPRequest(method: .invite, uri: SIPURI(user: "bob", host: "biloxi.example.com"),
                                 headers: headers, body: Array("v=0\r\n".utf8))
        #expect(text(request.bytes) == """
        INVITE sip:bob@biloxi.example.com SIP/2.0\r
        Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r
        Max-Forwards: 70\r
        To: Bob <sip:bob@biloxi.example.com>\r
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r
        Call-ID: a84b4c76e66710\r
        CSeq: 314159 INVITE\r
        Content-Length: 5\r
        \r
        v=0\r

        """)
    }

    @Test func responseBytesAreExact() {
        var headers = SIPHeaders()
        headers.add("v", "SIP/2.0/UDP h.example;branch=z9hG4bK1")
        headers.add("l", "12")
        let response = SIPResponse(statusCode: 404, headers: headers)
        #expect(text(response.bytes) == "SIP/2.0 404 Not Found\r\nv: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n")
        #expect(text(SIPResponse(statusCode: 100, reasonPhrase: "").bytes) == "SIP/2.0 100 \r\nContent-Length: 0\r\n\r\n")
        // A reason phrase cannot end the Status-Line early.
        #expect(text(SIPResponse(statusCode: 500, reasonPhrase: "a\r\nb").bytes).hasPrefix("SIP/2.0 500 a  b\r\n"))
    }

    @Test func serializeAppendsToABuffer() throws {
        let message = try parseSIPText(sampleInviteText)
        var out: [UInt8] = [0xAA]
        message.serialize(into: &out)
        #expect(out.first == 0xAA && Array(out.dropFirst()) == message.bytes)
        var empty: [UInt8] = []
        message.serialize(into: &empty)
        #expect(empty == message.bytes)
    }

    @Test func parsedMessagesAreWrittenBackAsReceived() throws {
        // A message already in canonical form comes out byte for byte.
        let wire = sampleInviteText.replacingOccurrences(of: "\n", with: "\r\n")
        let message = try SIPParser.parse(Array(wire.utf8))
        #expect(text(message.bytes) == wire)
    }

    static let typical: [String] = [
        sampleInviteText,
        """
        SIP/2.0 200 OK
        Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bKnashds8;received=192.0.2.3
        Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2
        Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds ;received=192.0.2.1
        Record-Route: <sip:server10.biloxi.example.com;lr>, <sip:bigbox3.site3.atlanta.example.com;lr>
        To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com
        CSeq: 314159 INVITE
        Contact: <sip:bob@192.0.2.4>
        Content-Type: application/sdp
        Content-Length: 10

        v=0
        s=-

        """,
        """
        REGISTER sips:ss2.biloxi.example.com SIP/2.0
        Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7
        Max-Forwards: 70
        From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl
        To: Bob <sips:bob@biloxi.example.com>
        Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
        CSeq: 1 REGISTER
        Contact: <sips:bob@client.biloxi.example.com>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"
        Authorization: Digest username="bob", realm="atlanta.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", uri="sips:ss2.biloxi.example.com", response="dfe56131d1958046689d83306477ecc"
        Content-Length: 0


        """,
        """
        BYE sip:alice@pc33.atlanta.example.com SIP/2.0
        Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKnashds10;rport
        Max-Forwards: 70
        Route: <sip:ss1.atlanta.example.com;lr>
        From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
        To: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710
        CSeq: 231 BYE
        Content-Length: 0


        """,
    ]

    @Test("parse, serialize, parse gives equal values", arguments: typical)
    func roundTrip(_ source: String) throws {
        let first = try parseSIPText(source)
        let second = try SIPParser.parse(first.bytes)
        #expect(second == first)
        #expect(second.bytes == first.bytes)
        #expect(second.headers.vias == first.headers.vias)
        #expect(second.headers.from == first.headers.from && second.headers.to == first.headers.to)
        #expect(second.headers.contacts == first.headers.contacts && second.headers.cseq == first.headers.cseq)
        #expect(second.headers.recordRoutes == first.headers.recordRoutes && second.headers.routes == first.headers.routes)
        if case .request(let a) = first, case .request(let b) = second {
            #expect(a.uri == b.uri && a.method == b.method)
        }
    }

    @Test func receivedFieldsAreCopiedAroundGapsAndEdits() throws {
        let wire = "OPTIONS sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\nl: 0\r\n"
            + "From: <sip:a@b.example>;tag=1\r\nX-Gone: bye\r\nTo:<sip:a@b.example>\r\nCall-ID: x\r\n"
            + "CSeq:  1 OPTIONS  \r\nX-Last: z\r\n\r\n"
        var message = try SIPParser.parse(Array(wire.utf8))
        message.headers.remove("X-Gone")
        message.headers.removeFirst("X-Last")
        message.headers.add("X-Added", "new")
        #expect(text(message.bytes) == "OPTIONS sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n"
            + "From: <sip:a@b.example>;tag=1\r\nTo: <sip:a@b.example>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
            + "X-Added: new\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func foldedAndCompactInputComesOutUnfolded() throws {
        let wsinv = try SIPParser.parse(try TortureVectors.bytes("rfc4475", "wsinv"))
        let written = text(wsinv.bytes)
        #expect(written.contains("NewFangledHeader: newfangled value continued newfangled value\r\n"))
        #expect(written.contains("Content-Length: 150\r\n\r\n"))
        #expect(!written.contains("\r\n "))
        let again = try SIPParser.parse(wsinv.bytes)
        #expect(again.headers.vias == wsinv.headers.vias && again.body == wsinv.body)
    }

    @Test func editedMessagesSerializeTheirEdits() throws {
        guard var request = try parseSIPText(sampleInviteText).request else { return }
        request.headers.insertFirst("Via", "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1")
        request.headers.set("Max-Forwards", "69")
        request.headers.remove("Supported")
        request.uri.parameters.remove("user")
        request.body = []
        let written = text(request.bytes)
        #expect(written.hasPrefix("INVITE sip:+15551234567@carrier.example.com SIP/2.0\r\nVia: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1\r\nVia: SIP/2.0/UDP"))
        #expect(written.contains("Max-Forwards: 69\r\n") && !written.contains("Supported"))
        #expect(written.hasSuffix("Content-Length: 0\r\n\r\n"))
        let reparsed = try #require(try SIPParser.parse(request.bytes).request)
        #expect(reparsed.headers.vias.count == 2 && reparsed.headers.maxForwards == 69)
    }

    @Test("value descriptions round trip", arguments: [
        "sip:alice@atlanta.example.com", "sips:bob:pw@[2001:db8::5]:5061;transport=tls;lr?h=1&j=2",
        "tel:+1-201-555-0123;ext=1", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "sip:[::ffff:192.0.2.1]",
    ])
    func uriRoundTrip(_ text: String) throws {
        let uri = try SIPURI.parse(text)
        #expect(uri.description == text)
        #expect(try SIPURI.parse(uri.description) == uri)
    }

    @Test("Via descriptions round trip", arguments: [
        "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
        "SIP/2.0/TCP [2001:db8::9:1]:5070;branch=z9hG4bK1;received=2001:db8::9:255;rport=5070",
        "SIP/2.0/WSS df7jal23ls0d.invalid;rport;branch=z9hG4bKx",
        "SIP/2.0/SCTP h.example;maddr=239.255.255.1;ttl=16;x=\"q,uoted\"",
    ])
    func viaRoundTrip(_ text: String) throws {
        let via = try Via.parse(text)
        #expect(via.description == text)
        #expect(try Via.parse(via.description) == via)
    }
}
