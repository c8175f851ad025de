// Bad input never crashes: every prefix and many random mutations of every captured description
// go through the parser and the audio readers. Whatever parses must write back to text that
// parses to the same description, and writing is then stable.
import TestSupport
import Testing
import SDP

@Suite("SDP robustness") struct SDPRobustnessTests {
    static func allTexts() throws -> [[UInt8]] {
        var texts = try SDPVectors.names.map { Array(try SDPVectors.text($0).utf8) }
        texts.append(Array(sdpCRLF(sippUASAnswerText).utf8))
        return texts
    }

    /// Reads `bytes` every way the gateway would; true when the description parsed.
    @discardableResult
    private func exercise(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        let description: SessionDescription
        do throws(SDPError) {
            description = try SessionDescription.parse(text)
        } catch {
            #expect(!error.reason.isEmpty && error.line >= 0 && error.line <= bytes.count + 1)
            return false
        }
        let written = description.serialize()
        do throws(SDPError) {
            let again = try SessionDescription.parse(written)
            #expect(again == description, "\(text.debugDescription)")
            #expect(again.serialize() == written)
        } catch {
            Issue.record("re-parse failed with \(error) for \(written.debugDescription)")
        }
        for media in description.media { _ = media.audioCodecs }
        if let webRTC = try? WebRTCAudioDescription(description) {
            _ = negotiateAudioCodec(offered: webRTC.codecs, supported: ["opus", "PCMU"])
            for candidate in webRTC.candidates {
                #expect((try? ICECandidate(parsing: candidate.attributeValue)) == candidate)
            }
            for fingerprint in webRTC.fingerprints {
                #expect((try? SDPFingerprint(parsing: fingerprint.text)) == fingerprint)
            }
        }
        _ = try? PlainAudioDescription(description)
        return true
    }

    @Test func everyPrefixOfEveryVector() throws {
        var parsed = 0, total = 0
        for text in try Self.allTexts() {
            for end in 0...text.count {
                total += 1
                if exercise(Array(text[..<end])) { parsed += 1 }
            }
        }
        // Any prefix that ends after s= is a whole description, though maybe not a usable one.
        #expect(total > 5_000)
        #expect(parsed > 4_500)
    }

    @Test func randomMutations() throws {
        var rng = SeededGenerator(seed: 0x5D9_8866)
        // Bytes that matter to the grammar, plus a few that are not ASCII or not UTF-8 at all.
        let interesting: [UInt8] = Array(" \t\r\n=:/0129aAmcvost.-".utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF]
        var parsed = 0, total = 0
        for text in try Self.allTexts() {
            for round in 0..<600 {
                total += 1
                var mutated = text
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let index = Int.random(in: 0..<mutated.count, using: &rng)
                    switch round % 4 {
                    case 0: mutated[index] = interesting.randomElement(using: &rng)!
                    case 1: mutated[index] = UInt8.random(in: 0...255, using: &rng)
                    case 2: mutated.remove(at: index)
                    default: mutated.insert(interesting.randomElement(using: &rng)!, at: index)
                    }
                }
                if round % 7 == 0 { mutated = Array(mutated.prefix(Int.random(in: 0...mutated.count, using: &rng))) }
                if exercise(mutated) { parsed += 1 }
            }
        }
        // The mutations must exercise both outcomes, not only the error path.
        #expect(parsed > 500 && parsed < total)
    }

    @Test func linesOfRandomTokens() {
        var rng = SeededGenerator(seed: 3264)
        let tokens = ["a=", "m=", "c=", "b=", "t=", "audio", "0", "9", "65535", "99999", "RTP/AVP", "IN", "IP4",
                      "rtpmap:", "fmtp:", "candidate:", "fingerprint:", "sha-256", "AB:CD", "/", " ", ":", "\r"]
        for _ in 0..<2_000 {
            var text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                text += (0..<Int.random(in: 1...6, using: &rng)).map { _ in tokens.randomElement(using: &rng)! }.joined()
                text += "\r\n"
            }
            exercise(Array(text.utf8))
        }
    }
}
