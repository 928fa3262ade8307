/* The metrics listener's request handling: whole and split heads, methods, paths, limits,
 * and the responses it writes. */
#include "st_mhttp.h"

#include "st_check.h"
#include <string.h>

/* Feeds req in pieces of `step` bytes (0: whole); returns the status (0: incomplete). */
static int feed(const char *req, size_t step, enum st_mhttp_target *t)
{
    struct st_mhttp_req r;
    st_mhttp_req_init(&r);
    size_t len = strlen(req);
    if (!step)
        step = len;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        int status = st_mhttp_req_feed(&r, req + off, n, t);
        if (status)
            return status;
    }
    return 0;
}

START_TEST(test_targets)
{
    enum st_mhttp_target t;
    ck_assert_int_eq(feed("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_METRICS);
    ck_assert_int_eq(feed("GET /healthz HTTP/1.1\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_HEALTHZ);
    ck_assert_int_eq(feed("GET /ready HTTP/1.0\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_READY);
    ck_assert_int_eq(feed("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 0, &t), 200);
    ck_assert_int_eq(t, ST_MHTTP_METRICS);
}
END_TEST

START_TEST(test_any_cut)
{
    static const char req[] = "GET /ready HTTP/1.1\r\nHost: 192.0.2.10:9100\r\n"
                              "User-Agent: curl\r\nAccept: */*\r\n\r\n";
    for (size_t step = 1; step < sizeof(req); step++) {
        enum st_mhttp_target t = ST_MHTTP_NONE;
        ck_assert_int_eq(feed(req, step, &t), 200);
        ck_assert_int_eq(t, ST_MHTTP_READY);
    }
}
END_TEST

START_TEST(test_incomplete)
{
    enum st_mhttp_target t;
    ck_assert_int_eq(feed("GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, &t), 0);
    ck_assert_int_eq(feed("GET /metr", 3, &t), 0);
}
END_TEST

START_TEST(test_methods_and_paths)
{
    enum st_mhttp_target t;
    ck_assert_int_eq(feed("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1", 0, &t), 405);
    ck_assert_int_eq(feed("HEAD /metrics HTTP/1.1\r\n\r\n", 0, &t), 405);
    ck_assert_int_eq(feed("DELETE /ready HTTP/1.1\r\n\r\n", 0, &t), 405);
    ck_assert_int_eq(feed("GET / HTTP/1.1\r\n\r\n", 0, &t), 404);
    ck_assert_int_eq(feed("GET /metricsX HTTP/1.1\r\n\r\n", 0, &t), 404);
    ck_assert_int_eq(feed("GET /metrics/ HTTP/1.1\r\n\r\n", 0, &t), 404);
    ck_assert_int_eq(t, ST_MHTTP_NONE);
    char longpath[300] = "GET /metrics";
    memset(longpath + 12, 'a', 200);
    strcpy(longpath + 212, " HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(feed(longpath, 7, &t), 404);
}
END_TEST

START_TEST(test_limits_and_garbage)
{
    enum st_mhttp_target t;
    char big[ST_MHTTP_HEAD_MAX + 200];
    strcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ");
    size_t n = strlen(big);
    memset(big + n, 'a', sizeof(big) - n - 5);
    strcpy(big + sizeof(big) - 5, "\r\n\r\n");
    ck_assert_int_eq(feed(big, 0, &t), 431);
    ck_assert_int_eq(feed(big, 100, &t), 431);
    ck_assert_int_eq(feed("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, &t), 400);
    ck_assert_int_eq(feed("GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n", 0, &t), 400);
}
END_TEST

START_TEST(test_response)
{
    struct st_mbuf b;
    st_mbuf_init(&b, 4096);
    st_mhttp_response(&b, 503, "text/plain; charset=utf-8", "not ready: x\n", 13);
    ck_assert_str_eq(b.p, "HTTP/1.1 503 Service Unavailable\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Length: 13\r\n"
                          "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
                          "not ready: x\n");
    st_mbuf_fini(&b);
    st_mbuf_init(&b, 4096);
    st_mhttp_response(&b, 405, "text/plain", "", 0);
    ck_assert_ptr_nonnull(strstr(b.p, "\r\nAllow: GET\r\n"));
    st_mbuf_fini(&b);
}
END_TEST

static Suite *mhttp_suite(void)
{
    Suite *s = suite_create("mhttp");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, test_targets);
    tcase_add_test(tc, test_any_cut);
    tcase_add_test(tc, test_incomplete);
    tcase_add_test(tc, test_methods_and_paths);
    tcase_add_test(tc, test_limits_and_garbage);
    tcase_add_test(tc, test_response);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(mhttp_suite());
}
