/* Prometheus text: families, label escaping, histogram buckets, the bounded label sets. */
#include "st_metrics.h"

#include "st_check.h"
#include <string.h>

static struct st_mbuf b;

static void setup(void)
{
    st_mbuf_init(&b, 1 << 20);
}

static void teardown(void)
{
    st_mbuf_fini(&b);
}

START_TEST(test_family_and_samples)
{
    st_metrics_family(&b, "subtunnel_x_total", ST_MCOUNTER, "Things.\nMore \\ things.");
    st_metrics_u64(&b, "subtunnel_x_total", NULL, 7);
    st_metrics_u64(&b, "subtunnel_x_total", (const char *[]){"kind", "tcp", "reason", "r", NULL},
                   18446744073709551615ull);
    st_metrics_f64(&b, "subtunnel_y", (const char *[]){"a", "b", NULL}, 0.25);
    ck_assert_str_eq(b.p, "# HELP subtunnel_x_total Things.\\nMore \\\\ things.\n"
                          "# TYPE subtunnel_x_total counter\n"
                          "subtunnel_x_total 7\n"
                          "subtunnel_x_total{kind=\"tcp\",reason=\"r\"} 18446744073709551615\n"
                          "subtunnel_y{a=\"b\"} 0.25\n");
}
END_TEST

START_TEST(test_label_escaping)
{
    st_metrics_u64(&b, "m", (const char *[]){"edge", "a\"b\\c\nd", NULL}, 1);
    ck_assert_str_eq(b.p, "m{edge=\"a\\\"b\\\\c\\nd\"} 1\n");
}
END_TEST

START_TEST(test_histogram)
{
    static const double bounds[] = {0.001, 0.01, 1};
    struct st_hist h;
    st_hist_init(&h, bounds, 3);
    st_hist_observe(&h, 0.0005);
    st_hist_observe(&h, 0.001); /* on a bound: that bucket (le) */
    st_hist_observe(&h, 0.5);
    st_hist_observe(&h, 7);
    st_metrics_hist(&b, "rtt_seconds", (const char *[]){"edge", "e", NULL}, &h);
    ck_assert_str_eq(b.p, "rtt_seconds_bucket{edge=\"e\",le=\"0.001\"} 2\n"
                          "rtt_seconds_bucket{edge=\"e\",le=\"0.01\"} 2\n"
                          "rtt_seconds_bucket{edge=\"e\",le=\"1\"} 3\n"
                          "rtt_seconds_bucket{edge=\"e\",le=\"+Inf\"} 4\n"
                          "rtt_seconds_sum{edge=\"e\"} 7.5015\n"
                          "rtt_seconds_count{edge=\"e\"} 4\n");
}
END_TEST

START_TEST(test_histogram_no_labels)
{
    struct st_hist h;
    st_hist_init(&h, st_metrics_rtt_bounds, ST_METRICS_RTT_N);
    st_metrics_hist(&b, "h", NULL, &h);
    ck_assert_ptr_nonnull(strstr(b.p, "h_bucket{le=\"0.0005\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(b.p, "h_bucket{le=\"10\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(b.p, "h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n"));
}
END_TEST

START_TEST(test_buffer_cap)
{
    struct st_mbuf s;
    st_mbuf_init(&s, 16);
    st_mbuf_put(&s, "0123456789", 10);
    ck_assert(!s.full);
    st_mbuf_printf(&s, "%s", "abcdefgh"); /* 18 + NUL > 16 */
    ck_assert(s.full);
    ck_assert_str_eq(s.p, "0123456789");
    st_mbuf_put(&s, "x", 1); /* nothing after full */
    ck_assert_uint_eq(s.len, 10);
    st_mbuf_fini(&s);
    /* a long printf goes through the slow path */
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    st_mbuf_printf(&b, "<%s>", big);
    ck_assert_uint_eq(b.len, 1001);
    ck_assert_int_eq(b.p[1000], '>');
}
END_TEST

START_TEST(test_reasons)
{
    ck_assert_int_eq(st_reason_of("subtunnel; error=destination_ip_prohibited", 403),
                     ST_REASON_IP_PROHIBITED);
    ck_assert_int_eq(st_reason_of("subtunnel; error=connection_refused; details=\"x\"", 502),
                     ST_REASON_CONN_REFUSED);
    ck_assert_int_eq(st_reason_of("subtunnel; error=connection_limit_reached", 503),
                     ST_REASON_CONN_LIMIT);
    /* anything a peer may send stays in the bounded set */
    ck_assert_int_eq(st_reason_of("x; error=made_up_by_a_peer", 502), ST_REASON_OTHER);
    ck_assert_int_eq(st_reason_of("x; error=connection_refusedX", 502), ST_REASON_OTHER);
    ck_assert_int_eq(st_reason_of(NULL, 404), ST_REASON_DEST_NOT_FOUND);
    ck_assert_int_eq(st_reason_of("", 400), ST_REASON_OTHER);
    for (int i = 0; i < ST_REASON_N; i++)
        ck_assert_ptr_nonnull(st_reason_names[i]);
}
END_TEST

START_TEST(test_classes_and_kinds)
{
    ck_assert_str_eq(st_class_names[st_class_of(101)], "1xx");
    ck_assert_str_eq(st_class_names[st_class_of(200)], "2xx");
    ck_assert_str_eq(st_class_names[st_class_of(404)], "4xx");
    ck_assert_str_eq(st_class_names[st_class_of(599)], "5xx");
    ck_assert_str_eq(st_class_names[st_class_of(0)], "none");
    ck_assert_str_eq(st_class_names[st_class_of(600)], "none");
    ck_assert_int_eq(st_flow_kind_of(NULL), ST_KIND_TCP);
    ck_assert_int_eq(st_flow_kind_of(""), ST_KIND_TCP);
    ck_assert_int_eq(st_flow_kind_of("connect-udp"), ST_KIND_UDP);
    ck_assert_int_eq(st_flow_kind_of("connect-ip"), ST_KIND_ICMP);
}
END_TEST

START_TEST(test_registration_causes)
{
    /* the edge's wording (edge_tconn.c) */
    ck_assert_int_eq(st_reg_reason_of("invalid token"), ST_REG_INVALID_TOKEN);
    ck_assert_int_eq(st_reg_reason_of("malformed REGISTER"), ST_REG_MALFORMED);
    ck_assert_int_eq(st_reg_reason_of("already registered"), ST_REG_ALREADY);
    ck_assert_int_eq(st_reg_reason_of("route 198.18.9.0/24 is not allowed for this tunnel"),
                     ST_REG_ROUTE_NOT_ALLOWED);
    ck_assert_int_eq(st_reg_reason_of("route 198.51.100.0/24 is owned by another tunnel"),
                     ST_REG_ROUTE_OWNED);
    ck_assert_int_eq(st_reg_reason_of("hostname a.example is not allowed for this tunnel"),
                     ST_REG_HOSTNAME_NOT_ALLOWED);
    ck_assert_int_eq(st_reg_reason_of("tunnel removed from the edge configuration"), ST_REG_OTHER);
}
END_TEST

START_TEST(test_process_and_build_info)
{
    st_metrics_build_info(&b, "edge");
    st_metrics_process(&b);
    ck_assert_ptr_nonnull(
        strstr(b.p, "subtunnel_build_info{daemon=\"edge\",version=\"" ST_VERSION "\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(b.p, "\nprocess_open_fds "));
    ck_assert_ptr_nonnull(strstr(b.p, "\nprocess_resident_memory_bytes "));
    ck_assert_ptr_nonnull(strstr(b.p, "\nprocess_start_time_seconds "));
    ck_assert_ptr_nonnull(strstr(b.p, "# TYPE process_cpu_seconds_total counter\n"));
}
END_TEST

START_TEST(test_heartbeat_families)
{
    struct st_h2_hbstats s;
    st_h2_hbstats_init(&s);
    st_hist_observe(&s.rtt, 0.002);
    s.misses = 3;
    s.timeouts = 1;
    st_metrics_heartbeats(&b, &s);
    ck_assert_ptr_nonnull(strstr(b.p, "subtunnel_heartbeat_rtt_seconds_bucket{le=\"0.0025\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(b.p, "subtunnel_heartbeat_rtt_seconds_count 1\n"));
    ck_assert_ptr_nonnull(strstr(b.p, "subtunnel_heartbeat_misses_total 3\n"));
    ck_assert_ptr_nonnull(strstr(b.p, "subtunnel_heartbeat_timeouts_total 1\n"));
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_family_and_samples);
    tcase_add_test(tc, test_label_escaping);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_histogram_no_labels);
    tcase_add_test(tc, test_buffer_cap);
    tcase_add_test(tc, test_process_and_build_info);
    tcase_add_test(tc, test_heartbeat_families);
    suite_add_tcase(s, tc);
    TCase *sets = tcase_create("labels");
    tcase_add_test(sets, test_reasons);
    tcase_add_test(sets, test_classes_and_kinds);
    tcase_add_test(sets, test_registration_causes);
    suite_add_tcase(s, sets);
    return s;
}

int main(void)
{
    return st_check_run(metrics_suite());
}
