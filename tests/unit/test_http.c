/* HTTP field rules: names, values (injection), hop-by-hop fields, X-Forwarded-For. */
#include "st_http.h"

#include "st_check.h"
#include <errno.h>
#include <string.h>

#define S(x) x, strlen(x)

START_TEST(test_status)
{
    static const char *const bad[] = {"",     "2",    "20",   "2000",        "1:0", "2x0",
                                      " 200", "200 ", "-20",  "+20",         "099", "000",
                                      "600",  "999",  "20\0", "\xb2\x30\x30"};

    ck_assert_int_eq(st_http_status(S("200")), 200);
    ck_assert_int_eq(st_http_status(S("100")), 100);
    ck_assert_int_eq(st_http_status(S("404")), 404);
    ck_assert_int_eq(st_http_status(S("599")), 599);
    ck_assert_int_eq(st_http_status("2001", 3), 200); /* only len bytes are read */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(st_http_status(bad[i], i == 14 ? 3 : strlen(bad[i])) == -EINVAL,
                      "\"%s\" accepted", bad[i]);
    ck_assert_int_eq(st_http_status(NULL, 3), -EINVAL);
}
END_TEST

START_TEST(test_names)
{
    ck_assert(st_http_name_valid(S("content-type"), true));
    ck_assert(st_http_name_valid(S("X-Custom_1!"), false));
    ck_assert(!st_http_name_valid(S("X-Custom"), true));
    ck_assert(!st_http_name_valid(S(""), false));
    ck_assert(!st_http_name_valid(S("bad name"), false));
    ck_assert(!st_http_name_valid(S("bad:name"), false));
    ck_assert(!st_http_name_valid(S(":path"), true)); /* pseudo-fields are checked apart */
    ck_assert(!st_http_name_valid("a\0b", 3, false));
    ck_assert(!st_http_name_valid(S("x\r\ninjected"), false));
}
END_TEST

START_TEST(test_values)
{
    ck_assert(st_http_value_valid(S("text/html; charset=utf-8")));
    ck_assert(st_http_value_valid(S("")));
    ck_assert(st_http_value_valid(S("caf\xc3\xa9"))); /* obs-text */
    ck_assert(st_http_value_valid(S("a\tb")));
    ck_assert(!st_http_value_valid(S("a\r\nSet-Cookie: x=1")));
    ck_assert(!st_http_value_valid(S("a\nb")));
    ck_assert(!st_http_value_valid(S("a\rb")));
    ck_assert(!st_http_value_valid("a\0b", 3));
    ck_assert(!st_http_value_valid(S(" lead")));
    ck_assert(!st_http_value_valid(S("trail\t")));
}
END_TEST

START_TEST(test_hop_by_hop)
{
    const char *conn = "keep-alive, X-Secret ,Upgrade";
    ck_assert(st_http_hop_by_hop(S("Connection"), NULL, 0));
    ck_assert(st_http_hop_by_hop(S("transfer-encoding"), NULL, 0));
    ck_assert(st_http_hop_by_hop(S("TE"), NULL, 0));
    ck_assert(st_http_hop_by_hop(S("proxy-authorization"), NULL, 0));
    ck_assert(!st_http_hop_by_hop(S("content-length"), NULL, 0));
    ck_assert(!st_http_hop_by_hop(S("x-secret"), NULL, 0));
    ck_assert(st_http_hop_by_hop(S("x-secret"), S(conn)));
    ck_assert(st_http_hop_by_hop(S("X-SECRET"), S(conn)));
    ck_assert(!st_http_hop_by_hop(S("x-secre"), S(conn)));
    ck_assert(!st_http_hop_by_hop(S("x-secrets"), S(conn)));
    ck_assert(st_http_list_has(S(conn), "upgrade"));
    ck_assert(!st_http_list_has(S(""), "upgrade"));
    ck_assert(!st_http_list_has(S(",,"), "upgrade"));
    ck_assert(st_http_list_has(S(" websocket "), "WebSocket"));
}
END_TEST

START_TEST(test_proxy_set)
{
    static const char *const yes[] = {"forwarded",         "Forwarded",        "X-Real-IP",
                                      "true-client-ip",    "X-Client-IP",      "x-forwarded-for",
                                      "X-Forwarded-Proto", "x-forwarded-host", "X-Original-URL",
                                      "x-rewrite-url"};
    static const char *const no[] = {
        "x-forwarded", "x-forwarded-", "forwarded-for", "via", "x-real-ipx", "cookie", "",
        "x-real"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(st_http_proxy_set(S(yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!st_http_proxy_set(S(no[i])), "%s", no[i]);
    ck_assert(!st_http_proxy_set("forwarded", 8)); /* lengths, not NULs, bound names */
}
END_TEST

START_TEST(test_xff)
{
    char out[32];
    ck_assert_int_eq(st_http_xff(out, sizeof(out), NULL, 0, "198.18.0.10"), 0);
    ck_assert_str_eq(out, "198.18.0.10");
    ck_assert_int_eq(st_http_xff(out, sizeof(out), S("192.0.2.7"), "198.18.0.10"), 0);
    ck_assert_str_eq(out, "192.0.2.7, 198.18.0.10");
    ck_assert_int_eq(st_http_xff(out, 12, S("192.0.2.7"), "198.18.0.10"), -ENOSPC);
    ck_assert_int_eq(st_http_xff(out, 11, NULL, 0, "198.18.0.10"), -ENOSPC);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_hop_by_hop);
    tcase_add_test(tc, test_proxy_set);
    tcase_add_test(tc, test_xff);
    tcase_add_test(tc, test_status);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(http_suite());
}
