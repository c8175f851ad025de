// System OpenSSL 3 (Debian libssl-dev): digest hashes for SIP auth now, DTLS later.
// swift-nio-ssl carries its own prefixed BoringSSL; keep `import COpenSSL` and
// `import NIOSSL` out of the same Swift file.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
