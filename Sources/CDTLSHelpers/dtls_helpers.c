#include "dtls_helpers.h"
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

EVP_PKEY *tieline_ec_p256_key(void) {
    return EVP_EC_gen("P-256");
}

X509 *tieline_self_signed_certificate(EVP_PKEY *key, const char *common_name, int days) {
    X509 *certificate = X509_new();
    if (!certificate) return NULL;
    unsigned char serial[8];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *number = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate));
    BN_free(number);
    X509_set_version(certificate, 2);
    X509_gmtime_adj(X509_getm_notBefore(certificate), -86400);
    X509_gmtime_adj(X509_getm_notAfter(certificate), (long)days * 86400);
    X509_NAME *name = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0);
    X509_set_issuer_name(certificate, name);
    X509_set_pubkey(certificate, key);
    if (!X509_sign(certificate, key, EVP_sha256())) {
        X509_free(certificate);
        return NULL;
    }
    return certificate;
}

int tieline_certificate_sha256(X509 *certificate, unsigned char *out) {
    unsigned int length = 0;
    return X509_digest(certificate, EVP_sha256(), out, &length) == 1 && length == 32;
}

long tieline_dtls_timeout_ms(SSL *ssl) {
    struct timeval tv;
    if (DTLSv1_get_timeout(ssl, &tv) != 1) return -1;
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int tieline_dtls_handle_timeout(SSL *ssl) {
    return (int)DTLSv1_handle_timeout(ssl);
}

void tieline_bio_mem_retry_on_empty(BIO *bio) {
    BIO_set_mem_eof_return(bio, -1);
}

static int accept_any(int preverify, X509_STORE_CTX *context) {
    (void)preverify;
    (void)context;
    return 1;
}

void tieline_ssl_accept_any_certificate(SSL *ssl) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
}

void tieline_dtls_set_mtu(SSL *ssl, long mtu) {
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, mtu);
}
