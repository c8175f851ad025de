// The message parser: start lines, header sections, bodies and Content-Length, and the reasons
// it gives for what it rejects.
import Testing
@testable import SIP

@Suite("Message parser") struct MessageParserTests {
    /// A request around the given start line and extra fields, with the mandatory fields present.
    private func request(_ startLine: String = "INVITE sip:bob@biloxi.example.com SIP/2.0",
                         cseq: String = "1 INVITE", extra: String = "", body: String = "") -> [UInt8] {
        var text = startLine + "\r\n"
        text += "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
        text += "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        text += "To: Bob <sip:bob@biloxi.example.com>\r\n"
        text += "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        text += "CSeq: \(cseq)\r\n"
        for line in extra.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            text += line + "\r\n"
        }
        return Array((text + "\r\n" + body).utf8)
    }

    private func reason(_ bytes: [UInt8]) -> String? { sipParseFailure(bytes)?.reason }

    @Test func typicalInvite() throws {
        let r = try #require(try parseSIPText(sampleInviteText).request)
        #expect(r.method == .invite)
        #expect(r.uri.user == "+15551234567" && r.uri.parameters.value("user") == "phone")
        #expect(r.headers.count == 11)
        #expect(r.headers.topVia?.hasRport == true && r.headers.topVia?.port == 5060)
        #expect(r.headers.from?.displayName == "Alice Example")
        #expect(r.headers.to?.tag == nil)
        #expect(r.headers.all("Allow").count == 5)
        #expect(r.body == Array("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n".utf8))
    }

    @Test func rawBufferAndArrayEntryPointsAgree() throws {
        let bytes = Array(sampleInviteText.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let fromArray = try SIPParser.parse(bytes)
        let fromBuffer = try bytes.withUnsafeBytes { raw in try SIPParser.parse(raw) }
        #expect(fromArray == fromBuffer)
    }

    @Test func responses() throws {
        let ok = try #require(try parseSIPText("""
        SIP/2.0 180 Ringing
        Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1
        To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710
        CSeq: 314159 INVITE
        Content-Length: 0


        """).response)
        #expect(ok.statusCode == 180 && ok.reasonPhrase == "Ringing" && ok.isProvisional && !ok.isFinal)
        #expect(ok.headers.cseq?.method == .invite && ok.headers.to?.tag == "a6c85cf")
        #expect(try parseSIPText("SIP/2.0 603 Decline Because I Said So\nv: SIP/2.0/UDP h\nf: <sip:a@b>\nt: <sip:a@b>\ni: x\nCSeq: 1 BYE\n\n")
            .response?.reasonPhrase == "Decline Because I Said So")
        // A Status-Line without the space before an empty phrase is tolerated.
        #expect(try parseSIPText("SIP/2.0 100\nv: SIP/2.0/UDP h\nf: <sip:a@b>\nt: <sip:a@b>\ni: x\nCSeq: 1 BYE\n\n")
            .response?.reasonPhrase == "")
    }

    @Test func responseCSeqNeedNotMatchAnything() throws {
        let response = "SIP/2.0 200 OK\nv: SIP/2.0/UDP h\nf: <sip:a@b>\nt: <sip:a@b>\ni: x\nCSeq: 4294967295 NEWTHING\n\n"
        #expect(try parseSIPText(response).headers.cseq?.sequence == UInt32.max)
    }

    @Test("bad status lines", arguments: [
        ("SIP/2.0 99 Too Low", "Invalid status code"), ("SIP/2.0 700 Too High", "Invalid status code"),
        ("SIP/2.0 2000 OK", "Invalid status code"), ("SIP/2.0 20 OK", "Invalid status code"),
        ("SIP/2.0 2x0 OK", "Invalid status code"), ("SIP/2.0 200OK", "Invalid status code"),
        ("SIP/2.1 200 OK", "SIP version not supported"), ("SIP/2.0", "Malformed Status-Line"),
    ])
    func badStatusLine(line: String, reason: String) throws {
        let error = try #require(sipParseFailure(Array((line + "\r\nVia: SIP/2.0/UDP h\r\n\r\n").utf8)))
        #expect(error.reason == reason)
        #expect(error.request == nil)
    }

    @Test("bad request lines", arguments: [
        ("INVITE  sip:a@b.example SIP/2.0", "Extra spaces in Request-Line"),
        ("INVITE sip:a@b.example  SIP/2.0", "Extra spaces in Request-Line"),
        ("INVITE sip:a@b.example SIP/2.0 ", "Trailing whitespace in Request-Line"),
        ("INVITE sip:a@b.example SIP/2.0\t", "Trailing whitespace in Request-Line"),
        ("INVITE sip:a@b.example; lr SIP/2.0", "Whitespace in Request-URI"),
        ("INVITE sip:a@b.example\tSIP/2.0", "Malformed Request-Line"),
        ("INVITE <sip:a@b.example> SIP/2.0", "Request-URI enclosed in <>"),
        ("INVITE sip:a@b.example SIP/3.0", "SIP version not supported"),
        ("INVITE sip:a@b.example HTTP/1.1", "Malformed Request-Line"),
        ("INVITE sip:a@b.example", "Malformed Request-Line"),
        ("INVITE sip:a@b.example?Subject=x SIP/2.0", "Headers not allowed in Request-URI"),
        ("INVITE sip:a@ SIP/2.0", "Invalid Request-URI"),
        ("INVITE sip:a@b.example sip/2.0", "Valid"),
    ])
    func badRequestLine(line: String, expected: String) {
        #expect((reason(request(line)) ?? "Valid") == expected)
    }

    @Test func unreadableStartLinesCarryNoRequest() {
        for line in ["", " INVITE sip:a@b SIP/2.0", "INVITE", "@@@ sip:a@b SIP/2.0", "INVITE\tsip:a@b SIP/2.0"] {
            let error = sipParseFailure(request(line))
            #expect(error?.reason == "Malformed start line", "\(line)")
            #expect(error?.request == nil)
        }
        #expect(reason([]) == "Empty message")
        #expect(reason(Array("\r\n\r\n".utf8)) == "Empty message")
        #expect(reason(Array("INVITE sip:a@b SIP/2.0".utf8)) == "Incomplete start line")
    }

    @Test func leadingLineBreaksAreIgnored() throws {
        #expect(try SIPParser.parse(Array("\r\n\r\n".utf8) + request()).request?.method == .invite)
    }

    @Test func missingAndRepeatedMandatoryFields() {
        let noVia = Array("OPTIONS sip:a@b SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n".utf8)
        #expect(reason(noVia) == "Missing Via header field")
        let bare = Array("OPTIONS sip:a@b SIP/2.0\r\n\r\n".utf8)
        #expect(reason(bare) == "Missing header fields: Via, From, To, Call-ID, CSeq")
        #expect(reason(request(cseq: "1 INVITE", extra: "i: other")) == "Multiple values for Call-ID")
        #expect(reason(request(extra: "Max-Forwards: 70\nMax-Forwards: 69")) == "Multiple values for Max-Forwards")
        #expect(reason(request(extra: "l: 0\nContent-Length: 0")) == "Multiple values for Content-Length")
    }

    @Test("field values the parser checks", arguments: [
        ("Max-Forwards: 256", "Invalid Max-Forwards"), ("Max-Forwards: -1", "Invalid Max-Forwards"),
        ("Max-Forwards: 7 0", "Invalid Max-Forwards"), ("Max-Forwards: 0", "Valid"),
        ("Content-Length: 1x", "Invalid Content-Length"), ("Content-Length: ", "Invalid Content-Length"),
        ("Content-Length: 5", "Content-Length larger than message"),
        ("Content-Length: 99999999999999999999999", "Content-Length larger than message"),
        ("Contact: <sip:a@b.example>, bad", "Invalid Contact"), ("Contact: *", "Valid"),
        ("Contact: *\nContact: <sip:a@b.example>", "Invalid Contact"), ("Contact: <sip:a@b>,", "Invalid Contact"),
        ("Route: <sip:p.example;lr>, <sip:q.example;lr>", "Valid"), ("Route: sip:p.example?x=y", "Invalid Route"),
        ("Record-Route: <sip:p.example;lr", "Invalid Record-Route"),
        ("Date: Sat, 13 Nov 2010 23:29:00 GMT", "Valid"), ("Date: Sat, 13 Nov 2010 23:29:00 PST", "Invalid Date"),
        ("Date: Sat, 13 Nov 10 23:29:00 GMT", "Invalid Date"),
        ("Expires: 99999999999999999999999999", "Valid"), ("X-Anything: \"unbalanced", "Valid"),
    ])
    func checkedValue(field: String, expected: String) {
        #expect((reason(request(extra: field)) ?? "Valid") == expected)
    }

    @Test("mandatory field values", arguments: [
        ("Via", "SIP/2.0/UDP a.example;branch=z9hG4bK1,", "Invalid Via"),
        ("Via", "SIP/2.0/UDP", "Invalid Via"),
        ("From", "sip:a@b.example;tag=1, sip:c@d.example", "Invalid From"),
        ("From", "<sip:a@b.example>;tag", "Valid"),
        ("To", "\"open <sip:a@b.example>", "Invalid To"),
        ("Call-ID", "has space", "Invalid Call-ID"), ("Call-ID", "a@b@c", "Invalid Call-ID"),
        ("Call-ID", "@b", "Invalid Call-ID"), ("Call-ID", "", "Invalid Call-ID"),
        ("CSeq", "2147483648 INVITE", "CSeq number too large"), ("CSeq", "2147483647 INVITE", "Valid"),
        ("CSeq", "1 invite", "CSeq method does not match request method"), ("CSeq", "1", "Invalid CSeq"),
    ])
    func mandatoryValue(name: String, value: String, expected: String) {
        var text = "INVITE sip:b@c.example SIP/2.0\r\n"
        for (field, normal) in [("Via", "SIP/2.0/UDP h.example;branch=z9hG4bK1"), ("From", "<sip:a@b.example>;tag=1"),
                                ("To", "<sip:b@c.example>"), ("Call-ID", "x@y"), ("CSeq", "1 INVITE")] {
            text += "\(field): \(field == name ? value : normal)\r\n"
        }
        #expect((reason(Array((text + "\r\n").utf8)) ?? "Valid") == expected)
    }

    @Test func errorsCarryTheWholeHeaderSection() throws {
        let bytes = request(cseq: "1 BYE", extra: "Max-Forwards: 70\nX-Later: still read")
        let error = try #require(sipParseFailure(bytes))
        #expect(error.reason == "CSeq method does not match request method")
        let r = try #require(error.request)
        #expect(r.method == .invite && r.uri.user == "bob")
        #expect(r.headers["X-Later"] == "still read" && r.headers.count == 7)
        #expect(r.body.isEmpty)
    }

    @Test func malformedHeaderLines() throws {
        #expect(reason(request(extra: "NoColonHere")) == "Malformed header field")
        #expect(reason(request(extra: ": no name")) == "Malformed header field")
        #expect(reason(request(extra: "Bad Name: x")) == "Malformed header field")
        let error = try #require(sipParseFailure(request(extra: "Bad Name: x\nX-After: kept")))
        #expect(error.request?.headers["X-After"] == "kept")
        let folded = Array("OPTIONS sip:a@b SIP/2.0\r\n continued\r\n\r\n".utf8)
        #expect(reason(folded) == "Folded line without a header field")
        #expect(reason(Array("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n".utf8))
            == "Message ends before the blank line after the header fields")
        #expect(reason(Array("OPTIONS sip:a@b SIP/2.0\r\nX-A: a\rb\r\n\r\n".utf8)) == "Bare CR in header field")
    }

    @Test func foldingAndWhitespace() throws {
        let text = "OPTIONS sip:a@b.example SIP/2.0\r\nVia  :\tSIP/2.0/UDP h.example\r\n  ;branch=z9hG4bK1 \r\n"
            + "From:<sip:a@b.example>;tag=1\r\nTo:   \r\n\t<sip:a@b.example>\r\n \r\nCall-ID: x\r\n"
            + "CSeq: 1\r\n OPTIONS\r\nX-Empty:\r\n\r\n"
        let r = try #require(try SIPParser.parse(Array(text.utf8)).request)
        #expect(r.headers.first("Via") == "SIP/2.0/UDP h.example ;branch=z9hG4bK1")
        #expect(r.headers.topVia?.branch == "z9hG4bK1")
        #expect(r.headers["To"] == "<sip:a@b.example>")
        #expect(r.headers.cseq == CSeq(sequence: 1, method: .options))
        #expect(r.headers["X-Empty"] == "")
        #expect(r.headers.map(\.name) == ["Via", "From", "To", "Call-ID", "CSeq", "X-Empty"])
    }

    @Test func bareLineFeedsAreAccepted() throws {
        let text = "OPTIONS sip:a@b.example SIP/2.0\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\nFrom: <sip:a@b.example>;tag=1\n"
            + "To: <sip:a@b.example>\nCall-ID: x\nCSeq: 1 OPTIONS\nX-Fold: a\n folded\nContent-Length: 4\n\nv=0\n"
        let r = try #require(try SIPParser.parse(Array(text.utf8)).request)
        #expect(r.headers.callID == "x" && r.headers["X-Fold"] == "a folded")
        #expect(r.body == Array("v=0\n".utf8))
    }

    @Test func bodiesAndContentLength() throws {
        let body = "hello, world"
        let exact = try SIPParser.parse(request(extra: "Content-Length: 12", body: body))
        #expect(exact.body == Array(body.utf8))
        let shorter = try SIPParser.parse(request(extra: "l: 5", body: body))
        #expect(shorter.body == Array("hello".utf8))
        let absent = try SIPParser.parse(request(body: body))
        #expect(absent.body == Array(body.utf8))
        let zero = try SIPParser.parse(request(extra: "Content-Length: 0", body: body))
        #expect(zero.body.isEmpty)
        let binary: [UInt8] = [0, 13, 10, 13, 10, 255, 0x80]
        let withBinary = try SIPParser.parse(Array(request(extra: "Content-Length: 7").dropLast(0)) + binary)
        #expect(withBinary.body == binary)
    }

    @Test func rawHeaderTextSurvivesEvenWhenNotUTF8() throws {
        let bytes = Array(request(extra: "X-Latin1: caf").dropLast(4)) + [0xE9] + Array("\r\n\r\n".utf8)
        let message = try SIPParser.parse(bytes)
        #expect(message.headers["X-Latin1"] == "caf\u{FFFD}")
        // Re-serialized byte for byte, though reading it as a String had to repair it.
        #expect(message.bytes.contains(0xE9))
    }

    @Test func messageAccessors() throws {
        var message = try SIPParser.parse(request(body: "x"))
        #expect(message.request != nil && message.response == nil && message.body == [0x78])
        message.body = [1, 2]
        message.headers.add("X-New", "1")
        #expect(message.request?.body == [1, 2] && message.request?.headers["X-New"] == "1")
        var response = SIPMessage.response(SIPResponse(statusCode: 200))
        response.headers.add("X", "y")
        response.body = [3]
        #expect(response.response?.headers["X"] == "y" && response.body == [3] && response.request == nil)
    }

    @Test func defaultReasonPhrases() {
        #expect(SIPResponse(statusCode: 200).reasonPhrase == "OK")
        #expect(SIPResponse(statusCode: 486).reasonPhrase == "Busy Here")
        #expect(SIPResponse(statusCode: 487).reasonPhrase == "Request Terminated")
        #expect(SIPResponse(statusCode: 599).reasonPhrase == "Server Error")
        #expect(SIPResponse(statusCode: 299, reasonPhrase: "Custom").reasonPhrase == "Custom")
        #expect(SIPResponse.defaultReasonPhrase(183) == "Session Progress")
        #expect(SIPResponse.defaultReasonPhrase(42) == "Unknown")
    }
}
