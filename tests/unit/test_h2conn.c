/* st_h2conn with TLS on both ends of a loopback TCP pair, client and server driven by one
 * loop: a response body crosses intact, and its DATA frames fill whole TLS records (the
 * client's record headers are counted as they arrive), also when they are sent without a
 * copy from a queue's chunks (st_h2conn_send_frame). */
#include "st_bq.h"
#include "st_h2conn.h"
#include "st_tls.h"

#include "st_check.h"
#include "tls_fixture.h"
#include <stdlib.h>

#define BODY (1u << 20)
#define RECORD_FULL (16384 + 1 + 16) /* TLS 1.3 record: plaintext, inner type, AEAD tag */
#define ALPN_H2 ((const unsigned char *)"\x02h2")
#define nv(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE         \
    }

static char dir[] = "/tmp/st-test-h2conn-XXXXXX";
static char crt[300], key[300];

static void certs_setup(void)
{
    strcpy(dir, "/tmp/st-test-h2conn-XXXXXX"); /* mkdtemp rewrites it (CK_FORK=no) */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(crt, sizeof(crt), "%s/a.crt", dir);
    snprintf(key, sizeof(key), "%s/a.key", dir);
    write_pem(crt, key, "a.example.test", "DNS:a.example.test");
}

static void certs_teardown(void)
{
    unlink(crt);
    unlink(key);
    rmdir(dir);
}

/* One run: the client asks for BODY bytes, the server answers from body_byte(). */
static struct run {
    struct st_loop loop;
    struct st_h2conn srv, cli;
    struct st_timer guard;
    const nghttp2_settings_entry *cli_iv; /* the client's SETTINGS */
    size_t cli_niv;
    bool bulk; /* the client calls st_h2conn_bulk_reads (256 KiB TLS reads) */
    size_t sent, got, wrong;
    bool done, timed_out;
    char closed[200];
    int full, partial; /* application records the client received, by size */
    size_t frame_max;  /* the longest DATA frame payload the client received */
    size_t read_max;   /* the most the client's TLS asked its socket for at once */
    /* Zero-copy runs: the body is queued in q (64 KiB chunks less a frame header) and sent
     * from there; copied counts bytes that went through nghttp2's buffer instead. */
    bool zc;
    struct st_bq q;
    size_t queued, copied, zc_sent; /* zc_sent: payload sent zero-copy */
    int wouldblock, paused;
} R;

static uint8_t body_byte(size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static void count_record(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl,
                         void *arg)
{
    (void)version;
    (void)ssl;
    (void)arg;
    const uint8_t *h = buf;
    if (write_p || type != SSL3_RT_HEADER || len != 5 || h[0] != SSL3_RT_APPLICATION_DATA)
        return;
    if ((h[3] << 8 | h[4]) == RECORD_FULL)
        R.full++;
    else
        R.partial++;
}

static long count_read(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
                       size_t *processed)
{
    (void)b;
    (void)argp;
    (void)argi;
    (void)argl;
    (void)processed;
    if (oper == BIO_CB_READ && len > R.read_max)
        R.read_max = len;
    return ret;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    (void)ud;
    size_t n = BODY - R.sent < len ? BODY - R.sent : len;
    for (size_t i = 0; i < n; i++)
        buf[i] = body_byte(R.sent + i);
    R.sent += n;
    if (R.sent == BODY)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Keeps the queue full, writing in place as a recv() at the edge does. */
static void top_up(void)
{
    uint8_t *p;
    size_t n;
    while (R.queued < BODY && (n = st_bq_tail_space(&R.q, &p)) > 0) {
        if (n > BODY - R.queued)
            n = BODY - R.queued;
        for (size_t i = 0; i < n; i++)
            p[i] = body_byte(R.queued + i);
        st_bq_commit(&R.q, n);
        R.queued += n;
    }
}

static ssize_t queue_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                          nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    (void)ud;
    top_up();
    const uint8_t *p;
    size_t n = len < R.q.len ? len : R.q.len;
    size_t run = n && st_h2conn_zero_copy(&R.srv) ? st_bq_peek(&R.q, 0, &p) : 0;
    size_t zc = st_h2_zc_frame(run, n, flags);
    if (zc) {
        n = zc;
    } else {
        n = st_bq_copy(&R.q, buf, n);
        st_bq_consume(&R.q, n);
        R.copied += n;
    }
    if (R.queued == BODY && R.q.len == zc)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int queue_send(nghttp2_session *s, nghttp2_frame *f, const uint8_t *hd, size_t len,
                      nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)src;
    (void)ud;
    const uint8_t *p;
    ck_assert_uint_ge(st_bq_peek(&R.q, 0, &p), len);
    int rv = st_h2conn_send_frame(&R.srv, f, hd, (uint8_t *)p, len);
    R.wouldblock += rv == NGHTTP2_ERR_WOULDBLOCK;
    R.paused += rv == NGHTTP2_ERR_PAUSE;
    if (rv == 0 || rv == NGHTTP2_ERR_PAUSE) {
        st_bq_consume(&R.q, len);
        R.zc_sent += len;
    }
    return rv;
}

static int srv_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    nghttp2_nv h[] = {nv(":status", "200")};
    nghttp2_data_provider p = {.read_callback = R.zc ? queue_read : body_read};
    ck_assert_int_eq(nghttp2_submit_response(s, f->hd.stream_id, h, 1, &p), 0);
    return 0;
}

static int cli_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                     void *ud)
{
    (void)flags;
    (void)ud;
    for (size_t i = 0; i < n; i++)
        R.wrong += d[i] != body_byte(R.got + i);
    R.got += n;
    nghttp2_session_consume(s, id, n); /* manual windows: reopen as the body is taken */
    st_h2conn_kick(&R.cli);
    return 0;
}

static int cli_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    (void)ud;
    if (f->hd.type == NGHTTP2_DATA && f->hd.length > R.frame_max)
        R.frame_max = f->hd.length;
    return 0;
}

static int cli_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    (void)id;
    (void)code;
    (void)ud;
    R.done = true;
    st_loop_stop(&R.loop);
    return 0;
}

static int srv_ready(struct st_h2conn *c)
{
    static const struct st_h2_handlers h = {.frame_recv = srv_frame, .send_data = queue_send};
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536}};
    return st_h2conn_session(c, true, &h, NULL, iv, 1, 1 << 24);
}

static int cli_ready(struct st_h2conn *c)
{
    static const struct st_h2_handlers h = {
        .frame_recv = cli_frame, .data_chunk = cli_chunk, .stream_close = cli_close};
    if (st_h2conn_session(c, false, &h, NULL, R.cli_iv, R.cli_niv, 1 << 24) < 0)
        return -1;
    if (R.bulk)
        st_h2conn_bulk_reads(c);
    nghttp2_nv req[] = {nv(":method", "GET"), nv(":scheme", "https"),
                        nv(":authority", "a.example.test"), nv(":path", "/")};
    return nghttp2_submit_request(c->session, NULL, req, 4, NULL, NULL) > 0 ? 0 : -1;
}

static void on_closed(struct st_h2conn *c, const char *why)
{
    snprintf(R.closed, sizeof(R.closed), "%s: %s", c == &R.srv ? "server" : "client", why);
    st_loop_stop(&R.loop);
}

static void on_guard(struct st_timer *t)
{
    (void)t;
    R.timed_out = true;
    st_loop_stop(&R.loop);
}

static const struct st_h2conn_ops srv_ops = {.ready = srv_ready, .closed = on_closed};
static const struct st_h2conn_ops cli_ops = {.ready = cli_ready, .closed = on_closed};

/* Runs one request with the client's SETTINGS iv; checks the body arrived intact. zc: the
 * server sends it from a queue without copying; sndbuf > 0: its SO_SNDBUF. */
static void run_with(const nghttp2_settings_entry *iv, size_t niv, bool bulk, bool zc, int sndbuf)
{
    char err[256];
    int fd[2];
    memset(&R, 0, sizeof(R));
    R.cli_iv = iv;
    R.cli_niv = niv;
    R.bulk = bulk;
    R.zc = zc;
    st_bq_init_chunks(&R.q, 1 << 20, 4 * 16384 - ST_H2_HEADROOM);
    ck_assert_int_eq(st_loop_init(&R.loop), 0);
    SSL_CTX *ctx = st_tls_server_ctx(crt, key, ALPN_H2, err, sizeof(err));
    ck_assert_msg(ctx != NULL, "%s", err);
    SSL *s = SSL_new(ctx);
    SSL_CTX_free(ctx);
    ck_assert_ptr_nonnull(s);
    tcp_pair(fd, false);
    if (sndbuf > 0)
        ck_assert_int_eq(setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    SSL *c = client_new(fd[1], "a.example.test", ALPN_H2);
    SSL_set_msg_callback(c, count_record);
    SSL_set_mode(c, SSL_MODE_RELEASE_BUFFERS); /* as st_tls's contexts: buffers come and go */
    ck_assert_int_eq(st_h2conn_init(&R.srv, &R.loop, fd[0], s, false, false, &srv_ops, NULL), 0);
    ck_assert_int_eq(st_h2conn_init(&R.cli, &R.loop, fd[1], c, false, true, &cli_ops, NULL), 0);
    BIO_set_callback_ex(SSL_get_rbio(c), count_read);
    st_timer_init(&R.guard, &R.loop, on_guard, NULL);
    st_timer_start(&R.guard, 20000);
    st_loop_run(&R.loop);
    st_timer_stop(&R.guard);
    st_h2conn_fini(&R.cli);
    st_h2conn_fini(&R.srv);
    st_loop_fini(&R.loop);
    st_bq_fini(&R.q);
    ck_assert_msg(!R.timed_out, "no answer within 20 s (%zu of %u bytes)", R.got, BODY);
    ck_assert_msg(R.done, "connection closed: %s", R.closed);
    ck_assert_uint_eq(R.got, BODY);
    ck_assert_uint_eq(R.wrong, 0);
}

static void run(const nghttp2_settings_entry *iv, size_t niv, bool bulk)
{
    run_with(iv, niv, bulk, false, 0);
}

/* Records that are not full: the session tickets, SETTINGS and their ACK, the response's
 * HEADERS, window updates, the body's last frame (9 in these runs). */
#define PARTIAL_MAX 12

/* 64 KiB frames allowed, between our own daemons: each DATA frame is four full records. Before the
 * frames were sized, every 16 KiB frame left its 9 bytes over as a record of their own (72 partial
 * records in this run). */
START_TEST(test_data_fills_records)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536},
                                                {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 22}};
    run(iv, 2, true);
    ck_assert_int_ge(R.full, (int)(BODY / 16384) - 1);
    ck_assert_int_le(R.partial, PARTIAL_MAX);
    ck_assert_uint_eq(R.frame_max, 4 * 16384 - 9);
    /* one wake-up's output: the budget and a frame per round of it, not the whole body */
    ck_assert_uint_gt(R.srv.flush_max, 0);
    ck_assert_uint_le(R.srv.flush_max, ST_H2CONN_FLUSH_MAX + 4 * 65536);
    ck_assert_uint_gt(R.read_max, 200 * 1024); /* bulk reads took effect */
}
END_TEST

/* A peer keeping the default 16 KiB frame limit (browsers): frames of 16375 bytes, one
 * full record each; reads stay at OpenSSL's default size without st_h2conn_bulk_reads. */
START_TEST(test_data_default_frame_limit)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 22}};
    run(iv, 1, false);
    ck_assert_int_ge(R.full, (int)(BODY / 16384) - 1);
    ck_assert_int_le(R.partial, PARTIAL_MAX);
    ck_assert_uint_eq(R.frame_max, 16384 - 9);
    ck_assert_uint_le(R.read_max, 80 * 1024); /* no bulk reads: OpenSSL's default size */
}
END_TEST

/* A peer allowing frames of 1 MiB still gets 64 KiB ones: a frame is sent whole, and one
 * as long as the window would hold the connection's other streams back behind it. */
START_TEST(test_data_frame_cap)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 1 << 20},
                                                {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 22}};
    run(iv, 2, false);
    ck_assert_uint_eq(R.frame_max, 4 * 16384 - 9);
    ck_assert_int_le(R.partial, PARTIAL_MAX);
}
END_TEST

/* A stream window smaller than a record: frames shrink to what the window allows and the
 * body still crosses whole. */
START_TEST(test_data_small_window)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 5000}};
    run(iv, 1, true);
    ck_assert_int_eq(R.full, 0);
    ck_assert_uint_le(R.frame_max, 5000);
    ck_assert_int_gt(R.partial, (int)(BODY / 5000));
}
END_TEST

/* Zero-copy frames from 64 KiB chunks: nothing but a short tail passes through nghttp2's
 * buffer, and each frame is still four full records (its header sealed with the payload from
 * the chunk's headroom). A flush stops taking frames past its batch (NGHTTP2_ERR_PAUSE) and
 * goes on. */
START_TEST(test_zero_copy_frames)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536},
                                                {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 22}};
    run_with(iv, 2, true, true, 0);
    ck_assert_uint_lt(R.copied, ST_H2_ZC_SMALL);   /* at most the body's short tail */
    ck_assert_uint_eq(R.zc_sent + R.copied, BODY); /* every byte went one way or the other */
    ck_assert_uint_ge(R.zc_sent, BODY - ST_H2_ZC_SMALL);
    ck_assert_uint_eq(R.frame_max, 4 * 16384 - 9);
    ck_assert_int_ge(R.full, (int)(BODY / 16384) - 1);
    ck_assert_int_le(R.partial, PARTIAL_MAX);
    ck_assert_int_gt(R.paused, 0);
}
END_TEST

/* The server's socket fills up: st_h2conn_send_frame answers WOULDBLOCK, nghttp2 offers the
 * same frame again once the socket drains, and the body still arrives whole and in order. */
START_TEST(test_zero_copy_socket_full)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 65536},
                                                {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 22}};
    run_with(iv, 2, false, true, 4096);
    ck_assert_int_gt(R.wouldblock, 0);
    ck_assert_uint_lt(R.copied, ST_H2_ZC_SMALL); /* at most the body's short tail */
}
END_TEST

/* Windows smaller than a record: frames follow the window and start inside chunks (their
 * headers written over bytes already sent); only the short runs at chunk ends are copied. */
START_TEST(test_zero_copy_small_window)
{
    static const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 5000}};
    run_with(iv, 1, false, true, 0);
    ck_assert_uint_le(R.frame_max, 5000);
    ck_assert_uint_gt(R.zc_sent, BODY * 9 / 10);
    ck_assert_uint_lt(R.copied, BODY / 10);
}
END_TEST

/* Which frames go out zero-copy: not small ones (they share records with the round's other
 * small frames), not a run that would end a big frame before its first full record. */
START_TEST(test_zero_copy_choice)
{
    uint32_t fl = 0;
    /* copied: a short flow's request, a small frame from a long run, a run ending the frame
     * before its first full record; the flags stay as they were */
    ck_assert_uint_eq(st_h2_zc_frame(100, 100, &fl), 0);
    ck_assert_uint_eq(st_h2_zc_frame(100000, ST_H2_ZC_SMALL - 1, &fl), 0);
    ck_assert_uint_eq(st_h2_zc_frame(ST_H2_ZC_MIN - 1, 65527, &fl), 0);
    ck_assert_uint_eq(fl, 0);
    /* zero-copy: a frame the run holds whole, a run of a full record (the frame ends with it),
     * a run longer than the frame (the frame's length) */
    ck_assert_uint_eq(st_h2_zc_frame(ST_H2_ZC_SMALL, ST_H2_ZC_SMALL, &fl), ST_H2_ZC_SMALL);
    ck_assert_uint_eq(fl, NGHTTP2_DATA_FLAG_NO_COPY);
    ck_assert_uint_eq(st_h2_zc_frame(ST_H2_ZC_MIN, 65527, &fl), ST_H2_ZC_MIN);
    ck_assert_uint_eq(st_h2_zc_frame(100000, 65527, &fl), 65527);
}
END_TEST

/* Ids used, seen from the side that opens streams (next id) and from the side that answers
 * (last id processed): a connection near the end of its ids is found on both. */
START_TEST(test_ids_used)
{
    nghttp2_session_callbacks *cb;
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    struct st_h2conn cli = {0}, srv = {0};
    ck_assert_uint_eq(st_h2conn_ids_used(&cli), 0);
    ck_assert_int_eq(nghttp2_session_client_new(&cli.session, cb, NULL), 0);
    ck_assert_int_eq(nghttp2_session_server_new(&srv.session, cb, NULL), 0);
    ck_assert_uint_lt(st_h2conn_ids_used(&cli), 4);
    ck_assert_uint_lt(st_h2conn_ids_used(&srv), 4);
    nghttp2_nv nva[] = {{(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
                        {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
                        {(uint8_t *)":authority", (uint8_t *)"a.test", 10, 6, 0},
                        {(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0}};
    ck_assert_int_eq(nghttp2_session_set_next_stream_id(cli.session, ST_H2CONN_IDS_RENEW + 1), 0);
    nghttp2_submit_settings(cli.session, NGHTTP2_FLAG_NONE, NULL, 0);
    int32_t sid = nghttp2_submit_request(cli.session, NULL, nva, 4, NULL, NULL);
    ck_assert_int_eq(sid, ST_H2CONN_IDS_RENEW + 1);
    ck_assert_uint_gt(st_h2conn_ids_used(&cli), ST_H2CONN_IDS_RENEW);
    const uint8_t *d;
    ssize_t n;
    for (int i = 0; i < 10 && (n = nghttp2_session_mem_send(cli.session, &d)) > 0; i++)
        ck_assert_int_eq(nghttp2_session_mem_recv(srv.session, d, (size_t)n), n);
    ck_assert_uint_eq(st_h2conn_ids_used(&srv), ST_H2CONN_IDS_RENEW + 1);
    nghttp2_session_del(cli.session);
    nghttp2_session_del(srv.session);
    nghttp2_session_callbacks_del(cb);
}
END_TEST

/* ---- Sending order (st_h2conn.h): two raw sessions, the client sends request bodies ---- */

static struct sched {
    nghttp2_session *tx, *rx;
    bool small_ready;   /* stream 3's body may go */
    int32_t order[512]; /* frames the receiver got: stream id of DATA, 0 for a PING */
    size_t n;
} S;

static ssize_t sched_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                          nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)flags;
    (void)src;
    (void)ud;
    if (id == 3 && !S.small_ready)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = len < 16384 ? len : 16384; /* never ends: both streams stay backlogged */
    memset(buf, 0, n);
    return (ssize_t)n;
}

static int sched_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    (void)ud;
    bool ping = f->hd.type == NGHTTP2_PING && !(f->hd.flags & NGHTTP2_FLAG_ACK);
    if ((f->hd.type == NGHTTP2_DATA || ping) && S.n < sizeof(S.order) / sizeof(S.order[0]))
        S.order[S.n++] = ping ? 0 : f->hd.stream_id;
    return 0;
}

/* Moves frames both ways until the receiver has seen `frames` more of DATA and PING. */
static void sched_pump(size_t frames)
{
    size_t want = S.n + frames;
    for (int i = 0; i < 10000 && S.n < want; i++) {
        const uint8_t *d;
        ssize_t a = nghttp2_session_mem_send(S.tx, &d);
        ck_assert_int_ge(a, 0);
        if (a > 0)
            ck_assert_int_eq(nghttp2_session_mem_recv(S.rx, d, (size_t)a), a);
        ssize_t b = nghttp2_session_mem_send(S.rx, &d);
        ck_assert_int_ge(b, 0);
        if (b > 0)
            ck_assert_int_eq(nghttp2_session_mem_recv(S.tx, d, (size_t)b), b);
        ck_assert_msg(a > 0 || b > 0, "nothing left to send");
    }
    ck_assert_uint_ge(S.n, want);
}

/* Stream 1 (bulk) and stream 3 (its body deferred until small_ready) are open. */
static void sched_setup(void)
{
    nghttp2_session_callbacks *cb;
    memset(&S, 0, sizeof(S));
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, sched_frame);
    ck_assert_int_eq(nghttp2_session_client_new(&S.tx, cb, NULL), 0);
    ck_assert_int_eq(nghttp2_session_server_new(&S.rx, cb, NULL), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, NGHTTP2_MAX_WINDOW_SIZE};
    ck_assert_int_eq(nghttp2_submit_settings(S.rx, NGHTTP2_FLAG_NONE, &iv, 1), 0);
    ck_assert_int_eq(nghttp2_submit_window_update(S.rx, NGHTTP2_FLAG_NONE, 0, 1 << 30), 0);
    ck_assert_int_eq(nghttp2_submit_settings(S.tx, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    nghttp2_nv req[] = {nv(":method", "POST"), nv(":scheme", "https"),
                        nv(":authority", "a.example.test"), nv(":path", "/")};
    nghttp2_data_provider dp = {.read_callback = sched_read};
    ck_assert_int_eq(nghttp2_submit_request(S.tx, NULL, req, 4, &dp, NULL), 1);
    ck_assert_int_eq(nghttp2_submit_request(S.tx, NULL, req, 4, &dp, NULL), 3);
    sched_pump(4); /* the bulk stream is under way */
}

static void sched_teardown(void)
{
    nghttp2_session_del(S.tx);
    nghttp2_session_del(S.rx);
}

static size_t sched_count(size_t from, int32_t id)
{
    size_t k = 0;
    for (size_t i = from; i < S.n; i++)
        k += S.order[i] == id;
    return k;
}

/* A stream that wakes up beside a busy bulk stream sends before the bulk's next frame. */
START_TEST(test_sched_idle_first)
{
    sched_setup();
    ck_assert_uint_eq(sched_count(0, 1), S.n);
    size_t at = S.n;
    S.small_ready = true;
    ck_assert_int_eq(nghttp2_session_resume_data(S.tx, 3), 0);
    sched_pump(1);
    ck_assert_int_eq(S.order[at], 3);
    sched_teardown();
}
END_TEST

/* Control frames go before the DATA frames already waiting. */
START_TEST(test_sched_control_first)
{
    sched_setup();
    size_t at = S.n;
    ck_assert_int_eq(nghttp2_submit_ping(S.tx, NGHTTP2_FLAG_NONE, NULL), 0);
    sched_pump(1);
    ck_assert_int_eq(S.order[at], 0);
    sched_teardown();
}
END_TEST

/* Both backlogged: a favoured (datagram) stream gets 16 frames to the bulk stream's one; left
 * at the default weight, they take turns. */
START_TEST(test_sched_favour)
{
    for (int favour = 0; favour < 2; favour++) {
        sched_setup();
        S.small_ready = true;
        ck_assert_int_eq(nghttp2_session_resume_data(S.tx, 3), 0);
        if (favour) {
            ck_assert_int_eq(st_h2_favour(S.tx, 3), 0);
            ck_assert_int_eq(st_h2_favour(S.tx, 5), NGHTTP2_ERR_INVALID_ARGUMENT); /* none */
        }
        sched_pump(8); /* settle */
        size_t at = S.n;
        sched_pump(170);
        size_t bulk = sched_count(at, 1), dgram = sched_count(at, 3);
        ck_assert_uint_eq(bulk + dgram, S.n - at);
        if (favour) {
            ck_assert_uint_ge(bulk, 8);
            ck_assert_uint_le(bulk, 12);
        } else {
            ck_assert_uint_ge(bulk, 80);
            ck_assert_uint_le(bulk, 90);
        }
        sched_teardown();
    }
}
END_TEST

static Suite *h2conn_suite(void)
{
    Suite *s = suite_create("h2conn");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_data_fills_records);
    tcase_add_test(tc, test_data_default_frame_limit);
    tcase_add_test(tc, test_data_frame_cap);
    tcase_add_test(tc, test_data_small_window);
    tcase_add_test(tc, test_zero_copy_choice);
    tcase_add_test(tc, test_zero_copy_frames);
    tcase_add_test(tc, test_zero_copy_socket_full);
    tcase_add_test(tc, test_zero_copy_small_window);
    tcase_add_test(tc, test_ids_used);
    tcase_add_test(tc, test_sched_idle_first);
    tcase_add_test(tc, test_sched_control_first);
    tcase_add_test(tc, test_sched_favour);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(h2conn_suite());
}
