/* The gateway's readiness as its tunnel connections come and go, and the connection
 * gauges of its metrics text (a gateway without a loop: connection objects set by hand). */
#include "gw_metrics.h"

#include "gw_conn.h"
#include "gw_server.h"
#include "st_check.h"
#include <stdio.h>
#include <string.h>

#define N 5 /* 4 tunnel connections and a reach connection */

static struct gw_server gw;
static struct gw_conn conns[N];
static struct gw_conn *slots[N];

static void setup(void)
{
    memset(&gw, 0, sizeof(gw));
    memset(conns, 0, sizeof(conns));
    for (int i = 0; i < N; i++) {
        slots[i] = &conns[i];
        conns[i].index = (unsigned)i;
        conns[i].reach = i == N - 1;
        const char *edge = i % 2 ? "192.0.2.2:7844" : "192.0.2.1:7844";
        st_sockaddr_parse(edge, &conns[i].target.addr);
        snprintf(conns[i].edge, sizeof(conns[i].edge), "%s", edge);
    }
    gw.conns = slots;
    gw.n_conns = N;
    snprintf(gw.cfg.tunnel_id, sizeof(gw.cfg.tunnel_id), "site1");
}

static bool ready(char *why, size_t len)
{
    return gw_metrics_ready(&gw, why, len);
}

START_TEST(test_ready_transitions)
{
    char why[160];
    /* starting: nothing registered */
    ck_assert(!ready(why, sizeof(why)));
    ck_assert_str_eq(why, "no tunnel connection registered (0 of 4)");
    /* a reach connection up does not make the tunnel ready */
    conns[N - 1].active = conns[N - 1].registered = true;
    ck_assert(!ready(why, sizeof(why)));
    /* refused: the edge's cause is shown, on one line */
    conns[0].refusals = 2;
    snprintf(conns[0].refusal, sizeof(conns[0].refusal), "invalid token\r\nX");
    ck_assert(!ready(why, sizeof(why)));
    ck_assert_str_eq(why, "no tunnel connection registered (0 of 4); refused: invalid token??X");
    /* one registers: ready */
    conns[0].refusals = 0;
    conns[1].active = conns[1].registered = true;
    ck_assert(ready(why, sizeof(why)));
    ck_assert_str_eq(why, "1 of 4 tunnel connections registered, on 1 edges");
    conns[2].active = conns[2].registered = true;
    ck_assert(ready(why, sizeof(why)));
    ck_assert_str_eq(why, "2 of 4 tunnel connections registered, on 2 edges");
    /* all lost again: not ready */
    conns[1].registered = conns[2].registered = false;
    ck_assert(!ready(why, sizeof(why)));
    /* draining: never ready, even registered */
    conns[1].registered = true;
    gw.drain.draining = true;
    ck_assert(!ready(why, sizeof(why)));
    ck_assert_str_eq(why, "draining");
    /* a short buffer is cut, not overrun */
    gw.drain.draining = false;
    ck_assert(ready(why, 8));
    ck_assert_str_eq(why, "1 of 4 ");
}
END_TEST

START_TEST(test_connection_gauges)
{
    conns[0].active = true; /* TCP connecting */
    conns[1].active = conns[1].h2.established = true;
    conns[2].active = conns[2].h2.established = conns[2].registered = true;
    conns[3].drained = true;
    struct st_mbuf b;
    st_mbuf_init(&b, 1 << 20);
    gw_metrics_write(&gw, &b);
    ck_assert(!b.full);
    static const char *const want[] = {
        "subtunnel_tunnel_connections{edge=\"192.0.2.1:7844\",role=\"tunnel\",state=\"connecting\"}"
        " 1\n",
        "subtunnel_tunnel_connections{edge=\"192.0.2.1:7844\",role=\"tunnel\",state=\"registered\"}"
        " 1\n",
        "subtunnel_tunnel_connections{edge=\"192.0.2.2:7844\",role=\"tunnel\",state="
        "\"registering\"} 1\n",
        "subtunnel_tunnel_connections{edge=\"192.0.2.2:7844\",role=\"tunnel\",state=\"draining\"} "
        "1\n",
        "subtunnel_tunnel_connections{edge=\"192.0.2.1:7844\",role=\"reach\",state=\"waiting\"} "
        "1\n",
        "subtunnel_tunnel_bytes_total{direction=\"to_edge\",tunnel=\"site1\"} 0\n",
        "subtunnel_flows_refused_total{kind=\"udp\",reason=\"connection_refused\"} 0\n",
        "# TYPE subtunnel_heartbeat_rtt_seconds histogram\n",
        "subtunnel_build_info{daemon=\"gateway\",version=\"" ST_VERSION "\"} 1\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(b.p, want[i]) != NULL, "missing: %s", want[i]);
    /* no TUN configured: no TUN or lwIP families */
    ck_assert_ptr_null(strstr(b.p, "subtunnel_tun_packets_total"));
    ck_assert_ptr_null(strstr(b.p, "subtunnel_lwip_"));
    st_mbuf_fini(&b);
}
END_TEST

static Suite *gw_metrics_suite(void)
{
    Suite *s = suite_create("gw_metrics");
    TCase *tc = tcase_create("health");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_ready_transitions);
    tcase_add_test(tc, test_connection_gauges);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(gw_metrics_suite());
}
