// The default HMAC-SHA1 for MESSAGE-INTEGRITY, from the system's OpenSSL (libcrypto).
//
// The only file of this target that imports COpenSSL: everything else sees the
// STUNIntegrityHasher protocol, so tests or another crypto library can stand in.

import COpenSSL

public struct OpenSSLIntegrityHasher: STUNIntegrityHasher {
    public init() {}

    public func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var macLength: UInt32 = 0
        // An empty Swift array may have no storage; give OpenSSL a real pointer with length 0.
        let keyBytes = key.isEmpty ? [0] : key
        let ok = keyBytes.withUnsafeBufferPointer { keyBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                mac.withUnsafeMutableBufferPointer { out in
                    HMAC(EVP_sha1(), keyBuffer.baseAddress, Int32(key.count),
                         messageBuffer.baseAddress, messageBuffer.count, out.baseAddress, &macLength) != nil
                }
            }
        }
        // HMAC only fails if libcrypto cannot allocate; an all-zero MAC then fails verification.
        guard ok, macLength == 20 else { return [UInt8](repeating: 0, count: 20) }
        return Array(mac.prefix(20))
    }
}
