// RFC 5769 test vectors: every field parsed, both checks verified, and the bytes rebuilt
// exactly from the parsed message and the password.

import XCTest
@testable import STUN

final class RFC5769Tests: XCTestCase {
    func testSampleRequestFields() throws {
        let message = try STUNMessage.parse(RFC5769.request)
        XCTAssertEqual(message.messageClass, .request)
        XCTAssertEqual(message.method, .binding)
        XCTAssertEqual(message.transactionID, RFC5769.transactionID)
        XCTAssertEqual(message.attributes, [
            .software("STUN test client"),
            .priority(0x6E00_01FF),
            .iceControlled(tieBreaker: 0x932F_F9B1_5126_3B36),
            .username("evtj:h6vY"),
            .messageIntegrity(hexBytes("9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2")),
            .fingerprint(0xE57A_3BCF),
        ])
        XCTAssertEqual(message.username, "evtj:h6vY")
        XCTAssertEqual(message.priority, 0x6E00_01FF)
        XCTAssertEqual(message.iceControlled, 0x932F_F9B1_5126_3B36)
        XCTAssertNil(message.iceControlling)
        XCTAssertFalse(message.useCandidate)
        XCTAssertEqual(message.software, "STUN test client")
        XCTAssertEqual(message.fingerprint, 0xE57A_3BCF)
        XCTAssertEqual(message.unknownComprehensionRequiredTypes, [])
    }

    func testSampleIPv4ResponseFields() throws {
        let message = try STUNMessage.parse(RFC5769.ipv4Response)
        XCTAssertEqual(message.messageClass, .successResponse)
        XCTAssertEqual(message.method, .binding)
        XCTAssertEqual(message.transactionID, RFC5769.transactionID)
        let address = try XCTUnwrap(message.xorMappedAddress)
        XCTAssertEqual(address.family, .ipv4)
        XCTAssertEqual(address.addressBytes, [192, 0, 2, 1])
        XCTAssertEqual(address.port, 32853)
        XCTAssertEqual(address.description, "192.0.2.1:32853")
        XCTAssertEqual(message.software, "test vector")
        XCTAssertEqual(message.messageIntegrity,
                       hexBytes("2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"))
        XCTAssertEqual(message.fingerprint, 0xC07D_4C96)
        XCTAssertEqual(message.attributes.count, 4)
    }

    func testSampleIPv6ResponseFields() throws {
        let message = try STUNMessage.parse(RFC5769.ipv6Response)
        XCTAssertEqual(message.messageClass, .successResponse)
        XCTAssertEqual(message.method, .binding)
        let address = try XCTUnwrap(message.xorMappedAddress)
        XCTAssertEqual(address.family, .ipv6)
        XCTAssertEqual(address, STUNAddress("2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        XCTAssertEqual(address.description, "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        XCTAssertEqual(message.software, "test vector")
        XCTAssertEqual(message.messageIntegrity,
                       hexBytes("a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"))
        XCTAssertEqual(message.fingerprint, 0xC8FB_0B4C)
    }

    func testIntegrityAndFingerprintVerify() throws {
        for vector in RFC5769.all {
            let message = try STUNMessage.parse(vector)
            XCTAssertTrue(message.verifyIntegrity(key: RFC5769.key, in: vector))
            XCTAssertTrue(message.verifyFingerprint(in: vector))
        }
    }

    func testReserializingReproducesTheExactBytes() throws {
        for vector in RFC5769.all {
            let message = try STUNMessage.parse(vector)
            // The vectors pad with spaces, which the HMAC and CRC cover; zero padding (what we
            // send) must give the same structure with different trailer values.
            let rebuilt = message.serialize(integrityKey: RFC5769.key, fingerprint: true, paddingByte: 0x20)
            XCTAssertEqual(rebuilt, vector)
            let zeroPadded = message.serialize(integrityKey: RFC5769.key, fingerprint: true)
            XCTAssertEqual(zeroPadded.count, vector.count)
            let reparsed = try STUNMessage.parse(zeroPadded)
            XCTAssertTrue(reparsed.verifyIntegrity(key: RFC5769.key, in: zeroPadded))
            XCTAssertTrue(reparsed.verifyFingerprint(in: zeroPadded))
        }
    }

    func testWrongKeyFailsIntegrity() throws {
        for vector in RFC5769.all {
            let message = try STUNMessage.parse(vector)
            XCTAssertFalse(message.verifyIntegrity(key: Array("VOkJxbRl1RmTxUk/WvJxBu".utf8), in: vector))
            XCTAssertFalse(message.verifyIntegrity(key: [], in: vector))
        }
    }

    func testAnyFlippedByteFailsFingerprint() throws {
        let vector = RFC5769.request
        let message = try STUNMessage.parse(vector)
        // Every byte except the length field (which would break the structure first) and the
        // FINGERPRINT header and value themselves; padding bytes included, the CRC covers them.
        for index in 0..<(vector.count - 8) where index != 2 && index != 3 {
            var damaged = vector
            damaged[index] ^= 0x01
            XCTAssertFalse(message.verifyFingerprint(in: damaged), "byte \(index)")
            if index < vector.count - 32 {
                XCTAssertFalse(message.verifyIntegrity(key: RFC5769.key, in: damaged), "byte \(index)")
            }
        }
        var damagedCRC = vector
        damagedCRC[vector.count - 1] ^= 0x80
        XCTAssertFalse(message.verifyFingerprint(in: damagedCRC))
        // The HMAC does not cover FINGERPRINT, so integrity still holds: the two are separate.
        XCTAssertTrue(message.verifyIntegrity(key: RFC5769.key, in: damagedCRC))
    }

    func testHMACSHA1KnownAnswer() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = OpenSSLIntegrityHasher().hmacSHA1(key: Array("Jefe".utf8),
                                                    message: Array("what do ya want for nothing?".utf8))
        XCTAssertEqual(mac, hexBytes("ef fc df 6a e5 eb 2f a2 d2 74 16 d5 f1 84 df 9c 25 9a 7c 79"))
    }

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)[...]), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([][...]), 0)
    }
}
