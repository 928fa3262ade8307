/* Request heads toward HTTP/1.1 origins: request line, Host, hop-by-hop removal,
 * framing, WebSocket upgrade, injection attempts refused. */
#include "gw_h1.h"

#include "st_check.h"
#include <errno.h>
#include <string.h>

#define F(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }

static char out[2048];

static int head_with(const char *method, const char *path, const char *authority,
                     const struct st_http_field *f, size_t n);

START_TEST(test_get)
{
    struct st_http_field f[] = {F("user-agent", "curl/7.88"),
                                F("accept", "*/*"),
                                F("x-forwarded-for", "198.18.0.10"),
                                F("host", "evil.test"),
                                F("connection", "keep-alive, x-drop"),
                                F("x-drop", "1"),
                                F("te", "trailers"),
                                F("keep-alive", "timeout=5")};
    struct gw_h1_request r = {.method = "GET",
                              .path = "/index.html?q=1",
                              .authority = "app.lab.test",
                              .fields = f,
                              .n_fields = 8,
                              .content_length = -1};
    int n = gw_h1_request_head(&r, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(out, "GET /index.html?q=1 HTTP/1.1\r\n"
                          "Host: app.lab.test\r\n"
                          "user-agent: curl/7.88\r\n"
                          "accept: */*\r\n"
                          "x-forwarded-for: 198.18.0.10\r\n"
                          "\r\n");
    ck_assert_int_eq(n, (int)strlen(out));
}
END_TEST

/* Proxy fields the edge never sets (an older edge let a visitor's through) are dropped;
 * the edge's X-Forwarded-For / X-Forwarded-Proto pass. */
START_TEST(test_proxy_fields)
{
    struct st_http_field f[] = {F("forwarded", "for=192.0.2.66"),
                                F("x-real-ip", "192.0.2.66"),
                                F("true-client-ip", "192.0.2.66"),
                                F("x-client-ip", "192.0.2.66"),
                                F("x-forwarded-host", "admin.lab.test"),
                                F("x-original-url", "/admin"),
                                F("x-rewrite-url", "/admin"),
                                F("x-forwarded-for", "198.18.0.10"),
                                F("x-forwarded-proto", "https"),
                                F("via", "1.1 lab-edge-1")};
    ck_assert_int_gt(head_with("GET", "/", "app.lab.test", f, sizeof(f) / sizeof(f[0])), 0);
    ck_assert_str_eq(out, "GET / HTTP/1.1\r\nHost: app.lab.test\r\n"
                          "x-forwarded-for: 198.18.0.10\r\nx-forwarded-proto: https\r\n"
                          "via: 1.1 lab-edge-1\r\n\r\n");
}
END_TEST

START_TEST(test_bodies)
{
    struct st_http_field f[] = {F("content-type", "application/json"), F("content-length", "999"),
                                F("transfer-encoding", "chunked")};
    struct gw_h1_request r = {.method = "PUT",
                              .path = "/u",
                              .authority = "app.lab.test:8000",
                              .fields = f,
                              .n_fields = 3,
                              .content_length = 12,
                              .has_body = true};
    ck_assert_int_gt(gw_h1_request_head(&r, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "PUT /u HTTP/1.1\r\nHost: app.lab.test:8000\r\n"
                          "content-type: application/json\r\nContent-Length: 12\r\n\r\n");
    r.content_length = -1;
    ck_assert_int_gt(gw_h1_request_head(&r, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "PUT /u HTTP/1.1\r\nHost: app.lab.test:8000\r\n"
                          "content-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    char c[20];
    ck_assert_int_eq(gw_h1_chunk_header(4096, c), 6);
    ck_assert_str_eq(c, "1000\r\n");
    ck_assert_int_eq(gw_h1_chunk_header(0, c), 5);
    ck_assert_str_eq(c, "0\r\n\r\n");
}
END_TEST

START_TEST(test_websocket)
{
    struct st_http_field f[] = {F("sec-websocket-version", "13"), F("sec-websocket-key", "x"),
                                F("origin", "https://ws.lab.test")};
    struct gw_h1_request r = {.method = "CONNECT",
                              .path = "/chat",
                              .authority = "ws.lab.test",
                              .fields = f,
                              .n_fields = 3,
                              .content_length = -1,
                              .has_body = true,
                              .upgrade_websocket = true,
                              .ws_key = "dGhlIHNhbXBsZSBub25jZQ=="};
    ck_assert_int_gt(gw_h1_request_head(&r, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "GET /chat HTTP/1.1\r\nHost: ws.lab.test\r\n"
                          "sec-websocket-version: 13\r\norigin: https://ws.lab.test\r\n"
                          "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    r.ws_key = NULL;
    ck_assert_int_eq(gw_h1_request_head(&r, out, sizeof(out)), -EINVAL);
}
END_TEST

static int head_with(const char *method, const char *path, const char *authority,
                     const struct st_http_field *f, size_t n)
{
    struct gw_h1_request r = {.method = method,
                              .path = path,
                              .authority = authority,
                              .fields = f,
                              .n_fields = n,
                              .content_length = -1};
    return gw_h1_request_head(&r, out, sizeof(out));
}

START_TEST(test_injection)
{
    struct st_http_field crlf[] = {F("x-a", "1\r\nX-Admin: yes")};
    struct st_http_field lf[] = {F("x-a", "1\nX-Admin: yes")};
    struct st_http_field nul[] = {{"x-a", 3, "a\0b", 3}};
    struct st_http_field name[] = {F("x a", "1")};
    struct st_http_field upper[] = {F("X-A", "1")};
    struct st_http_field ok[] = {F("x-a", "1")};

    ck_assert_int_eq(head_with("GET", "/", "a.test", crlf, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "a.test", lf, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "a.test", nul, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "a.test", name, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "a.test", upper, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/ HTTP/1.1\r\nX: y", "a.test", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/a b", "a.test", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "x", "a.test", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with("GE T", "/", "a.test", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "a.test\r\nX: y", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "user@a.test", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with("GET", "/", "", ok, 1), -EINVAL);
    ck_assert_int_eq(head_with(NULL, "/", "a.test", ok, 1), -EINVAL);
    ck_assert_int_gt(head_with("GET", "/", "a.test", ok, 1), 0);
    struct gw_h1_request r = {.method = "GET", .path = "/", .authority = "a.test"};
    ck_assert_int_eq(gw_h1_request_head(&r, out, 20), -ENOSPC);
}
END_TEST

static Suite *h1_suite(void)
{
    Suite *s = suite_create("gw_h1");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_get);
    tcase_add_test(tc, test_proxy_fields);
    tcase_add_test(tc, test_bodies);
    tcase_add_test(tc, test_websocket);
    tcase_add_test(tc, test_injection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(h1_suite());
}
