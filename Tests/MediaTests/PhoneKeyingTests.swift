@testable import Media
import SDP
import Testing

/// SDES offer/answer on the phone leg (RFC 4568) without sockets: which keys
/// we offer, which answers and offers each `media_encryption` takes, and
/// which keys SRTP is installed with.
@Suite("SDES keying")
struct PhoneKeyingTests {
    func description(secure: Bool, crypto: [SDPCrypto]) -> PlainAudioDescription {
        var description = PlainAudioDescription(address: "127.0.0.1", port: 30000, codecs: [.pcmu])
        description.secure = secure
        description.crypto = crypto
        return description
    }

    func key(_ suite: SDPCrypto.Suite, tag: UInt32, fill: UInt8) -> SDPCrypto {
        SDPCrypto(tag: tag, suite: suite, keyAndSalt: [UInt8](repeating: fill, count: suite.keyingLength))
    }

    @Test("Off offers no keys; optional offers both suites over RTP/AVP; required over RTP/SAVP, fresh keys each time")
    func offers() {
        var off = PhoneKeying()
        #expect(off.makeOffer().crypto.isEmpty)
        var optional = PhoneKeying()
        optional.encryption = .optional
        let offer = optional.makeOffer()
        #expect(offer.crypto.map(\.suiteName) == ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"])
        #expect(offer.crypto.map(\.tag) == [1, 2] && offer.crypto.allSatisfy(\.isUsable) && !offer.secure)
        var required = PhoneKeying()
        required.encryption = .required
        let first = required.makeOffer(), second = required.makeOffer()
        #expect(first.secure)
        #expect(first.crypto[0].keyAndSalt != second.crypto[0].keyAndSalt)
    }

    @Test("An answer naming one of our tags installs our key for it and the answer's")
    func answerWithKey() throws {
        var keying = PhoneKeying()
        keying.encryption = .optional
        let offered = keying.makeOffer().crypto
        let theirs = key(.aeadAES128GCM, tag: 2, fill: 7)
        let keys = try keying.acceptAnswer(description(secure: true, crypto: [theirs]))
        #expect(keys == PhoneSRTP.Keys(suite: .aeadAES128GCM, ours: offered[1].keyAndSalt, theirs: theirs.keyAndSalt))
        #expect(keying.current?.crypto == offered[1])
        #expect(keying.current?.secure == true)
        #expect(try PhoneSRTP(#require(keys)).keys == keys)
    }

    @Test("A plain answer: fine when optional (no SRTP), a failure when required")
    func plainAnswer() throws {
        var optional = PhoneKeying()
        optional.encryption = .optional
        _ = optional.makeOffer()
        #expect(try optional.acceptAnswer(description(secure: false, crypto: [])) == nil)
        #expect(!optional.isActive)
        var required = PhoneKeying()
        required.encryption = .required
        _ = required.makeOffer()
        #expect(throws: MediaError.self) { try required.acceptAnswer(description(secure: false, crypto: [])) }
        // A tag we never offered is no answer to our offer either.
        #expect(throws: MediaError.self) {
            try required.acceptAnswer(description(secure: true, crypto: [key(.aesCM128HMACSHA1_80, tag: 9, fill: 1)]))
        }
    }

    @Test("A trunk's SRTP offer: answered with a key of ours in its suite and tag, unless encryption is off")
    func offersFromTheTrunk() throws {
        let theirs = key(.aesCM128HMACSHA1_80, tag: 3, fill: 5)
        var optional = PhoneKeying()
        optional.encryption = .optional
        let keys = try #require(try optional.acceptOffer(description(secure: true, crypto: [theirs])))
        #expect(keys.theirs == theirs.keyAndSalt && keys.ours.count == 30 && keys.ours != theirs.keyAndSalt)
        #expect(optional.current?.crypto.tag == 3)
        #expect(optional.current?.secure == true)
        // A re-offer with a new key of theirs keeps ours and re-keys their side.
        let rekeyed = key(.aesCM128HMACSHA1_80, tag: 1, fill: 6)
        let again = try #require(try optional.acceptOffer(description(secure: true, crypto: [rekeyed])))
        #expect(again.ours == keys.ours && again.theirs == rekeyed.keyAndSalt)
        // Dropping the keys in a re-offer is refused (the call's media stays encrypted).
        #expect(throws: MediaError.self) { try optional.acceptOffer(description(secure: false, crypto: [])) }

        var off = PhoneKeying()
        #expect(throws: MediaError.self) { try off.acceptOffer(description(secure: true, crypto: [theirs])) }
        #expect(try off.acceptOffer(description(secure: false, crypto: [theirs])) == nil, "best-effort keys ignored")
        var required = PhoneKeying()
        required.encryption = .required
        #expect(throws: MediaError.self) { try required.acceptOffer(description(secure: false, crypto: [])) }
        let unknownSuite = key(.aesCM128HMACSHA1_32, tag: 1, fill: 2)
        #expect(throws: MediaError.self) { try required.acceptOffer(description(secure: true, crypto: [unknownSuite])) }
    }

    @Test("The far end's answer to our re-offer may bring a new key; the same key changes nothing")
    func reanswers() throws {
        var keying = PhoneKeying()
        keying.encryption = .required
        _ = keying.makeOffer()
        let theirs = key(.aesCM128HMACSHA1_80, tag: 1, fill: 4)
        _ = try keying.acceptAnswer(description(secure: true, crypto: [theirs]))
        #expect(keying.acceptReanswer(description(secure: true, crypto: [theirs])) == nil)
        let next = key(.aesCM128HMACSHA1_80, tag: 1, fill: 8)
        #expect(keying.acceptReanswer(description(secure: true, crypto: [next]))?.theirs == next.keyAndSalt)
    }

    @Test("A far end's re-key keeps our outbound session (its packet index never restarts); a new key of ours does not")
    func rekeyKeepsOutbound() throws {
        let ours = [UInt8](repeating: 1, count: 30), theirs = [UInt8](repeating: 2, count: 30)
        let first = try PhoneSRTP(PhoneSRTP.Keys(suite: .aesCM128HMACSHA1_80, ours: ours, theirs: theirs))
        let rekeyed = try PhoneSRTP(PhoneSRTP.Keys(suite: .aesCM128HMACSHA1_80, ours: ours,
                                                   theirs: [UInt8](repeating: 3, count: 30)), replacing: first)
        #expect(rekeyed.outbound === first.outbound)
        #expect(rekeyed.inbound !== first.inbound)
        let fresh = try PhoneSRTP(PhoneSRTP.Keys(suite: .aesCM128HMACSHA1_80, ours: [UInt8](repeating: 4, count: 30),
                                                 theirs: theirs), replacing: first)
        #expect(fresh.outbound !== first.outbound)
        var keying = PhoneKeying()
        keying.encryption = .optional
        _ = try keying.acceptOffer(description(secure: true, crypto: [key(.aesCM128HMACSHA1_80, tag: 1, fill: 5)]))
        #expect(keying.isActive)
        keying.reset()
        #expect(!keying.isActive && keying.current == nil)
    }

    @Test("SDP: RTP/SAVP and a=crypto read and written")
    func sdp() throws {
        let theirs = key(.aesCM128HMACSHA1_80, tag: 1, fill: 9)
        let text = description(secure: true, crypto: [theirs]).sessionDescription(sessionID: 1, sessionVersion: 1).serialize()
        #expect(text.contains("m=audio 30000 RTP/SAVP 0"))
        #expect(text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"))
        let parsed = try PlainAudioDescription(SessionDescription.parse(text))
        #expect(parsed.secure && parsed.crypto == [theirs])
    }
}
