// Codecs of an m-line (rtpmap, fmtp, static payload types) and the offer/answer choice.
import Testing
import SDP

@Suite("Audio codecs") struct AudioCodecTests {
    func media(_ lines: String) throws -> SDPMediaDescription {
        try #require(SessionDescription.parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n" + lines).firstAudio)
    }

    @Test func staticPayloadTypesNeedNoRTPMap() throws {
        let audio = try media("""
            m=audio 6000 RTP/AVP 0 8 9 18 97 101
            a=rtpmap:101 telephone-event/8000
            a=fmtp:101 0-15
            a=fmtp:18 annexb=no

            """)
        #expect(audio.audioCodecs == [
            .pcmu, .pcma, .g722,
            SDPAudioCodec(payloadType: 18, name: "G729", clockRate: 8000, fmtp: "annexb=no"),
            // 97 is dynamic and has no rtpmap: unusable, so left out.
            SDPAudioCodec(payloadType: 101, name: "telephone-event", clockRate: 8000, fmtp: "0-15"),
        ])
    }

    @Test func rtpmapsAreReadLeniently() throws {
        let audio = try media("""
            m=audio 6000 RTP/AVP 0 96 97 98 99 200 96
            a=rtpmap:0 pcmu/8000/1
            a=rtpmap:96  L16/16000/2
            a=rtpmap:97 broken
            a=rtpmap:98 speex/0
            a=rtpmap:99 AMR-WB/16000/x
            a=fmtp:96   mode=stereo  
            a=fmtp:96 ignored=second

            """)
        // An rtpmap overrides the static table; bad rtpmaps, PTs above 127 and repeats are skipped.
        #expect(audio.audioCodecs == [
            SDPAudioCodec(payloadType: 0, name: "pcmu", clockRate: 8000),
            SDPAudioCodec(payloadType: 96, name: "L16", clockRate: 16000, channels: 2, fmtp: "mode=stereo"),
        ])
        #expect(audio.audioCodecs[0].isNamed("PCMU"))
    }

    @Test func helpersWriteWhatBrowsersAndPhonesExpect() {
        let opus = SDPAudioCodec.opus(payloadType: 111)
        #expect(opus.rtpmapValue == "111 opus/48000/2")
        #expect(opus.fmtp == "minptime=10;useinbandfec=1")
        #expect(SDPAudioCodec.pcmu.rtpmapValue == "0 PCMU/8000")
        #expect(SDPAudioCodec.pcma.payloadType == 8)
        #expect(SDPAudioCodec.g722.clockRate == 8000)
        let events = SDPAudioCodec.telephoneEvent(payloadType: 101, clockRate: 8000)
        #expect(events.isTelephoneEvent && events.isAuxiliary && !opus.isAuxiliary)
        #expect(events.rtpmapValue == "101 telephone-event/8000")
        #expect(events.fmtp == "0-16")
        #expect(SDPAudioCodec(payloadType: 13, name: "cn", clockRate: 8000).isAuxiliary)
    }

    @Test func negotiationKeepsTheOfferersOrderAndPayloadType() throws {
        let offered = try WebRTCAudioDescription(SDPVectors.parsed("chromium_offer"))
        let all = offered.codecs + offered.telephoneEvents
        #expect(negotiateAudioCodec(offered: all, supported: ["PCMU", "opus"]) == .opus(payloadType: 111))
        #expect(negotiateAudioCodec(offered: all, supported: ["pcma", "PCMU"]) == .pcmu)
        #expect(negotiateAudioCodec(offered: all, supported: ["OPUS"])?.payloadType == 111)
        #expect(negotiateAudioCodec(offered: all, supported: ["G729"]) == nil)
        // Auxiliary formats never become the call's codec, even when listed.
        #expect(negotiateAudioCodec(offered: all, supported: ["red", "CN", "telephone-event"]) == nil)
        let aiortc = try WebRTCAudioDescription(SDPVectors.parsed("aiortc_offer"))
        #expect(negotiateAudioCodec(offered: aiortc.codecs, supported: ["opus"])?.payloadType == 96)
        #expect(negotiateAudioCodec(offered: [], supported: ["opus"]) == nil)
    }

    @Test func negotiationRequiresTheCodecsRealClockRate() {
        let odd = [
            SDPAudioCodec(payloadType: 96, name: "opus", clockRate: 48000, channels: 1),
            SDPAudioCodec(payloadType: 97, name: "PCMU", clockRate: 16000),
            SDPAudioCodec(payloadType: 98, name: "L16", clockRate: 16000),
            SDPAudioCodec.pcmu,
        ]
        #expect(negotiateAudioCodec(offered: odd, supported: ["opus", "PCMU"]) == .pcmu)
        #expect(negotiateAudioCodec(offered: odd, supported: ["PCMU/16000"])?.payloadType == 97)
        #expect(negotiateAudioCodec(offered: odd, supported: ["L16"])?.payloadType == 98)
        #expect(negotiateAudioCodec(offered: odd, supported: ["L16/8000"]) == nil)
    }
}
