/* st_h2rx: receive flow control with streams drained at different speeds. Two nghttp2
 * sessions talk through memory: the client uploads on several streams, the server queues
 * what arrives and its consumers take it (or not). */
#include "st_h2rx.h"

#include "st_check.h"
#include <stdbool.h>
#include <string.h>

#define STREAM_WIN0 (64 * 1024)
#define STREAM_MAX (512 * 1024)
#define CONN_WIN (256 * 1024)
#define NSTREAMS 8

struct up {
    size_t left; /* bytes the client still has to send */
};

static nghttp2_session *cli, *srv;
static struct st_h2rx rx;
static struct up ups[NSTREAMS];
static int32_t sids[NSTREAMS];
static size_t got[NSTREAMS];  /* received by the server, per stream */
static size_t held[NSTREAMS]; /* received, not yet taken by the consumer */
static struct st_h2rx_stream win[NSTREAMS];

static int idx(int32_t sid)
{
    for (int i = 0; i < NSTREAMS; i++)
        if (sids[i] == sid)
            return i;
    return -1;
}

static ssize_t read_up(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *fl,
                       nghttp2_data_source *src, void *ud)
{
    (void)s, (void)sid, (void)ud;
    struct up *u = src->ptr;
    size_t n = len < u->left ? len : u->left;
    memset(buf, 'x', n);
    u->left -= n;
    if (!u->left)
        *fl |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *p, size_t n,
                   void *ud)
{
    (void)flags, (void)p, (void)ud;
    int i = idx(sid);
    ck_assert_int_ge(i, 0);
    got[i] += n;
    held[i] += n;
    st_h2rx_queued(&rx, s, n);
    return 0;
}

/* Moves bytes both ways until neither side has anything to send (bounded). */
static void pump(void)
{
    for (int round = 0; round < 10000; round++) {
        const uint8_t *p;
        ssize_t a = nghttp2_session_mem_send(cli, &p);
        ck_assert_int_ge(a, 0);
        if (a)
            ck_assert_int_eq(nghttp2_session_mem_recv(srv, p, (size_t)a), a);
        ssize_t b = nghttp2_session_mem_send(srv, &p);
        ck_assert_int_ge(b, 0);
        if (b)
            ck_assert_int_eq(nghttp2_session_mem_recv(cli, p, (size_t)b), b);
        if (!a && !b)
            return;
    }
    ck_abort_msg("sessions never went quiet");
}

static void setup_with(size_t budget)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    ck_assert_int_eq(nghttp2_option_new(&opt), 0);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    ck_assert_int_eq(nghttp2_session_server_new2(&srv, cb, NULL, opt), 0);
    nghttp2_session_callbacks_del(cb);
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    ck_assert_int_eq(nghttp2_session_client_new(&cli, cb, NULL), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WIN0}};
    ck_assert_int_eq(nghttp2_submit_settings(srv, NGHTTP2_FLAG_NONE, iv, 1), 0);
    ck_assert_int_eq(nghttp2_session_set_local_window_size(srv, NGHTTP2_FLAG_NONE, 0, CONN_WIN), 0);
    ck_assert_int_eq(nghttp2_submit_settings(cli, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    pump();
    st_h2rx_init(&rx, budget);
    memset(got, 0, sizeof(got));
    memset(held, 0, sizeof(held));
    memset(win, 0, sizeof(win));
}

static void setup(void)
{
    setup_with(64 * 1024 * 1024);
}

static void teardown(void)
{
    nghttp2_session_del(cli);
    nghttp2_session_del(srv);
}

/* Opens stream i uploading `bytes`. */
static void upload(int i, size_t bytes)
{
    static const nghttp2_nv nv[] = {
        {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
        {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
        {(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0},
        {(uint8_t *)":authority", (uint8_t *)"a.test", 10, 6, 0},
    };
    ups[i].left = bytes;
    nghttp2_data_provider dp = {.source.ptr = &ups[i], .read_callback = read_up};
    sids[i] = nghttp2_submit_request(cli, NULL, nv, 4, &dp, NULL);
    ck_assert_int_gt(sids[i], 0);
}

static void take(int i, size_t n, bool grow)
{
    held[i] -= n;
    st_h2rx_taken(&rx, srv, sids[i], grow ? &win[i] : NULL, STREAM_WIN0, STREAM_MAX, n);
}

/* Eight stalled streams hold 512 KiB, twice the connection window: a ninth still flows. */
START_TEST(stalled_streams_leave_the_connection_open)
{
    for (int i = 0; i < NSTREAMS - 1; i++)
        upload(i, 1024 * 1024);
    pump();
    for (int i = 0; i < NSTREAMS - 1; i++)
        ck_assert_uint_eq(got[i], STREAM_WIN0); /* each stopped at its own window */
    upload(NSTREAMS - 1, 3 * 1024 * 1024);
    int b = NSTREAMS - 1;
    for (int round = 0; round < 1000 && got[b] < 3 * 1024 * 1024; round++) {
        pump();
        take(b, held[b], true);
    }
    ck_assert_uint_eq(got[b], 3 * 1024 * 1024);
    ck_assert_uint_eq(rx.queued, (NSTREAMS - 1) * (size_t)STREAM_WIN0);
    ck_assert_uint_eq(rx.owed, 0);
    /* the reader kept up: its window grew to the maximum */
    ck_assert_int_eq(win[b].window, STREAM_MAX);
    ck_assert_int_eq(nghttp2_session_get_stream_effective_local_window_size(srv, sids[b]),
                     STREAM_MAX);
    /* a stalled stream's window never grew */
    ck_assert_int_eq(nghttp2_session_get_stream_effective_local_window_size(srv, sids[0]),
                     STREAM_WIN0);
}
END_TEST

/* Past the budget the connection window is withheld until consumers drain or streams go. */
START_TEST(budget_bounds_what_is_queued)
{
    teardown();
    setup_with(3 * STREAM_WIN0);
    for (int i = 0; i < NSTREAMS; i++)
        upload(i, 1024 * 1024);
    pump();
    size_t total = 0;
    for (int i = 0; i < NSTREAMS; i++)
        total += got[i];
    /* budget plus at most the connection window */
    ck_assert_uint_le(total, 3 * STREAM_WIN0 + CONN_WIN);
    /* two streams go away, the others' consumers drain: every byte arrives in the end */
    st_h2rx_dropped(&rx, srv, held[0]);
    st_h2rx_dropped(&rx, srv, held[1]);
    ck_assert_uint_eq(rx.queued, total - held[0] - held[1]);
    held[0] = held[1] = 0;
    nghttp2_submit_rst_stream(srv, NGHTTP2_FLAG_NONE, sids[0], NGHTTP2_CANCEL);
    nghttp2_submit_rst_stream(srv, NGHTTP2_FLAG_NONE, sids[1], NGHTTP2_CANCEL);
    for (int round = 0; round < 1000; round++) {
        pump();
        size_t left = 0;
        for (int i = 2; i < NSTREAMS; i++) {
            take(i, held[i], false);
            left += 1024 * 1024 - got[i];
        }
        if (!left)
            break;
    }
    for (int i = 2; i < NSTREAMS; i++)
        ck_assert_uint_eq(got[i], 1024 * 1024);
    ck_assert_uint_eq(rx.queued, 0);
    ck_assert_uint_eq(rx.owed, 0);
}
END_TEST

/* Budget 0: the connection window comes back only for bytes taken (the classic rule). */
START_TEST(budget_zero_returns_only_what_is_taken)
{
    teardown();
    setup_with(0);
    for (int i = 0; i < NSTREAMS; i++)
        upload(i, 1024 * 1024);
    pump();
    size_t total = 0;
    for (int i = 0; i < NSTREAMS; i++)
        total += got[i];
    ck_assert_uint_le(total, CONN_WIN);
    ck_assert_uint_eq(rx.owed, total);
    size_t h0 = 0; /* over half the connection window: nghttp2 sends WINDOW_UPDATE then */
    for (int i = 0; i < NSTREAMS / 2 + 1; i++) {
        h0 += held[i];
        take(i, held[i], false);
    }
    ck_assert_uint_gt(h0, CONN_WIN / 2);
    ck_assert_uint_eq(rx.owed, total - h0);
    pump();
    size_t after = 0;
    for (int i = 0; i < NSTREAMS; i++)
        after += got[i];
    ck_assert_uint_gt(after, total); /* the window taken bytes freed was used again */
    ck_assert_uint_le(after - h0, CONN_WIN);
}
END_TEST

/* Without growth the stream keeps its initial window; taking bytes reopens it exactly. */
START_TEST(fixed_window_reopens_as_taken)
{
    upload(0, 200 * 1024);
    pump();
    ck_assert_uint_eq(got[0], STREAM_WIN0);
    for (int round = 0; round < 100 && got[0] < 200 * 1024; round++) {
        take(0, held[0], false);
        pump();
    }
    ck_assert_uint_eq(got[0], 200 * 1024);
    ck_assert_int_eq(nghttp2_session_get_stream_effective_local_window_size(srv, sids[0]),
                     STREAM_WIN0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("h2rx");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, stalled_streams_leave_the_connection_open);
    tcase_add_test(tc, budget_bounds_what_is_queued);
    tcase_add_test(tc, budget_zero_returns_only_what_is_taken);
    tcase_add_test(tc, fixed_window_reopens_as_taken);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
