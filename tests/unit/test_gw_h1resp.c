/* Origin responses: lengths, chunked, interim 1xx, HEAD/204, close-delimited, upgrade,
 * truncation, malformed input and bounds; fed whole and byte by byte. */
#include "gw_h1resp.h"

#include "st_check.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct rec {
    int status, heads, dones;
    bool keep_alive;
    char fields[4096];
    char body[8192];
    size_t body_len;
    int abort_head;
};

static int on_head(void *arg, int status, const struct st_http_field *f, size_t n)
{
    struct rec *r = arg;
    r->status = status;
    r->heads++;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(r->fields);
        snprintf(r->fields + l, sizeof(r->fields) - l, "%.*s=%.*s;", (int)f[i].nlen, f[i].name,
                 (int)f[i].vlen, f[i].value);
    }
    return r->abort_head;
}

static int on_body(void *arg, const char *p, size_t n)
{
    struct rec *r = arg;
    ck_assert_uint_le(r->body_len + n, sizeof(r->body));
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

static void on_done(void *arg, bool keep_alive)
{
    struct rec *r = arg;
    r->dones++;
    r->keep_alive = keep_alive;
}

static const struct gw_h1resp_cb cb = {on_head, on_body, on_done};
static struct gw_h1resp resp;

/* Feeds text whole (step 0) or in pieces of `step` bytes; returns the last feed result. */
static ssize_t feed(struct rec *r, bool head_req, const char *text, size_t step)
{
    size_t n = strlen(text), off = 0;
    ssize_t rv = 0;
    memset(r, 0, sizeof(*r));
    gw_h1resp_init(&resp, head_req, &cb, r);
    while (off < n) {
        size_t len = step && n - off > step ? step : n - off;
        rv = gw_h1resp_feed(&resp, text + off, len);
        if (rv < 0 || (size_t)rv < len)
            return rv < 0 ? rv : (ssize_t)(off + (size_t)rv);
        off += len;
    }
    return (ssize_t)off;
}

START_TEST(test_length_and_chunked)
{
    static const char *const texts[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"};
    for (size_t t = 0; t < 2; t++) {
        for (size_t step = 0; step < 4; step++) {
            struct rec r;
            ck_assert_int_eq(feed(&r, false, texts[t], step), (ssize_t)strlen(texts[t]));
            ck_assert_int_eq(r.status, 200);
            ck_assert_int_eq(r.heads, 1);
            ck_assert_int_eq(r.dones, 1);
            ck_assert(r.keep_alive);
            ck_assert_uint_eq(r.body_len, 11);
            ck_assert(memcmp(r.body, "hello world", 11) == 0);
            ck_assert_msg(strncmp(r.fields, "content-type=text/plain;", 24) == 0, "%s", r.fields);
        }
    }
}
END_TEST

START_TEST(test_no_body_cases)
{
    struct rec r;
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                       "Connection: close\r\n\r\nok";
    ck_assert_int_eq(feed(&r, false, cont, 3), (ssize_t)strlen(cont));
    ck_assert_int_eq(r.heads, 1); /* the 100 is not forwarded */
    ck_assert_int_eq(r.status, 201);
    ck_assert(!r.keep_alive);
    ck_assert_str_eq(r.fields, "content-length=2;connection=close;");

    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    ck_assert_int_eq(feed(&r, true, head, 0), (ssize_t)strlen(head));
    ck_assert_int_eq(r.dones, 1);
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert(r.keep_alive);

    const char *nc = "HTTP/1.1 204 No Content\r\n\r\n";
    ck_assert_int_eq(feed(&r, false, nc, 0), (ssize_t)strlen(nc));
    ck_assert_int_eq(r.dones, 1);
}
END_TEST

START_TEST(test_close_delimited_and_truncated)
{
    struct rec r;
    const char *close = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nstreamed until close";
    ck_assert_int_eq(feed(&r, false, close, 7), (ssize_t)strlen(close));
    ck_assert_int_eq(r.dones, 0);
    ck_assert_int_eq(gw_h1resp_eof(&resp), 0);
    ck_assert_int_eq(r.dones, 1);
    ck_assert(!r.keep_alive);
    ck_assert_uint_eq(r.body_len, strlen("streamed until close"));

    const char *cut = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part";
    ck_assert_int_eq(feed(&r, false, cut, 0), (ssize_t)strlen(cut));
    ck_assert_int_eq(gw_h1resp_eof(&resp), -EPROTO);
    ck_assert_str_eq(resp.why, "the origin closed in the middle of the response");
    ck_assert_int_eq(r.dones, 0);

    gw_h1resp_init(&resp, false, &cb, &r);
    ck_assert_int_eq(gw_h1resp_eof(&resp), -EPROTO);
    ck_assert_str_eq(resp.why, "the origin closed without a response");
}
END_TEST

START_TEST(test_upgrade_and_extra)
{
    struct rec r;
    const char *up = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n\x81\x05hello";
    size_t head_len = strlen(up) - 7;
    ck_assert_int_eq(feed(&r, false, up, 0), (ssize_t)head_len);
    ck_assert_int_eq(r.status, 101);
    ck_assert(resp.upgraded);
    ck_assert_int_eq(gw_h1resp_feed(&resp, "x", 1), 0);

    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n";
    ck_assert_int_eq(feed(&r, false, two, 0), (ssize_t)strlen("HTTP/1.1 200 OK\r\nContent-Length: "
                                                              "1\r\n\r\na"));
    ck_assert_int_eq(r.dones, 1);
}
END_TEST

START_TEST(test_errors_and_bounds)
{
    struct rec r;
    ck_assert_int_eq(feed(&r, false, "HTTP/1.1 abc OK\r\n\r\n", 0), -EPROTO);
    ck_assert_ptr_nonnull(resp.why);
    ck_assert_int_eq(feed(&r, false, "SSH-2.0-OpenSSH\r\n", 0), -EPROTO);
    ck_assert_int_eq(
        feed(&r, false, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0),
        -EPROTO);

    static char big[40000];
    size_t off = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 101; i++)
        off += (size_t)snprintf(big + off, sizeof(big) - off, "X-%d: v\r\n", i);
    snprintf(big + off, sizeof(big) - off, "\r\n");
    ck_assert_int_eq(feed(&r, false, big, 0), -E2BIG);
    ck_assert_str_eq(resp.why, "too many header fields");

    off = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + off, 'a', 20000);
    snprintf(big + off + 20000, sizeof(big) - off - 20000, "\r\n\r\n");
    ck_assert_int_eq(feed(&r, false, big, 1000), -E2BIG);
    ck_assert_str_eq(resp.why, "response head too large");

    memset(&r, 0, sizeof(r));
    r.abort_head = -ECANCELED;
    gw_h1resp_init(&resp, false, &cb, &r);
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_eq(gw_h1resp_feed(&resp, ok, strlen(ok)), -ECANCELED);
}
END_TEST

static Suite *h1resp_suite(void)
{
    Suite *s = suite_create("gw_h1resp");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_length_and_chunked);
    tcase_add_test(tc, test_no_body_cases);
    tcase_add_test(tc, test_close_delimited_and_truncated);
    tcase_add_test(tc, test_upgrade_and_extra);
    tcase_add_test(tc, test_errors_and_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(h1resp_suite());
}
