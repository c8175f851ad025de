// Checking MESSAGE-INTEGRITY and FINGERPRINT on received messages (RFC 8489 §14.5, §14.7).
//
// Both checks run over the bytes as received, never over a re-serialization: the sender's
// padding bytes, attribute order and duplicates are all covered by its HMAC and CRC.

/// HMAC-SHA1 for MESSAGE-INTEGRITY, injectable so this target needs no particular crypto
/// library; `OpenSSLIntegrityHasher` is the default.
public protocol STUNIntegrityHasher: Sendable {
    /// HMAC-SHA1 of `message` under `key`: 20 bytes.
    func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8]
}

extension STUNMessage {
    /// True if `original`, the bytes this message was parsed from, carries a MESSAGE-INTEGRITY
    /// that matches `key`. The HMAC covers everything before the attribute, with the header's
    /// length field set as if MESSAGE-INTEGRITY were the last attribute (a FINGERPRINT after
    /// it is not counted). For ICE the key is the UTF-8 of the ice-pwd.
    public func verifyIntegrity(key: [UInt8], in original: [UInt8],
                                hasher: any STUNIntegrityHasher = OpenSSLIntegrityHasher()) -> Bool {
        guard let entries = STUNMessage.attributeLayout(of: original),
              let integrity = entries.first(where: { $0.type == STUNAttribute.TypeCode.messageIntegrity }),
              integrity.length == 20
        else { return false }
        var covered = Array(original[..<integrity.offset])
        STUNMessage.setLength(of: &covered, including: 24)
        let expected = hasher.hmacSHA1(key: key, message: covered)
        let received = original[(integrity.offset + 4)..<(integrity.offset + 24)]
        return constantTimeEqual(expected, received)
    }

    /// True if `original` ends with a FINGERPRINT whose CRC-32 (XOR 0x5354554e) matches the
    /// bytes before it. The length field already counts FINGERPRINT because it is last.
    public func verifyFingerprint(in original: [UInt8]) -> Bool {
        guard let entries = STUNMessage.attributeLayout(of: original),
              let last = entries.last,
              last.type == STUNAttribute.TypeCode.fingerprint, last.length == 4,
              last.offset + 8 == original.count
        else { return false }
        let expected = CRC32.checksum(original[..<last.offset]) ^ STUNMessage.fingerprintXOR
        return UInt32(bigEndianFrom: original[(last.offset + 4)...]) == expected
    }

    /// Where each attribute header sits in a structurally sound message, or nil if the header
    /// or any attribute's length does not fit.
    static func attributeLayout(of bytes: [UInt8]) -> [(type: UInt16, offset: Int, length: Int)]? {
        guard bytes.count >= headerLength,
              Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count - headerLength
        else { return nil }
        var entries: [(type: UInt16, offset: Int, length: Int)] = []
        var offset = headerLength
        while offset + 4 <= bytes.count {
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let next = offset + 4 + ((length + 3) & ~3)
            guard next <= bytes.count else { return nil }
            entries.append((type, offset, length))
            offset = next
        }
        return offset == bytes.count ? entries : nil
    }
}

/// Compares every byte whatever the first difference, so the time taken does not tell an
/// attacker how much of a forged MAC was right.
func constantTimeEqual(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
