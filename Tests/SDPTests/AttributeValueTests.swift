// The values of a=fingerprint (RFC 8122), a=setup (RFC 4145, RFC 5763) and a=candidate (RFC 8839).
import Testing
import SDP

@Suite("Attribute values") struct AttributeValueTests {
    @Test func fingerprintsReadAndWriteBack() throws {
        let text = "sha-256 " + (0..<32).map { _ in "0A" }.joined(separator: ":")
        let fingerprint = try SDPFingerprint(parsing: text)
        #expect(fingerprint.hashFunction == "sha-256")
        #expect(fingerprint.bytes == [UInt8](repeating: 0x0A, count: 32))
        #expect(fingerprint.text == text)
        // Hash names and hex digits are case-insensitive; the text is written canonically.
        let mixed = try SDPFingerprint(parsing: "SHA-1 " + (0..<20).map { _ in "ab" }.joined(separator: ":"))
        #expect(mixed.hashFunction == "sha-1")
        #expect(mixed.text == "sha-1 " + (0..<20).map { _ in "AB" }.joined(separator: ":"))
        // An unknown function is kept at whatever length it has.
        #expect(try SDPFingerprint(parsing: "x-hash 01:FF").bytes == [0x01, 0xFF])
        #expect(SDPFingerprint(hashFunction: "SHA-256", bytes: [0]).hashFunction == "sha-256")
    }

    @Test(arguments: [
        ("sha-256", "is not \"<hash function> <hex pairs>\""),
        ("sha-256 01:02 03", "is not"),
        ("sha-256 01::02", "\"\" where a pair"),
        ("sha-256 1:02", "\"1\" where a pair"),
        ("sha-256 +1:02", "\"+1\" where a pair"),
        ("md5 01:02", "has 2 bytes, md5 digests have 16"),
    ])
    func malformedFingerprintsAreRejected(text: String, words: String) throws {
        let error = try #require(sdpFailure { () throws(SDPError) in try SDPFingerprint(parsing: text) })
        #expect(error.line == 0)
        #expect(error.reason.contains(words), "\(error)")
    }

    @Test func setupAnswersTheOfferedRole() {
        #expect(SDPSetup.actpass.answer == .active)
        #expect(SDPSetup.passive.answer == .active)
        #expect(SDPSetup.active.answer == .passive)
        #expect(SDPSetup.holdconn.answer == nil)
        #expect(SDPSetup(rawValue: "actpass") == .actpass)
    }

    @Test func candidatesWithRelatedAddressesAndTheCandidatePrefix() throws {
        let value = "842163049 1 udp 1677729535 203.0.113.7 61764 typ srflx raddr 10.0.0.5 rport 61764 generation 0"
        let candidate = try ICECandidate(parsing: "candidate:" + value)
        #expect(candidate.foundation == "842163049")
        #expect(candidate.type == "srflx")
        #expect(candidate.relatedAddress == "10.0.0.5")
        #expect(candidate.relatedPort == 61764)
        #expect(candidate.extensions == [.init(name: "generation", value: "0")])
        #expect(candidate.attributeValue == value)
        #expect(try ICECandidate(parsing: candidate.attributeValue) == candidate)
        let mdns = try ICECandidate(parsing: "1 1 UDP 2122262783 4f7c1f58-8c6a-4d2b.local 54321 typ host")
        #expect(mdns.isUDP && mdns.address.hasSuffix(".local"))
    }

    @Test(arguments: [
        ("1 1 udp 100 192.0.2.1 5000 host", "lacks"),
        ("1 1 udp 100 192.0.2.1 5000 typ", "lacks"),
        ("1 0 udp 100 192.0.2.1 5000 typ host", "component \"0\""),
        ("1 1 udp 0 192.0.2.1 5000 typ host", "priority \"0\""),
        ("1 1 udp 4294967296 192.0.2.1 5000 typ host", "priority"),
        ("1 1 udp 100 192.0.2.1 99999 typ host", "port \"99999\""),
        ("1 1 udp 100 192.0.2.1 5000 typ host generation", "no value"),
        ("1 1 udp 100 192.0.2.1 5000 typ srflx raddr 10.0.0.1 rport x", "rport \"x\""),
        ("a:b 1 udp 100 192.0.2.1 5000 typ host", "foundation"),
    ])
    func malformedCandidatesAreRejected(text: String, words: String) throws {
        let error = try #require(sdpFailure { () throws(SDPError) in try ICECandidate(parsing: text) })
        #expect(error.reason.contains(words), "\(error)")
    }
}
