// a=crypto (RFC 4568, SDES): reading and writing the attribute value.
import Foundation
import Testing
@testable import SDP

@Suite struct CryptoAttributeTests {
    /// RFC 4568 §9.1's example line.
    static let rfcExample = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"

    @Test func theRFCExampleReadsAndWritesBack() throws {
        let crypto = try SDPCrypto(parsing: Self.rfcExample)
        #expect(crypto.tag == 1)
        #expect(crypto.suite == .aesCM128HMACSHA1_80)
        #expect(crypto.keyAndSalt.count == 30)
        #expect(crypto.keyAndSalt == Array(Data(base64Encoded: "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")!))
        #expect(crypto.lifetime == 1 << 20)
        #expect(crypto.mki?.value == 1 && crypto.mki?.length == 4)
        #expect(!crypto.isUsable, "Tieline keys without an MKI")
        #expect(crypto.text == Self.rfcExample)
    }

    @Test func linesTieLineCanKey() throws {
        let key = (0..<30).map { UInt8($0) }
        let ours = SDPCrypto(tag: 2, suite: .aesCM128HMACSHA1_80, keyAndSalt: key)
        #expect(ours.isUsable)
        let back = try SDPCrypto(parsing: ours.text)
        #expect(back == ours)
        let gcm = SDPCrypto(tag: 1, suite: .aeadAES128GCM, keyAndSalt: Array(key.prefix(28)))
        #expect(gcm.isUsable && gcm.text.hasPrefix("1 AEAD_AES_128_GCM inline:"))
        #expect(try SDPCrypto(parsing: gcm.text) == gcm)
        // A wrong key length, an unknown suite or a protection-changing parameter: not usable.
        #expect(!SDPCrypto(tag: 1, suite: .aeadAES128GCM, keyAndSalt: key).isUsable)
        #expect(try !SDPCrypto(parsing: "1 F8_128_HMAC_SHA1_80 inline:\(Base64.encode(key))").isUsable)
        #expect(try !SDPCrypto(parsing: "1 AES_CM_128_HMAC_SHA1_80 inline:\(Base64.encode(key)) UNENCRYPTED_SRTP").isUsable)
        #expect(try !SDPCrypto(parsing: "1 AES_CM_128_HMAC_SHA1_80 inline:\(Base64.encode(key)) KDR=10").isUsable)
        #expect(try SDPCrypto(parsing: "1 AES_CM_128_HMAC_SHA1_80 inline:\(Base64.encode(key)) KDR=0").isUsable)
        // Several key parameters: the first is taken.
        let two = try SDPCrypto(parsing: "3 AES_CM_128_HMAC_SHA1_32 inline:\(Base64.encode(key));inline:\(Base64.encode(Array(key.reversed())))")
        #expect(two.keyAndSalt == key && two.suite == .aesCM128HMACSHA1_32)
        #expect(try SDPCrypto(parsing: "1 AES_CM_128_HMAC_SHA1_80 inline:\(Base64.encode(key))|1048576").lifetime == 1 << 20)
    }

    @Test func faultsAreClearErrors() {
        let key = Base64.encode((0..<30).map { UInt8($0) })
        for junk in ["", "1", "1 AES_CM_128_HMAC_SHA1_80", "x AES_CM_128_HMAC_SHA1_80 inline:\(key)",
                     "0 AES_CM_128_HMAC_SHA1_80 inline:\(key)", "1234567890 AES_CM_128_HMAC_SHA1_80 inline:\(key)",
                     "1 AES_CM_128_HMAC_SHA1_80 \(key)", "1 AES_CM_128_HMAC_SHA1_80 inline:",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64", "1 AES_CM_128_HMAC_SHA1_80 inline:\(key)|2^99",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:\(key)|soon", "1 AES_CM_128_HMAC_SHA1_80 inline:\(key)|1:999",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:QQ==QQ=="] {
            #expect(throws: SDPError.self, "\(junk)") { try SDPCrypto(parsing: junk) }
        }
    }

    @Test func base64MatchesFoundation() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString())
            #expect(Base64.decode(text) == bytes)
            #expect(Base64.decode(text.replacingOccurrences(of: "=", with: "")) == bytes, "unpadded")
        }
        for junk in ["A", "A===", "AB=C", "AB C", "AB\u{e9}C"] { #expect(Base64.decode(junk) == nil, "\(junk)") }
    }
}
