// Malformed input gets a typed error that names the problem, and random damage never crashes.

import TestSupport
import XCTest
@testable import STUN

final class RobustnessTests: XCTestCase {
    let header = hexBytes("00 01 00 00 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b")

    /// The header above with `body` appended and the length field set to match.
    func message(_ body: [UInt8]) -> [UInt8] {
        var bytes = header + body
        bytes[2] = UInt8(body.count >> 8)
        bytes[3] = UInt8(body.count & 0xFF)
        return bytes
    }

    func testStructuralErrors() {
        XCTAssertEqual(parseError([]), .tooShort(count: 0))
        XCTAssertEqual(parseError(Array(header.prefix(19))), .tooShort(count: 19))
        var rtp = header
        rtp[0] = 0x80
        XCTAssertEqual(parseError(rtp), .notSTUN(firstByte: 0x80))
        var classic = header
        classic[4] = 0
        XCTAssertEqual(parseError(classic), .badMagicCookie(0x0012_A442))
        var odd = header + [0, 0]
        odd[3] = 2
        XCTAssertEqual(parseError(odd), .lengthNotMultipleOfFour(2))
        var long = header
        long[3] = 8
        XCTAssertEqual(parseError(long), .lengthMismatch(declared: 8, available: 0))
        XCTAssertEqual(parseError(header + [0, 0, 0, 0]), .lengthMismatch(declared: 0, available: 4))
    }

    func testAttributeErrors() {
        // USERNAME claiming 9 bytes where 8 remain (with padding it needs 12).
        XCTAssertEqual(parseError(message(hexBytes("00 06 00 09 61 62 63 64 65 66 67 68"))),
                       .truncatedAttribute(type: 0x0006, offset: 20, declaredLength: 9, available: 8))
        XCTAssertEqual(parseError(message(hexBytes("00 24 00 03 00 00 00 00"))),
                       .invalidAttributeLength(type: 0x0024, length: 3, expected: "4"))
        XCTAssertEqual(parseError(message(hexBytes("00 25 00 04 00 00 00 00"))),
                       .invalidAttributeLength(type: 0x0025, length: 4, expected: "0"))
        XCTAssertEqual(parseError(message(hexBytes("00 20 00 08 00 03 a1 47 e1 12 a6 43"))),
                       .unknownAddressFamily(type: 0x0020, family: 3))
        XCTAssertEqual(parseError(message(hexBytes("00 01 00 08 00 02 a1 47 e1 12 a6 43"))),
                       .invalidAttributeLength(type: 0x0001, length: 8, expected: "20"))
        XCTAssertEqual(parseError(message(hexBytes("00 06 00 02 c3 28 00 00"))), .invalidUTF8(type: 0x0006))
        XCTAssertEqual(parseError(message(hexBytes("00 09 00 04 00 00 07 00"))),
                       .invalidErrorCode(errorClass: 7, number: 0))
        XCTAssertEqual(parseError(message(hexBytes("00 09 00 04 00 00 04 64"))),
                       .invalidErrorCode(errorClass: 4, number: 100))
        XCTAssertEqual(parseError(message(hexBytes("80 28 00 04 00 00 00 00 00 25 00 00"))),
                       .attributeAfterFingerprint(type: 0x0025, offset: 28))
    }

    func testErrorDescriptionsNameTheProblem() {
        XCTAssertEqual(STUNError.invalidUTF8(type: 0x0006).description, "STUN attribute USERNAME is not valid UTF-8")
        XCTAssertTrue(STUNError.badMagicCookie(0).description.contains("0x2112a442"))
        XCTAssertTrue(STUNError.truncatedAttribute(type: 0xC057, offset: 20, declaredLength: 9, available: 8)
            .description.contains("0xc057 at offset 20"))
    }

    func testReservedErrorCodeBitsAreIgnored() throws {
        // 0xfc: the reserved high bits are all set, the class bits say 4.
        let parsed = try STUNMessage.parse(message(hexBytes("00 09 00 06 ff ff fc 01 4f 4b 00 00")))
        XCTAssertEqual(parsed.errorCode, STUNErrorCode(code: 401, reason: "OK"))
    }

    func testAttributesAfterIntegrityAreIgnoredExceptFingerprint() throws {
        let original = STUNMessage(messageClass: .request, transactionID: Array(header[8...]),
                                   attributes: [.username("a:b")])
        var bytes = original.serialize(integrityKey: [9], fingerprint: false)
        // Smuggle a PRIORITY in after MESSAGE-INTEGRITY, then a FINGERPRINT.
        bytes += hexBytes("00 24 00 04 00 00 00 01 80 28 00 04 00 00 00 00")
        bytes[3] += 16
        let parsed = try STUNMessage.parse(bytes)
        XCTAssertNil(parsed.priority)
        XCTAssertEqual(parsed.fingerprint, 0)
        XCTAssertEqual(parsed.attributes.count, 3)
        XCTAssertTrue(parsed.verifyIntegrity(key: [9], in: bytes))
    }

    func testUnknownComprehensionRequiredTypesAreReported() throws {
        let parsed = try STUNMessage.parse(message(hexBytes("00 99 00 00 c0 57 00 00 00 99 00 00")))
        XCTAssertEqual(parsed.unknownComprehensionRequiredTypes, [0x0099])
    }

    func testEveryTruncationIsRejectedWithoutCrashing() {
        for vector in RFC5769.all {
            for length in 0..<vector.count {
                let prefix = Array(vector.prefix(length))
                XCTAssertNotNil(parseError(prefix), "prefix of \(length) bytes")
                // The verifiers must also cope with bytes that do not parse.
                let any = STUNMessage(messageClass: .request, transactionID: RFC5769.transactionID)
                XCTAssertFalse(any.verifyFingerprint(in: prefix))
                XCTAssertFalse(any.verifyIntegrity(key: RFC5769.key, in: prefix))
            }
        }
    }

    func testRandomMutationsNeverCrash() {
        var generator = SeededGenerator(seed: 5769)
        var parsedCount = 0
        for round in 0..<6000 {
            var bytes = RFC5769.all[round % 3]
            switch round % 4 {
            case 0: // a few random bytes anywhere
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            case 1: // attack the attribute headers (type and length) in particular
                let offset = 20 + 4 * Int.random(in: 0..<((bytes.count - 20) / 4), using: &generator)
                bytes[offset + Int.random(in: 0...3, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            case 2: // random truncation with the length field patched to agree
                bytes = Array(bytes.prefix(Int.random(in: 20...bytes.count, using: &generator)))
                bytes[2] = UInt8((bytes.count - 20) >> 8)
                bytes[3] = UInt8((bytes.count - 20) & 0xFF)
            default: // random garbage after a valid header
                let body = (0..<(4 * Int.random(in: 0...40, using: &generator))).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                bytes = message(body)
            }
            do {
                let parsed = try STUNMessage.parse(bytes)
                parsedCount += 1
                _ = parsed.verifyIntegrity(key: RFC5769.key, in: bytes)
                _ = parsed.verifyFingerprint(in: bytes)
                // Whatever parsed must serialize and parse back to the same attributes.
                let again = parsed.serialize(integrityKey: RFC5769.key, fingerprint: true)
                let reparsed = try STUNMessage.parse(again)
                let stripped = parsed.attributes.filter { $0.type != 0x0008 && $0.type != 0x8028 }
                XCTAssertEqual(Array(reparsed.attributes.dropLast(2)), stripped)
            } catch {
                XCTAssertFalse(error.description.isEmpty)
            }
        }
        // The mutations should exercise both paths, not just the error one.
        XCTAssertGreaterThan(parsedCount, 100)
    }
}
