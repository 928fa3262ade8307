/* Visitor HTTP/1.1 requests as tunnel HTTP/2 requests. */
#include "edge_visit.h"

#include "st_check.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define F(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }

static struct edge_visit_h2 out;
static char dump[8192];
static const char *why;

/* "name=value;" for every nv */
static const char *flat(void)
{
    size_t off = 0;
    dump[0] = '\0';
    for (size_t i = 0; i < out.n_nv; i++)
        off +=
            (size_t)snprintf(dump + off, sizeof(dump) - off, "%.*s=%.*s;", (int)out.nv[i].namelen,
                             out.nv[i].name, (int)out.nv[i].valuelen, out.nv[i].value);
    return dump;
}

static int conv(const char *method, const char *target, const struct st_http_field *f, size_t n,
                bool tls)
{
    struct edge_visit_req r = {.method = method,
                               .target = target,
                               .fields = f,
                               .n_fields = n,
                               .client_ip = "198.18.0.10",
                               .tls = tls,
                               .via = "lab-edge-1"};
    why = NULL;
    return edge_visit_to_h2(&r, &out, &why);
}

START_TEST(test_plain_get)
{
    struct st_http_field f[] = {
        F("Host", "App.Lab.Test:80"),         F("User-Agent", "curl"),
        F("Connection", "keep-alive, X-Hop"), F("X-Hop", "1"),
        F("Keep-Alive", "timeout=5"),         F("X-Forwarded-For", "192.0.2.9"),
        F("X-Forwarded-Proto", "https"),      F("Via", "1.0 corp"),
        F("Proxy-Authorization", "Basic x"),  F("Cookie", "a=1"),
        F("Expect", "100-continue")}; /* answered by the edge itself */
    ck_assert_int_eq(conv("GET", "/a?b=c", f, 11, false), 0);
    ck_assert_str_eq(flat(), ":method=GET;:scheme=http;:authority=App.Lab.Test:80;:path=/a?b=c;"
                             "user-agent=curl;cookie=a=1;x-forwarded-for=198.18.0.10;"
                             "x-forwarded-proto=http;via=1.0 corp, 1.1 lab-edge-1;");
    ck_assert_str_eq(out.host, "app.lab.test");
    ck_assert(!out.websocket);
}
END_TEST

/* A visitor's claims about who it is or which URL it asked for never reach the tunnel:
 * the edge's own X-Forwarded-For / X-Forwarded-Proto replace them. */
START_TEST(test_proxy_fields)
{
    struct st_http_field f[] = {F("Host", "app.lab.test"),
                                F("Forwarded", "for=192.0.2.66;proto=https"),
                                F("X-Real-IP", "192.0.2.66"),
                                F("True-Client-IP", "192.0.2.66"),
                                F("x-client-ip", "192.0.2.66"),
                                F("X-Forwarded-For", "192.0.2.66"),
                                F("x-forwarded-for", "192.0.2.67"),
                                F("X-FORWARDED-PROTO", "https"),
                                F("X-Forwarded-Host", "admin.lab.test"),
                                F("X-Forwarded-Port", "443"),
                                F("X-Original-URL", "/admin"),
                                F("X-Rewrite-URL", "/admin"),
                                F("X-Forwarded", "kept"),
                                F("Forwarded-For-Me", "kept"),
                                F("Subtunnel-Identity", "lab token x 0 0 0 admins"),
                                F("subtunnel-client", "192.0.2.66")};
    ck_assert_int_eq(conv("GET", "/", f, sizeof(f) / sizeof(f[0]), false), 0);
    ck_assert_str_eq(flat(), ":method=GET;:scheme=http;:authority=app.lab.test;:path=/;"
                             "x-forwarded=kept;forwarded-for-me=kept;"
                             "x-forwarded-for=198.18.0.10;x-forwarded-proto=http;"
                             "via=1.1 lab-edge-1;");
    ck_assert_int_eq(conv("GET", "/", f, sizeof(f) / sizeof(f[0]), true), 0);
    ck_assert(strstr(flat(), "x-forwarded-for=198.18.0.10;x-forwarded-proto=https;") != NULL);
}
END_TEST

START_TEST(test_forms)
{
    struct st_http_field host[] = {F("Host", "ignored.test")};
    ck_assert_int_eq(conv("GET", "http://app.lab.test:8080/x", host, 1, true), 0);
    ck_assert_str_eq(out.host, "app.lab.test");
    ck_assert_str_eq(flat(), ":method=GET;:scheme=https;:authority=app.lab.test:8080;:path=/x;"
                             "x-forwarded-for=198.18.0.10;x-forwarded-proto=https;"
                             "via=1.1 lab-edge-1;");
    ck_assert_int_eq(conv("GET", "http://app.lab.test", host, 1, false), 0);
    ck_assert(strstr(flat(), ":path=/;") != NULL);
    ck_assert_int_eq(conv("OPTIONS", "*", host, 1, false), 0);
    ck_assert(strstr(flat(), ":path=*;") != NULL);
    struct st_http_field v6[] = {F("Host", "[2001:DB8::1]:8443")};
    ck_assert_int_eq(conv("GET", "/", v6, 1, false), 0);
    ck_assert_str_eq(out.host, "2001:db8::1");
}
END_TEST

START_TEST(test_websocket)
{
    struct st_http_field f[] = {F("Host", "ws.lab.test"), F("Upgrade", "websocket"),
                                F("Connection", "Upgrade"), F("Sec-WebSocket-Key", "abc=="),
                                F("Sec-WebSocket-Version", "13")};
    ck_assert_int_eq(conv("GET", "/chat", f, 5, false), 0);
    ck_assert(out.websocket);
    ck_assert_str_eq(flat(), ":method=CONNECT;:protocol=websocket;:scheme=http;"
                             ":authority=ws.lab.test;:path=/chat;sec-websocket-version=13;"
                             "x-forwarded-for=198.18.0.10;x-forwarded-proto=http;"
                             "via=1.1 lab-edge-1;");
    /* Upgrade without Connection: upgrade, or to another protocol: a plain request */
    struct st_http_field h2c[] = {F("Host", "ws.lab.test"), F("Upgrade", "h2c"),
                                  F("Connection", "Upgrade, HTTP2-Settings"),
                                  F("HTTP2-Settings", "AAA")};
    ck_assert_int_eq(conv("GET", "/", h2c, 4, false), 0);
    ck_assert(!out.websocket);
    ck_assert(strstr(flat(), "http2-settings") == NULL);
    ck_assert(strstr(flat(), "upgrade") == NULL);
    /* a WebSocket upgrade without Sec-WebSocket-Key cannot be answered: a plain GET */
    struct st_http_field nokey[] = {F("Host", "ws.lab.test"), F("Upgrade", "websocket"),
                                    F("Connection", "Upgrade"), F("Sec-WebSocket-Key", "")};
    ck_assert_int_eq(conv("GET", "/chat", nokey, 4, false), 0);
    ck_assert(!out.websocket);
    ck_assert_int_eq(conv("GET", "/chat", nokey, 3, false), 0);
    ck_assert(!out.websocket);
}
END_TEST

START_TEST(test_rejects)
{
    struct st_http_field ok[] = {F("Host", "app.lab.test")};
    struct st_http_field two[] = {F("Host", "a.test"), F("host", "b.test")};
    struct st_http_field crlf[] = {F("Host", "app.lab.test"), F("X-A", "1\r\nX-Admin: 1")};
    struct st_http_field badname[] = {F("Host", "app.lab.test"), F("X A", "1")};
    struct st_http_field badhost[] = {F("Host", "user@app.lab.test")};
    struct st_http_field nohost[] = {F("Accept", "*/*")};

    ck_assert_int_eq(conv("GET", "/", nohost, 1, false), -EINVAL);
    ck_assert_str_eq(why, "missing Host field");
    ck_assert_int_eq(conv("GET", "/", two, 2, false), -EINVAL);
    ck_assert_str_eq(why, "several Host fields");
    ck_assert_int_eq(conv("GET", "/", crlf, 2, false), -EINVAL);
    ck_assert_str_eq(why, "invalid header field");
    ck_assert_int_eq(conv("GET", "/", badname, 2, false), -EINVAL);
    ck_assert_int_eq(conv("GET", "/", badhost, 1, false), -EINVAL);
    ck_assert_str_eq(why, "bad Host");
    ck_assert_int_eq(conv("CONNECT", "app.lab.test:443", ok, 1, false), -EINVAL);
    ck_assert_str_eq(why, "CONNECT is not served on this listener");
    ck_assert_int_eq(conv("GET", "app", ok, 1, false), -EINVAL);
    ck_assert_str_eq(why, "bad request target");
    ck_assert_int_eq(conv("GET", "*", ok, 1, false), -EINVAL);
    ck_assert_int_eq(conv("G T", "/", ok, 1, false), -EINVAL);
    ck_assert_str_eq(why, "bad method");
    ck_assert_int_eq(conv("GET", "http://a.test?x", ok, 1, false), -EINVAL);

    static struct st_http_field many[EDGE_VISIT_MAX_NV + 1];
    many[0] = (struct st_http_field)F("Host", "app.lab.test");
    for (size_t i = 1; i <= EDGE_VISIT_MAX_NV; i++)
        many[i] = (struct st_http_field)F("x-n", "v");
    ck_assert_int_eq(conv("GET", "/", many, EDGE_VISIT_MAX_NV + 1, false), -E2BIG);
}
END_TEST

START_TEST(test_response_head)
{
    char head[1024];
    bool chunked;
    struct st_http_field f[] = {F("content-type", "text/html"),
                                F("content-length", "5"),
                                F("set-cookie", "a=1"),
                                F("connection", "close, x-h"),
                                F("x-h", "1"),
                                F("transfer-encoding", "chunked")};

    ck_assert_int_gt(
        edge_visit_response_head(200, f, 6, false, true, NULL, head, sizeof(head), &chunked), 0);
    ck_assert(!chunked);
    ck_assert_str_eq(head, "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nset-cookie: a=1\r\n"
                           "Content-Length: 5\r\nConnection: keep-alive\r\n\r\n");
    /* no length: chunked; HEAD, 204 and 304 have no body */
    ck_assert_int_gt(
        edge_visit_response_head(404, f, 1, false, false, NULL, head, sizeof(head), &chunked), 0);
    ck_assert(chunked);
    ck_assert_str_eq(head, "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\n"
                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    ck_assert_int_gt(
        edge_visit_response_head(200, f, 1, true, true, NULL, head, sizeof(head), &chunked), 0);
    ck_assert(!chunked);
    ck_assert_int_gt(
        edge_visit_response_head(304, NULL, 0, false, true, NULL, head, sizeof(head), &chunked), 0);
    ck_assert(!chunked);
    ck_assert_str_eq(head, "HTTP/1.1 304 Not Modified\r\nConnection: keep-alive\r\n\r\n");

    struct st_http_field bad1[] = {F("x", "a\r\nb")};
    struct st_http_field bad2[] = {F("content-length", "5"), F("content-length", "6")};
    struct st_http_field bad3[] = {F("content-length", "-1")};
    ck_assert_int_eq(
        edge_visit_response_head(200, bad1, 1, false, true, NULL, head, sizeof(head), &chunked),
        -EINVAL);
    ck_assert_int_eq(
        edge_visit_response_head(200, bad2, 2, false, true, NULL, head, sizeof(head), &chunked),
        -EINVAL);
    ck_assert_int_eq(
        edge_visit_response_head(200, bad3, 1, false, true, NULL, head, sizeof(head), &chunked),
        -EINVAL);
    ck_assert_int_eq(
        edge_visit_response_head(99, NULL, 0, false, true, NULL, head, sizeof(head), &chunked),
        -EINVAL);
    ck_assert_int_eq(edge_visit_response_head(200, f, 6, false, true, NULL, head, 20, &chunked),
                     -ENOSPC);
}
END_TEST

START_TEST(test_ws_accept)
{
    char acc[29], head[512];
    bool chunked;
    /* RFC 6455 1.3's example */
    st_http_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, acc);
    ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    struct st_http_field f[] = {F("sec-websocket-protocol", "chat"),
                                F("sec-websocket-accept", "wrong")};
    ck_assert_int_gt(
        edge_visit_response_head(200, f, 2, false, true, acc, head, sizeof(head), &chunked), 0);
    ck_assert_str_eq(head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                           "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nsec-websocket-protocol: chat\r\n\r\n");
}
END_TEST

static int relayed(const char *method, const char *protocol, const char *scheme,
                   const char *authority, const char *path, const struct st_http_field *f, size_t n)
{
    struct edge_visit_relayed r = {.method = method,
                                   .protocol = protocol,
                                   .scheme = scheme,
                                   .authority = authority,
                                   .path = path,
                                   .fields = f,
                                   .n_fields = n};
    why = NULL;
    return edge_visit_relayed_h2(&r, &out, &why);
}

/* A request relayed by another edge goes to the tunnel as that edge made it, minus the Host
 * copy of :authority and the relay's own fields. */
START_TEST(test_relayed)
{
    struct st_http_field f[] = {F("host", "App.Lab.Test"),
                                F("user-agent", "curl"),
                                F("x-forwarded-for", "198.18.0.10"),
                                F("x-forwarded-proto", "https"),
                                F("via", "1.1 lab-edge-3"),
                                F("subtunnel-client", "198.18.0.10"),
                                F("subtunnel-identity", "lab token x 0 0 0 -")};
    ck_assert_int_eq(relayed("GET", NULL, "https", "App.Lab.Test", "/f?a=1", f, 7), 0);
    ck_assert_str_eq(flat(), ":method=GET;:scheme=https;:authority=App.Lab.Test;:path=/f?a=1;"
                             "user-agent=curl;x-forwarded-for=198.18.0.10;"
                             "x-forwarded-proto=https;via=1.1 lab-edge-3;");
    ck_assert_str_eq(out.host, "app.lab.test");
    ck_assert(!out.websocket);
    ck_assert_int_eq(relayed("CONNECT", "websocket", "http", "ws.lab.test:80", "/chat", f, 2), 0);
    ck_assert_str_eq(flat(), ":method=CONNECT;:protocol=websocket;:scheme=http;"
                             ":authority=ws.lab.test:80;:path=/chat;user-agent=curl;");
    ck_assert_str_eq(out.host, "ws.lab.test");
    ck_assert(out.websocket);
}
END_TEST

START_TEST(test_relayed_rejects)
{
    struct st_http_field upper[] = {F("User-Agent", "curl")}, crlf[] = {F("a", "b\r\nc: d")};
    ck_assert_int_eq(relayed("CONNECT", NULL, "https", "a.test", "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed("CONNECT", "connect-udp", "https", "a.test", "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed("GET", "websocket", "https", "a.test", "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed(NULL, NULL, "https", "a.test", "/", NULL, 0), -EINVAL);
    ck_assert_str_eq(why, "bad method");
    ck_assert_int_eq(relayed("GET", NULL, "ftp", "a.test", "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed("GET", NULL, NULL, "a.test", "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed("GET", NULL, "https", NULL, "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed("GET", NULL, "https", "a@b.test", "/", NULL, 0), -EINVAL);
    ck_assert_str_eq(why, "bad Host");
    ck_assert_int_eq(relayed("GET", NULL, "https", "a.test", NULL, NULL, 0), -EINVAL);
    ck_assert_int_eq(relayed("GET", NULL, "https", "a.test", "/a b", NULL, 0), -EINVAL);
    ck_assert_str_eq(why, "bad request target");
    ck_assert_int_eq(relayed("GET", NULL, "https", "a.test", "/", upper, 1), -EINVAL);
    ck_assert_int_eq(relayed("GET", NULL, "https", "a.test", "/", crlf, 1), -EINVAL);
    ck_assert_str_eq(why, "invalid header field");
    static struct st_http_field many[EDGE_VISIT_MAX_NV];
    for (size_t i = 0; i < EDGE_VISIT_MAX_NV; i++)
        many[i] = (struct st_http_field)F("x-a", "1");
    ck_assert_int_eq(relayed("GET", NULL, "https", "a.test", "/", many, EDGE_VISIT_MAX_NV), -E2BIG);
}
END_TEST

static Suite *visit_suite(void)
{
    Suite *s = suite_create("edge_visit");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_plain_get);
    tcase_add_test(tc, test_proxy_fields);
    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_websocket);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_response_head);
    tcase_add_test(tc, test_ws_accept);
    tcase_add_test(tc, test_relayed);
    tcase_add_test(tc, test_relayed_rejects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(visit_suite());
}
