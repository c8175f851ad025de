import SecureMedia
import XCTest

/// SRTP through the real libsrtp2: what one side protects the other
/// unprotects; tampering and replays are refused.
final class SRTPSessionTests: XCTestCase {
    func rtpPacket(sequence: UInt16, payload: [UInt8]) -> [UInt8] {
        [0x80, 0x00, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0x03, 0x20, 0xCA, 0xFE, 0xBA, 0xBE] + payload
    }

    func pair(_ profile: SRTPProfile) throws -> (SRTPSession, SRTPSession) {
        let material = (0..<SRTPKeyingMaterial.length(profile)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let client = SRTPKeyingMaterial.split(material, profile: profile, isDTLSClient: true)
        let server = SRTPKeyingMaterial.split(material, profile: profile, isDTLSClient: false)
        // The client's outbound key is the server's inbound key.
        XCTAssertEqual(client.local, server.remote)
        return (try SRTPSession(profile: profile, masterKey: client.local, outbound: true),
                try SRTPSession(profile: profile, masterKey: server.remote, outbound: false))
    }

    func testEachProfileRoundTripsAndRefusesTamperingAndReplay() throws {
        for profile in SRTPProfile.allCases {
            let (sender, receiver) = try pair(profile)
            let payload = (0..<160).map { UInt8($0 & 0xFF) }
            var buffer = [UInt8](repeating: 0, count: 512)
            let plain = rtpPacket(sequence: 1, payload: payload)
            buffer.replaceSubrange(0..<plain.count, with: plain)
            let protectedLength = try buffer.withUnsafeMutableBytes { try sender.protect($0, length: plain.count) }
            XCTAssertGreaterThan(protectedLength, plain.count, "\(profile): no auth tag")
            XCTAssertNotEqual(Array(buffer[12..<plain.count]), payload, "\(profile): payload not encrypted")
            let onTheWire = Array(buffer[0..<protectedLength])

            var tampered = onTheWire + [UInt8](repeating: 0, count: 64)
            tampered[20] ^= 0x01
            XCTAssertThrowsError(try tampered.withUnsafeMutableBytes { try receiver.unprotect($0, length: protectedLength) },
                                 "\(profile): tampered packet accepted")

            var received = onTheWire + [UInt8](repeating: 0, count: 64)
            let length = try received.withUnsafeMutableBytes { try receiver.unprotect($0, length: protectedLength) }
            XCTAssertEqual(Array(received[0..<length]), plain, "\(profile)")

            var replay = onTheWire + [UInt8](repeating: 0, count: 64)
            XCTAssertThrowsError(try replay.withUnsafeMutableBytes { try receiver.unprotect($0, length: protectedLength) },
                                 "\(profile): replayed packet accepted")
        }
    }

    func testAWrongKeyLengthIsRefused() {
        XCTAssertThrowsError(try SRTPSession(profile: .aeadAes128Gcm, masterKey: [UInt8](repeating: 1, count: 30), outbound: true))
    }
}
