// The phone leg: RTP/AVP offers and answers as SIP stacks write them (RFC 3264).
import Testing
import SDP

@Suite("Plain audio") struct PlainAudioTests {
    func read(_ text: String) throws -> PlainAudioDescription {
        try PlainAudioDescription(SessionDescription.parse(sdpCRLF(text)))
    }

    @Test func readsASippUASAnswer() throws {
        let answer = try read(sippUASAnswerText)
        #expect(answer == PlainAudioDescription(
            address: "127.0.0.1", port: 6000, codecs: [.pcmu],
            telephoneEvents: [SDPAudioCodec(payloadType: 101, name: "telephone-event", clockRate: 8000, fmtp: "0-15")],
            ptime: 20, direction: .sendrecv))
        #expect(answer.rtcpPort == nil)
    }

    @Test func mediaLevelLinesOverrideSessionLevel() throws {
        let answer = try read("""
            v=0
            o=- 1 1 IN IP4 198.51.100.1
            s=-
            c=IN IP4 198.51.100.1
            t=0 0
            a=sendonly
            a=ptime:30
            m=audio 7078 RTP/AVPF 8 0
            c=IN IP4 198.51.100.2
            a=rtcp:7079 IN IP4 198.51.100.2
            a=ptime:20.0

            """)
        #expect(answer.address == "198.51.100.2")
        #expect(answer.port == 7078)
        #expect(answer.codecs == [.pcma, .pcmu])
        #expect(answer.telephoneEvents.isEmpty)
        #expect(answer.ptime == 20)
        #expect(answer.rtcpPort == 7079)
        // The session-level direction applies to media without their own.
        #expect(answer.direction == .sendonly)
        #expect(try read(sippUASAnswerText.replacingOccurrences(of: "a=ptime:20", with: "a=ptime:soon")).ptime == nil)
    }

    @Test func writesAnOfferThatReadsBack() throws {
        let offer = PlainAudioDescription(address: "192.0.2.10", port: 20_000, codecs: [.pcmu, .pcma, .g722],
                                          telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: 20,
                                          direction: .sendrecv)
        let description = offer.sessionDescription(sessionID: 77, sessionVersion: 1)
        #expect(description.serialize() == sdpCRLF("""
            v=0
            o=tieline 77 1 IN IP4 192.0.2.10
            s=-
            c=IN IP4 192.0.2.10
            t=0 0
            m=audio 20000 RTP/AVP 0 8 9 101
            a=rtpmap:0 PCMU/8000
            a=rtpmap:8 PCMA/8000
            a=rtpmap:9 G722/8000
            a=rtpmap:101 telephone-event/8000
            a=fmtp:101 0-16
            a=ptime:20
            a=sendrecv

            """))
        #expect(try PlainAudioDescription(SessionDescription.parse(description.serialize())) == offer)

        // A hold (RFC 3264 §8.4) with an event codec lacking fmtp still gets the DTMF range.
        var hold = offer
        hold.direction = .sendonly
        hold.ptime = nil
        hold.telephoneEvents = [SDPAudioCodec(payloadType: 96, name: "telephone-event", clockRate: 8000)]
        let text = hold.sessionDescription(sessionID: 77, sessionVersion: 2).serialize()
        #expect(text.contains("a=fmtp:96 0-16\r\na=sendonly\r\n") && !text.contains("ptime"))
        #expect(try PlainAudioDescription(SessionDescription.parse(text)).direction == .sendonly)
    }

    @Test(arguments: [
        ("m=audio 6000", "m=video 6000", 0, "no m=audio line"),
        ("m=audio 6000", "m=audio 0", 6, "port 0"),
        ("RTP/AVP", "UDP/TLS/RTP/SAVPF", 6, "is not RTP/AVP or RTP/SAVP"),
        ("c=IN IP4 127.0.0.1\n", "", 5, "c= line"),
        ("a=ptime:20", "a=rtcp:x", 10, "a=rtcp"),
    ])
    func unusableAnswersAreErrors(original: String, replacement: String, line: Int, words: String) throws {
        let description = try SessionDescription.parse(sippUASAnswerText.replacingOccurrences(of: original, with: replacement))
        let error = try #require(sdpFailure { () throws(SDPError) in try PlainAudioDescription(description) })
        #expect(error.line == line, "\(error)")
        #expect(error.reason.contains(words), "\(error)")
    }
}
