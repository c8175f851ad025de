// The gateway's own WebRTC description: its exact text, and that a browser-side reading of it
// finds what the gateway meant.
import Testing
import SDP

@Suite("WebRTC answer") struct WebRTCAnswerTests {
    static let fingerprint = SDPFingerprint(hashFunction: "sha-256", bytes: Array(0..<32))

    func parameters(mid: String = "0", setup: SDPSetup = .active, address: String = "192.0.2.10",
                    codecs: [SDPAudioCodec] = [.opus(payloadType: 111)],
                    telephoneEvent: SDPAudioCodec? = .telephoneEvent(payloadType: 126, clockRate: 8000)) -> WebRTCAudioParameters {
        WebRTCAudioParameters(sessionID: 4_611_686_018_427_387_904, sessionVersion: 2, address: address, port: 40_000,
                              iceUfrag: "tl7Q", icePwd: "gatewayPasswordOf24Char", fingerprint: Self.fingerprint,
                              setup: setup, mid: mid, codecs: codecs, telephoneEvent: telephoneEvent,
                              direction: .sendrecv, ssrc: 0x1234_5678, cname: "tieline-1")
    }

    @Test func writesTheDocumentedLines() {
        #expect(parameters().sessionDescription().serialize() == sdpCRLF("""
            v=0
            o=tieline 4611686018427387904 2 IN IP4 192.0.2.10
            s=-
            t=0 0
            a=group:BUNDLE 0
            a=ice-lite
            a=msid-semantic: WMS *
            m=audio 40000 UDP/TLS/RTP/SAVPF 111 126
            c=IN IP4 192.0.2.10
            a=mid:0
            a=sendrecv
            a=rtcp-mux
            a=rtcp:40000
            a=ice-ufrag:tl7Q
            a=ice-pwd:gatewayPasswordOf24Char
            a=fingerprint:\(Self.fingerprint.text)
            a=setup:active
            a=rtpmap:111 opus/48000/2
            a=fmtp:111 minptime=10;useinbandfec=1
            a=rtpmap:126 telephone-event/8000
            a=fmtp:126 0-16
            a=ssrc:305419896 cname:tieline-1
            a=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host
            a=end-of-candidates

            """))
    }

    /// The whole answer path: read Chromium's offer, choose, answer, and read the answer back as
    /// the browser would.
    @Test func answerToChromiumReadsBackAsAnICELitePeer() throws {
        let offer = try WebRTCAudioDescription(SDPVectors.parsed("chromium_offer_complete_nontrickle"))
        let chosen = try #require(negotiateAudioCodec(offered: offer.codecs, supported: ["opus", "PCMU"]))
        // The events clocked like the chosen codec (RFC 4733 §2.1).
        let events = offer.telephoneEvents.first { $0.clockRate == chosen.clockRate }
        var built = parameters(mid: try #require(offer.mid), setup: try #require(offer.setup.answer),
                               codecs: [chosen], telephoneEvent: events)
        built.direction = offer.direction.reversed
        let text = built.sessionDescription().serialize()

        let description = try SessionDescription.parse(text)
        #expect(description.attribute("group") == "BUNDLE 0")
        let answer = try WebRTCAudioDescription(description)
        #expect(answer.iceLite)
        #expect(answer.mid == "0")
        #expect(answer.iceUfrag == "tl7Q" && answer.icePwd == "gatewayPasswordOf24Char")
        #expect(answer.fingerprints == [Self.fingerprint])
        #expect(answer.sha256Fingerprint == Self.fingerprint)
        #expect(answer.setup == .active)
        #expect(answer.codecs == [.opus(payloadType: 111)])
        #expect(answer.telephoneEvents == [SDPAudioCodec(payloadType: 110, name: "telephone-event", clockRate: 48000,
                                                         fmtp: "0-16")])
        #expect(answer.candidates == [ICECandidate(foundation: "1", priority: 2_130_706_431,
                                                   address: "192.0.2.10", port: 40_000)])
        #expect(answer.rtcpMux)
        #expect(answer.direction == .sendrecv)
        #expect(answer.ssrc == 0x1234_5678)
        #expect(description.firstAudio?.audioCodecs.map(\.payloadType) == [111, 110])
    }

    @Test func anOfferOverIPv6WithoutEvents() throws {
        let built = parameters(mid: "audio", setup: .actpass, address: "2001:db8::10",
                               codecs: [.opus(payloadType: 111), .pcmu], telephoneEvent: nil)
        let description = built.sessionDescription()
        #expect(description.origin.addressType == "IP6")
        #expect(description.firstAudio?.connection == SDPConnection(addressType: "IP6", address: "2001:db8::10"))
        #expect(description.firstAudio?.formats == ["111", "0"])
        #expect(try SessionDescription.parse(description.serialize()) == description)
        let read = try WebRTCAudioDescription(description)
        #expect(read.mid == "audio" && read.setup == .actpass && read.telephoneEvents.isEmpty)
        #expect(read.codecs == [.opus(payloadType: 111), .pcmu])
        #expect(read.candidates.first?.address == "2001:db8::10")
    }
}
