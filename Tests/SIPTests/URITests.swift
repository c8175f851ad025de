// URIs, name-addr / addr-spec values, Via, CSeq and parameter lists: parsing, the values they
// produce, errors, and description round trips.
import Testing
@testable import SIP

@Suite("URI and header value grammar") struct URITests {
    // MARK: SIPURI

    @Test func fullSIPURI() throws {
        let uri = try SIPURI.parse("sip:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent")
        #expect(uri.scheme == "sip")
        #expect(uri.user == "alice" && uri.password == "secret")
        #expect(uri.host == "atlanta.example.com" && uri.port == 5061)
        #expect(uri.parameters.items == [.init(name: "transport", value: "tcp"), .init(name: "lr", value: nil)])
        #expect(uri.transport == "tcp" && uri.isLooseRouter)
        #expect(uri.headers == [.init(name: "subject", value: "project%20x"), .init(name: "priority", value: "urgent")])
        #expect(uri.hostPort == "atlanta.example.com:5061")
        #expect(uri.description == "sip:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent")
    }

    @Test func schemeIsCaseInsensitiveAndLowercased() throws {
        #expect(try SIPURI.parse("SIP:bob@Biloxi.Example.COM").scheme == "sip")
        #expect(try SIPURI.parse("SiPs:bob@biloxi.example.com").scheme == "sips")
        #expect(try SIPURI.parse("SIP:bob@Biloxi.Example.COM").host == "Biloxi.Example.COM")
        #expect(try SIPURI.parse("SIP:bob@Biloxi.Example.COM").description == "sip:bob@Biloxi.Example.COM")
    }

    @Test func hostOnlyAndIPv4() throws {
        let uri = try SIPURI.parse("sip:192.0.2.4:5060")
        #expect(uri.user == nil && uri.password == nil && uri.host == "192.0.2.4" && uri.port == 5060)
        let bare = try SIPURI.parse("sip:example.com;lr")
        #expect(bare.user == nil && bare.host == "example.com" && bare.isLooseRouter)
    }

    @Test func ipv6References() throws {
        let uri = try SIPURI.parse("sips:alice@[2001:db8::1]:5061;maddr=[2001:db8::2]")
        #expect(uri.host == "2001:db8::1" && uri.port == 5061)
        #expect(uri.parameters.value("maddr") == "[2001:db8::2]")
        #expect(uri.description == "sips:alice@[2001:db8::1]:5061;maddr=[2001:db8::2]")
        #expect(SIPURI(host: "::1", port: 5060).description == "sip:[::1]:5060")
        #expect(SIPURI(host: "::1").hostPort == "[::1]")
    }

    @Test func telURIs() throws {
        let uri = try SIPURI.parse("tel:+1-201-555-0123;phone-context=example.com")
        #expect(uri.scheme == "tel" && uri.user == "+1-201-555-0123" && uri.host == "")
        #expect(uri.parameters.value("phone-context") == "example.com")
        #expect(uri.description == "tel:+1-201-555-0123;phone-context=example.com")
        #expect(try SIPURI.parse("tel:*67#").user == "*67#")
    }

    @Test func otherSchemesAreOpaque() throws {
        let uri = try SIPURI.parse("urn:service:sos")
        #expect(uri.scheme == "urn" && uri.opaque == "service:sos" && uri.host == "" && uri.user == nil)
        #expect(uri.description == "urn:service:sos")
        #expect(try SIPURI.parse("HTTP://example.com/a?b=c").scheme == "http")
        #expect(SIPURI(scheme: "mailto", opaque: "a@example.com").description == "mailto:a@example.com")
    }

    @Test func escapesAreKept() throws {
        let uri = try SIPURI.parse("sip:%61lice%20x@example.com;na%6De=v%61l")
        #expect(uri.user == "%61lice%20x")
        #expect(uri.parameters.value("na%6De") == "v%61l")
        #expect(uri.description == "sip:%61lice%20x@example.com;na%6De=v%61l")
    }

    @Test func userPartMayHoldSemicolonsAndQuestionMarks() throws {
        let uri = try SIPURI.parse("sip:user;par=1?x@example.com;lr")
        #expect(uri.user == "user;par=1?x" && uri.host == "example.com" && uri.isLooseRouter)
    }

    static let badURIs = [
        "", "sip:", "sip:@example.com", "sip:alice@", "sip:alice@exa mple.com", "sip:alice@example.com:",
        "sip:alice@example.com:65536", "sip:alice@example.com:99999999999999999999999", "sip:alice@example.com:5o60",
        "sip:alice@[2001:db8::1", "sip:alice@[2001:zz::1]", "sip:alice@[1]", "sip:2001:db8::10",
        "sip:alice@example.com;", "sip:alice@example.com;lr=", "sip:alice@example.com?", "sip:alice@example.com?a",
        "sip:al%4@example.com", "sip:al%zzice@example.com", "sip:alice@example.com>", "<sip:alice@example.com>",
        "1sip:alice@example.com", "sip alice@example.com", "tel:", "tel:+1 555", "urn:", "urn:a b", "http:<x>",
        "sip:alice@example.com;a=b c",
    ]

    @Test("malformed URIs are rejected", arguments: badURIs)
    func badURI(_ text: String) {
        #expect(throws: SIPParseError.self) { try SIPURI.parse(text) }
    }

    @Test func uriConstructionAndEquality() throws {
        var uri = SIPURI(user: "bob", host: "biloxi.example.com", port: 5080, parameters: ["transport": "tcp"])
        #expect(uri.description == "sip:bob@biloxi.example.com:5080;transport=tcp")
        #expect(try SIPURI.parse(uri.description) == uri)
        uri.transport = nil
        #expect(uri.description == "sip:bob@biloxi.example.com:5080")
        #expect(SIPURI(scheme: "SIPS", host: "a.example").scheme == "sips")
    }

    @Test func substringOverloadsWork() throws {
        let text = "<sip:carol@chicago.example.com>"
        let inner = text.dropFirst().dropLast()
        #expect(try SIPURI.parse(inner).host == "chicago.example.com")
    }

    // MARK: NameAddress

    @Test func nameAddrForms() throws {
        let quoted = try NameAddress.parse(#""Bob \"the\" Builder" <sip:bob@example.com;transport=udp>;tag=a6c85cf;expires=60"#)
        #expect(quoted.displayName == #"Bob "the" Builder"#)
        #expect(quoted.uri.parameters.value("transport") == "udp")
        #expect(quoted.tag == "a6c85cf" && quoted.parameters.value("expires") == "60")

        let tokens = try NameAddress.parse("Bob  Builder <sip:bob@example.com>")
        #expect(tokens.displayName == "Bob  Builder")
        let bare = try NameAddress.parse("<sip:bob@example.com>")
        #expect(bare.displayName == nil && bare.parameters.isEmpty)
        let empty = try NameAddress.parse(#""" <sip:bob@example.com>"#)
        #expect(empty.displayName == "")
    }

    @Test func addrSpecParametersBelongToTheHeader() throws {
        let value = try NameAddress.parse("sip:bob@example.com;tag=xyz;transport=tcp")
        #expect(value.uri.parameters.isEmpty)
        #expect(value.tag == "xyz" && value.parameters.value("transport") == "tcp")
        // Written back in the <> form, so the parameters stay with the header.
        #expect(value.description == "<sip:bob@example.com>;tag=xyz;transport=tcp")
    }

    @Test func whitespaceAroundHeaderParameters() throws {
        let value = try NameAddress.parse("  <sip:a@b.example> ;  tag = 12 ; lr  ")
        #expect(value.tag == "12" && value.parameters.contains("lr"))
    }

    @Test func quotedParameterValuesAreKeptQuoted() throws {
        let value = try NameAddress.parse(#"<sip:a@b.example>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>""#)
        #expect(value.parameters.value("+sip.instance") == #""<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>""#)
        #expect(value.parameters.unquotedValue("+sip.instance") == "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>")
        #expect(try NameAddress.parse(value.description) == value)
    }

    static let badAddresses = [
        "", "   ", "\"unterminated <sip:a@b.example>", "Bell, Alexander <sip:a@b.example>",
        "< sip:a@b.example >", "<sip:a@b.example", "sip:a@b.example?Route=x", "sip:a,b@b.example",
        "<sip:a@b.example>;", "<sip:a@b.example>;;", "<sip:a@b.example>;tag=", "<sip:a@b.example> junk",
        "\"name\" sip:a@b.example", "<sip:a@b.example>;tag=\"open", "name <>",
    ]

    @Test("malformed addresses are rejected", arguments: badAddresses)
    func badAddress(_ text: String) {
        #expect(throws: SIPParseError.self) { try NameAddress.parse(text) }
    }

    @Test func displayNameQuotingOnOutput() {
        let uri = SIPURI(user: "a", host: "example.com")
        #expect(NameAddress(displayName: "Alice", uri: uri).description == "Alice <sip:a@example.com>")
        #expect(NameAddress(displayName: "Alice Smith", uri: uri).description == "Alice Smith <sip:a@example.com>")
        #expect(NameAddress(displayName: "Smith, Alice", uri: uri).description == #""Smith, Alice" <sip:a@example.com>"#)
        #expect(NameAddress(displayName: #"a "b" \c"#, uri: uri).description == #""a \"b\" \\c" <sip:a@example.com>"#)
        #expect(NameAddress(displayName: "", uri: uri).description == #""" <sip:a@example.com>"#)
        // A line break could end the header: it becomes a space.
        #expect(NameAddress(displayName: "a\r\nVia: x", uri: uri).description == #""a  Via: x" <sip:a@example.com>"#)
        #expect(NameAddress(uri: uri, parameters: ["tag": "1"]).description == "<sip:a@example.com>;tag=1")
    }

    @Test("name-addr descriptions parse back to equal values", arguments: [
        #""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#,
        "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
        "\"BEL:\\\u{07} NUL:\\\u{00} DEL:\\\u{7F}\" <sip:a@b.example>",
        "token1~` token2'+_ <sip:mundane@example.com>;fromParam''~+*_!.-%=\"x\";tag=_token~1'+`*%!-.",
        "<tel:+1-555-0100;phone-context=example.com>;expires=3600",
        "<urn:service:sos>",
        "<sips:[2001:db8::1]:5061;transport=tls?h=v>",
    ])
    func nameAddressRoundTrip(_ text: String) throws {
        let value = try NameAddress.parse(text)
        #expect(try NameAddress.parse(value.description) == value)
    }

    // MARK: Via

    @Test func viaParts() throws {
        let via = try Via.parse("SIP/2.0/udp pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5067;maddr=239.255.255.1;ttl=16")
        #expect(via.transport == "UDP" && via.host == "pc33.atlanta.example.com" && via.port == 5066)
        #expect(via.branch == "z9hG4bK776asdhds" && via.received == "192.0.2.1")
        #expect(via.rport == 5067 && via.hasRport && via.maddr == "239.255.255.1")
        #expect(via.sentBy == "pc33.atlanta.example.com:5066")
    }

    @Test func viaWhitespaceAndCase() throws {
        let via = try Via.parse("sip / 2.0 / tcp   host.example.com : 5070 ; branch = z9hG4bKx")
        #expect(via.transport == "TCP" && via.host == "host.example.com" && via.port == 5070)
        #expect(via.branch == "z9hG4bKx")
    }

    @Test func viaAccessorsEdit() throws {
        var via = Via(transport: "ws", host: "df7jal23ls0d.invalid", port: nil)
        #expect(via.transport == "WS")
        via.branch = "z9hG4bKnashds7"
        via.parameters.set("rport", nil)
        #expect(via.hasRport && via.rport == nil)
        #expect(via.description == "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKnashds7;rport")
        via.rport = 61000
        via.received = "198.51.100.7"
        #expect(via.description == "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKnashds7;rport=61000;received=198.51.100.7")
        via.rport = nil
        via.branch = nil
        #expect(!via.hasRport && via.branch == nil)
        #expect(try Via.parse(via.description) == via)
    }

    static let badVias = [
        "", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0 UDP host", "SIP/3.0/UDP host", "HTTP/2.0/UDP host",
        "SIP/2.0/UDPhost", "SIP/2.0/ host", "SIP/2.0/UDP host;;", "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP host:port", "SIP/2.0/UDP [::1", "SIP/2.0/UDP host junk", "SIP/2.0/UDP host, SIP/2.0/UDP other",
        "SIP/2.0/UDP 192.0.2.15;;,;,,",
    ]

    @Test("malformed Vias are rejected", arguments: badVias)
    func badVia(_ text: String) {
        #expect(throws: SIPParseError.self) { try Via.parse(text) }
    }

    // MARK: CSeq

    @Test func cseqValues() throws {
        #expect(try CSeq.parse("4711 INVITE") == CSeq(sequence: 4711, method: .invite))
        #expect(try CSeq.parse("  0009 \t ACK ") == CSeq(sequence: 9, method: .ack))
        #expect(try CSeq.parse("4294967295 BYE").sequence == UInt32.max)
        #expect(CSeq(sequence: 1, method: .register).description == "1 REGISTER")
        #expect(throws: SIPParseError("CSeq number too large")) { try CSeq.parse("4294967296 BYE") }
        #expect(throws: SIPParseError("CSeq number too large")) { try CSeq.parse("36893488147419103232 REGISTER") }
        for bad in ["", "INVITE", "1", "1INVITE", "-1 INVITE", "1 INVITE x", "1 IN,VITE", "x1 INVITE"] {
            #expect(throws: SIPParseError.self) { try CSeq.parse(bad) }
        }
    }

    // MARK: Parameters and methods

    @Test func parameterList() {
        var params: SIPParameters = [.init(name: "transport", value: "udp"), .init(name: "lr")]
        #expect(params.description == ";transport=udp;lr")
        #expect(params.value("TRANSPORT") == "udp" && params.contains("LR") && params.value("lr") == nil)
        params.set("Transport", "tcp")
        #expect(params.description == ";Transport=tcp;lr")
        params.items.append(.init(name: "transport", value: "sctp"))
        params.set("transport", "tls")
        #expect(params.description == ";transport=tls;lr")
        params.remove("LR")
        params.set("maddr", "239.255.255.1")
        #expect(params.description == ";transport=tls;maddr=239.255.255.1")
        #expect(SIPParameters().description == "" && SIPParameters().isEmpty)
        let literal: SIPParameters = ["lr": nil, "q": "0.5"]
        #expect(literal.description == ";lr;q=0.5")
    }

    @Test func methods() {
        #expect(SIPMethod.invite.rawValue == "INVITE" && SIPMethod("INVITE") == .invite)
        #expect(SIPMethod("invite") != .invite)
        #expect(SIPMethod(rawValue: "PUBLISH").description == "PUBLISH")
        let all: [SIPMethod] = [.invite, .ack, .bye, .cancel, .options, .register, .info, .update, .prack,
                                .subscribe, .notify, .refer, .message]
        #expect(Set(all).count == 13 && all.allSatisfy(\.isValidToken))
        #expect(!SIPMethod("BAD METHOD").isValidToken)
    }
}
