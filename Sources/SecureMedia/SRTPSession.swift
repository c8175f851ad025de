import CSRTP

/// The DTLS-SRTP protection profiles Tieline speaks (RFC 5764 §4.1.2, RFC 7714 §14.2).
public enum SRTPProfile: Sendable, CaseIterable {
    /// SRTP_AES128_CM_SHA1_80: what every browser supports.
    case aes128CmSha1_80
    /// SRTP_AEAD_AES_128_GCM: preferred; with Debian's NSS-based libsrtp2
    /// about 0.6 µs a packet against 1.6 µs for AES-CM with HMAC-SHA1.
    case aeadAes128Gcm

    /// The name OpenSSL's `use_srtp` extension uses.
    public var openSSLName: String {
        switch self {
        case .aes128CmSha1_80: "SRTP_AES128_CM_SHA1_80"
        case .aeadAes128Gcm: "SRTP_AEAD_AES_128_GCM"
        }
    }

    public var keyLength: Int { 16 }
    public var saltLength: Int { self == .aeadAes128Gcm ? 12 : 14 }

    fileprivate func apply(to policy: inout srtp_policy_t) {
        switch self {
        case .aes128CmSha1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
    }
}

public struct SRTPError: Error, CustomStringConvertible, Equatable {
    public var status: UInt32
    public var description: String {
        switch status {
        case srtp_err_status_auth_fail.rawValue: "SRTP authentication failed"
        case srtp_err_status_replay_fail.rawValue, srtp_err_status_replay_old.rawValue: "SRTP replayed packet"
        default: "libsrtp error \(status)"
        }
    }
}

/// Splits the keying material exported from DTLS (RFC 5764 §4.2:
/// client key, server key, client salt, server salt) into the master key
/// and salt each direction uses.
public enum SRTPKeyingMaterial {
    public static func length(_ profile: SRTPProfile) -> Int { 2 * (profile.keyLength + profile.saltLength) }

    /// `(local, remote)` master key‖salt for the side that was the DTLS client or server.
    public static func split(_ material: [UInt8], profile: SRTPProfile, isDTLSClient: Bool) -> (local: [UInt8], remote: [UInt8]) {
        let k = profile.keyLength, s = profile.saltLength
        precondition(material.count >= 2 * (k + s), "short DTLS-SRTP keying material")
        let client = Array(material[0..<k]) + Array(material[2 * k..<2 * k + s])
        let server = Array(material[k..<2 * k]) + Array(material[2 * k + s..<2 * k + 2 * s])
        return isDTLSClient ? (client, server) : (server, client)
    }
}

/// One direction of SRTP/SRTCP over libsrtp2: outbound protects, inbound
/// unprotects with replay protection. Works in place on the packet's own
/// buffer, so the media path allocates nothing per packet.
public final class SRTPSession {
    private var session: srtp_t?
    public let profile: SRTPProfile

    /// libsrtp2 needs one process-wide initialisation. A second srtp_init
    /// (someone else in the process did it first) reports an error although
    /// the library is ready; srtp_create below reports any real problem.
    private static let initialised: Void = { _ = srtp_init() }()

    /// - Parameter masterKey: key followed by salt, `profile.keyLength + profile.saltLength` bytes.
    public init(profile: SRTPProfile, masterKey: [UInt8], outbound: Bool) throws(SRTPError) {
        Self.initialised
        guard masterKey.count == profile.keyLength + profile.saltLength else {
            throw SRTPError(status: srtp_err_status_bad_param.rawValue)
        }
        self.profile = profile
        var policy = srtp_policy_t()
        profile.apply(to: &policy)
        policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = 1024
        policy.allow_repeat_tx = 0
        var key = masterKey
        let status = key.withUnsafeMutableBufferPointer { buffer -> srtp_err_status_t in
            policy.key = buffer.baseAddress
            return srtp_create(&session, &policy)
        }
        // libsrtp copied the key; ours is wiped.
        for i in key.indices { key[i] = 0 }
        guard status == srtp_err_status_ok else { throw SRTPError(status: status.rawValue) }
    }

    deinit { if let session { srtp_dealloc(session) } }

    /// Bytes protect may add: the auth tag (10 or 16) plus SRTCP's index (4).
    public static let maxOverhead = 16 + 4 + 16

    /// Protects an RTP packet of `length` bytes in place; `buffer` must have
    /// room for `maxOverhead` more. Returns the new length.
    public func protect(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool = false) throws(SRTPError) -> Int {
        guard let base = buffer.baseAddress, buffer.count >= length + Self.maxOverhead else {
            throw SRTPError(status: srtp_err_status_bad_param.rawValue)
        }
        var length32 = Int32(length)
        let status = rtcp ? srtp_protect_rtcp(session, base, &length32) : srtp_protect(session, base, &length32)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status.rawValue) }
        return Int(length32)
    }

    /// Verifies and decrypts an SRTP packet in place; returns the plain length.
    public func unprotect(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool = false) throws(SRTPError) -> Int {
        guard let base = buffer.baseAddress, length <= buffer.count, length >= 12 else {
            throw SRTPError(status: srtp_err_status_bad_param.rawValue)
        }
        var length32 = Int32(length)
        let status = rtcp ? srtp_unprotect_rtcp(session, base, &length32) : srtp_unprotect(session, base, &length32)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status.rawValue) }
        return Int(length32)
    }
}
