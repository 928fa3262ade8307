/* Access proxy request heads as http-parser hands them over: the target, Proxy-Authorization
 * and Upgrade kept whatever the cuts; bounds. */
#include "edge_ahead.h"

#include "st_check.h"
#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

static struct edge_ahead head;

static int on_url(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_url(p->data, at, len) < 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_field(p->data, at, len) < 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_value(p->data, at, len) < 0;
}

static const http_parser_settings settings = {
    .on_url = on_url, .on_header_field = on_field, .on_header_value = on_value};

/* Parses text in pieces of step bytes (0: whole); 0, or -1 when http-parser stopped. */
static int parse(const char *text, size_t step)
{
    http_parser p;
    size_t n = strlen(text), off = 0;

    http_parser_init(&p, HTTP_REQUEST);
    p.data = &head;
    edge_ahead_init(&head);
    while (off < n) {
        size_t len = step && n - off > step ? step : n - off;
        if (http_parser_execute(&p, &settings, text + off, len) != len)
            return -1;
        off += len;
    }
    return 0;
}

START_TEST(test_any_cut)
{
    static const char req[] = "GET /.well-known/masque/udp/198.51.100.10/53/ HTTP/1.1\r\n"
                              "Host: edge\r\nX-Some-Field-Name-Longer-Than-32-Bytes: 1\r\n"
                              "Proxy-Authorization: Bearer 0123456789abcdef\r\n"
                              "Connection: Upgrade\r\nUpgrade: connect-udp\r\n\r\n";
    for (size_t step = 0; step < 9; step++) {
        ck_assert_int_eq(parse(req, step), 0);
        ck_assert_str_eq(head.target, "/.well-known/masque/udp/198.51.100.10/53/");
        ck_assert_str_eq(head.upgrade, "connect-udp");
        ck_assert_uint_eq(head.auth_len, 23);
        ck_assert_mem_eq(head.auth, "Bearer 0123456789abcdef", 23);
    }
}
END_TEST

START_TEST(test_limits)
{
    static char req[2048];
    char *p = req + sprintf(req, "CONNECT 198.51.100.10:22 HTTP/1.1\r\nProxy-Authorization: ");
    memset(p, 'a', 1024);
    strcpy(p + 1024, "\r\n\r\n");
    ck_assert_int_eq(parse(req, 0), -1);
    ck_assert_int_eq(parse(req, 100), -1);
    p = req + sprintf(req, "CONNECT ");
    memset(p, 'a', 256);
    strcpy(p + 256, ":22 HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(parse(req, 7), -1);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nUpgrade: connect-udp-and-much-more\r\n\r\n", 3), 0);
    ck_assert_str_eq(head.upgrade, "connect-udp-and");
}
END_TEST

/* An h2c preface cut after "P" or "PR" used to be parsed as HTTP/1.1 and answered 400. */
START_TEST(test_preface)
{
    static const uint8_t pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    ck_assert_int_eq(edge_ahead_preface(pri, 0), -EAGAIN);
    ck_assert_int_eq(edge_ahead_preface(pri, 1), -EAGAIN);
    ck_assert_int_eq(edge_ahead_preface(pri, 2), -EAGAIN);
    ck_assert_int_eq(edge_ahead_preface(pri, 3), 1);
    ck_assert_int_eq(edge_ahead_preface(pri, sizeof(pri) - 1), 1);
    ck_assert_int_eq(edge_ahead_preface((const uint8_t *)"POST / HTTP/1.1", 1), -EAGAIN);
    ck_assert_int_eq(edge_ahead_preface((const uint8_t *)"POST / HTTP/1.1", 2), 0);
    ck_assert_int_eq(edge_ahead_preface((const uint8_t *)"CONNECT", 1), 0);
}
END_TEST

static Suite *ahead_suite(void)
{
    Suite *s = suite_create("edge_ahead");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_any_cut);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_preface);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ahead_suite());
}
