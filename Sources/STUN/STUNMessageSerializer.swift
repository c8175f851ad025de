// STUN messages to bytes, with MESSAGE-INTEGRITY and FINGERPRINT computed last
// (RFC 8489 §14.5, §14.7).

extension STUNMessage {
    /// The largest message length field a 16-bit, 4-aligned length can hold.
    static let maximumBodyLength = 0xFFFC
    /// Room kept for MESSAGE-INTEGRITY (4 + 20) and FINGERPRINT (4 + 4).
    static let trailerReserve = 24 + 8

    /// The message on the wire.
    ///
    /// Any MESSAGE-INTEGRITY or FINGERPRINT in `attributes` is left out: with `integrityKey`
    /// a fresh MESSAGE-INTEGRITY is appended (HMAC-SHA1 over everything before it, the length
    /// field already counting it), then with `fingerprint` a FINGERPRINT (CRC-32 of everything
    /// before it XOR 0x5354554e), in that order as §14.7 requires. For ICE the key is the
    /// UTF-8 of the ice-pwd (RFC 8445 §7.2.2).
    ///
    /// Padding is zero as §14 requires; `paddingByte` exists only so tests can rebuild the
    /// RFC 5769 vectors, whose padding is spaces on purpose. An attribute whose value or
    /// whose addition would overflow the 16-bit length fields is left out rather than
    /// producing a message no one can parse; no real ICE message comes near that size.
    public func serialize(integrityKey: [UInt8]?, fingerprint: Bool,
                          hasher: any STUNIntegrityHasher = OpenSSLIntegrityHasher(),
                          paddingByte: UInt8 = 0) -> [UInt8] {
        let id = Array((transactionID + [UInt8](repeating: 0, count: 12)).prefix(12))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        bytes += bigEndianBytes(STUNMessage.messageType(messageClass, method))
        bytes += [0, 0]
        bytes += bigEndianBytes(STUNMessage.magicCookie)
        bytes += id

        let bodyLimit = STUNMessage.headerLength + STUNMessage.maximumBodyLength - STUNMessage.trailerReserve
        for attribute in attributes {
            switch attribute {
            case .messageIntegrity, .fingerprint: continue
            default: break
            }
            let value = attribute.encodeValue(transactionID: id)
            let padded = (value.count + 3) & ~3
            guard value.count <= 0xFFFF, bytes.count + 4 + padded <= bodyLimit else { continue }
            STUNMessage.append(type: attribute.type, value: value, to: &bytes, paddingByte: paddingByte)
        }

        if let key = integrityKey {
            STUNMessage.setLength(of: &bytes, including: 24)
            var mac = hasher.hmacSHA1(key: key, message: bytes)
            // A well-behaved hasher returns 20 bytes; keep the wire format valid regardless.
            mac = Array((mac + [UInt8](repeating: 0, count: 20)).prefix(20))
            STUNMessage.append(type: STUNAttribute.TypeCode.messageIntegrity, value: mac, to: &bytes,
                               paddingByte: paddingByte)
        }
        if fingerprint {
            STUNMessage.setLength(of: &bytes, including: 8)
            let crc = CRC32.checksum(bytes[...]) ^ STUNMessage.fingerprintXOR
            STUNMessage.append(type: STUNAttribute.TypeCode.fingerprint, value: bigEndianBytes(crc), to: &bytes,
                               paddingByte: paddingByte)
        }
        STUNMessage.setLength(of: &bytes, including: 0)
        return bytes
    }

    /// "STUN" in ASCII; XORing it in keeps a FINGERPRINT from matching the CRC that another
    /// protocol sharing the port might carry in the same position (§14.7).
    static let fingerprintXOR: UInt32 = 0x5354_554E

    private static func append(type: UInt16, value: [UInt8], to bytes: inout [UInt8], paddingByte: UInt8) {
        bytes += bigEndianBytes(type)
        bytes += bigEndianBytes(UInt16(value.count))
        bytes += value
        let padding = ((value.count + 3) & ~3) - value.count
        bytes += [UInt8](repeating: paddingByte, count: padding)
    }

    /// Sets the length field to the attributes present plus `extra` bytes still to come.
    static func setLength(of bytes: inout [UInt8], including extra: Int) {
        let length = UInt16(bytes.count - headerLength + extra)
        bytes[2] = UInt8(length >> 8)
        bytes[3] = UInt8(length & 0xFF)
    }
}
