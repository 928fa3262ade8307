/* Fixtures shared by the TLS unit suites (test_sio.c, test_h2conn.c): throwaway
 * self-signed certificates, connected loopback TCP pairs and client SSLs. */
#ifndef SUBTUNNEL_TEST_TLS_FIXTURE_H
#define SUBTUNNEL_TEST_TLS_FIXTURE_H

#include "st_check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Writes an EC P-256 self-signed certificate for cn with subjectAltName san (PEM). */
static inline void write_pem(const char *crt_path, const char *key_path, const char *cn,
                             const char *san)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(pk);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
    FILE *f = fopen(crt_path, "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

/* Connected loopback TCP pair, both non-blocking: fd[0] server side, fd[1] client side.
 * small: tiny buffers so that writes soon return EAGAIN. */
static inline void tcp_pair(int fd[2], bool small)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int buf = 8192;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(l, 0);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd[1], 0);
    if (small)
        setsockopt(fd[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    ck_assert_int_eq(connect(fd[1], (struct sockaddr *)&a, sizeof(a)), 0);
    fd[0] = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ck_assert_int_ge(fd[0], 0);
    if (small)
        setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    ck_assert_int_eq(fcntl(fd[1], F_SETFL, O_NONBLOCK), 0);
    int one = 1; /* no Nagle wait behind unacknowledged bytes (the session tickets) */
    setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    close(l);
}

/* Client SSL on fd offering sni (may be NULL) and alpn (wire format, may be NULL). */
static inline SSL *client_new(int fd, const char *sni, const unsigned char *alpn)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL *c = SSL_new(ctx);
    SSL_CTX_free(ctx); /* c holds its own reference */
    ck_assert_ptr_nonnull(c);
    SSL_set_fd(c, fd);
    SSL_set_connect_state(c);
    if (sni)
        ck_assert_int_eq(SSL_set_tlsext_host_name(c, sni), 1);
    if (alpn)
        ck_assert_int_eq(SSL_set_alpn_protos(c, alpn, (unsigned)strlen((const char *)alpn)), 0);
    return c;
}

/* SSL call result: >0 done, 0 would block, <0 failed or closed (-SSL_get_error). */
static inline int ssl_res(SSL *c, int r)
{
    if (r > 0)
        return r;
    int e = SSL_get_error(c, r);
    ERR_clear_error();
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -e;
}

#endif
