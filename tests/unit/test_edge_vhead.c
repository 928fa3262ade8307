/* Visitor request heads as http-parser hands them over: pieces of the target, names and
 * values joined whatever the cuts; 414 and 431 verdicts; "Name:" without a value. */
#include "edge_vhead.h"

#include "st_check.h"
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

static struct edge_vhead head;

static int on_begin(http_parser *p)
{
    edge_vhead_reset(p->data);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    edge_vhead_url(p->data, at, len);
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    edge_vhead_field(p->data, at, len);
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    edge_vhead_value(p->data, at, len);
    return 0;
}

static const http_parser_settings settings = {.on_message_begin = on_begin,
                                              .on_url = on_url,
                                              .on_header_field = on_field,
                                              .on_header_value = on_value};

/* Parses text in pieces of step bytes (0: whole); returns edge_vhead_finish's verdict. */
static int parse(const char *text, size_t step)
{
    http_parser p;
    size_t n = strlen(text), off = 0;

    http_parser_init(&p, HTTP_REQUEST);
    p.data = &head;
    while (off < n) {
        size_t len = step && n - off > step ? step : n - off;
        ck_assert_uint_eq(http_parser_execute(&p, &settings, text + off, len), len);
        off += len;
    }
    return edge_vhead_finish(&head);
}

static void field_is(size_t i, const char *name, const char *value)
{
    ck_assert_uint_lt(i, head.n_fields);
    ck_assert_uint_eq(head.fields[i].nlen, strlen(name));
    ck_assert_uint_eq(head.fields[i].vlen, strlen(value));
    ck_assert_mem_eq(head.fields[i].name, name, strlen(name));
    ck_assert_mem_eq(head.fields[i].value, value, strlen(value));
}

START_TEST(test_any_cut)
{
    static const char req[] = "GET /some/long/path?q=1 HTTP/1.1\r\nHost: app.lab.test\r\n"
                              "X-A-Rather-Long-Field-Name: and a value with spaces\r\n"
                              "Empty:\r\nAccept: */*\r\n\r\n";
    for (size_t step = 0; step < 9; step++) {
        ck_assert_int_eq(parse(req, step), 0);
        ck_assert_str_eq(head.target, "/some/long/path?q=1");
        ck_assert_uint_eq(head.n_fields, 4);
        field_is(0, "Host", "app.lab.test");
        field_is(1, "X-A-Rather-Long-Field-Name", "and a value with spaces");
        field_is(2, "Empty", "");
        field_is(3, "Accept", "*/*");
    }
}
END_TEST

START_TEST(test_limits)
{
    static char req[EDGE_VHEAD_TARGET_MAX + 64];
    char *p = req + sprintf(req, "GET /");
    memset(p, 'a', EDGE_VHEAD_TARGET_MAX);
    strcpy(p + EDGE_VHEAD_TARGET_MAX, " HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(parse(req, 0), 414);
    ck_assert_int_eq(parse(req, 1000), 414);

    static char many[EDGE_WEB_MAX_FIELDS * 8 + 64];
    p = many + sprintf(many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= EDGE_WEB_MAX_FIELDS; i++)
        p += sprintf(p, "X%d: v\r\n", i);
    strcpy(p, "\r\n");
    ck_assert_int_eq(parse(many, 0), 431);
    ck_assert_int_eq(parse(many, 3), 431);
}
END_TEST

static Suite *vhead_suite(void)
{
    Suite *s = suite_create("edge_vhead");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_any_cut);
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(vhead_suite());
}
