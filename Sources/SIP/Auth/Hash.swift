// Hashes for SIP Digest authentication, through the system OpenSSL.
//
// This is the only file of the digest code that imports COpenSSL, so the rest
// stays plain Swift and the C surface stays in one place. Only the one-shot
// APIs are used (EVP_Digest, HMAC, RAND_bytes): no contexts to leak or free.
import COpenSSL

public enum DigestHash: Sendable {
    /// MD5, lowercase hex. Still the default algorithm of RFC 3261 digest.
    public static func md5Hex(_ bytes: some Sequence<UInt8>) -> String {
        hex(digest(bytes, EVP_md5()))
    }

    /// SHA-256, lowercase hex (RFC 7616, RFC 8760).
    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        hex(digest(bytes, EVP_sha256()))
    }

    /// SHA-512/256, lowercase hex (RFC 7616, RFC 8760). Present in every
    /// OpenSSL since 1.1.1, so no availability check is needed.
    public static func sha512_256Hex(_ bytes: some Sequence<UInt8>) -> String {
        hex(digest(bytes, EVP_sha512_256()))
    }

    /// `byteCount` random bytes from OpenSSL's CSPRNG, as lowercase hex.
    public static func randomHex(byteCount: Int) -> String {
        hex(randomBytes(byteCount))
    }

    /// Random bytes from RAND_bytes. Should OpenSSL ever refuse (it only does
    /// when it cannot seed), fall back to the standard library's system RNG,
    /// which is also cryptographically secure, rather than crash or return
    /// predictable bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { buf in
            RAND_bytes(buf.baseAddress, Int32(clamping: buf.count)) == 1
        }
        if !ok || count > Int(Int32.max) {
            var rng = SystemRandomNumberGenerator()
            for i in out.indices { out[i] = rng.next() }
        }
        return out
    }

    /// HMAC-SHA256 (32 bytes). Used for stateless server nonces.
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        // HMAC zero-pads the key to the block size, so an empty key and a
        // single zero byte are the same key; this keeps the pointer non-null.
        let key = key.isEmpty ? [0] : key
        // A one-byte buffer stands in for empty data so no pointer is nil;
        // the length passed is still 0.
        let data = data.isEmpty ? ([0], 0) : (data, data.count)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result: UnsafeMutablePointer<UInt8>? = key.withUnsafeBufferPointer { k in
            data.0.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(clamping: k.count),
                         d.baseAddress, data.1, o.baseAddress, &length)
                }
            }
        }
        // A failure here would mean OpenSSL itself is broken; an empty MAC
        // never compares equal to a real one, so callers fail closed.
        guard result != nil else { return [] }
        return Array(out.prefix(Int(length)))
    }

    /// Lowercase hex of the digest selected by `algorithm` (the -sess
    /// variants use the same hash as their base).
    static func hex(_ algorithm: DigestAlgorithm, _ bytes: some Sequence<UInt8>) -> String {
        switch algorithm {
        case .md5, .md5Sess: md5Hex(bytes)
        case .sha256, .sha256Sess: sha256Hex(bytes)
        case .sha512_256, .sha512_256Sess: sha512_256Hex(bytes)
        }
    }

    private static func digest(_ bytes: some Sequence<UInt8>, _ md: OpaquePointer?) -> [UInt8] {
        var input = Array(bytes)
        let count = input.count
        if input.isEmpty { input = [0] }  // non-null pointer; count stays 0
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let status: Int32 = input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Digest(UnsafeRawPointer(i.baseAddress), count, o.baseAddress, &length, md, nil)
            }
        }
        guard status == 1 else { return [] }
        return Array(out.prefix(Int(length)))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(bytes.count * 2)
        for b in bytes {
            chars.append(digits[Int(b >> 4)])
            chars.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
