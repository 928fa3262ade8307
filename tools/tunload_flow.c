/* st-tunload: the streams the edge opens on a simulated gateway's connection. The first one
 * with :protocol subtunnel-control is the control stream (REGISTER goes out on it, REGISTERED
 * or ERROR comes back); every other stream is a flow, answered 200 and echoed byte for byte,
 * its window reopened only as the echo is sent (the edge's user sees end-to-end flow
 * control as through a real gateway). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st_capsule.h"
#include "st_ctrl.h"
#include "st_log.h"
#include "tunload.h"

struct tl_stream {
    struct tl_gw *g;
    struct tl_stream *prev, *next; /* g->streams */
    int32_t sid;
    bool ctrl, started, eof_in;
    size_t off, len;
    uint8_t buf[TL_STREAM_BUF];
};

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE         \
    }

static ssize_t ctrl_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s, (void)sid, (void)src;
    struct tl_gw *g = ud;
    return st_ctrlstream_read(&g->ctrl, buf, len, flags);
}

static ssize_t echo_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s, (void)sid, (void)ud;
    struct tl_stream *st = src->ptr;
    size_t n = st->len - st->off;
    if (n == 0) {
        if (st->eof_in) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        return NGHTTP2_ERR_DEFERRED;
    }
    if (n > len)
        n = len;
    memcpy(buf, st->buf + st->off, n);
    st->off += n;
    if (st->off == st->len)
        st->off = st->len = 0;
    return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct tl_gw *g = ud;
    if (fr->hd.type != NGHTTP2_HEADERS || fr->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct tl_stream *st = malloc(sizeof(*st));
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    memset(st, 0, offsetof(struct tl_stream, buf));
    st->g = g;
    st->sid = fr->hd.stream_id;
    st->next = g->streams;
    if (g->streams)
        g->streams->prev = st;
    g->streams = st;
    nghttp2_session_set_stream_user_data(s, fr->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags, (void)ud;
    struct tl_stream *st = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
    if (st && nlen == 9 && memcmp(name, ":protocol", 9) == 0 && vlen == 17 &&
        memcmp(value, "subtunnel-control", 17) == 0)
        st->ctrl = true;
    return 0;
}

static void stream_free(struct tl_stream *st)
{
    struct tl_gw *g = st->g;
    if (st->prev)
        st->prev->next = st->next;
    else
        g->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    g->run->flows_open -= st->started;
    free(st);
}

static void open_control(struct tl_gw *g, struct tl_stream *st)
{
    nghttp2_session *s = g->h2.session;
    int32_t sid = st->sid;
    nghttp2_session_set_stream_user_data(s, sid, NULL);
    stream_free(st);
    if (g->ctrl.sid) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_REFUSED_STREAM);
        return;
    }
    g->ctrl.sid = sid;
    nghttp2_nv nva[] = {NV(":status", "200")};
    nghttp2_data_provider dp = {.read_callback = ctrl_read};
    nghttp2_submit_response(s, sid, nva, 1, &dp);
    tl_gw_send_register(g);
}

static void start_flow(struct tl_gw *g, struct tl_stream *st)
{
    nghttp2_nv nva[] = {NV(":status", "200")};
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = echo_read};
    st->started = true;
    g->run->flows++;
    g->run->flows_open++;
    nghttp2_submit_response(g->h2.session, st->sid, nva, 1, &dp);
}

static int on_capsule(void *arg, const struct st_capsule *cap)
{
    struct tl_gw *g = arg;
    if (cap->type == ST_CAP_REGISTERED) {
        tl_gw_registered(g);
    } else if (cap->type == ST_CAP_ERROR) {
        struct st_ctrl_error e;
        if (st_ctrl_decode_error(cap->value, cap->len, &e) < 0)
            st_h2conn_fail(&g->h2, "malformed ERROR");
        else
            tl_gw_refused(g, e.cause, e.retry, e.retry_after_s);
    }
    return g->h2.dead;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct tl_gw *g = ud;
    st_h2conn_frame_recv(&g->h2, fr);
    struct tl_stream *st = fr->hd.stream_id && fr->hd.stream_id != g->ctrl.sid
                               ? nghttp2_session_get_stream_user_data(s, fr->hd.stream_id)
                               : NULL;
    if (!st)
        return 0;
    if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (st->ctrl) {
            open_control(g, st);
            return 0;
        }
        start_flow(g, st);
    }
    if ((fr->hd.type == NGHTTP2_DATA || fr->hd.type == NGHTTP2_HEADERS) &&
        (fr->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        st->eof_in = true;
        nghttp2_session_resume_data(s, st->sid);
        st_h2conn_kick(&g->h2);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *p, size_t n,
                   void *ud)
{
    (void)flags;
    struct tl_gw *g = ud;
    if (sid == g->ctrl.sid) {
        nghttp2_session_consume(s, sid, n);
        int rv = st_ctrlstream_feed(&g->ctrl, p, n, on_capsule, g);
        if (rv < 0)
            st_h2conn_fail(&g->h2, "control stream: %s", strerror(-rv));
        return 0;
    }
    struct tl_stream *st = nghttp2_session_get_stream_user_data(s, sid);
    if (!st || !st->started || st->len + n > sizeof(st->buf)) {
        nghttp2_session_consume(s, sid, n);
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_FLOW_CONTROL_ERROR);
        return 0;
    }
    memcpy(st->buf + st->len, p, n);
    st->len += n;
    nghttp2_session_resume_data(s, sid);
    st_h2conn_kick(&g->h2);
    return 0;
}

/* The echo went out: the edge may send that much more (both windows). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct tl_gw *g = ud;
    if (fr->hd.type == NGHTTP2_DATA && fr->hd.stream_id != g->ctrl.sid && fr->hd.length) {
        g->run->echo_bytes += fr->hd.length;
        nghttp2_session_consume(s, fr->hd.stream_id, fr->hd.length);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
    (void)code;
    struct tl_gw *g = ud;
    if (sid == g->ctrl.sid) {
        st_h2conn_fail(&g->h2, "control stream closed by the edge");
        return 0;
    }
    struct tl_stream *st = nghttp2_session_get_stream_user_data(s, sid);
    if (st) {
        nghttp2_session_set_stream_user_data(s, sid, NULL);
        stream_free(st);
    }
    return 0;
}

int tl_flow_session(struct tl_gw *g)
{
    static const struct st_h2_handlers handlers = {.begin_headers = on_begin_headers,
                                                   .header = on_header,
                                                   .frame_recv = on_frame_recv,
                                                   .data_chunk = on_data,
                                                   .stream_close = on_stream_close,
                                                   .frame_send = on_frame_send};
    static const nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, TL_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 16384}};
    if (!st_h2conn_is_h2(&g->h2))
        return -1;
    g->h2.many_resets = true;
    return st_h2conn_session(&g->h2, true, &handlers, g, iv, 3, 1 << 20);
}

void tl_flow_release(struct tl_gw *g)
{
    while (g->streams)
        stream_free(g->streams);
}
