#ifndef SUBTUNNEL_ST_TLS_H
#define SUBTUNNEL_ST_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* OpenSSL contexts: TLS 1.3 only. */

/* Server context from PEM cert chain + key. alpn is a NUL-terminated wire-format
 * protocol list (e.g. "\x02h2") in preference order; it must outlive the context.
 * NULL on error, reason in err. */
SSL_CTX *st_tls_server_ctx(const char *cert_file, const char *key_file, const unsigned char *alpn,
                           char *err, size_t errlen);
/* Client context verifying peers against ca_file, offering ALPN h2. NULL on error. */
SSL_CTX *st_tls_client_ctx(const char *ca_file, char *err, size_t errlen);
/* Writes OpenSSL's queued error text (or "eof"/"syscall") into buf; returns buf. */
const char *st_tls_errstr(char *buf, size_t len);

#endif
