// CRC-32 as FINGERPRINT uses it (RFC 8489 §14.7 points at ISO/IEC 13239, the same CRC as
// Ethernet and zlib): reflected polynomial 0xEDB88320, initial value and final XOR all ones.
//
// Written out here rather than taken from zlib so this target links nothing for it; a
// byte-at-a-time table is plenty for a few STUN messages per second per call.

enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
        return crc
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = (crc >> 8) ^ table[Int((crc ^ UInt32(byte)) & 0xFF)]
        }
        return crc ^ 0xFFFF_FFFF
    }
}
