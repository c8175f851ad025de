// Reading and writing whole descriptions: fields at both levels, line ends, round trips, and
// errors that name the line.
import Testing
import SDP

@Suite("Session description") struct SessionDescriptionTests {
    @Test func readsBothLevelsOfTheChromiumOffer() throws {
        let description = try SDPVectors.parsed("chromium_offer")
        #expect(description.origin == SDPOrigin(username: "-", sessionID: "2412617725390503336", sessionVersion: 2,
                                                addressType: "IP4", address: "127.0.0.1"))
        #expect(description.sessionName == "-")
        #expect(description.timing == "0 0")
        #expect(description.connection == nil)
        #expect(description.attribute("group") == "BUNDLE 0")
        #expect(description.hasAttribute("extmap-allow-mixed"))
        #expect(description.attribute("extmap-allow-mixed") == nil)
        // The value is kept as written, leading space included, so it writes back unchanged.
        #expect(description.attribute("msid-semantic") == " WMS b253e7ea-9495-4517-9851-027731b35b2a")
        #expect(description.media.count == 1)

        let audio = try #require(description.firstAudio)
        #expect(audio.media == "audio")
        #expect(audio.port == 9)
        #expect(audio.proto == "UDP/TLS/RTP/SAVPF")
        #expect(audio.formats == ["111", "63", "9", "0", "8", "13", "110", "126"])
        #expect(audio.connection == SDPConnection(address: "0.0.0.0"))
        #expect(audio.attribute("mid") == "0")
        #expect(audio.attributes("extmap").count == 4)
        #expect(audio.attributes("rtpmap").first == "111 opus/48000/2")
        #expect(audio.hasAttribute("rtcp-mux") && !audio.hasAttribute("ice-lite"))
        #expect(audio.direction == .sendrecv)
        #expect(audio.sourceLine == 8)
        #expect(audio.attributes.first { $0.name == "ice-ufrag" }?.sourceLine == 11)
    }

    @Test func lfAndCRLFLineEndsReadTheSame() throws {
        for name in SDPVectors.names {
            let text = try SDPVectors.text(name)
            #expect(try SessionDescription.parse(text.replacingOccurrences(of: "\r\n", with: "\n"))
                == SessionDescription.parse(text), "\(name)")
        }
    }

    /// The vectors are already in RFC 8866 order with nothing we drop, so writing them back gives
    /// the same text; the extra blank line at the end of aiortc's offer is the only difference.
    @Test func everyVectorWritesBackAsCaptured() throws {
        for name in SDPVectors.names {
            let text = try SDPVectors.text(name)
            let description = try SessionDescription.parse(text)
            let written = description.serialize()
            let originalLines = text.split(separator: "\r\n").filter { $0 != "\n" }
            #expect(written.split(separator: "\r\n") == originalLines, "\(name)")
            #expect(try SessionDescription.parse(written) == description, "\(name)")
            #expect(written.hasSuffix("\r\n") && !written.contains("\r\n\r\n"))
        }
    }

    @Test func serializesInRFC8866Order() throws {
        var audio = SDPMediaDescription(media: "audio", port: 49170, proto: "RTP/AVP", formats: ["0", "101"],
                                        connection: SDPConnection(address: "2001:db8::2"), bandwidths: ["AS:80"],
                                        attributes: [SDPAttribute("rtpmap", "0 PCMU/8000"), SDPAttribute("sendonly")])
        audio.attributes.append(SDPAttribute("ptime", "20"))
        let description = SessionDescription(
            origin: SDPOrigin(username: "alice", sessionID: "2890844526", sessionVersion: 2890842807,
                              address: "192.0.2.10"),
            sessionName: "call", connection: SDPConnection(address: "192.0.2.10"), bandwidths: ["CT:128"],
            attributes: [SDPAttribute("tool", "tieline")], media: [audio])
        #expect(description.serialize() == sdpCRLF("""
            v=0
            o=alice 2890844526 2890842807 IN IP4 192.0.2.10
            s=call
            c=IN IP4 192.0.2.10
            b=CT:128
            t=0 0
            a=tool:tieline
            m=audio 49170 RTP/AVP 0 101
            c=IN IP6 2001:db8::2
            b=AS:80
            a=rtpmap:0 PCMU/8000
            a=sendonly
            a=ptime:20

            """))
        #expect(try SessionDescription.parse(description.serialize()) == description)
    }

    /// Lines the gateway has no use for are read and dropped; loose spacing and blank lines are
    /// tolerated; lines after s= may come in any order.
    @Test func toleratesWhatRealStacksSend() throws {
        let description = try SessionDescription.parse(sdpCRLF("""
            v=0
            o=-  7  1 IN IP4 198.51.100.1
            s=
            i=A call
            u=http://example.com/
            e=ops@example.com
            p=+1 555 0100
            t=0 0
            c=IN IP4 198.51.100.1
            z=2882844526 -1h
            k=prompt

            m=audio 5004/2 RTP/AVP  0  8
            i=voice
            a=recvonly


            """))
        #expect(description.origin.sessionID == "7")
        #expect(description.sessionName == "")
        #expect(description.connection?.address == "198.51.100.1")
        let audio = try #require(description.firstAudio)
        #expect(audio.port == 5004)
        #expect(audio.formats == ["0", "8"])
        #expect(audio.direction == .recvonly)
        #expect(audio.sourceLine == 13)
    }

    @Test func aMissingTimingLineReadsAsUnbounded() throws {
        let description = try SessionDescription.parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 1 RTP/AVP 0\n")
        #expect(description.timing == "0 0")
        #expect(description.serialize().contains("\r\nt=0 0\r\n"))
    }

    static let header = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"

    /// (text, line the error names, words the reason contains)
    static let malformed: [(String, Int, String)] = [
        ("", 1, "empty"),
        ("\r\n\r\n", 1, "empty"),
        ("o=- 1 1 IN IP4 192.0.2.1\n", 1, "must start with v=0"),
        ("v=1\n", 1, "must start with v=0"),
        ("v=0\ns=-\n", 2, "expected the o= line"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\n", 3, "expected the s= line"),
        ("v=0\n", 2, "ends before its o= line"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\n", 3, "ends before its s= line"),
        ("v=0\no=- 1 IN IP4 192.0.2.1\n", 2, "o= needs 6 fields"),
        ("v=0\no=- 1 x IN IP4 192.0.2.1\n", 2, "session version \"x\""),
        ("v=0\no=- 1 1 ATM NSAP 47.0005\n", 2, "network type \"ATM\""),
        (header + "m=audio x RTP/AVP 0\n", 5, "m= port \"x\" is not a number"),
        (header + "m=audio 65536 RTP/AVP 0\n", 5, "m= port \"65536\""),
        (header + "m=audio -1 RTP/AVP 0\n", 5, "m= port \"-1\""),
        (header + "m=audio 5000 RTP/AVP\n", 5, "at least one format"),
        (header + "m=audio 5000/x RTP/AVP 0\n", 5, "m= port \"5000/x\""),
        (header + "m=audio 5000 RTP/AVP 0\nc=IN IP4\n", 6, "c= needs 3 fields"),
        (header + "a=:x\n", 5, "attribute name \"\""),
        (header + "a=bad name:x\n", 5, "attribute name \"bad name\""),
        (header + "v=0\n", 5, "a second v= line"),
        (header + "m=audio 5000 RTP/AVP 0\nt=0 0\n", 6, "t= belongs before"),
        (header + "x=unknown\n", 5, "unknown line type x="),
        (header + "hello\n", 5, "expected <type>=<value>"),
        (header + "A=x\n", 5, "expected <type>=<value>"),
        (header + "a=sendrecv\rx\n", 5, "bare CR"),
        (header + "a=x\u{0}\n", 5, "NUL"),
    ]

    @Test(arguments: malformed) func malformedInputNamesTheLine(text: String, line: Int, words: String) throws {
        let error = try #require(sdpParseFailure(text), "\(text.debugDescription) parsed")
        #expect(error.line == line, "\(error)")
        #expect(error.reason.contains(words), "\(error)")
    }

    @Test func errorDescriptionsQuoteTheLine() throws {
        let error = try #require(sdpParseFailure(Self.header + "m=audio x RTP/AVP 0\n"))
        #expect(error.description == "SDP line 5: m= port \"x\" is not a number from 0 to 65535 in \"m=audio x RTP/AVP 0\"")
        // A huge line is quoted in part only.
        let long = try #require(sdpParseFailure(Self.header + "m=audio x " + String(repeating: "y", count: 5000) + "\n"))
        #expect(long.description.count < 300)
        #expect(SDPError(line: 0, reason: "there is no m=audio line").description == "SDP: there is no m=audio line")
    }

    @Test func inputOverSixtyFourKiBIsRejectedUnread() throws {
        let filler = "a=x-padding:" + String(repeating: "p", count: 100) + "\r\n"
        var text = sdpCRLF(Self.header)
        while text.utf8.count + filler.utf8.count <= SessionDescription.maximumSize { text += filler }
        text += String(repeating: "a", count: SessionDescription.maximumSize - text.utf8.count)
        #expect(text.utf8.count == 65_536)
        // Exactly at the limit is read (the last line is a bare "aaa..." and fails as a line).
        #expect(try #require(sdpParseFailure(text)).reason.contains("expected <type>=<value>"))
        let error = try #require(sdpParseFailure(text + "a"))
        #expect(error.line == 0)
        #expect(error.reason.contains("65537 bytes"))
    }

    @Test func directionsReverseForTheAnswer() {
        #expect(SDPDirection.sendonly.reversed == .recvonly)
        #expect(SDPDirection.recvonly.reversed == .sendonly)
        #expect(SDPDirection.sendrecv.reversed == .sendrecv)
        #expect(SDPDirection.inactive.reversed == .inactive)
        let media = SDPMediaDescription(media: "audio", port: 1, proto: "RTP/AVP", formats: ["0"])
        #expect(media.direction == nil)
    }
}
