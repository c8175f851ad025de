// RFC 5118 IPv6 torture messages (Vectors/rfc5118, written from the RFC's §4 text; see the
// README there for the two deliberate changes).
import Testing
@testable import SIP

@Suite("RFC 5118 IPv6 torture messages") struct RFC5118Tests {
    private func request(_ name: String) throws -> SIPRequest {
        let message = try SIPParser.parse(try TortureVectors.bytes("rfc5118", name))
        return try #require(message.request, "\(name) should be a request")
    }

    @Test func everyVectorIsPresent() throws {
        #expect(try TortureVectors.names("rfc5118").count == 12)
    }

    @Test("4.1 ipv6-good") func ipv6Good() throws {
        let r = try request("ipv6-good")
        #expect(r.uri.host == "2001:db8::10" && r.uri.port == nil)
        #expect(r.uri.description == "sip:[2001:db8::10]")
        #expect(r.uri.hostPort == "[2001:db8::10]")
        let via = try #require(r.headers.topVia)
        #expect(via.host == "2001:db8::9:1" && via.port == nil)
        #expect(via.description == "SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111")
        let contact = try #require(r.headers.contacts.first)
        #expect(contact.displayName == "Caller" && contact.uri.host == "2001:db8::1")
        #expect(contact.description == "Caller <sip:caller@[2001:db8::1]>")
    }

    @Test("4.2 ipv6-bad: an IPv6 Request-URI without brackets") func ipv6Bad() throws {
        let error = try #require(sipParseFailure(try TortureVectors.bytes("rfc5118", "ipv6-bad")))
        #expect(error.reason == "Invalid Request-URI")
        #expect(error.request?.headers.callID == "SSG9559905523997077@hlau_4100")
    }

    @Test("4.3 port-ambiguous: the port inside the brackets is part of the address") func portAmbiguous() throws {
        let uri = try request("port-ambiguous").uri
        #expect(uri.host == "2001:db8::10:5070" && uri.port == nil)
    }

    @Test("4.4 port-unambiguous") func portUnambiguous() throws {
        let uri = try request("port-unambiguous").uri
        #expect(uri.host == "2001:db8::10" && uri.port == 5070)
        #expect(uri.description == "sip:[2001:db8::10]:5070")
    }

    @Test("4.5 received with and without brackets") func viaReceived() throws {
        let with = try #require(try request("via-received-param-with-delim").headers.topVia)
        #expect(with.received == "2001:db8::9:255")
        #expect(with.parameters.value("received") == "[2001:db8::9:255]")
        #expect(with.branch == "z9hG4bKas3-111")
        let without = try #require(try request("via-received-param-no-delim").headers.topVia)
        #expect(without.received == "2001:db8::9:255" && without.branch == "z9hG4bKas3")
    }

    @Test("4.6 ipv6-in-sdp") func ipv6InSDP() throws {
        let r = try request("ipv6-in-sdp")
        #expect(r.headers.to?.uri.host == "2001:db8::10")
        #expect(r.body.count == 251)
        #expect(String(decoding: r.body, as: UTF8.self).contains("c=IN IP6 2001:db8::20\r\n"))
    }

    @Test("4.7 mult-ip-in-header") func multipleAddressesInHeaders() throws {
        let vias = try request("mult-ip-in-header").headers.vias
        #expect(vias.map(\.host) == ["2001:db8::9:1", "192.0.2.1", "2001:db8::9:255"])
        #expect(vias.map(\.port) == [6050, nil, nil])
        #expect(vias.map(\.transport) == ["UDP", "UDP", "TCP"])
        #expect(vias[2].received == "192.0.2.200")
        #expect(vias[0].description == "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111")
    }

    @Test("4.8 mult-ip-in-sdp") func multipleAddressesInSDP() throws {
        let r = try request("mult-ip-in-sdp")
        #expect(r.body.count == 189)
        #expect(r.headers.contacts.first?.uri.host == "2001:db8::9:1")
    }

    @Test("4.9 ipv4-mapped-ipv6") func ipv4Mapped() throws {
        let r = try request("ipv4-mapped-ipv6")
        let vias = r.headers.vias
        #expect(vias.map(\.host) == ["::ffff:192.0.2.10", "::ffff:192.0.2.2"])
        #expect(vias.first?.port == 19823)
        let contact = try #require(r.headers.contacts.first)
        #expect(contact.displayName == "T. desk phone" && contact.uri.host == "::ffff:192.0.2.2")
        #expect(contact.uri.description == "sip:ted@[::ffff:192.0.2.2]")
        #expect(r.body.count == 245)
    }

    @Test("4.10 the RFC 3261 ABNF bug: three colons are tolerated") func abnfBug() throws {
        let three = try request("ipv6-bug-abnf-3-colons")
        #expect(three.uri.host == "2001:db8:::192.0.2.1")
        #expect(three.headers.to?.uri.host == "2001:db8:::192.0.2.1")
        let two = try request("ipv6-correct-abnf-2-colons")
        #expect(two.uri.host == "2001:db8::192.0.2.1")
        #expect(two.uri.description == "sip:user@[2001:db8::192.0.2.1]")
    }

    @Test("every valid message survives a serialize and parse round trip",
          arguments: ["ipv6-good", "port-ambiguous", "port-unambiguous", "via-received-param-with-delim",
                      "via-received-param-no-delim", "ipv6-in-sdp", "mult-ip-in-header", "mult-ip-in-sdp",
                      "ipv4-mapped-ipv6", "ipv6-bug-abnf-3-colons", "ipv6-correct-abnf-2-colons"])
    func roundTrip(name: String) throws {
        let r = try request(name)
        let again = try #require(try SIPParser.parse(r.bytes).request)
        #expect(again.uri == r.uri && again.body == r.body)
        #expect(again.headers.vias == r.headers.vias && again.headers.contacts == r.headers.contacts)
    }
}
