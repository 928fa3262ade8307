#include "st_sio.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st_tls.h"

void st_sio_init(struct st_sio *s, int fd, SSL *ssl)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->ssl = ssl;
    s->handshake_done = !ssl;
    if (ssl) {
        SSL_set_fd(ssl, fd); /* on failure the handshake reports "no BIO" */
        SSL_set_accept_state(ssl);
    }
}

/* Records why a TLS call failed with SSL_get_error code e; err is errno right after it. */
static void tls_why(struct st_sio *s, const char *what, int e, int err)
{
    char buf[128];
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        ERR_clear_error();
        snprintf(s->why, sizeof(s->why), "%s: %s", what,
                 err ? strerror(err) : "connection closed by peer");
        return;
    }
    snprintf(s->why, sizeof(s->why), "%s: %s", what, st_tls_errstr(buf, sizeof(buf)));
}

static int clamp_len(size_t len)
{
    return len > INT_MAX ? INT_MAX : (int)len;
}

int st_sio_handshake(struct st_sio *s)
{
    if (s->handshake_done)
        return 1;
    ERR_clear_error(); /* SSL_get_error reads the shared queue: start it empty */
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->handshake_done = true;
        s->read_wants_write = false;
        return 1;
    }
    int err = errno;
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        s->read_wants_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    long v = SSL_get_verify_result(s->ssl);
    if (v != X509_V_OK) {
        ERR_clear_error();
        s->cert_refused = true;
        snprintf(s->why, sizeof(s->why), "TLS handshake: client certificate refused: %s",
                 X509_verify_cert_error_string(v));
        return -1;
    }
    tls_why(s, "TLS handshake", e, err);
    return -1;
}

/* Before the handshake is done, reads and writes drive it: 0 to go on, or -EAGAIN/-EIO. */
static int need_handshake(struct st_sio *s)
{
    int h = st_sio_handshake(s);
    return h > 0 ? 0 : h == 0 ? -EAGAIN : -EIO;
}

static ssize_t plain_read(struct st_sio *s, void *buf, size_t len)
{
    ssize_t r;
    do
        r = recv(s->fd, buf, len, 0);
    while (r < 0 && errno == EINTR);
    if (r >= 0)
        return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return -EAGAIN;
    snprintf(s->why, sizeof(s->why), "recv: %s", strerror(errno));
    return -EIO;
}

static bool unexpected_eof(int e)
{
    /* OpenSSL 3 reports a TCP FIN without close_notify as this SSL error. */
    unsigned long q = ERR_peek_error();
    return e == SSL_ERROR_SSL && ERR_GET_LIB(q) == ERR_LIB_SSL &&
           ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

ssize_t st_sio_read(struct st_sio *s, void *buf, size_t len)
{
    if (!s->ssl)
        return plain_read(s, buf, len);
    if (!s->handshake_done) {
        int h = need_handshake(s);
        if (h < 0)
            return h;
    }
    ERR_clear_error();
    int r = SSL_read(s->ssl, buf, clamp_len(len));
    if (r > 0) {
        s->read_wants_write = false;
        return r;
    }
    int err = errno;
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        s->read_wants_write = e == SSL_ERROR_WANT_WRITE;
        return -EAGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN || unexpected_eof(e) ||
        (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && err == 0)) {
        ERR_clear_error();
        return 0;
    }
    tls_why(s, "TLS read", e, err);
    return -EIO;
}

static ssize_t plain_write(struct st_sio *s, const void *buf, size_t len)
{
    ssize_t w;
    do
        w = send(s->fd, buf, len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w >= 0)
        return w;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return -EAGAIN;
    snprintf(s->why, sizeof(s->why), "send: %s", strerror(errno));
    return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -EIO;
}

ssize_t st_sio_write(struct st_sio *s, const void *buf, size_t len)
{
    if (!s->ssl)
        return plain_write(s, buf, len);
    if (!s->handshake_done) {
        int h = need_handshake(s);
        if (h < 0)
            return h;
    }
    ERR_clear_error();
    int w = SSL_write(s->ssl, buf, clamp_len(len));
    if (w > 0) {
        s->write_wants_read = false;
        return w;
    }
    int err = errno;
    int e = SSL_get_error(s->ssl, w);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        s->write_wants_read = e == SSL_ERROR_WANT_READ;
        return -EAGAIN;
    }
    tls_why(s, "TLS write", e, err);
    if (e == SSL_ERROR_SYSCALL && (err == EPIPE || err == ECONNRESET))
        return -EPIPE;
    return -EIO;
}

int st_sio_shutdown(struct st_sio *s)
{
    if (s->ssl && s->handshake_done) {
        ERR_clear_error();
        int r = SSL_shutdown(s->ssl);
        if (r < 0) {
            int err = errno;
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE) {
                s->write_wants_read = false;
                return -EAGAIN;
            }
            tls_why(s, "TLS shutdown", e, err);
            return -EIO;
        }
    }
    if (shutdown(s->fd, SHUT_WR) < 0 && errno != ENOTCONN) {
        snprintf(s->why, sizeof(s->why), "shutdown: %s", strerror(errno));
        return -EIO;
    }
    return 0;
}

bool st_sio_pending(const struct st_sio *s)
{
    return s->ssl && s->handshake_done && SSL_pending(s->ssl) > 0;
}

uint32_t st_sio_events(const struct st_sio *s, bool want_read, bool want_write)
{
    if (!s->handshake_done)
        return s->read_wants_write ? EPOLLOUT : EPOLLIN;
    uint32_t ev = 0;
    if (want_read)
        ev |= s->read_wants_write ? EPOLLOUT : EPOLLIN;
    if (want_write)
        ev |= s->write_wants_read ? EPOLLIN : EPOLLOUT;
    return ev;
}

void st_sio_alpn(const struct st_sio *s, char *buf, size_t len)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    if (!len)
        return;
    if (s->ssl)
        SSL_get0_alpn_selected(s->ssl, &p, &n);
    if (n >= len)
        n = (unsigned)len - 1;
    if (n)
        memcpy(buf, p, n);
    buf[n] = 0;
}

void st_sio_close(struct st_sio *s, bool rst)
{
    if (s->ssl) {
        if (!rst && s->handshake_done) {
            ERR_clear_error();
            SSL_shutdown(s->ssl); /* one non-blocking attempt; the peer's reply is not awaited */
            ERR_clear_error();
        }
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        if (rst) {
            struct linger l = {.l_onoff = 1, .l_linger = 0};
            setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }
        close(s->fd);
    }
    s->fd = -1;
}
