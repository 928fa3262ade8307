#ifndef SUBTUNNEL_ST_TLS_H
#define SUBTUNNEL_ST_TLS_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
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

/* Client certificates on a server context: requests one in every handshake (SSL_VERIFY_PEER
 * without FAIL_IF_NO_PEER_CERT: a client without a certificate still connects; one whose
 * certificate does not verify against the PEM bundle ca_file fails the handshake) and
 * names ca_file's subjects as acceptable issuers. 0, or -1 with the reason in err. */
int st_tls_client_ca(SSL_CTX *ctx, const char *ca_file, char *err, size_t errlen);
/* 0 when path holds at least one PEM certificate and nothing unparsable; -1 with the reason
 * in err ("'PATH' holds no PEM certificate"). */
int st_tls_ca_check(const char *path, char *err, size_t errlen);

/* The identity names of a client certificate, each a NUL-terminated string. A name with a
 * NUL byte or a control character (C0, DEL, C1), or of ST_TLS_NAME_LEN bytes or more, or
 * past ST_TLS_NAMES_MAX of its kind, is left out and counted in `skipped` (never cut short:
 * a truncated name could be someone else's). */
#define ST_TLS_NAME_LEN 256
#define ST_TLS_NAMES_MAX 8
struct st_tls_names {
    char cn[ST_TLS_NAME_LEN]; /* subject commonName (the last one), UTF-8; "" none */
    char emails[ST_TLS_NAMES_MAX][ST_TLS_NAME_LEN]; /* rfc822Name SANs, in order */
    size_t n_emails;
    char uris[ST_TLS_NAMES_MAX][ST_TLS_NAME_LEN]; /* uniformResourceIdentifier SANs */
    size_t n_uris;
    size_t skipped;
};

/* Fills *out with x's names (x is trusted to be verified by the caller). Pure. */
void st_tls_cert_names(X509 *x, struct st_tls_names *out);
/* The names of ssl's peer certificate once the handshake verified it (heap, the caller
 * frees it with free()); NULL when the peer sent none, it did not verify, or memory is
 * short. */
struct st_tls_names *st_tls_peer_names(const SSL *ssl);
/* "CN=ops email=ops@lab.test uri=..." (a log line's part; "no names" when empty) into buf
 * (len > 0, truncated to fit); returns buf. */
const char *st_tls_names_format(const struct st_tls_names *n, char *buf, size_t len);

#endif
