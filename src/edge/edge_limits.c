#include "edge_limits.h"

#include "edge_config.h"
#include "edge_flow.h"

#define FLUSH_MS 1000

static const char *const kind_names[EDGE_REFUSE_KINDS] = {
    [EDGE_REFUSE_AUTH] = "authentication refusals", [EDGE_REFUSE_REQUEST] = "request refusals",
    [EDGE_REFUSE_CONN] = "connection refusals",     [EDGE_REFUSE_LIMIT] = "limit refusals",
    [EDGE_REFUSE_POLICY] = "policy refusals",
};

static void on_flush(struct st_timer *t)
{
    struct edge_limits *l = t->data;
    uint64_t now = st_log_now_ms();
    for (int i = 0; i < EDGE_REFUSE_KINDS; i++)
        st_log_limit_flush(&l->log[i], ST_LOG_INFO, now);
    st_timer_start(t, FLUSH_MS);
}

void edge_limits_init(struct edge_limits *l, struct st_loop *loop, const struct edge_config *cfg)
{
    for (int i = 0; i < EDGE_REFUSE_KINDS; i++)
        st_log_limit_init(&l->log[i], kind_names[i], (unsigned)cfg->log_refusals);
    st_timer_init(&l->flush_timer, loop, on_flush, l);
    st_timer_start(&l->flush_timer, FLUSH_MS);
}

void edge_limits_reconfigure(struct edge_limits *l, const struct edge_config *cfg)
{
    for (int i = 0; i < EDGE_REFUSE_KINDS; i++)
        l->log[i].per_sec = (unsigned)cfg->log_refusals;
}

void edge_limits_fini(struct edge_limits *l)
{
    st_timer_stop(&l->flush_timer);
}

size_t edge_limits_h2_settings(enum edge_h2_role role, const struct edge_config *cfg,
                               nghttp2_settings_entry *iv, int32_t *conn_window)
{
    uint32_t streams = EDGE_AH2_MAX_STREAMS, window = EDGE_FLOW_WINDOW, frame = 65536;
    *conn_window = EDGE_AH2_CONN_WINDOW;
    if (role == EDGE_H2_VISITOR) {
        streams = (uint32_t)cfg->visitor_max_streams;
    } else if (role == EDGE_H2_REACH_ANON) {
        streams = EDGE_REACH_ANON_STREAMS;
        window = EDGE_REACH_ANON_WINDOW;
        frame = 16384;
        *conn_window = EDGE_REACH_ANON_WINDOW;
    } else if (role == EDGE_H2_REACH_AUTHED) {
        /* A reach connection carries a whole site's flows, UDP ones each a stream (DNS: one
         * per query) until they idle out. */
        streams = EDGE_REACH_MAX_STREAMS;
    }
    size_t n = 0;
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window};
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, streams};
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_FRAME_SIZE, frame};
    /* Access and reach connections take extended CONNECT (connect-udp, connect-ip). */
    if (role != EDGE_H2_VISITOR)
        iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
    return n;
}

bool edge_limits_reset_ok(struct edge_reset_guard *g, uint64_t now_ms)
{
    if (!g->started) {
        g->started = true;
        g->tokens = EDGE_RESET_BURST;
        g->last_ms = now_ms;
    }
    uint64_t refill = (now_ms - g->last_ms) * EDGE_RESET_RATE / 1000;
    if (refill) {
        g->tokens = refill >= EDGE_RESET_BURST - g->tokens ? EDGE_RESET_BURST
                                                           : g->tokens + (uint32_t)refill;
        g->last_ms += refill * 1000 / EDGE_RESET_RATE;
    }
    if (g->tokens == 0)
        return false;
    g->tokens--;
    return true;
}
