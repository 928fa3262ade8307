#include "edge_limits.h"

#include "edge_config.h"
#include "edge_flow.h"
#include "st_check.h"
#include <string.h>

static uint32_t setting(const nghttp2_settings_entry *iv, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (iv[i].settings_id == id)
            return iv[i].value;
    return UINT32_MAX; /* not sent */
}

static struct edge_config cfg_with(int visitor_streams)
{
    struct edge_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.visitor_max_streams = visitor_streams;
    return cfg;
}

START_TEST(test_settings_visitor)
{
    struct edge_config cfg = cfg_with(7);
    nghttp2_settings_entry iv[EDGE_H2_SETTINGS_MAX];
    int32_t win = 0;
    size_t n = edge_limits_h2_settings(EDGE_H2_VISITOR, &cfg, iv, &win);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 7);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), EDGE_FLOW_WINDOW);
    /* visitors get no extended CONNECT */
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL), UINT32_MAX);
    ck_assert_int_eq(win, EDGE_AH2_CONN_WINDOW);
}
END_TEST

START_TEST(test_settings_access)
{
    struct edge_config cfg = cfg_with(7);
    nghttp2_settings_entry iv[EDGE_H2_SETTINGS_MAX];
    int32_t win = 0;
    size_t n = edge_limits_h2_settings(EDGE_H2_ACCESS, &cfg, iv, &win);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
                      EDGE_AH2_MAX_STREAMS);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL), 1);
    ck_assert_int_eq(win, EDGE_AH2_CONN_WINDOW);
}
END_TEST

START_TEST(test_settings_reach)
{
    struct edge_config cfg = cfg_with(7);
    nghttp2_settings_entry iv[EDGE_H2_SETTINGS_MAX];
    int32_t win = 0;
    /* before a token checked out: few streams, the protocol's default windows */
    size_t n = edge_limits_h2_settings(EDGE_H2_REACH_ANON, &cfg, iv, &win);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
                      EDGE_REACH_ANON_STREAMS);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), 65535);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_MAX_FRAME_SIZE), 16384);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL), 1);
    ck_assert_int_eq(win, 65535);
    /* after: a whole site's flows */
    n = edge_limits_h2_settings(EDGE_H2_REACH_AUTHED, &cfg, iv, &win);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
                      EDGE_REACH_MAX_STREAMS);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), EDGE_FLOW_WINDOW);
    ck_assert_uint_eq(setting(iv, n, NGHTTP2_SETTINGS_MAX_FRAME_SIZE), 65536);
    ck_assert_int_eq(win, EDGE_AH2_CONN_WINDOW);
}
END_TEST

START_TEST(test_reset_guard)
{
    struct edge_reset_guard g;
    memset(&g, 0, sizeof(g));
    uint64_t t = 100000;
    for (int i = 0; i < EDGE_RESET_BURST; i++)
        ck_assert_msg(edge_limits_reset_ok(&g, t), "reset %d refused", i);
    ck_assert(!edge_limits_reset_ok(&g, t));
    ck_assert(!edge_limits_reset_ok(&g, t + 10));
    /* one second refills EDGE_RESET_RATE */
    for (int i = 0; i < EDGE_RESET_RATE; i++)
        ck_assert(edge_limits_reset_ok(&g, t + 1000));
    ck_assert(!edge_limits_reset_ok(&g, t + 1000));
    /* a long pause refills the burst, not more */
    for (int i = 0; i < EDGE_RESET_BURST; i++)
        ck_assert(edge_limits_reset_ok(&g, t + 3600000));
    ck_assert(!edge_limits_reset_ok(&g, t + 3600000));
}
END_TEST

START_TEST(test_tunnel_room)
{
    ck_assert(edge_limits_tunnel_room(0, 1));
    ck_assert(!edge_limits_tunnel_room(1, 1));
    ck_assert(edge_limits_tunnel_room(999, 1000));
    ck_assert(!edge_limits_tunnel_room(1000, 1000));
}
END_TEST

static Suite *edge_limits_suite(void)
{
    Suite *s = suite_create("edge_limits");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_settings_visitor);
    tcase_add_test(tc, test_settings_access);
    tcase_add_test(tc, test_settings_reach);
    tcase_add_test(tc, test_reset_guard);
    tcase_add_test(tc, test_tunnel_room);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(edge_limits_suite());
}
