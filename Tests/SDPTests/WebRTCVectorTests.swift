// The browser-side reading of each captured description, field by field.
import Testing
import SDP

@Suite("WebRTC vectors") struct WebRTCVectorTests {
    func read(_ name: String) throws -> WebRTCAudioDescription {
        try WebRTCAudioDescription(SDPVectors.parsed(name))
    }

    @Test func aiortcOffer() throws {
        let offer = try read("aiortc_offer")
        #expect(offer.mid == "0")
        #expect(offer.iceUfrag == "NeJ2")
        #expect(offer.icePwd == "dLf75on80WVy3RtlDmI831")
        #expect(!offer.iceLite)
        #expect(offer.setup == .actpass)
        // aiortc writes opus without any fmtp.
        #expect(offer.codecs == [
            SDPAudioCodec(payloadType: 96, name: "opus", clockRate: 48000, channels: 2),
            .g722, .pcmu, .pcma,
        ])
        #expect(offer.telephoneEvents.isEmpty)
        #expect(offer.fingerprints.map(\.hashFunction) == ["sha-256", "sha-384", "sha-512"])
        #expect(offer.fingerprints.map(\.bytes.count) == [32, 48, 64])
        let sha256 = try #require(offer.sha256Fingerprint)
        #expect(sha256.text == "sha-256 26:56:16:0C:A4:74:EE:A4:B5:CB:66:F0:3B:DE:5B:5B:FE:CA:4B:F3:1E:B8:A2:71:19:C1:38:05:B8:A8:8A:49")
        #expect(offer.candidates == [
            ICECandidate(foundation: "16572de626da4e5384a0ce2d0d93678a", component: 1, transport: "udp",
                         priority: 2_130_706_431, address: "127.0.0.1", port: 33755, type: "host"),
        ])
        #expect(offer.rtcpMux)
        #expect(offer.direction == .sendrecv)
        #expect(offer.ssrc == 1_533_387_040)
    }

    @Test func aiortcLiteAnswer() throws {
        let answer = try read("aiortc_lite_answer_to_chromium")
        #expect(answer.iceLite)
        #expect(answer.setup == .passive)
        #expect(answer.iceUfrag == "LKR6")
        #expect(answer.icePwd == "05EdTMxS9GxzTd9AfB3JRE")
        #expect(answer.codecs.map(\.payloadType) == [111, 9, 0, 8])
        #expect(answer.codecs.first == SDPAudioCodec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2))
        #expect(answer.fingerprints.count == 3)
        #expect(answer.sha256Fingerprint?.bytes.first == 0x32)
        #expect(answer.candidates.map(\.port) == [38407])
        #expect(answer.ssrc == 1_394_138_447)
        #expect(answer.mid == "0")
    }

    @Test func chromiumTrickleOffer() throws {
        let offer = try read("chromium_offer")
        #expect(offer.iceUfrag == "3u/V")
        #expect(offer.icePwd == "RHR3Q37cDErfNUOKqFt1JiYf")
        #expect(!offer.iceLite)
        #expect(offer.setup == .actpass)
        #expect(offer.codecs.map(\.name) == ["opus", "red", "G722", "PCMU", "PCMA", "CN"])
        #expect(offer.codecs[0] == .opus(payloadType: 111))
        #expect(offer.codecs[1] == SDPAudioCodec(payloadType: 63, name: "red", clockRate: 48000, channels: 2,
                                                 fmtp: "111/111"))
        #expect(offer.telephoneEvents == [
            SDPAudioCodec(payloadType: 110, name: "telephone-event", clockRate: 48000),
            SDPAudioCodec(payloadType: 126, name: "telephone-event", clockRate: 8000),
        ])
        #expect(offer.fingerprints.count == 1)
        #expect(offer.sha256Fingerprint?.bytes.prefix(3) == [0xC5, 0xCE, 0xA3])
        // Trickle ICE: the offer goes out before any candidate is gathered.
        #expect(offer.candidates.isEmpty)
        #expect(offer.rtcpMux)
        #expect(offer.ssrc == 3_710_383_508)
        #expect(offer.mid == "0")
    }

    @Test func chromiumCompleteOfferSkipsTheTCPCandidate() throws {
        let description = try SDPVectors.parsed("chromium_offer_complete_nontrickle")
        let offer = try WebRTCAudioDescription(description)
        let expected = ICECandidate(
            foundation: "1359442110", component: 1, transport: "udp", priority: 2_122_260_223,
            address: "127.0.0.1", port: 60912, type: "host",
            extensions: [.init(name: "generation", value: "0"), .init(name: "network-id", value: "1"),
                         .init(name: "network-cost", value: "50")])
        #expect(offer.candidates == [expected])
        // The skipped one is an ICE-TCP active candidate (RFC 6544) on the discard port.
        let raw = try #require(description.firstAudio?.attributes("candidate"))
        let tcp = try ICECandidate(parsing: raw[1])
        #expect(!tcp.isUDP && tcp.port == 9 && tcp.extensions.first == .init(name: "tcptype", value: "active"))
        #expect(raw.map { try? ICECandidate(parsing: $0).attributeValue } == raw)
        #expect(offer.iceUfrag == "4S0G")
        #expect(offer.ssrc == 4_270_570_606)
    }

    /// RFC 8839 §5.4, RFC 8842 §5.1: credentials, fingerprint and setup may be at session level.
    @Test func sessionLevelCredentialsApplyWhenTheMediaHasNone() throws {
        let text = try SDPVectors.text("aiortc_offer")
        var description = try SessionDescription.parse(text)
        var audio = try #require(description.firstAudio)
        let moved: Set = ["ice-ufrag", "ice-pwd", "fingerprint", "setup", "sendrecv"]
        description.attributes += audio.attributes.filter { moved.contains($0.name) }
        audio.attributes.removeAll { moved.contains($0.name) }
        audio.attributes.append(SDPAttribute("ice-ufrag", "mediaUfrag"))
        description.attributes.append(SDPAttribute("sendonly"))
        description.media = [audio]
        let offer = try WebRTCAudioDescription(SessionDescription.parse(description.serialize()))
        #expect(offer.iceUfrag == "mediaUfrag")
        #expect(offer.icePwd == "dLf75on80WVy3RtlDmI831")
        #expect(offer.fingerprints.count == 3)
        #expect(offer.setup == .actpass)
        #expect(offer.direction == .sendrecv)
    }

    /// Edits of aiortc's offer (m= is line 7, the candidate 21, ufrag 23, pwd 24, the first
    /// fingerprint 25, setup 28) and the line and words of the error each must give.
    static let unusable: [(String, String, Int, String)] = [
        ("m=audio 33755", "m=video 33755", 0, "no m=audio line"),
        ("m=audio 33755", "m=audio 0", 7, "port 0"),
        ("UDP/TLS/RTP/SAVPF", "RTP/AVP", 7, "is not UDP/TLS/RTP/SAVPF"),
        ("a=ice-ufrag:NeJ2\r\n", "", 7, "a=ice-ufrag is missing"),
        ("a=ice-pwd:dLf75on80WVy3RtlDmI831\r\n", "", 7, "a=ice-pwd is missing"),
        ("ice-ufrag:NeJ2", "ice-ufrag:NeJ", 23, "not 4 to 256 ICE characters"),
        ("ice-ufrag:NeJ2", "ice-ufrag:Ne:J2", 23, "not 4 to 256 ICE characters"),
        ("ice-pwd:dLf75on80WVy3RtlDmI831", "ice-pwd:dLf75on80WVy3RtlDmI83", 24, "it has 21"),
        ("a=fingerprint:", "a=x-fingerprint:", 7, "a=fingerprint is missing"),
        ("sha-256 26:56:16:", "sha-256 26:56:", 25, "has 31 bytes, sha-256 digests have 32"),
        ("sha-256 26:56:16:", "sha-256 26:5G:16:", 25, "\"5G\" where a pair of hex digits"),
        ("setup:actpass", "setup:sometimes", 28, "a=setup value"),
        (" typ host", " type host", 21, "candidate"),
        ("SAVPF 96 9 0 8", "SAVPF 101 13", 7, "no usable codec"),
        ("a=ssrc:1533387040", "a=ssrc:x1533387040", 16, "a=ssrc"),
    ]

    @Test(arguments: unusable) func unusableDescriptionsNameTheLine(
        original: String, replacement: String, line: Int, words: String
    ) throws {
        let text = try SDPVectors.text("aiortc_offer")
        #expect(text.contains(original))
        let description = try SessionDescription.parse(text.replacingOccurrences(of: original, with: replacement))
        let error = try #require(sdpFailure { () throws(SDPError) in try WebRTCAudioDescription(description) })
        #expect(error.line == line, "\(error)")
        #expect(error.reason.contains(words), "\(error)")
    }

    @Test func withoutSetupTheRoleIsActive() throws {
        let text = try SDPVectors.text("aiortc_offer").replacingOccurrences(of: "a=setup:actpass\r\n", with: "")
        #expect(try WebRTCAudioDescription(SessionDescription.parse(text)).setup == .active)
    }
}
