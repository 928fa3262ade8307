/* The edge's readiness as listeners open and a drain starts, and its metrics text with no
 * tunnel connection (an edge without a loop: fields set by hand). */
#include "edge_metrics.h"

#include "edge_server.h"
#include "st_check.h"
#include <string.h>
#include <sys/epoll.h>

static struct edge_server srv;

static void setup(void)
{
    memset(&srv, 0, sizeof(srv));
    for (int i = 0; i < EDGE_LIS_SLOTS; i++)
        srv.lis[i].io.fd = -1; /* closed, as edge_listen_init leaves them */
    srv.cfg.has_access = srv.cfg.has_http = true;
}

START_TEST(test_ready_transitions)
{
    char why[160];
    ck_assert(!edge_metrics_ready(&srv, why, sizeof(why)));
    ck_assert_str_eq(why, "the tunnel listener is not open");
    srv.lis[EDGE_LIS_TUNNEL * EDGE_LISTEN_ADDRS].io.fd = 3;
    ck_assert(!edge_metrics_ready(&srv, why, sizeof(why)));
    ck_assert_str_eq(why, "the access listener is not open");
    srv.lis[EDGE_LIS_ACCESS * EDGE_LISTEN_ADDRS].io.fd = 4;
    srv.lis[EDGE_LIS_HTTP * EDGE_LISTEN_ADDRS].io.fd = 5;
    srv.lis[EDGE_LIS_HTTP * EDGE_LISTEN_ADDRS].paused = true; /* out of descriptors */
    ck_assert(!edge_metrics_ready(&srv, why, sizeof(why)));
    ck_assert_str_eq(why, "the visitor HTTP listener is paused: no file descriptor left");
    srv.lis[EDGE_LIS_HTTP * EDGE_LISTEN_ADDRS].paused = false;
    ck_assert(edge_metrics_ready(&srv, why, sizeof(why)));
    ck_assert_str_eq(why, "3 listeners open, 0 tunnel connections registered");
    srv.drain.draining = true; /* a drain closes the listeners; it is not ready at once */
    ck_assert(!edge_metrics_ready(&srv, why, sizeof(why)));
    ck_assert_str_eq(why, "draining");
}
END_TEST

START_TEST(test_text)
{
    struct st_mbuf b;
    st_mbuf_init(&b, 1 << 20);
    st_h2_hbstats_init(&srv.hb);
    srv.flows_opened[ST_KIND_UDP] = 3;
    srv.flows_refused[ST_KIND_HTTP][ST_REASON_DEST_NOT_FOUND] = 2;
    srv.visits_by_class[ST_CLASS_5XX] = 1;
    srv.reg_failures[ST_REG_TIMEOUT] = 5;
    edge_metrics_write(&srv, &b);
    ck_assert(!b.full);
    static const char *const want[] = {
        "subtunnel_build_info{daemon=\"edge\",version=\"" ST_VERSION "\"} 1\n",
        "subtunnel_tunnel_connections{state=\"handshake\",tunnel=\"\"} 0\n",
        "subtunnel_flows_opened_total{kind=\"udp\"} 3\n",
        "subtunnel_flows_refused_total{kind=\"http\",reason=\"destination_not_found\"} 2\n",
        "subtunnel_visitor_requests_total{code=\"5xx\"} 1\n",
        "subtunnel_registration_failures_total{reason=\"timeout\"} 5\n",
        "subtunnel_flows_cut_total{reason=\"idle_timeout\"} 0\n",
        "subtunnel_heartbeat_rtt_seconds_count 0\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(b.p, want[i]) != NULL, "missing: %s", want[i]);
    /* the gateway's own reason is not an edge series */
    ck_assert_ptr_null(strstr(b.p, "reason=\"connection_failed\""));
    st_mbuf_fini(&b);
}
END_TEST

static Suite *edge_metrics_suite(void)
{
    Suite *s = suite_create("edge_metrics");
    TCase *tc = tcase_create("health");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_ready_transitions);
    tcase_add_test(tc, test_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(edge_metrics_suite());
}
