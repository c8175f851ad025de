// HMAC-SHA256 and randomness for login tokens, from the system's OpenSSL.
// The only file of this target that imports COpenSSL: NIOSSL's BoringSSL
// must not meet it in one Swift file.
import COpenSSL

enum TokenCrypto {
    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        // HMAC pads the key to the block size, so a lone zero byte equals the empty key;
        // it keeps the pointers non-null.
        let key = key.isEmpty ? [0] : key
        let input = data.isEmpty ? [0] : data
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = key.withUnsafeBufferPointer { k in
            input.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(clamping: k.count), d.baseAddress, data.count,
                         o.baseAddress, &length) != nil
                }
            }
        }
        // HMAC fails only when libcrypto cannot allocate: an all-zero MAC then matches nothing real.
        return ok && length == 32 ? out : [UInt8](repeating: 0, count: 32)
    }

    /// Compares in time independent of where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
