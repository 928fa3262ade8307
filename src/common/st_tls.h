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
/* Certificate choice by SNI: installs a servername callback on def that, when the client's
 * SNI matches the leaf certificate of alts[i] (X509_check_host, wildcards per RFC 6125: one
 * whole left-most label), switches the connection to alts[i] (SSL_set_SSL_CTX), first match
 * wins; otherwise def's certificate is used. def copies the array and takes a reference on
 * each alt (dropped when def is freed), so the caller may free its alts before or after def.
 * n may be 0. Calling it again replaces the set; on allocation failure (logged) the
 * previous choice stays (none: def's certificate for every name).
 * After the switch OpenSSL 3 runs the ALPN selection callback of alts[i], not def's: build
 * the alts with st_tls_server_ctx and the same ALPN list as def. */
void st_tls_sni(SSL_CTX *def, SSL_CTX **alts, size_t n);

#endif
