import XCTest
import RTP

final class TelephoneEventTests: XCTestCase {
    func testRoundTrip() throws {
        let event = TelephoneEvent(event: 11, end: true, volume: 10, duration: 1280)
        var bytes = [UInt8](repeating: 0, count: 4)
        XCTAssertEqual(bytes.withUnsafeMutableBytes { event.write(to: $0) }, 4)
        XCTAssertEqual(bytes, [11, 0x8A, 0x05, 0x00])
        XCTAssertEqual(try bytes.withUnsafeBytes { try TelephoneEvent.parse($0) }, event)
        XCTAssertEqual(event.digit, "#")
    }

    func testReservedBitIgnoredAndShortPayloadRejected() throws {
        let bytes: [UInt8] = [5, 0x40 | 0x3F, 0, 160]
        let event = try bytes.withUnsafeBytes { try TelephoneEvent.parse($0) }
        XCTAssertEqual(event, TelephoneEvent(event: 5, end: false, volume: 63, duration: 160))
        let short: [UInt8] = [5, 0, 0]
        XCTAssertThrowsError(try short.withUnsafeBytes { try TelephoneEvent.parse($0) }) {
            XCTAssertEqual($0 as? RTPError, .truncated(needed: 4, available: 3))
        }
        var tiny = [UInt8](repeating: 0, count: 3)
        XCTAssertEqual(tiny.withUnsafeMutableBytes { event.write(to: $0) }, 0)
    }

    func testDigits() {
        XCTAssertEqual(TelephoneEvent.event(forDigit: "0"), 0)
        XCTAssertEqual(TelephoneEvent.event(forDigit: "*"), 10)
        XCTAssertEqual(TelephoneEvent.event(forDigit: "d"), 15)
        XCTAssertNil(TelephoneEvent.event(forDigit: "x"))
        XCTAssertNil(TelephoneEvent(event: 16, duration: 0).digit)
    }
}
