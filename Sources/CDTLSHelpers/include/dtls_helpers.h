#ifndef TIELINE_DTLS_HELPERS_H
#define TIELINE_DTLS_HELPERS_H
// OpenSSL 3 calls that are macros or variadic, wrapped for Swift.
#include <openssl/ssl.h>

/// A fresh ECDSA P-256 key (aiortc and browsers need ECDSA for DTLS).
EVP_PKEY *tieline_ec_p256_key(void);
/// A self-signed certificate for `key`, valid `days` days.
X509 *tieline_self_signed_certificate(EVP_PKEY *key, const char *common_name, int days);
/// The SHA-256 fingerprint of a certificate into out[32]; 1 on success.
int tieline_certificate_sha256(X509 *certificate, unsigned char *out);
/// Milliseconds until the DTLS retransmission timer fires, or -1 when none runs.
long tieline_dtls_timeout_ms(SSL *ssl);
/// DTLSv1_handle_timeout: retransmits the last flight when due.
int tieline_dtls_handle_timeout(SSL *ssl);
/// Memory BIOs report "retry" rather than EOF when empty.
void tieline_bio_mem_retry_on_empty(BIO *bio);
/// Accept any certificate during the handshake: the fingerprint from the
/// SDP is checked right after it, which is how DTLS-SRTP authenticates.
void tieline_ssl_accept_any_certificate(SSL *ssl);
/// Sets the path MTU for handshake fragmentation.
void tieline_dtls_set_mtu(SSL *ssl, long mtu);

#endif
