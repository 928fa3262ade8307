#include "st_h2conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st_h2mem.h"
#include "st_log.h"
#include "st_tls.h"

#define OUT_BATCH (192 * 1024) /* stop pulling frames from nghttp2 past this */
/* Rounds of OUT_BATCH per wake-up (ST_H2CONN_FLUSH_MAX in all): past them flush() yields to
 * the loop's other connections and the TUN, and continues from a deferred call. */
#define FLUSH_ROUNDS (ST_H2CONN_FLUSH_MAX / OUT_BATCH)
#define READ_BUF 65536
#define DIRECT_MIN 4096 /* nghttp2 output this large skips c->out (put_out) */
#define READ_BUDGET 16  /* reads per wake-up before yielding to other connections */
/* Encrypted bytes held for the socket: OpenSSL writes each 16 KiB record on its own, our
 * write BIO gathers them so one send() carries several (fewer syscalls and TCP packets).
 * flush() sends them at its end, or when the next record would not fit. */
#define TLS_OUT_MAX (256 * 1024)
#define TLS_RECORD 16384 /* OpenSSL's largest record of plaintext */
/* TLS read-ahead buffer once the peer has proved to be one of our daemons
 * (st_h2conn_bulk_reads). With READ_BUF, every recv() ended inside a record and a second
 * one fetched its last bytes: two syscalls per 64 KiB frame. Held only while unread
 * ciphertext remains (SSL_MODE_RELEASE_BUFFERS). */
#define TLS_READ_BULK (256 * 1024)
#define FRAME_HEAD 9 /* an HTTP/2 frame header */

static void on_io(struct st_io *io, uint32_t events);
static void on_kick(struct st_defer *d);
static void on_close_defer(struct st_defer *d);

static int wbuf_write(BIO *b, const char *p, int n)
{
    struct st_h2conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (n <= 0)
        return 0;
    size_t pending = c->tout_len - c->tout_off;
    if (pending && pending + (size_t)n > TLS_OUT_MAX) {
        BIO_set_retry_write(b);
        return -1;
    }
    if (c->tout_off && c->tout_len + (size_t)n > c->tout_cap) {
        memmove(c->tout, c->tout + c->tout_off, c->tout_len - c->tout_off);
        c->tout_len -= c->tout_off;
        c->tout_off = 0;
    }
    if (c->tout_len + (size_t)n > c->tout_cap) {
        size_t cap = c->tout_cap ? c->tout_cap : 32768;
        while (cap < c->tout_len + (size_t)n)
            cap *= 2;
        uint8_t *t = realloc(c->tout, cap);
        if (!t)
            return -1;
        c->tout = t;
        c->tout_cap = cap;
    }
    memcpy(c->tout + c->tout_len, p, (size_t)n);
    c->tout_len += (size_t)n;
    return n;
}

static long wbuf_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH; /* st_h2conn sends what it holds before sleeping */
}

static int wbuf_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO *wbuf_new(struct st_h2conn *c)
{
    static BIO_METHOD *m;
    if (!m) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "st_h2conn send buffer");
        if (!m || !BIO_meth_set_write(m, wbuf_write) || !BIO_meth_set_ctrl(m, wbuf_ctrl) ||
            !BIO_meth_set_create(m, wbuf_create)) {
            BIO_meth_free(m);
            m = NULL;
            return NULL;
        }
    }
    BIO *b = BIO_new(m);
    if (b)
        BIO_set_data(b, c);
    return b;
}

static bool tout_pending(const struct st_h2conn *c)
{
    return c->tout_off < c->tout_len;
}

/* Sends the gathered TLS records. 1: all sent, 0: the socket is full, -1: failed. */
static int drain(struct st_h2conn *c)
{
    while (tout_pending(c)) {
        ssize_t w = send(c->io.fd, c->tout + c->tout_off, c->tout_len - c->tout_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            st_h2conn_fail(c, "send: %s", strerror(errno));
            return -1;
        }
        c->tout_off += (size_t)w;
    }
    c->tout_off = c->tout_len = 0;
    return 1;
}

/* A connection going quiet gives its output buffers back (a busy one keeps them from one
 * flush to the next rather than reallocating them every round). */
static void release_buffers(struct st_h2conn *c)
{
    if (!tout_pending(c)) {
        free(c->tout);
        c->tout = NULL;
        c->tout_off = c->tout_len = c->tout_cap = 0;
    }
    if (c->out_off == c->out_len) {
        free(c->out);
        c->out = NULL;
        c->out_off = c->out_len = c->out_cap = 0;
    }
}

/* A heartbeat PING carries its send time (monotonic microseconds, big-endian). */
static void send_ping(struct st_h2conn *c)
{
    uint8_t opaque[8];
    uint64_t now = st_mono_us();
    for (int i = 7; i >= 0; i--, now >>= 8)
        opaque[i] = (uint8_t)now;
    nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, opaque);
    st_h2conn_kick(c);
}

void st_h2conn_frame_recv(struct st_h2conn *c, const nghttp2_frame *fr)
{
    if (fr->hd.type != NGHTTP2_PING || !(fr->hd.flags & NGHTTP2_FLAG_ACK) || !c->hb_stats)
        return;
    uint64_t sent = 0, now = st_mono_us();
    for (int i = 0; i < 8; i++)
        sent = sent << 8 | fr->ping.opaque_data[i];
    if (sent && sent <= now && now - sent < 3600ull * 1000000) /* one of ours */
        st_hist_observe(&c->hb_stats->rtt, (double)(now - sent) / 1e6);
}

static void on_heartbeat(struct st_timer *t)
{
    struct st_h2conn *c = t->data;
    if (c->dead || !c->session)
        return;
    if (c->bytes_in != c->hb_seen) {
        c->hb_seen = c->bytes_in;
        c->hb_missed = 0;
    } else if (++c->hb_missed >= c->hb_count) {
        if (c->hb_stats) {
            c->hb_stats->misses += c->hb_missed > 1;
            c->hb_stats->timeouts++;
        }
        st_h2conn_fail(c, "no heartbeat answer for %d x %d ms", c->hb_count, c->hb_interval_ms);
        return;
    } else {
        if (c->hb_stats && c->hb_missed > 1) /* the PING of the last tick got no answer */
            c->hb_stats->misses++;
        send_ping(c);
    }
    st_timer_start(t, (uint64_t)c->hb_interval_ms);
}

static void on_setup_timeout(struct st_timer *t)
{
    struct st_h2conn *c = t->data;
    st_h2conn_fail(c, "%s not finished within %d s", c->connecting ? "connect" : "TLS handshake",
                   ST_H2CONN_SETUP_MS / 1000);
}

int st_h2conn_init(struct st_h2conn *c, struct st_loop *loop, int fd, SSL *ssl, bool connecting,
                   bool tls_client, const struct st_h2conn_ops *ops, void *owner)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->ssl = ssl;
    c->connecting = connecting;
    c->tls_client = tls_client;
    c->ops = ops;
    c->owner = owner;
    /* We batch writes ourselves; Nagle + delayed ACK would stall small tails by 40 ms. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    st_io_init(&c->io, loop, fd, on_io, c);
    st_defer_init(&c->kick, on_kick, c);
    st_defer_init(&c->close_defer, on_close_defer, c);
    st_timer_init(&c->setup_timer, loop, on_setup_timeout, c);
    st_timer_init(&c->hb_timer, loop, on_heartbeat, c);
    st_timer_start(&c->setup_timer, ST_H2CONN_SETUP_MS);
    if (ssl && !SSL_is_init_finished(ssl)) { /* else handed over after its handshake */
        SSL_set_fd(ssl, fd);
        if (tls_client)
            SSL_set_connect_state(ssl);
        else
            SSL_set_accept_state(ssl);
    }
    if (ssl) {
        BIO *w = wbuf_new(c);
        if (!w)
            return -ENOMEM;
        SSL_set0_wbio(ssl, w);
        /* One recv() takes several records (do_read loops until the SSL is empty). */
        SSL_set_read_ahead(ssl, 1);
        SSL_set_default_read_buffer_len(ssl, READ_BUF);
    }
    int rv = st_io_set(&c->io, connecting ? EPOLLOUT : EPOLLIN | EPOLLOUT);
    return rv;
}

void st_h2conn_fini(struct st_h2conn *c)
{
    st_defer_cancel(c->loop, &c->kick);
    st_defer_cancel(c->loop, &c->close_defer);
    st_timer_stop(&c->setup_timer);
    st_timer_stop(&c->hb_timer);
    st_io_stop(&c->io);
    if (c->session)
        nghttp2_session_del(c->session);
    c->session = NULL;
    if (c->ssl) {
        if (c->established) {
            SSL_shutdown(c->ssl); /* best effort close_notify; never blocks */
            ERR_clear_error();
            c->dead = true; /* a failing drain() must not queue the close callback */
            drain(c);
        }
        SSL_free(c->ssl);
    }
    c->ssl = NULL;
    free(c->tout);
    c->tout = NULL;
    if (c->io.fd >= 0)
        close(c->io.fd);
    c->io.fd = -1;
    free(c->out);
    c->out = NULL;
}

void st_h2conn_fail(struct st_h2conn *c, const char *fmt, ...)
{
    if (c->dead)
        return;
    c->dead = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    st_io_stop(&c->io);
    st_timer_stop(&c->setup_timer);
    st_timer_stop(&c->hb_timer);
    st_defer_cancel(c->loop, &c->kick);
    st_defer_queue(c->loop, &c->close_defer);
}

static void on_close_defer(struct st_defer *d)
{
    struct st_h2conn *c = d->data;
    c->ops->closed(c, c->why);
}

void st_h2conn_kick(struct st_h2conn *c)
{
    if (!c->dead && c->established)
        st_defer_queue(c->loop, &c->kick);
}

void st_h2conn_alpn(struct st_h2conn *c, char *buf, size_t len)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    if (c->ssl)
        SSL_get0_alpn_selected(c->ssl, &p, &n);
    if (n >= len)
        n = (unsigned)len - 1;
    if (n)
        memcpy(buf, p, n);
    buf[n] = 0;
}

/* Returns >0 bytes, 0 would block, -1 fatal (reason recorded). */
static ssize_t tx(struct st_h2conn *c, const uint8_t *p, size_t n)
{
    if (!c->ssl) {
        ssize_t w = send(c->io.fd, p, n, MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        st_h2conn_fail(c, "send: %s", strerror(errno));
        return -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        ERR_clear_error(); /* SSL_get_error reads the shared queue: start it empty */
        int w = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
        if (w > 0)
            return w; /* the records wait in c->tout: flush() sends them together */
        int e = SSL_get_error(c->ssl, w);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
            char buf[200];
            st_h2conn_fail(c, "TLS write: %s", st_tls_errstr(buf, sizeof(buf)));
            return -1;
        }
        int d = drain(c); /* our buffer was full: room again only if it all went out */
        if (d <= 0)
            return d;
    }
    return 0;
}

/* Returns >0 bytes, 0 would block, -1 EOF or fatal (reason recorded). */
static ssize_t rx(struct st_h2conn *c, uint8_t *p, size_t n)
{
    if (!c->ssl) {
        ssize_t r = recv(c->io.fd, p, n, 0);
        if (r > 0)
            return r;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (r == 0)
            st_h2conn_fail(c, "peer closed the connection");
        else
            st_h2conn_fail(c, "recv: %s", strerror(errno));
        return -1;
    }
    ERR_clear_error();
    int r = SSL_read(c->ssl, p, (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    char buf[200];
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
        st_h2conn_fail(c, "peer closed the connection");
    else
        st_h2conn_fail(c, "TLS read: %s", st_tls_errstr(buf, sizeof(buf)));
    return -1;
}

static int append_out(struct st_h2conn *c, const uint8_t *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 16384;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(c->out, cap);
        if (!o)
            return -ENOMEM;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* Hands p[0, n) to tx until all of it went or the socket is full, counting bytes_out.
 * Returns the bytes taken, or -1 (the connection failed). */
static ssize_t tx_all(struct st_h2conn *c, const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = tx(c, p + done, n - done);
        if (w < 0)
            return -1;
        if (w == 0)
            break;
        done += (size_t)w;
    }
    c->bytes_out += done;
    return (ssize_t)done;
}

/* Writes c->out from out_off. 1: all of it went, 0: the socket is full (EPOLLOUT is set),
 * -1: the connection failed. */
static int write_out(struct st_h2conn *c)
{
    ssize_t w = tx_all(c, c->out + c->out_off, c->out_len - c->out_off);
    if (w < 0)
        return -1;
    c->out_off += (size_t)w;
    if (c->out_off < c->out_len) {
        st_io_set(&c->io, EPOLLIN | EPOLLOUT);
        return 0;
    }
    c->out_off = c->out_len = 0;
    return 1;
}

/* Output nghttp2 just produced: a large piece (a DATA frame) goes to TLS straight from
 * nghttp2's buffer once everything before it is written, one copy fewer per bulk byte;
 * small frames, and what TLS cannot take now, wait in c->out. 0, or -1 (failed). */
static int put_out(struct st_h2conn *c, const uint8_t *p, size_t n)
{
    if (n >= DIRECT_MIN) {
        int r = write_out(c);
        ssize_t w = r > 0 ? tx_all(c, p, n) : 0;
        if (r < 0 || w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    if (n && append_out(c, p, n) < 0) {
        st_h2conn_fail(c, "out of memory");
        return -1;
    }
    return 0;
}

bool st_h2conn_zero_copy(const struct st_h2conn *c)
{
    return c->ssl != NULL;
}

int st_h2conn_send_frame(struct st_h2conn *c, const nghttp2_frame *fr, const uint8_t *hd,
                         uint8_t *payload, size_t len)
{
    if (!c->ssl || c->dead || fr->data.padlen)
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* we never pad; roles check zero_copy */
    int r = write_out(c); /* what nghttp2 produced before this frame goes first */
    if (r < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (r == 0) {
        c->zc_blocked = true;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    /* The whole sealed frame must fit in our gather buffer: SSL_write is then never cut
     * short and the frame never half sent (a record costs 22 bytes more; the slack covers
     * a KeyUpdate answer OpenSSL may write first). */
    size_t n = len + FRAME_HEAD;
    size_t need = n + (n / TLS_RECORD + 1) * 64 + 1024;
    if (c->tout_len - c->tout_off + need > TLS_OUT_MAX) {
        int d = drain(c);
        if (d < 0)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        if (d == 0) {
            st_io_set(&c->io, EPOLLIN | EPOLLOUT);
            c->zc_blocked = true;
            return NGHTTP2_ERR_WOULDBLOCK;
        }
    }
    uint8_t *frame = payload - FRAME_HEAD;
    memcpy(frame, hd, FRAME_HEAD);
    for (size_t done = 0; done < n;) { /* a record per call (SSL_MODE_ENABLE_PARTIAL_WRITE) */
        ERR_clear_error();
        int w = SSL_write(c->ssl, frame + done, (int)(n - done));
        if (w <= 0) {
            char buf[200];
            st_h2conn_fail(c, "TLS write: %s", st_tls_errstr(buf, sizeof(buf)));
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        done += (size_t)w;
    }
    c->bytes_out += n;
    c->zc_batch += n;
    return c->zc_batch >= OUT_BATCH ? NGHTTP2_ERR_PAUSE : 0;
}

static void flush(struct st_h2conn *c)
{
    uint64_t sent0 = c->bytes_out;
    if (c->ssl && drain(c) <= 0) {
        if (!c->dead)
            st_io_set(&c->io, EPOLLIN | EPOLLOUT);
        return;
    }
    int round;
    for (round = 0; !c->dead && round < FLUSH_ROUNDS; round++) {
        if (write_out(c) <= 0)
            return;
        size_t pulled = 0;
        while (pulled < OUT_BATCH) {
            const uint8_t *data;
            c->zc_batch = pulled;
            c->zc_blocked = false;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) {
                if (!c->dead)
                    st_h2conn_fail(c, "HTTP/2 send: %s", nghttp2_strerror((int)n));
                return;
            }
            pulled = c->zc_batch; /* with frames sent from the roles' buffers */
            if (n == 0)
                break;
            if (put_out(c, data, (size_t)n) < 0)
                return;
            pulled += (size_t)n;
        }
        if (pulled == 0)
            break;
    }
    if (c->bytes_out - sent0 > c->flush_max)
        c->flush_max = c->bytes_out - sent0;
    c->flush_yields += round == FLUSH_ROUNDS;
    if (c->ssl && !c->dead && drain(c) < 0)
        return;
    /* Round budget used up, or a zero-copy frame nghttp2 holds found no room although the
     * last drain has made some: continue next iteration (EPOLLIN alone would leave it). */
    if (c->out_len > c->out_off || round == FLUSH_ROUNDS || (c->zc_blocked && !tout_pending(c))) {
        st_h2conn_kick(c);
        return;
    }
    if (tout_pending(c)) { /* the socket filled up: the rest goes on EPOLLOUT */
        st_io_set(&c->io, EPOLLIN | EPOLLOUT);
        return;
    }
    st_io_set(&c->io, EPOLLIN);
    if (c->bytes_out - sent0 < OUT_BATCH)
        release_buffers(c);
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
        st_h2conn_fail(c, "HTTP/2 session finished");
}

static void do_read(struct st_h2conn *c)
{
    static uint8_t buf[READ_BUF];
    c->read_more = false;
    for (int i = 0; i < READ_BUDGET && !c->dead; i++) {
        ssize_t n = rx(c, buf, sizeof(buf));
        if (n <= 0)
            return;
        c->bytes_in += (uint64_t)n;
        ssize_t rv = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
        if (rv < 0) {
            st_h2conn_fail(c, ST_H2CONN_PROTO_ERROR ": %s", nghttp2_strerror((int)rv));
            return;
        }
        /* Less than a whole record, and TLS holds nothing more (read-ahead included): the
         * socket is most likely empty. Asking it costs a recv() per heartbeat (10,000
         * tunnels: 1,000 a second); the level-triggered fd wakes us if bytes are left. */
        if (c->ssl && (size_t)n < TLS_RECORD && !SSL_has_pending(c->ssl))
            return;
    }
    if (!c->dead) {
        c->read_more = true; /* TLS may hold decrypted bytes the fd will not signal */
        st_h2conn_kick(c);
    }
}

static void established(struct st_h2conn *c)
{
    c->established = true;
    st_timer_stop(&c->setup_timer);
    if (c->ops->ready(c) < 0 || !c->session) {
        if (!c->dead)
            st_h2conn_fail(c, "connection setup refused");
        return;
    }
    st_io_set(&c->io, EPOLLIN);
    st_h2conn_kick(c);
}

static void do_handshake(struct st_h2conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    int d = drain(c);
    if (d < 0)
        return;
    if (d == 0 && r != 1) {
        st_io_set(&c->io, EPOLLIN | EPOLLOUT);
        return;
    }
    if (r == 1) {
        established(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        st_io_set(&c->io, EPOLLIN);
    } else if (e == SSL_ERROR_WANT_WRITE) {
        st_io_set(&c->io, EPOLLIN | EPOLLOUT);
    } else {
        char buf[200];
        st_h2conn_fail(c, "TLS handshake: %s", st_tls_errstr(buf, sizeof(buf)));
    }
}

static void start_transport(struct st_h2conn *c)
{
    if (!c->ssl)
        established(c);
    else
        do_handshake(c);
}

static void on_io(struct st_io *io, uint32_t events)
{
    struct st_h2conn *c = io->data;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            st_h2conn_fail(c, "connect: %s", strerror(err));
            return;
        }
        c->connecting = false;
        start_transport(c);
        return;
    }
    if (!c->established) {
        if (c->ssl)
            do_handshake(c);
        else
            start_transport(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        do_read(c);
    if (!c->dead)
        flush(c);
}

static void on_kick(struct st_defer *d)
{
    struct st_h2conn *c = d->data;
    if (c->dead)
        return;
    if (c->read_more)
        do_read(c);
    if (!c->dead)
        flush(c);
}

void st_h2conn_shutdown(struct st_h2conn *c)
{
    if (!c->session || c->dead)
        return;
    nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    st_h2conn_kick(c);
}

void st_h2conn_goaway(struct st_h2conn *c, uint32_t error)
{
    if (!c->session || c->dead)
        return;
    nghttp2_session_terminate_session(c->session, error);
    st_h2conn_kick(c);
}

/* DATA payload sized so that a frame fills whole TLS records. OpenSSL cuts a write into
 * 16384-byte records, and nghttp2's default 16384-byte payload behind its 9-byte header
 * left a 9-byte record after every frame: a seal, an open and a send() of its own. With
 * the 64 KiB frames both our ends allow, a frame is four full records. */
static ssize_t data_length(nghttp2_session *s, uint8_t type, int32_t stream_id, int32_t conn_window,
                           int32_t stream_window, uint32_t peer_max_frame, void *ud)
{
    (void)s;
    (void)type;
    (void)stream_id;
    (void)ud;
    int64_t lim = peer_max_frame;
    if (conn_window < lim)
        lim = conn_window;
    if (stream_window < lim)
        lim = stream_window;
    if (lim > 4 * TLS_RECORD - FRAME_HEAD) /* a peer may allow frames of up to 16 MiB */
        lim = 4 * TLS_RECORD - FRAME_HEAD;
    /* nghttp2 defers a stream whose window is empty before asking, so lim >= 1 */
    if (lim < TLS_RECORD - FRAME_HEAD)
        return lim < 1 ? 1 : (ssize_t)lim;
    return (ssize_t)((lim + FRAME_HEAD) / TLS_RECORD * TLS_RECORD - FRAME_HEAD);
}

int st_h2conn_session(struct st_h2conn *c, bool server, const struct st_h2_handlers *h, void *ud,
                      const nghttp2_settings_entry *iv, size_t niv, int32_t conn_window)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cb))
        return -1;
    if (nghttp2_option_new(&opt)) {
        nghttp2_session_callbacks_del(cb);
        return -1;
    }
    if (h->begin_headers)
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h->begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, h->header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h->frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h->data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h->stream_close);
    if (h->frame_send)
        nghttp2_session_callbacks_set_on_frame_send_callback(cb, h->frame_send);
    nghttp2_session_callbacks_set_data_source_read_length_callback(cb, data_length);
    if (h->send_data)
        nghttp2_session_callbacks_set_send_data_callback(cb, h->send_data);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    /* Closed streams are kept only for the priority tree (unused here); without this a
     * server that sets no SETTINGS_MAX_CONCURRENT_STREAMS keeps every one it ever saw
     * (~350 bytes per stream, measured as unbounded gateway growth). */
    nghttp2_option_set_no_closed_streams(opt, 1);
    if (c->many_resets)
        nghttp2_option_set_stream_reset_rate_limit(opt, ST_H2CONN_PEER_RESETS,
                                                   ST_H2CONN_PEER_RESETS);
    st_h2mem_lazy(true); /* the session's frame buffer: st_h2mem.h */
    int rv = server ? nghttp2_session_server_new3(&c->session, cb, ud, opt, st_h2mem())
                    : nghttp2_session_client_new3(&c->session, cb, ud, opt, st_h2mem());
    st_h2mem_lazy(false);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rv)
        return -1;
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, niv);
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, conn_window);
    st_h2rx_init(&c->rx, (size_t)conn_window);
    return 0;
}

int st_h2_favour(nghttp2_session *s, int32_t sid)
{
    nghttp2_priority_spec pri;
    nghttp2_priority_spec_init(&pri, 0, ST_H2_DGRAM_WEIGHT, 0);
    return nghttp2_session_change_stream_priority(s, sid, &pri);
}

void st_h2conn_bulk_reads(struct st_h2conn *c)
{
    if (c->ssl)
        SSL_set_default_read_buffer_len(c->ssl, TLS_READ_BULK);
}

bool st_h2conn_is_h2(struct st_h2conn *c)
{
    char alpn[16];
    st_h2conn_alpn(c, alpn, sizeof(alpn));
    return !c->ssl || strcmp(alpn, "h2") == 0;
}

uint32_t st_h2conn_ids_used(const struct st_h2conn *c)
{
    if (!c->session)
        return 0;
    uint32_t ours = nghttp2_session_get_next_stream_id(c->session);
    int32_t peer = nghttp2_session_get_last_proc_stream_id(c->session);
    return peer > 0 && (uint32_t)peer > ours ? (uint32_t)peer : ours;
}

uint64_t st_h2conn_load(struct st_h2conn *c)
{
    uint64_t now = st_loop_now(c->loop), total = c->bytes_in + c->bytes_out;
    uint64_t elapsed = now - c->load_ms;
    if (elapsed >= ST_H2CONN_LOAD_MS) { /* bytes per window, averaged since the last mark */
        c->load_prev = (total - c->load_mark) * ST_H2CONN_LOAD_MS / elapsed;
        c->load_mark = total;
        c->load_ms = now;
    }
    return (c->load_prev + total - c->load_mark) / ST_H2CONN_LOAD_UNIT;
}

void st_h2conn_heartbeat(struct st_h2conn *c, int interval_ms, int count)
{
    c->hb_interval_ms = interval_ms;
    c->hb_count = count;
    c->hb_missed = 0;
    c->hb_seen = c->bytes_in;
    st_timer_start(&c->hb_timer, (uint64_t)interval_ms);
}
