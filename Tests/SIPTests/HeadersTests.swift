// SIPHeaders: ordered fields, case-insensitive and compact-form lookups, comma lists, editing,
// typed accessors and equality.
import Testing
@testable import SIP

@Suite("Header fields") struct HeadersTests {
    private func parsedHeaders(_ fields: String) throws -> SIPHeaders {
        let text = """
        OPTIONS sip:a@example.com SIP/2.0
        Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1
        From: <sip:b@example.com>;tag=1
        To: <sip:a@example.com>
        Call-ID: c1
        CSeq: 1 OPTIONS
        \(fields)


        """
        return try parseSIPText(text).headers
    }

    @Test func compactAndLongFormsMeetInLookups() {
        let compact: [(String, String)] = [
            ("v", "Via"), ("f", "From"), ("t", "To"), ("i", "Call-ID"), ("m", "Contact"), ("l", "Content-Length"),
            ("c", "Content-Type"), ("e", "Content-Encoding"), ("k", "Supported"), ("s", "Subject"), ("o", "Event"),
            ("r", "Refer-To"), ("b", "Referred-By"), ("u", "Allow-Events"), ("x", "Session-Expires"),
        ]
        for (short, long) in compact {
            var headers = SIPHeaders()
            headers.add(short.uppercased(), "value")
            #expect(headers.first(long) == "value", "\(short)")
            #expect(headers.first(long.uppercased()) == "value", "\(short)")
            #expect(headers[short] == "value", "\(short)")
            #expect(headers.contains(long.lowercased()), "\(short)")
        }
    }

    @Test func unknownNamesAreCaseInsensitive() {
        var headers = SIPHeaders()
        headers.add("X-Custom-Thing", "1")
        headers.add("x-custom-thing", "2")
        #expect(headers.first("X-CUSTOM-THING") == "1")
        #expect(headers.all("x-Custom-thing") == ["1", "2"])
        #expect(!headers.contains("X-Custom"))
        #expect(headers.first("X") == nil)
    }

    @Test func listHeadersSplitOutsideQuotesAndBrackets() throws {
        let headers = try parsedHeaders("""
        Contact: "Doe, John" <sip:j,x@a.example;x=1>;q=0.5, <sip:k@b.example>
        Contact: sip:l@c.example
        Allow: INVITE,ACK , BYE,,
        Warning: 307 isi.edu "Session parameter 'foo' not understood", 301 isi.edu "Incompatible, network"
        WWW-Authenticate: Digest realm="atlanta.example.com", qop="auth", nonce="84a4cc6f"
        Subject: one, two
        """)
        #expect(headers.all("Contact") == [#""Doe, John" <sip:j,x@a.example;x=1>;q=0.5"#, "<sip:k@b.example>",
                                           "sip:l@c.example"])
        #expect(headers.first("Contact") == #""Doe, John" <sip:j,x@a.example;x=1>;q=0.5"#)
        #expect(headers.all("allow") == ["INVITE", "ACK", "BYE"])
        #expect(headers.all("Warning").count == 2)
        // Authentication headers and other non-list headers are returned per field, unsplit.
        #expect(headers.all("WWW-Authenticate") == [#"Digest realm="atlanta.example.com", qop="auth", nonce="84a4cc6f""#])
        #expect(headers["Subject"] == "one, two")
        let contacts = headers.contacts
        #expect(contacts.map(\.uri.user) == ["j,x", "k", "l"])
        #expect(contacts.first?.displayName == "Doe, John" && contacts.first?.parameters.value("q") == "0.5")
    }

    @Test func everyListHeaderSplits() {
        for name in ["Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require",
                     "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding",
                     "Allow-Events", "In-Reply-To", "Warning", "Path", "Service-Route", "P-Asserted-Identity"] {
            var headers = SIPHeaders()
            headers.add(name, "a, b")
            #expect(headers.all(name) == ["a", "b"], "\(name)")
            #expect(headers.first(name) == "a", "\(name)")
        }
        for name in ["Authorization", "Proxy-Authenticate", "Proxy-Authorization", "Subject", "Date", "X-Other"] {
            var headers = SIPHeaders()
            headers.add(name, "a, b")
            #expect(headers.all(name) == ["a, b"], "\(name)")
        }
    }

    @Test func editingKeepsOrder() {
        var headers: SIPHeaders = ["Via": "v1", "From": "f", "Route": "r1", "Route": "r2", "To": "t"]
        #expect(headers.count == 5)
        headers.set("route", "r3")
        #expect(headers.map(\.name) == ["Via", "From", "route", "To"])
        #expect(headers.all("Route") == ["r3"])
        headers.set("Max-Forwards", "70")
        #expect(headers.map(\.name).last == "Max-Forwards")
        headers.insertFirst("Via", "v0")
        #expect(headers.all("v") == ["v0", "v1"])
        #expect(headers.map(\.value).first == "v0")
        headers.remove("VIA")
        #expect(!headers.contains("Via") && headers.count == 4)
        headers.remove("Not-There")
        #expect(headers.count == 4)
    }

    @Test func removeFirstPopsOneValue() {
        var headers = SIPHeaders()
        headers.add("Via", "SIP/2.0/UDP a.example;branch=z9hG4bK1 , SIP/2.0/UDP b.example;branch=z9hG4bK2,SIP/2.0/TCP c.example")
        headers.add("v", "SIP/2.0/UDP d.example")
        headers.removeFirst("Via")
        #expect(headers.first("Via") == "SIP/2.0/UDP b.example;branch=z9hG4bK2")
        #expect(headers.vias.map(\.host) == ["b.example", "c.example", "d.example"])
        headers.removeFirst("Via")
        headers.removeFirst("Via")
        #expect(headers.count == 1 && headers.vias.map(\.host) == ["d.example"])
        headers.removeFirst("Via")
        #expect(headers.count == 0 && headers.topVia == nil)
        headers.removeFirst("Via")

        // Not a list header: the whole field goes even if it holds a comma.
        headers.add("Subject", "a, b")
        headers.removeFirst("Subject")
        #expect(headers.count == 0)
    }

    @Test func lineBreaksCannotBeInjected() {
        var headers = SIPHeaders()
        headers.add("Subject", "hello\r\nVia: SIP/2.0/UDP evil.example")
        headers.set("X-A", "b\nc")
        headers.insertFirst("X-B", "d\re")
        #expect(headers["Subject"] == "hello  Via: SIP/2.0/UDP evil.example")
        #expect(headers["X-A"] == "b c" && headers["X-B"] == "d e")
        let request = SIPRequest(method: .options, uri: SIPURI(host: "example.com"), headers: headers)
        let text = String(decoding: request.bytes, as: UTF8.self)
        #expect(text.components(separatedBy: "\r\n").count == 7)  // start line, 3 fields, Content-Length, blank
    }

    @Test func typedAccessors() throws {
        let headers = try parsedHeaders("""
        Max-Forwards: 70
        Contact: <sip:a@192.0.2.1:5060>;expires=3600
        Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
        Record-Route: <sip:p3.example.com;lr>
        Expires: 1800
        Content-Type: application/sdp
        l: 0
        """)
        #expect(headers.topVia?.branch == "z9hG4bK1")
        #expect(headers.vias.count == 1)
        #expect(headers.from?.tag == "1" && headers.to?.tag == nil)
        #expect(headers.callID == "c1" && headers.cseq == CSeq(sequence: 1, method: .options))
        #expect(headers.maxForwards == 70 && headers.expires == 1800 && headers.contentLength == 0)
        #expect(headers.contentType == "application/sdp")
        #expect(headers.contacts.first?.parameters.value("expires") == "3600")
        #expect(headers.routes.map(\.uri.host) == ["p1.example.com", "p2.example.com"])
        #expect(headers.recordRoutes.map(\.uri.host) == ["p3.example.com"])
        #expect(!headers.hasWildcardContact)
    }

    @Test func typedAccessorsAreNilWhenAbsentOrMalformed() {
        var headers = SIPHeaders()
        #expect(headers.topVia == nil && headers.vias.isEmpty && headers.from == nil && headers.to == nil)
        #expect(headers.callID == nil && headers.cseq == nil && headers.contacts.isEmpty)
        #expect(headers.maxForwards == nil && headers.contentLength == nil && headers.contentType == nil)
        #expect(headers.routes.isEmpty && headers.recordRoutes.isEmpty && headers.expires == nil)
        headers.add("Via", "SIP/2.0/UDP ok.example, garbage")
        headers.add("From", "not an address")
        headers.add("CSeq", "x INVITE")
        headers.add("Max-Forwards", "256")
        headers.add("Expires", "4294967296")
        headers.add("Content-Length", "-1")
        headers.add("Call-ID", "")
        headers.add("Route", "<sip:ok.example>, <broken")
        #expect(headers.vias.isEmpty && headers.topVia?.host == "ok.example")
        #expect(headers.from == nil && headers.cseq == nil && headers.maxForwards == nil)
        #expect(headers.expires == nil && headers.contentLength == nil && headers.callID == nil)
        #expect(headers.routes.isEmpty)
    }

    @Test func wildcardContact() throws {
        var headers = SIPHeaders()
        headers.add("Contact", "*")
        #expect(headers.hasWildcardContact && headers.contacts.isEmpty)
    }

    @Test func iterationAndEquality() throws {
        let parsed = try parsedHeaders("X-A: 1")
        var built = SIPHeaders()
        for (name, value) in parsed { built.add(name, value) }
        #expect(built == parsed && built.hashValue == parsed.hashValue)
        #expect(Array(parsed).count == 6)
        built.set("X-A", "2")
        #expect(built != parsed)
        var reordered = SIPHeaders()
        for (name, value) in parsed.reversed() { reordered.add(name, value) }
        #expect(reordered != parsed)
    }

    @Test func repeatedEditsDoNotGrowWithoutBound() {
        var headers: SIPHeaders = ["Via": "SIP/2.0/UDP a.example", "CSeq": "1 INVITE"]
        for n in 1...20_000 { headers.set("CSeq", "\(n) INVITE") }
        #expect(headers.cseq?.sequence == 20_000)
        #expect(headers.storage.count < 10_000)
        #expect(headers.first("Via") == "SIP/2.0/UDP a.example")
    }
}
