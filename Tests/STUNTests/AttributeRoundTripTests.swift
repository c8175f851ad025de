// Every attribute, class and method survives serialize -> parse unchanged, with padding of
// every length and with and without the integrity/fingerprint trailer.

import XCTest
@testable import STUN

final class AttributeRoundTripTests: XCTestCase {
    let transactionID = hexBytes("01 02 03 04 05 06 07 08 09 0a 0b 0c")
    let key = Array("a-random-ice-password-22".utf8)

    var everyAttribute: [STUNAttribute] {
        [
            .mappedAddress(STUNAddress("198.51.100.7", port: 5060)!),
            .mappedAddress(STUNAddress("2001:db8::7", port: 1)!),
            .xorMappedAddress(STUNAddress("203.0.113.200", port: 65535)!),
            .xorMappedAddress(STUNAddress("fe80::1:2:3:4", port: 0)!),
            .username("gwUf:peerUfrag"),
            .errorCode(.roleConflict),
            .errorCode(STUNErrorCode(code: 699, reason: "")!),
            .errorCode(STUNErrorCode(code: 300, reason: "Try Alternate — ünïcode")!),
            .priority(0x7E7F_00FF),
            .useCandidate,
            .iceControlling(tieBreaker: 0xFFFF_FFFF_FFFF_FFFF),
            .iceControlled(tieBreaker: 0),
            .software("Tieline"),
            .unknown(type: 0x000A, value: [0x00, 0x01, 0x80, 0x2A]),
            .unknown(type: 0xC057, value: [1, 2, 3, 4, 5]),
            .unknown(type: 0x7FFF, value: []),
        ]
    }

    func testEveryAttributeRoundTripsAlone() throws {
        for attribute in everyAttribute {
            let message = STUNMessage(messageClass: .request, transactionID: transactionID,
                                      attributes: [attribute])
            let bytes = message.serialize(integrityKey: nil, fingerprint: false)
            XCTAssertEqual(bytes.count % 4, 0)
            XCTAssertEqual(try STUNMessage.parse(bytes), message, "\(attribute)")
        }
    }

    func testAllAttributesTogetherWithIntegrityAndFingerprint() throws {
        let message = STUNMessage(messageClass: .successResponse, transactionID: transactionID,
                                  attributes: everyAttribute)
        let bytes = message.serialize(integrityKey: key, fingerprint: true)
        let parsed = try STUNMessage.parse(bytes)
        XCTAssertEqual(Array(parsed.attributes.dropLast(2)), everyAttribute)
        XCTAssertEqual(parsed.messageIntegrity?.count, 20)
        XCTAssertNotNil(parsed.fingerprint)
        XCTAssertTrue(parsed.verifyIntegrity(key: key, in: bytes))
        XCTAssertTrue(parsed.verifyFingerprint(in: bytes))
        // Serializing the parsed message again gives the same bytes: the received trailer
        // attributes are replaced, not duplicated.
        XCTAssertEqual(parsed.serialize(integrityKey: key, fingerprint: true), bytes)
    }

    func testTrailerCombinations() throws {
        let message = STUNMessage(messageClass: .request, transactionID: transactionID,
                                  attributes: [.username("a:b"), .priority(1)])
        let onlyIntegrity = message.serialize(integrityKey: key, fingerprint: false)
        let parsedIntegrity = try STUNMessage.parse(onlyIntegrity)
        XCTAssertTrue(parsedIntegrity.verifyIntegrity(key: key, in: onlyIntegrity))
        XCTAssertFalse(parsedIntegrity.verifyFingerprint(in: onlyIntegrity))

        let onlyFingerprint = message.serialize(integrityKey: nil, fingerprint: true)
        let parsedFingerprint = try STUNMessage.parse(onlyFingerprint)
        XCTAssertFalse(parsedFingerprint.verifyIntegrity(key: key, in: onlyFingerprint))
        XCTAssertTrue(parsedFingerprint.verifyFingerprint(in: onlyFingerprint))
    }

    func testPaddingForEveryValueLength() throws {
        for length in 0...9 {
            let name = String(repeating: "u", count: length)
            let message = STUNMessage(messageClass: .request, transactionID: transactionID,
                                      attributes: [.username(name), .software(name + "x")])
            let bytes = message.serialize(integrityKey: key, fingerprint: true)
            XCTAssertEqual(bytes.count % 4, 0)
            let parsed = try STUNMessage.parse(bytes)
            XCTAssertEqual(parsed.username, name)
            XCTAssertEqual(parsed.software, name + "x")
            XCTAssertTrue(parsed.verifyIntegrity(key: key, in: bytes))
        }
    }

    func testClassesAndMethods() throws {
        let classes: [STUNMessageClass] = [.request, .indication, .successResponse, .errorResponse]
        for messageClass in classes {
            for method in [STUNMethod.binding, STUNMethod(rawValue: 0x0FFF), STUNMethod(rawValue: 0x0AB5)] {
                let message = STUNMessage(messageClass: messageClass, method: method, transactionID: transactionID)
                let bytes = message.serialize(integrityKey: nil, fingerprint: false)
                XCTAssertEqual(bytes[0] & 0xC0, 0, "top two bits stay zero")
                XCTAssertEqual(try STUNMessage.parse(bytes), message)
            }
        }
        // The well-known type values: Binding request 0x0001, success 0x0101, error 0x0111.
        let types = classes.map { STUNMessage.messageType($0, .binding) }
        XCTAssertEqual(types, [0x0001, 0x0011, 0x0101, 0x0111])
    }

    func testXORMappedAddressWireBytesMatchRFC5769() {
        let v4 = STUNAttribute.xorMappedAddress(STUNAddress("192.0.2.1", port: 32853)!)
        XCTAssertEqual(v4.encodeValue(transactionID: RFC5769.transactionID), hexBytes("00 01 a1 47 e1 12 a6 43"))
        let v6 = STUNAttribute.xorMappedAddress(STUNAddress("2001:db8:1234:5678:11:2233:4455:6677", port: 32853)!)
        XCTAssertEqual(v6.encodeValue(transactionID: RFC5769.transactionID),
                       hexBytes("00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"))
    }

    func testInjectedHasherIsUsed() throws {
        struct RecordingHasher: STUNIntegrityHasher {
            func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
                // Not a MAC: just proves which bytes and key the caller handed over.
                [UInt8](repeating: UInt8(truncatingIfNeeded: key.count &+ message.count), count: 20)
            }
        }
        let message = STUNMessage(messageClass: .request, transactionID: transactionID, attributes: [.useCandidate])
        let bytes = message.serialize(integrityKey: [1, 2, 3], fingerprint: false, hasher: RecordingHasher())
        // 20 header + 4 USE-CANDIDATE covered, key of 3 bytes.
        XCTAssertEqual(try STUNMessage.parse(bytes).messageIntegrity, [UInt8](repeating: 27, count: 20))
        XCTAssertTrue(message.verifyIntegrity(key: [1, 2, 3], in: bytes, hasher: RecordingHasher()))
        XCTAssertFalse(message.verifyIntegrity(key: [1, 2, 3], in: bytes))
    }

    func testMessageIntegrityLengthFieldCoversOnlyUpToIntegrity() throws {
        // §14.5: with FINGERPRINT after it, the HMAC is computed with the length field set to
        // end at MESSAGE-INTEGRITY, so a receiver that strips FINGERPRINT still verifies.
        let message = STUNMessage(messageClass: .request, transactionID: transactionID, attributes: [.priority(7)])
        let withFingerprint = message.serialize(integrityKey: key, fingerprint: true)
        let without = message.serialize(integrityKey: key, fingerprint: false)
        XCTAssertEqual(Array(withFingerprint.dropFirst(4).prefix(without.count - 4)), Array(without.dropFirst(4)))
    }

    func testTransactionIDsAndDemux() {
        let a = STUNMessage.randomTransactionID(), b = STUNMessage.randomTransactionID()
        XCTAssertEqual(a.count, 12)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual((0...255).filter { STUNMessage.isSTUN(UInt8($0)) }, [0, 1, 2, 3])
        for vector in RFC5769.all { XCTAssertTrue(STUNMessage.isSTUN(vector[0])) }
    }

    func testAddressText() {
        XCTAssertNil(STUNAddress("not an address", port: 1))
        XCTAssertNil(STUNAddress("[::1]", port: 1))
        XCTAssertNil(STUNAddress(addressBytes: [1, 2, 3], port: 1))
        XCTAssertEqual(STUNAddress("::1", port: 9)?.description, "[::1]:9")
        XCTAssertEqual(STUNAddress("10.0.0.1", port: 9)?.addressBytes, [10, 0, 0, 1])
        XCTAssertNil(STUNErrorCode(code: 299, reason: "x"))
        XCTAssertEqual(STUNErrorCode(code: 487, reason: "Role Conflict"), .roleConflict)
    }
}
