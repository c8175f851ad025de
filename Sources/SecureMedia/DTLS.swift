import CDTLSHelpers
import COpenSSL

public struct DTLSError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }

    /// The first queued OpenSSL error, as text.
    static func openSSL(_ context: String) -> DTLSError {
        let code = ERR_get_error()
        guard code != 0 else { return DTLSError(context) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return DTLSError("\(context): \(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    }
}

/// An ECDSA P-256 certificate whose SHA-256 fingerprint goes into SDP
/// (`a=fingerprint:sha-256 ...`); one per process is enough (RFC 8827 §6.5).
public final class DTLSCertificate: @unchecked Sendable {
    let key: OpaquePointer
    let certificate: OpaquePointer
    public let fingerprint: [UInt8]

    public static func generate(commonName: String = "tieline") throws(DTLSError) -> DTLSCertificate {
        guard let key = tieline_ec_p256_key() else { throw .openSSL("EC key generation") }
        guard let certificate = tieline_self_signed_certificate(key, commonName, 30) else {
            EVP_PKEY_free(key)
            throw .openSSL("self-signed certificate")
        }
        var digest = [UInt8](repeating: 0, count: 32)
        guard tieline_certificate_sha256(certificate, &digest) == 1 else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw .openSSL("certificate fingerprint")
        }
        return DTLSCertificate(key: key, certificate: certificate, fingerprint: digest)
    }

    /// A certificate and private key from PEM text (e.g. files named in the
    /// configuration). The key must be ECDSA on P-256: aiortc and some
    /// browsers refuse RSA in DTLS, and P-256 is what every peer supports.
    public static func load(certificatePEM: String, privateKeyPEM: String) throws(DTLSError) -> DTLSCertificate {
        func read<T>(_ text: String, _ body: (OpaquePointer) -> T?) -> T? {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBytes { buffer -> T? in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
                defer { BIO_free(bio) }
                return body(bio)
            }
        }
        guard let certificate = read(certificatePEM, { PEM_read_bio_X509($0, nil, nil, nil) }) else {
            throw DTLSError("the DTLS certificate is not a PEM X.509 certificate")
        }
        guard let key = read(privateKeyPEM, { PEM_read_bio_PrivateKey($0, nil, nil, nil) }) else {
            X509_free(certificate)
            throw DTLSError("the DTLS private key is not a PEM private key (an encrypted key is not supported)")
        }
        func fail(_ reason: String) -> DTLSError {
            X509_free(certificate)
            EVP_PKEY_free(key)
            return DTLSError(reason)
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, EVP_PKEY_get_bits(key) == 256 else {
            throw fail("the DTLS key must be ECDSA on P-256 (make one with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 ...`)")
        }
        guard X509_check_private_key(certificate, key) == 1 else {
            throw fail("the DTLS private key does not belong to the certificate")
        }
        var digest = [UInt8](repeating: 0, count: 32)
        guard tieline_certificate_sha256(certificate, &digest) == 1 else {
            throw fail("could not compute the certificate's fingerprint")
        }
        return DTLSCertificate(key: key, certificate: certificate, fingerprint: digest)
    }

    private init(key: OpaquePointer, certificate: OpaquePointer, fingerprint: [UInt8]) {
        self.key = key
        self.certificate = certificate
        self.fingerprint = fingerprint
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// "AB:CD:..." as SDP writes it.
    public var fingerprintText: String { Self.format(fingerprint) }

    public static func format(_ digest: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        return digest.map { String(decoding: [hex[Int($0 >> 4)], hex[Int($0 & 15)]], as: UTF8.self) }
            .joined(separator: ":")
    }

    /// Parses "AB:CD:..." (case-insensitive); nil when malformed.
    public static func parseFingerprint(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":")
        guard parts.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

/// An OpenSSL DTLS context: our certificate and the SRTP profiles we offer.
/// One serves every call (a context per call would cost memory for nothing);
/// what differs per call, the peer's fingerprint, is checked per endpoint.
public final class DTLSContext: @unchecked Sendable {
    let context: OpaquePointer
    public let certificate: DTLSCertificate
    public let profiles: [SRTPProfile]

    public init(certificate: DTLSCertificate,
                profiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmSha1_80]) throws(DTLSError) {
        guard let context = SSL_CTX_new(DTLS_method()) else { throw .openSSL("SSL_CTX_new") }
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(DTLS1_2_VERSION), nil)
        guard SSL_CTX_use_certificate(context, certificate.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, certificate.key) == 1,
              // 0 is success for this one.
              SSL_CTX_set_tlsext_use_srtp(context, profiles.map(\.openSSLName).joined(separator: ":")) == 0 else {
            SSL_CTX_free(context)
            throw .openSSL("DTLS context (certificate or use_srtp)")
        }
        // Idle connections give their record buffers back (about 34 KB a call).
        SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(SSL_MODE_RELEASE_BUFFERS), nil)
        self.context = context
        self.certificate = certificate
        self.profiles = profiles
    }

    deinit { SSL_CTX_free(context) }
}

/// DTLS 1.2 for DTLS-SRTP (RFC 5763/5764) over OpenSSL with memory BIOs:
/// datagrams in, datagrams out, no socket of its own, so it shares the
/// leg's one UDP port with STUN and SRTP. The peer's certificate must match
/// the fingerprint its SDP announced, or the endpoint fails.
public final class DTLSEndpoint {
    public enum Role: Sendable { case client, server }
    public enum State: Sendable, Equatable {
        case handshaking
        case connected(SRTPProfile)
        case failed(String)
    }

    public let role: Role
    public private(set) var state = State.handshaking
    private let context: DTLSContext
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    private let remoteFingerprint: [UInt8]

    public convenience init(role: Role, certificate: DTLSCertificate, remoteFingerprint: [UInt8],
                            profiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmSha1_80]) throws(DTLSError) {
        try self.init(role: role, context: DTLSContext(certificate: certificate, profiles: profiles),
                      remoteFingerprint: remoteFingerprint)
    }

    public init(role: Role, context: DTLSContext, remoteFingerprint: [UInt8]) throws(DTLSError) {
        self.role = role
        self.context = context
        self.remoteFingerprint = remoteFingerprint
        guard let ssl = SSL_new(context.context) else { throw .openSSL("SSL_new") }
        self.ssl = ssl
        incoming = BIO_new(BIO_s_mem())
        outgoing = BIO_new(BIO_s_mem())
        tieline_bio_mem_retry_on_empty(incoming)
        tieline_bio_mem_retry_on_empty(outgoing)
        SSL_set_bio(ssl, incoming, outgoing)  // the SSL owns both BIOs now
        tieline_ssl_accept_any_certificate(ssl)
        tieline_dtls_set_mtu(ssl, 1200)
        if role == .client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
    }

    deinit {
        SSL_free(ssl)
    }

    /// The first flight (a client's ClientHello); a server sends nothing first.
    public func start() -> [[UInt8]] {
        if role == .client { advance() }
        return drain()
    }

    /// One DTLS datagram from the peer; returns what to send back.
    public func receive(_ datagram: [UInt8]) -> [[UInt8]] {
        datagram.withUnsafeBytes { _ = BIO_write(incoming, $0.baseAddress, Int32($0.count)) }
        if case .handshaking = state {
            advance()
        } else {
            // After the handshake only alerts and retransmissions arrive here.
            var sink = [UInt8](repeating: 0, count: 2048)
            _ = SSL_read(ssl, &sink, Int32(sink.count))
        }
        return drain()
    }

    /// Milliseconds until `handleTimeout` should run, or nil.
    public var timeoutMilliseconds: Int? {
        let value = tieline_dtls_timeout_ms(ssl)
        return value < 0 ? nil : value
    }

    /// Retransmits the last flight when its timer ran out.
    public func handleTimeout() -> [[UInt8]] {
        _ = tieline_dtls_handle_timeout(ssl)
        return drain()
    }

    /// The SRTP master keys for this side after the handshake (RFC 5764 §4.2):
    /// `local` protects what we send, `remote` unprotects what we receive.
    public func srtpKeys() -> (profile: SRTPProfile, local: [UInt8], remote: [UInt8])? {
        guard case .connected(let profile) = state else { return nil }
        var material = [UInt8](repeating: 0, count: SRTPKeyingMaterial.length(profile))
        let label = "EXTRACTOR-dtls_srtp"
        guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1 else {
            return nil
        }
        let keys = SRTPKeyingMaterial.split(material, profile: profile, isDTLSClient: role == .client)
        return (profile, keys.local, keys.remote)
    }

    private func advance() {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            finishHandshake()
            return
        }
        let error = SSL_get_error(ssl, result)
        if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
            state = .failed(DTLSError.openSSL("DTLS handshake").description)
        }
    }

    private func finishHandshake() {
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            state = .failed("the peer sent no certificate")
            return
        }
        defer { X509_free(peer) }
        var digest = [UInt8](repeating: 0, count: 32)
        guard tieline_certificate_sha256(peer, &digest) == 1, digest == remoteFingerprint else {
            state = .failed("the peer's certificate does not match the fingerprint in its SDP")
            return
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl) else {
            state = .failed("no SRTP profile was negotiated")
            return
        }
        switch selected.pointee.id {
        case 0x0001: state = .connected(.aes128CmSha1_80)
        case 0x0007: state = .connected(.aeadAes128Gcm)
        default: state = .failed("unsupported SRTP profile \(selected.pointee.id)")
        }
    }

    /// What OpenSSL wrote, as one datagram (records of a flight are
    /// coalesced; the 1200-byte MTU keeps each flight's records small).
    private func drain() -> [[UInt8]] {
        let pending = BIO_ctrl_pending(outgoing)
        guard pending > 0 else { return [] }
        var datagram = [UInt8](repeating: 0, count: Int(pending))
        let read = BIO_read(outgoing, &datagram, Int32(pending))
        return read > 0 ? [Array(datagram[0..<Int(read)])] : []
    }
}
