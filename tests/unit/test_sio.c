/* st_sio over loopback TCP pairs (plain and server TLS, client SSL driven in the same
 * thread) and st_tls_sni certificate choice; throwaway certificates made at run time. */
#include "st_sio.h"
#include "st_tls.h"

#include "st_check.h"
#include "tls_fixture.h"
#include <errno.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define ALPN_BOTH ((const unsigned char *)"\x02h2\x08http/1.1")
#define ALPN_H1 ((const unsigned char *)"\x08http/1.1")
#define MIB (1u << 20)

static char dir[] = "/tmp/st-test-sio-XXXXXX";
static char crt[3][300], key[3][300];
enum { CERT_A, CERT_WILD, CERT_B };
static char err[512];

/* ---- fixtures: throwaway certificates (tls_fixture.h) ---- */

static void certs_setup(void)
{
    static const char *const cn[] = {"a.example.test", "*.wild.example.test", "b.example.test"};
    static const char *const san[] = {"DNS:a.example.test", "DNS:*.wild.example.test",
                                      "DNS:b.example.test,DNS:c.example.test"};

    strcpy(dir, "/tmp/st-test-sio-XXXXXX"); /* mkdtemp rewrites it (CK_FORK=no) */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (int i = 0; i < 3; i++) {
        snprintf(crt[i], sizeof(crt[i]), "%s/%d.crt", dir, i);
        snprintf(key[i], sizeof(key[i]), "%s/%d.key", dir, i);
        write_pem(crt[i], key[i], cn[i], san[i]);
    }
}

static void certs_teardown(void)
{
    for (int i = 0; i < 3; i++) {
        unlink(crt[i]);
        unlink(key[i]);
    }
    rmdir(dir);
}

static SSL_CTX *server_ctx(int cert, const unsigned char *alpn)
{
    SSL_CTX *ctx = st_tls_server_ctx(crt[cert], key[cert], alpn, err, sizeof(err));
    ck_assert_msg(ctx != NULL, "%s", err);
    return ctx;
}

/* ---- helpers ---- */

static void client_free(SSL *c)
{
    int fd = SSL_get_fd(c);
    SSL_free(c);
    close(fd);
}

/* Reads into buf, waiting (bounded) while nothing has arrived yet. */
static ssize_t sio_read_wait(struct st_sio *s, void *buf, size_t len)
{
    ssize_t r = -EAGAIN;
    for (int i = 0; i < 1000 && r == -EAGAIN; i++)
        if ((r = st_sio_read(s, buf, len)) == -EAGAIN)
            usleep(1000);
    return r;
}

static int client_read_wait(SSL *c, void *buf, int len)
{
    int r = 0;
    for (int i = 0; i < 1000 && r == 0; i++)
        if ((r = ssl_res(c, SSL_read(c, buf, len))) == 0)
            usleep(1000);
    return r;
}

/* Drives both handshakes to an end; returns the server's result, the client's in *cres. */
static int handshake(struct st_sio *s, SSL *c, int *cres)
{
    int hs = 0, hc = 0;
    for (int i = 0; i < 1000 && (hs == 0 || hc == 0); i++) {
        if (hs == 0)
            hs = st_sio_handshake(s);
        if (hc == 0)
            hc = ssl_res(c, SSL_do_handshake(c));
        if (i > 10)
            usleep(1000); /* more than a few rounds: let the bytes arrive */
    }
    if (cres)
        *cres = hc;
    return hs;
}

/* Client reads what is there (session tickets) so that its close sends FIN, not RST. */
static void client_drain(SSL *c)
{
    char buf[256];
    for (int i = 0; i < 20 && ssl_res(c, SSL_read(c, buf, sizeof(buf))) > 0; i++)
        ;
}

/* A TLS pair past the handshake: server s (ctx def) and client *c. */
static void tls_pair(SSL_CTX *def, struct st_sio *s, SSL **c, const char *sni,
                     const unsigned char *alpn)
{
    int fd[2], cres;

    tcp_pair(fd, false);
    SSL *ssl = SSL_new(def);
    ck_assert_ptr_nonnull(ssl);
    st_sio_init(s, fd[0], ssl);
    *c = client_new(fd[1], sni, alpn);
    ck_assert_msg(handshake(s, *c, &cres) == 1, "server handshake: %s", s->why);
    ck_assert_int_eq(cres, 1);
    ck_assert(s->handshake_done);
    client_drain(*c);
}

static void digest(const void *p, size_t n, unsigned char out[32])
{
    ck_assert_int_eq(EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL), 1);
}

/* ---- plain ---- */

START_TEST(test_plain_read_write_eof)
{
    struct st_sio s;
    int fd[2];
    char buf[64], alpn[16] = "x";

    signal(SIGPIPE, SIG_DFL); /* plain writes must not need SIG_IGN */
    tcp_pair(fd, false);
    st_sio_init(&s, fd[0], NULL);
    ck_assert(s.handshake_done);
    ck_assert_int_eq(st_sio_handshake(&s), 1);
    st_sio_alpn(&s, alpn, sizeof(alpn));
    ck_assert_str_eq(alpn, "");
    ck_assert_uint_eq(st_sio_events(&s, true, false), EPOLLIN);
    ck_assert_uint_eq(st_sio_events(&s, false, true), EPOLLOUT);
    ck_assert_uint_eq(st_sio_events(&s, true, true), EPOLLIN | EPOLLOUT);
    ck_assert_uint_eq(st_sio_events(&s, false, false), 0);

    ck_assert_int_eq(st_sio_read(&s, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(st_sio_write(&s, "hello", 5), 5);
    ck_assert_int_eq(recv(fd[1], buf, sizeof(buf), 0), 5); /* loopback: delivered at once */
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_int_eq(send(fd[1], "world!", 6, 0), 6);
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 6);
    ck_assert_mem_eq(buf, "world!", 6);
    ck_assert_int_eq(shutdown(fd[1], SHUT_WR), 0);
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 0);

    /* peer gone: -EPIPE, never SIGPIPE (it would kill this test) */
    close(fd[1]);
    ssize_t w = 1;
    for (int i = 0; i < 1000 && w > 0; i++) {
        w = st_sio_write(&s, "x", 1);
        if (w > 0)
            usleep(1000);
    }
    ck_assert_int_eq(w, -EPIPE);
    ck_assert_msg(strncmp(s.why, "send: ", 6) == 0, "why: %s", s.why);
    st_sio_close(&s, false);
    ck_assert_int_eq(s.fd, -1);
    st_sio_close(&s, false); /* twice is harmless */
}
END_TEST

START_TEST(test_plain_rst)
{
    struct st_sio s, peer;
    int fd[2];
    char buf[16];

    tcp_pair(fd, false);
    st_sio_init(&s, fd[0], NULL);
    st_sio_init(&peer, fd[1], NULL);
    st_sio_close(&s, true);
    ck_assert_int_eq(sio_read_wait(&peer, buf, sizeof(buf)), -EIO);
    ck_assert_msg(strstr(peer.why, "reset") != NULL, "why: %s", peer.why);
    st_sio_close(&peer, false);
}
END_TEST

START_TEST(test_events_cross_wants)
{
    struct st_sio s;

    st_sio_init(&s, -1, NULL);
    s.handshake_done = true;
    s.read_wants_write = true;
    ck_assert_uint_eq(st_sio_events(&s, true, false), EPOLLOUT);
    ck_assert_uint_eq(st_sio_events(&s, true, true), EPOLLOUT);
    s.read_wants_write = false;
    s.write_wants_read = true;
    ck_assert_uint_eq(st_sio_events(&s, false, true), EPOLLIN);
    ck_assert_uint_eq(st_sio_events(&s, true, true), EPOLLIN);
    s.handshake_done = false; /* handshake: its own want, whatever the caller wants */
    ck_assert_uint_eq(st_sio_events(&s, false, true), EPOLLIN);
    s.read_wants_write = true;
    ck_assert_uint_eq(st_sio_events(&s, true, false), EPOLLOUT);
}
END_TEST

/* ---- TLS ---- */

/* Moves 1 MiB each way at once through small socket buffers; partial writes and -EAGAIN
 * retried with the same bytes. */
static void transfer_mib(struct st_sio *s, SSL *c)
{
    unsigned char *out_s = malloc(MIB), *out_c = malloc(MIB);
    unsigned char *in_s = malloc(MIB), *in_c = malloc(MIB);
    unsigned char h1[32], h2[32];
    size_t s_out = 0, s_in = 0, c_out = 0, c_in = 0;
    int s_eagain = 0;

    ck_assert(out_s && out_c && in_s && in_c);
    ck_assert_int_eq(RAND_bytes(out_s, MIB), 1);
    ck_assert_int_eq(RAND_bytes(out_c, MIB), 1);
    for (int i = 0; i < 200000 && (s_in < MIB || c_in < MIB); i++) {
        ssize_t n;
        if (s_out < MIB && (n = st_sio_write(s, out_s + s_out, MIB - s_out)) != -EAGAIN) {
            ck_assert_msg(n > 0, "write %zd: %s", n, s->why);
            s_out += (size_t)n;
        } else if (s_out < MIB) {
            s_eagain++;
            ck_assert(st_sio_events(s, false, true) & EPOLLOUT);
        }
        if (s_in < MIB && (n = st_sio_read(s, in_s + s_in, MIB - s_in)) != -EAGAIN) {
            ck_assert_msg(n > 0, "read %zd: %s", n, s->why);
            s_in += (size_t)n;
        }
        if (c_out < MIB) {
            n = ssl_res(c, SSL_write(c, out_c + c_out, (int)(MIB - c_out)));
            ck_assert_int_ge(n, 0);
            c_out += (size_t)n;
        }
        if (c_in < MIB) {
            n = ssl_res(c, SSL_read(c, in_c + c_in, (int)(MIB - c_in)));
            ck_assert_int_ge(n, 0);
            c_in += (size_t)n;
        }
    }
    ck_assert_uint_eq(s_in, MIB);
    ck_assert_uint_eq(c_in, MIB);
    ck_assert_int_gt(s_eagain, 0); /* 8 KiB buffers: the server had to wait */
    digest(out_s, MIB, h1);
    digest(in_c, MIB, h2);
    ck_assert_mem_eq(h1, h2, 32);
    digest(out_c, MIB, h1);
    digest(in_s, MIB, h2);
    ck_assert_mem_eq(h1, h2, 32);
    free(out_s);
    free(out_c);
    free(in_s);
    free(in_c);
}

START_TEST(test_tls_roundtrip)
{
    SSL_CTX *def = server_ctx(CERT_A, ALPN_BOTH);
    struct st_sio s;
    int fd[2], cres;
    char buf[64];

    signal(SIGPIPE, SIG_IGN); /* TLS writes: the daemon's job */
    tcp_pair(fd, true);
    st_sio_init(&s, fd[0], SSL_new(def));
    ck_assert(!s.handshake_done);
    ck_assert_uint_eq(st_sio_events(&s, false, true), EPOLLIN); /* waits for ClientHello */
    ck_assert_int_eq(st_sio_handshake(&s), 0);
    ck_assert_int_eq(st_sio_read(&s, buf, sizeof(buf)), -EAGAIN); /* drives the handshake */
    ck_assert_int_eq(st_sio_write(&s, "x", 1), -EAGAIN);
    ck_assert_uint_eq(st_sio_events(&s, true, true), EPOLLIN);
    SSL *c = client_new(fd[1], "a.example.test", ALPN_BOTH);
    ck_assert_int_eq(handshake(&s, c, &cres), 1);
    ck_assert_int_eq(cres, 1);
    client_drain(c);
    st_sio_alpn(&s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "h2");
    st_sio_alpn(&s, buf, 2); /* truncated to fit */
    ck_assert_str_eq(buf, "h");

    ck_assert_int_eq(st_sio_read(&s, buf, sizeof(buf)), -EAGAIN);
    ck_assert_uint_eq(st_sio_events(&s, true, false), EPOLLIN);
    ck_assert_int_eq(st_sio_write(&s, "ping", 4), 4);
    ck_assert_int_eq(client_read_wait(c, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_int_eq(SSL_write(c, "pong!", 5), 5);
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 5);
    ck_assert_mem_eq(buf, "pong!", 5);

    transfer_mib(&s, c);

    /* client close_notify reads as end; ours reaches the client */
    ck_assert_int_eq(SSL_shutdown(c), 0); /* sent, the server's not yet seen */
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 0);
    st_sio_close(&s, false);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_ptr_null(s.ssl);
    ck_assert_int_eq(client_read_wait(c, buf, sizeof(buf)), -SSL_ERROR_ZERO_RETURN);
    client_free(c);
    SSL_CTX_free(def);
}
END_TEST

START_TEST(test_tls_unclean_eof_and_rst)
{
    SSL_CTX *def = server_ctx(CERT_A, ALPN_BOTH);
    struct st_sio s;
    SSL *c;
    char buf[64];

    signal(SIGPIPE, SIG_IGN);
    tls_pair(def, &s, &c, NULL, NULL);
    client_free(c); /* FIN without close_notify */
    ssize_t r = sio_read_wait(&s, buf, sizeof(buf));
    ck_assert_msg(r == 0, "read %zd: %s", r, s.why);
    st_sio_close(&s, false);

    /* abortive close: no close_notify, the client sees a reset */
    tls_pair(def, &s, &c, NULL, NULL);
    st_sio_close(&s, true);
    ck_assert_int_eq(client_read_wait(c, buf, sizeof(buf)), -SSL_ERROR_SYSCALL); /* reset */
    client_free(c);
    SSL_CTX_free(def);
}
END_TEST

/* Runs the server handshake against what the client side did to fd[1]; expects -1. */
/* Decrypted bytes left inside OpenSSL after a short read are pending (no EPOLLIN tells);
 * a half-close sends close_notify and the client's bytes are still read after it. */
START_TEST(test_tls_pending_and_half_close)
{
    SSL_CTX *ctx = server_ctx(CERT_A, ALPN_BOTH);
    struct st_sio s;
    SSL *c;
    char buf[2048], big[1000];
    tls_pair(ctx, &s, &c, NULL, NULL);
    memset(big, 'p', sizeof(big));

    ck_assert(!st_sio_pending(&s));
    ck_assert_int_eq(ssl_res(c, SSL_write(c, big, sizeof(big))), sizeof(big)); /* one record */
    ck_assert_int_eq(sio_read_wait(&s, buf, 10), 10);
    ck_assert(st_sio_pending(&s)); /* 990 bytes decrypted, the socket is empty */
    ck_assert_int_eq(st_sio_read(&s, buf, sizeof(buf)), 990);
    ck_assert(!st_sio_pending(&s));

    ck_assert_int_eq(st_sio_write(&s, "bye", 3), 3);
    ck_assert_int_eq(st_sio_shutdown(&s), 0);
    ck_assert_int_eq(client_read_wait(c, buf, sizeof(buf)), 3);
    ck_assert_int_eq(client_read_wait(c, buf, sizeof(buf)), -SSL_ERROR_ZERO_RETURN);
    ck_assert_int_eq(ssl_res(c, SSL_write(c, "more", 4)), 4); /* TLS 1.3: still allowed */
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "more", 4);
    SSL_shutdown(c);
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 0);
    client_free(c);
    st_sio_close(&s, false);
    SSL_CTX_free(ctx);

    int fd[2]; /* plain: the half-close is a FIN */
    tcp_pair(fd, false);
    st_sio_init(&s, fd[0], NULL);
    ck_assert(!st_sio_pending(&s));
    ck_assert_int_eq(st_sio_shutdown(&s), 0);
    ck_assert_int_eq(recv(fd[1], buf, sizeof(buf), 0), 0);
    ck_assert_int_eq(send(fd[1], "up", 2, 0), 2);
    ck_assert_int_eq(sio_read_wait(&s, buf, sizeof(buf)), 2);
    close(fd[1]);
    st_sio_close(&s, false);
}
END_TEST

static void expect_handshake_failure(SSL_CTX *def, void (*client)(int fd))
{
    struct st_sio s;
    int fd[2], r = 0;
    char buf[16];

    tcp_pair(fd, false);
    st_sio_init(&s, fd[0], SSL_new(def));
    client(fd[1]);
    for (int i = 0; i < 1000 && r == 0; i++)
        if ((r = st_sio_handshake(&s)) == 0)
            usleep(1000);
    ck_assert_int_eq(r, -1);
    ck_assert_msg(strncmp(s.why, "TLS handshake: ", 15) == 0 && strlen(s.why) > 15, "why: %s",
                  s.why);
    fprintf(stderr, "test_sio: expected failure: %s\n", s.why);
    ck_assert(!s.handshake_done);
    ck_assert_int_eq(st_sio_read(&s, buf, sizeof(buf)), -EIO);
    st_sio_close(&s, false);
    close(fd[1]);
}

static void send_garbage(int fd)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n";
    ck_assert_int_eq(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
}

static void send_half_hello(int fd)
{
    /* handshake record header announcing 512 bytes, then FIN */
    static const unsigned char rec[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    ck_assert_int_eq(send(fd, rec, sizeof(rec), 0), (ssize_t)sizeof(rec));
    shutdown(fd, SHUT_WR);
}

START_TEST(test_tls_handshake_failure)
{
    SSL_CTX *def = server_ctx(CERT_A, ALPN_BOTH);

    signal(SIGPIPE, SIG_IGN);
    expect_handshake_failure(def, send_garbage);
    expect_handshake_failure(def, send_half_hello);
    SSL_CTX_free(def);
}
END_TEST

START_TEST(test_tls_handshake_wants_write)
{
    SSL_CTX *def = server_ctx(CERT_A, ALPN_BOTH);
    struct st_sio s;
    int fd[2], r = 0;
    char junk[4096] = {0};

    signal(SIGPIPE, SIG_IGN);
    tcp_pair(fd, true);
    st_sio_init(&s, fd[0], SSL_new(def));
    /* the client would read the junk: make its ClientHello in memory and send it raw */
    SSL *c = client_new(-1, NULL, NULL);
    BIO *out = BIO_new(BIO_s_mem());
    SSL_set_bio(c, BIO_new(BIO_s_mem()), out);
    ck_assert_int_eq(ssl_res(c, SSL_do_handshake(c)), 0);
    char *hello;
    long n = BIO_get_mem_data(out, &hello);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(send(fd[1], hello, (size_t)n, 0), n);
    /* fill the server's send path so that its first flight cannot go out; again once the
     * ACKs riding on the ClientHello have freed some of it */
    for (int round = 0; round < 2; round++) {
        usleep(20000);
        for (size_t chunk = sizeof(junk); chunk; chunk /= 8)
            for (int i = 0; i < 10000 && send(fd[0], junk, chunk, MSG_NOSIGNAL) > 0; i++)
                ;
    }
    for (int i = 0; i < 100 && r == 0 && !s.read_wants_write; i++)
        r = st_sio_handshake(&s);
    ck_assert_int_eq(r, 0);
    ck_assert(s.read_wants_write);
    ck_assert_uint_eq(st_sio_events(&s, true, false), EPOLLOUT);
    st_sio_close(&s, true);
    SSL_free(c);
    close(fd[1]);
    SSL_CTX_free(def);
}
END_TEST

/* ---- SNI and ALPN ---- */

/* Handshake with sni/alpn against def; checks the served certificate's CN and the ALPN. */
static void expect_cert(SSL_CTX *def, const char *sni, const unsigned char *alpn,
                        const char *want_cn, const char *want_alpn)
{
    struct st_sio s;
    SSL *c;
    char cn[128] = "", proto[32];

    tls_pair(def, &s, &c, sni, alpn);
    X509 *peer = SSL_get1_peer_certificate(c);
    ck_assert_ptr_nonnull(peer);
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
    ck_assert_msg(strcmp(cn, want_cn) == 0, "SNI %s: got %s, want %s", sni ? sni : "(none)", cn,
                  want_cn);
    if (sni && strcmp(want_cn, "a.example.test") != 0)
        ck_assert_int_eq(X509_check_host(peer, sni, 0, 0, NULL), 1); /* SAN covers the name */
    X509_free(peer);
    st_sio_alpn(&s, proto, sizeof(proto));
    ck_assert_msg(strcmp(proto, want_alpn) == 0, "SNI %s: ALPN %s, want %s", sni ? sni : "(none)",
                  proto, want_alpn);
    const unsigned char *p;
    unsigned n;
    SSL_get0_alpn_selected(c, &p, &n); /* the client agrees */
    ck_assert_uint_eq(n, strlen(want_alpn));
    if (n)
        ck_assert_mem_eq(p, want_alpn, n);
    ck_assert_int_eq(SSL_shutdown(c), 0);
    st_sio_close(&s, false);
    client_free(c);
}

START_TEST(test_sni)
{
    SSL_CTX *def = server_ctx(CERT_A, ALPN_BOTH);
    SSL_CTX *alts[2] = {server_ctx(CERT_WILD, ALPN_BOTH), server_ctx(CERT_B, ALPN_BOTH)};

    signal(SIGPIPE, SIG_IGN);
    st_tls_sni(def, NULL, 0); /* replaced below */
    expect_cert(def, "x.wild.example.test", NULL, "a.example.test", "");
    st_tls_sni(def, alts, 2);
    /* def holds its own references and copy of the array */
    SSL_CTX_free(alts[0]);
    SSL_CTX_free(alts[1]);
    alts[0] = alts[1] = NULL;
    expect_cert(def, "x.wild.example.test", NULL, "*.wild.example.test", "");
    expect_cert(def, "Y.WILD.Example.Test", NULL, "*.wild.example.test", "");
    expect_cert(def, "c.example.test", NULL, "b.example.test", "");
    expect_cert(def, "b.example.test", NULL, "b.example.test", "");
    expect_cert(def, "a.example.test", NULL, "a.example.test", "");
    expect_cert(def, "unknown.test", NULL, "a.example.test", "");
    expect_cert(def, "a.b.wild.example.test", NULL, "a.example.test", ""); /* one label only */
    expect_cert(def, "wild.example.test", NULL, "a.example.test", "");
    expect_cert(def, NULL, NULL, "a.example.test", "");
    SSL_CTX_free(def);
}
END_TEST

START_TEST(test_alpn)
{
    SSL_CTX *def = server_ctx(CERT_A, ALPN_BOTH);
    SSL_CTX *alts[2] = {server_ctx(CERT_WILD, ALPN_BOTH), server_ctx(CERT_B, ALPN_H1)};
    static const unsigned char h2[] = "\x02h2", h1[] = "\x08http/1.1";
    static const unsigned char h1h2[] = "\x08http/1.1\x02h2";

    signal(SIGPIPE, SIG_IGN);
    st_tls_sni(def, alts, 2);
    /* def's own certificate: def's ALPN, the server's preference order */
    expect_cert(def, "a.example.test", h2, "a.example.test", "h2");
    expect_cert(def, "a.example.test", h1, "a.example.test", "http/1.1");
    expect_cert(def, "a.example.test", h1h2, "a.example.test", "h2");
    expect_cert(def, NULL, h1, "a.example.test", "http/1.1");
    expect_cert(def, "unknown.test", h2, "a.example.test", "h2");
    /* switched to an alt built with the same list: unchanged */
    expect_cert(def, "x.wild.example.test", h2, "*.wild.example.test", "h2");
    expect_cert(def, "x.wild.example.test", h1, "*.wild.example.test", "http/1.1");
    expect_cert(def, "x.wild.example.test", h1h2, "*.wild.example.test", "h2");
    /* OpenSSL 3 takes the ALPN callback from the switched-to context, not def: an alt
     * built with http/1.1 only answers http/1.1 where def would say h2 */
    expect_cert(def, "b.example.test", h1h2, "b.example.test", "http/1.1");
    SSL_CTX_free(def);
    SSL_CTX_free(alts[0]);
    SSL_CTX_free(alts[1]);
}
END_TEST

static Suite *sio_suite(void)
{
    Suite *s = suite_create("sio");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_plain_read_write_eof);
    tcase_add_test(tc, test_plain_rst);
    tcase_add_test(tc, test_events_cross_wants);
    tcase_add_test(tc, test_tls_roundtrip);
    tcase_add_test(tc, test_tls_unclean_eof_and_rst);
    tcase_add_test(tc, test_tls_pending_and_half_close);
    tcase_add_test(tc, test_tls_handshake_failure);
    tcase_add_test(tc, test_tls_handshake_wants_write);
    tcase_add_test(tc, test_sni);
    tcase_add_test(tc, test_alpn);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(sio_suite());
}
