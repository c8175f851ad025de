// Bad input must never crash or hang: every prefix and many single-byte mutations of every
// torture message go through the parser, the stream framer and the value grammars. Whatever does
// parse must serialize to something that parses back to the same message.
import TestSupport
import Testing
@testable import SIP

@Suite("Robustness") struct RobustnessTests {
    static func allVectors() throws -> [[UInt8]] {
        var all: [[UInt8]] = []
        for set in ["rfc4475", "rfc5118"] {
            for name in try TortureVectors.names(set) { all.append(try TortureVectors.bytes(set, name)) }
        }
        all.append(Array(sampleInviteText.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        return all
    }

    /// Parses, and for anything that parses checks that writing it out and reading it back is
    /// stable: one round may normalize (unfold, add Content-Length), the next must change nothing.
    @discardableResult
    private func exercise(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in _ = try? SIPStreamFramer.nextFrame(raw, maxMessageSize: 4096) }
        guard let message = try? SIPParser.parse(bytes) else { return false }
        let written = message.bytes
        guard let again = try? SIPParser.parse(written) else {
            Issue.record("re-parse failed for \(String(decoding: written, as: UTF8.self).debugDescription)")
            return true
        }
        #expect(again.bytes == written)
        _ = message.headers.vias
        _ = message.headers.contacts
        _ = message.headers.from?.description
        _ = message.headers.to?.description
        _ = message.headers.recordRoutes
        _ = message.headers.routes
        return true
    }

    @Test func everyPrefixOfEveryVector() throws {
        var parsed = 0, total = 0
        for vector in try Self.allVectors() {
            for end in 0...vector.count {
                total += 1
                if exercise(Array(vector[..<end])) { parsed += 1 }
            }
        }
        // Prefixes that end inside a body without Content-Length are whole messages.
        #expect(total > 25_000 && parsed > 100)
    }

    @Test func randomSingleByteMutations() throws {
        var rng = SeededGenerator(seed: 0x5EED_4475)
        // Bytes that matter to the grammar, plus a few arbitrary ones.
        let interesting: [UInt8] = Array(" \t\r\n:;,<>\"\\@[]?=%/0*".utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF]
        var parsed = 0, total = 0
        for vector in try Self.allVectors() {
            for _ in 0..<300 {
                total += 1
                var mutated = vector
                let index = Int.random(in: 0..<mutated.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: mutated[index] = interesting.randomElement(using: &rng) ?? 0
                case 1: mutated[index] = UInt8.random(in: 0...255, using: &rng)
                case 2: mutated.remove(at: index)
                default: mutated.insert(interesting.randomElement(using: &rng) ?? 0, at: index)
                }
                if exercise(mutated) { parsed += 1 }
            }
        }
        // Many mutations land in bodies or unchecked fields and still parse; those are the ones
        // the serialize/re-parse check exercises.
        #expect(total > 15_000 && parsed > 3_000)
    }

    @Test func mutatedValuesThroughTheValueGrammars() {
        var rng = SeededGenerator(seed: 5118)
        let seeds = [
            #""J Rosenberg \\\"" <sip:jdrosen@example.com;lr?h=v>;tag=98asjd8;q=0.5"#,
            "sip:user;par=u%40example.net@[2001:db8::10]:5070;transport=tcp",
            "SIP / 2.0 / UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255];branch=z9hG4bK1;rport",
            "tel:+1-201-555-0123;phone-context=example.com",
            "139122385 !interesting-Method0123456789_*+`.%indeed'~",
        ]
        let alphabet = Array(" \t:;,<>\"\\@[]?=%/.0aZ~".utf8) + [0x00, 0xFF]
        for seed in seeds {
            let base = Array(seed.utf8)
            for end in 0...base.count { probe(Array(base[..<end])) }
            for _ in 0..<2_000 {
                var mutated = base
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let index = Int.random(in: 0..<mutated.count, using: &rng)
                    mutated[index] = alphabet.randomElement(using: &rng) ?? 0
                }
                probe(mutated)
            }
        }
    }

    private func probe(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let uri = try? SIPURI.parse(text) { #expect((try? SIPURI.parse(uri.description)) == uri, "\(text)") }
        if let address = try? NameAddress.parse(text) {
            #expect((try? NameAddress.parse(address.description)) == address, "\(text)")
        }
        if let via = try? Via.parse(text) { #expect((try? Via.parse(via.description)) == via, "\(text)") }
        if let cseq = try? CSeq.parse(text) { #expect((try? CSeq.parse(cseq.description)) == cseq, "\(text)") }
        var headers = SIPHeaders()
        headers.add("Via", text)
        headers.add("Contact", text)
        headers.removeFirst("Via")
        _ = headers.all("Contact")
        _ = headers.contacts
    }

    @Test func hugeAndOddInputsFailCleanly() {
        let manyHeaders = "OPTIONS sip:a@b SIP/2.0\r\n" + String(repeating: "X-A: b\r\n", count: 20_000) + "\r\n"
        #expect(sipParseFailure(Array(manyHeaders.utf8))?.reason == "Missing header fields: Via, From, To, Call-ID, CSeq")
        let longLine = "OPTIONS sip:" + String(repeating: "a", count: 200_000) + "@b SIP/2.0\r\n\r\n"
        #expect(sipParseFailure(Array(longLine.utf8)) != nil)
        #expect(sipParseFailure(Array(repeating: 0, count: 1_000)) != nil)
        #expect(sipParseFailure(Array(repeating: 0xFF, count: 1_000)) != nil)
        #expect(sipParseFailure(Array(repeating: UInt8(ascii: "\n"), count: 1_000))?.reason == "Empty message")
        #expect(sipParseFailure(Array(repeating: UInt8(ascii: "\r"), count: 1_000))?.reason == "Empty message")
        let deepQuotes = "OPTIONS sip:a@b SIP/2.0\r\nContact: " + String(repeating: "\"\\", count: 10_000) + "\r\n\r\n"
        #expect(sipParseFailure(Array(deepQuotes.utf8)) != nil)
    }
}
