import XCTest
import RTP

final class RTPHeaderTests: XCTestCase {
    func testPlainHeaderRoundTrip() throws {
        let header = RTPHeader(marker: true, payloadType: 0, sequenceNumber: 0xBEEF,
                               timestamp: 0xDEAD_BEEF, ssrc: 0x1234_5678)
        let payload = [UInt8](repeating: 0xFF, count: 160)
        let packet = serializeRTP(header, payload: payload)
        XCTAssertEqual(Array(packet.prefix(12)),
                       [0x80, 0x80, 0xBE, 0xEF, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34, 0x56, 0x78])
        let (parsed, range) = try parseRTP(packet)
        XCTAssertEqual(parsed, header)
        XCTAssertEqual(range, 12..<172)
    }

    func testCSRCsAndExtensionRoundTrip() throws {
        let header = RTPHeader(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 7,
                               csrcs: [0xAAAA_AAAA, 0xBBBB_BBBB, 3],
                               headerExtension: RTPHeaderExtension(profile: 0xBEDE, length: 2))
        let extensionData: [UInt8] = [0x10, 0x7F, 0x22, 0x01, 0x02, 0x03, 0x00, 0x00]
        let packet = serializeRTP(header, payload: [1, 2, 3], extensionData: extensionData)
        XCTAssertEqual(packet[0], 0x93, "V=2, X=1, CC=3")
        XCTAssertEqual(header.length, 12 + 12 + 4 + 8)

        let (parsed, range) = try parseRTP(packet)
        XCTAssertEqual(parsed, header)
        XCTAssertEqual(Array(parsed.csrcs), [0xAAAA_AAAA, 0xBBBB_BBBB, 3])
        XCTAssertEqual(parsed.extensionDataRange, 28..<36)
        XCTAssertEqual(Array(packet[parsed.extensionDataRange!]), extensionData)
        XCTAssertEqual(Array(packet[range]), [1, 2, 3])
    }

    func testExtensionDataIsZeroFilledWhenNotGiven() {
        let header = RTPHeader(payloadType: 8, sequenceNumber: 0, timestamp: 0, ssrc: 0,
                               headerExtension: RTPHeaderExtension(profile: 0x1000, length: 1))
        let packet = serializeRTP(header, payload: [])
        XCTAssertEqual(Array(packet[12..<20]), [0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0])
    }

    func testPaddingIsExcludedFromPayload() throws {
        // 3 payload bytes then 5 padding octets, the last counting all five.
        var packet = serializeRTP(RTPHeader(padding: true, payloadType: 0, sequenceNumber: 9,
                                            timestamp: 160, ssrc: 1), payload: [0xA, 0xB, 0xC])
        packet += [0, 0, 0, 0, 5]
        let (header, range) = try parseRTP(packet)
        XCTAssertTrue(header.padding)
        XCTAssertEqual(range, 12..<15)
        XCTAssertEqual(Array(packet[range]), [0xA, 0xB, 0xC])

        // Padding may take the whole payload.
        let allPadding = Array(packet.prefix(12)) + [0, 0, 0, 4]
        XCTAssertEqual(try parseRTP(allPadding).payload, 12..<12)
    }

    func testInvalidPaddingIsRejected() {
        let header = RTPHeader(padding: true, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0)
        for (tail, count) in [([UInt8](), 0), ([1, 0], 0), ([1, 2, 9], 9)] {
            let packet = serializeRTP(header, payload: tail)
            XCTAssertThrowsError(try parseRTP(packet)) { error in
                XCTAssertEqual(error as? RTPError,
                               .invalidPadding(offset: 0, count: count, available: tail.count))
            }
        }
    }

    func testTruncationAndVersionErrors() {
        XCTAssertThrowsError(try parseRTP([0x80, 0, 0])) {
            XCTAssertEqual($0 as? RTPError, .truncated(needed: 12, available: 3))
        }
        var packet = serializeRTP(RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0),
                                  payload: [])
        packet[0] = 0x82  // CC=2 but no CSRCs follow
        XCTAssertThrowsError(try parseRTP(packet)) {
            XCTAssertEqual($0 as? RTPError, .truncated(needed: 20, available: 12))
        }
        packet[0] = 0x40
        XCTAssertThrowsError(try parseRTP(packet)) {
            XCTAssertEqual($0 as? RTPError, .unsupportedVersion(offset: 0, version: 1))
            XCTAssertEqual("\($0)", "The packet at byte 0 has version 1, not 2.")
        }
    }

    func testWriteRefusesSmallBufferAndMismatchedExtension() {
        let header = RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: [1],
                               headerExtension: RTPHeaderExtension(profile: 0xBEDE, length: 1))
        var buffer = [UInt8](repeating: 0, count: 23)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { header.write(to: $0) }, 0)
        buffer = [UInt8](repeating: 0, count: 64)
        let wrongSize: [UInt8] = [1, 2, 3]
        XCTAssertEqual(buffer.withUnsafeMutableBytes { out in
            wrongSize.withUnsafeBytes { header.write(to: out, extensionData: $0) }
        }, 0)
    }

    func testRewriteInPlace() throws {
        let original = RTPHeader(payloadType: 111, sequenceNumber: 10, timestamp: 100, ssrc: 1,
                                 csrcs: [42])
        var packet = serializeRTP(original, payload: [9, 9])
        try packet.withUnsafeMutableBytes { buffer in
            try RTPHeader.rewrite(buffer, sequenceNumber: 65535, timestamp: 0xFFFF_FFFF,
                                  ssrc: 0xCAFE_BABE, payloadType: 0, marker: true)
        }
        let (header, range) = try parseRTP(packet)
        XCTAssertEqual(header, RTPHeader(marker: true, payloadType: 0, sequenceNumber: 65535,
                                         timestamp: 0xFFFF_FFFF, ssrc: 0xCAFE_BABE, csrcs: [42]))
        XCTAssertEqual(Array(packet[range]), [9, 9])

        // Changing only the marker keeps the payload type, and the reverse.
        try packet.withUnsafeMutableBytes { buffer in
            try RTPHeader.rewrite(buffer, marker: false)
        }
        XCTAssertEqual(try parseRTP(packet).header.payloadType, 0)
        XCTAssertFalse(try parseRTP(packet).header.marker)

        var short: [UInt8] = [0x80, 0]
        XCTAssertThrowsError(try short.withUnsafeMutableBytes { buffer in
            try RTPHeader.rewrite(buffer, ssrc: 1)
        })
    }

    func testCSRCListCapacity() {
        var list = CSRCList()
        for i in 0..<15 { XCTAssertTrue(list.append(UInt32(i))) }
        XCTAssertFalse(list.append(99))
        XCTAssertEqual(list.count, 15)
        XCTAssertNil(CSRCList(0..<16))
        XCTAssertEqual(CSRCList(0..<15), list)
    }
}
