/* Request-target normalisation: RFC 3986 5.4 style table, percent-encodings, dot segments,
 * merged slashes, the query left alone, and what is refused. */
#include "st_uri.h"

#include "st_check.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct norm_case {
    const char *in, *want;
};

/* in -> want; 0 when it normalises, else the error */
static int norm(const char *in, size_t len, char *out, size_t cap, size_t *plen)
{
    memset(out, 'X', cap);
    return st_uri_normalize(in, len, out, cap, plen);
}

static void check_table(const struct norm_case *t, size_t n)
{
    char out[256];
    size_t plen;

    for (size_t i = 0; i < n; i++) {
        int rc = norm(t[i].in, strlen(t[i].in), out, sizeof(out), &plen);
        ck_assert_msg(rc >= 0, "'%s': error %d", t[i].in, rc);
        ck_assert_msg(strcmp(out, t[i].want) == 0, "'%s' -> '%s', want '%s'", t[i].in, out,
                      t[i].want);
        ck_assert_int_eq(rc, (int)strlen(t[i].want));
        ck_assert_uint_eq(plen, strcspn(t[i].want, "?"));
    }
}

/* RFC 3986 5.4.1 / 5.4.2 with base "http://a/b/c/d;p?q": each reference merged with the
 * base path ("/b/c/" + ref, 5.2.3), then normalised: the RFC's results. The fragment
 * examples are left out (a request target has none). */
START_TEST(test_rfc3986_5_4)
{
    static const struct norm_case t[] = {
        {"/b/c/g", "/b/c/g"},
        {"/b/c/./g", "/b/c/g"},
        {"/b/c/g/", "/b/c/g/"},
        {"/b/c/g?y", "/b/c/g?y"},
        {"/b/c/g;x", "/b/c/g;x"},
        {"/b/c/g;x?y", "/b/c/g;x?y"},
        {"/b/c/.", "/b/c/"},
        {"/b/c/./", "/b/c/"},
        {"/b/c/..", "/b/"},
        {"/b/c/../", "/b/"},
        {"/b/c/../g", "/b/g"},
        {"/b/c/../..", "/"},
        {"/b/c/../../", "/"},
        {"/b/c/../../g", "/g"},
        /* 5.4.2 abnormal examples */
        {"/b/c/../../../g", "/g"},
        {"/b/c/../../../../g", "/g"},
        {"/./g", "/g"},
        {"/../g", "/g"},
        {"/b/c/g.", "/b/c/g."},
        {"/b/c/.g", "/b/c/.g"},
        {"/b/c/g..", "/b/c/g.."},
        {"/b/c/..g", "/b/c/..g"},
        {"/b/c/./../g", "/b/g"},
        {"/b/c/./g/.", "/b/c/g/"},
        {"/b/c/g/./h", "/b/c/g/h"},
        {"/b/c/g/../h", "/b/c/h"},
        {"/b/c/g;x=1/./y", "/b/c/g;x=1/y"},
        {"/b/c/g;x=1/../y", "/b/c/y"},
        {"/b/c/g?y/./x", "/b/c/g?y/./x"},
        {"/b/c/g?y/../x", "/b/c/g?y/../x"},
        /* 5.2.4's own example */
        {"/a/b/c/./../../g", "/a/g"},
        {"/", "/"},
        {"/..", "/"},
        {"/.", "/"},
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}
END_TEST

START_TEST(test_encodings)
{
    static const struct norm_case t[] = {
        {"/%61dmin", "/admin"},
        {"/%41%5a%7A%30%39%2D%2e%5F%7e", "/AZz09-._~"}, /* unreserved: decoded */
        {"/%7Euser/%7efoo", "/~user/~foo"},
        {"/a%3a%3Fb%2f%25%20", "/a%3A%3Fb%2F%25%20"}, /* reserved and others: hex upper-cased */
        {"/admin%2F", "/admin%2F"},                   /* an encoded slash stays encoded */
        {"/admin%2f", "/admin%2F"},
        {"/admin%2Fx/..", "/"},
        {"/%2e%2e/admin", "/admin"},
        {"/%2E./admin", "/admin"},
        {"/a/%2e/b/.%2E/c", "/a/c"},
        {"/caf\xc3\xa9", "/caf\xc3\xa9"}, /* other bytes as they are */
        {"/%c3%a9", "/%C3%A9"},
        {"/%25", "/%25"}, /* "%25" is '%': never decoded, so never decoded twice */
        {"/%2561dmin", "/%2561dmin"},
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}
END_TEST

START_TEST(test_slashes_and_query)
{
    static const struct norm_case t[] = {
        {"//admin", "/admin"},
        {"///admin//x///", "/admin/x/"},
        {"/a//../admin", "/admin"}, /* merged first, as nginx does */
        {"/a/../admin", "/admin"},
        {"/./admin/./", "/admin/"},
        {"/%61?%61=%zz&b=/../&c=//", "/a?%61=%zz&b=/../&c=//"}, /* the query untouched */
        {"//?x", "/?x"},
        {"/?", "/?"},
        {"/a?b?c#d", "/a?b?c#d"},
        {"/a?%00", "/a?%00"},
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}
END_TEST

START_TEST(test_refused)
{
    static const char *const bad[] = {
        "",       "*",       "a/b",         "?x",          "/%",          "/%4",
        "/%zz",   "/%4g",    "/%g4",        "/a%0",        "/a%00b",      "/%00",
        "/a#b",   "/a#b?c",  "/a%2F..%2Fb", "/a%2F../b",   "/..%2Fadmin", "/a/.%2F",
        "/a%2F.", "/a%2f..", "//%2F..",     "/%2e%2e%2fb",
    };
    char out[64];
    size_t plen;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(norm(bad[i], strlen(bad[i]), out, sizeof(out), &plen) == -EINVAL,
                      "'%s' was not refused", bad[i]);
    ck_assert_int_eq(norm("/a\0b", 4, out, sizeof(out), &plen), -EINVAL);   /* raw NUL */
    ck_assert_int_eq(norm("/a?b\0c", 6, out, sizeof(out), &plen), -EINVAL); /* in the query */
    /* dots next to an encoded slash that are not dot segments are fine */
    ck_assert_int_ge(norm("/a%2F.b/..c%2F", 14, out, sizeof(out), &plen), 0);
    ck_assert_str_eq(out, "/a%2F.b/..c%2F");
}
END_TEST

START_TEST(test_sizes)
{
    static char in[20000], out[20000];
    size_t plen;

    /* the result fits the input's size, and exactly that is needed for an unchanged path */
    ck_assert_int_eq(norm("/abc", 4, out, 4, &plen), -ENOSPC);
    ck_assert_int_eq(norm("/abc", 4, out, 5, &plen), 4);
    ck_assert_str_eq(out, "/abc");
    ck_assert_int_eq(norm("/abc?q", 6, out, 6, &plen), -ENOSPC);
    ck_assert_int_eq(norm("/%61bc?q", 8, out, 7, &plen), 6);
    ck_assert_str_eq(out, "/abc?q");
    ck_assert_int_eq(norm("/%zz", 4, out, 2, &plen), -EINVAL); /* malformed beats too small */
    /* a long path: every byte is examined, nothing is cut */
    in[0] = '/';
    memset(in + 1, 'a', sizeof(in) - 2);
    in[sizeof(in) - 1] = '\0';
    ck_assert_int_eq(norm(in, strlen(in), out, sizeof(out), &plen), (int)sizeof(in) - 1);
    ck_assert_uint_eq(plen, sizeof(in) - 1);
    ck_assert_int_eq(memcmp(in, out, sizeof(in)), 0);
    ck_assert_int_eq(norm(in, strlen(in), out, 2049, &plen), -ENOSPC);
    /* many "a/.." pairs shrink to the root */
    size_t n = 0;
    while (n + 5 < sizeof(in)) {
        memcpy(in + n, "/a/..", 5);
        n += 5;
    }
    in[n] = '\0';
    ck_assert_int_eq(norm(in, n, out, sizeof(out), &plen), 1);
    ck_assert_str_eq(out, "/");
}
END_TEST

/* Origin authorities: IPv4, bracketed IPv6, with and without a port. */
START_TEST(test_origin_forms)
{
    static const struct {
        const char *in, *want;
    } ok[] = {
        {"198.51.100.10", "198.51.100.10:80"},
        {"198.51.100.10:8000", "198.51.100.10:8000"},
        {"[2001:db8:51::10]", "[2001:db8:51::10]:80"},
        {"[2001:db8:51::10]:8000", "[2001:db8:51::10]:8000"},
        {"[2001:DB8:51:0:0:0:0:10]:65535", "[2001:db8:51::10]:65535"},
        {"[::ffff:198.51.100.10]:1", "[::ffff:198.51.100.10]:1"},
    };
    struct st_sockaddr a;
    const char *why = NULL;
    char buf[80];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int rc = st_uri_origin_parse(ok[i].in, strlen(ok[i].in), 80, &a, &why);
        ck_assert_msg(rc == 0, "'%s': %s", ok[i].in, why);
        st_sockaddr_format(&a, buf, sizeof(buf));
        ck_assert_str_eq(buf, ok[i].want);
    }
    /* a slice: only len bytes count */
    ck_assert_int_eq(st_uri_origin_parse("[2001:db8::1]:443/x", 17, 80, &a, &why), 0);
    ck_assert_uint_eq(st_sockaddr_port(&a), 443);
}
END_TEST

/* Refused forms, each with its reason. */
START_TEST(test_origin_refused)
{
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "no address"},
        {"2001:db8:51::10", "an IPv6 address needs brackets, e.g. http://[2001:db8::10]:8000"},
        {"2001:db8:51::10:8000", "an IPv6 address needs brackets, e.g. http://[2001:db8::10]:8000"},
        {"[fe80::1%eth0]:80", "IPv6 zone ids ('%') are not supported"},
        {"[fe80::1%25eth0]", "IPv6 zone ids ('%') are not supported"},
        {"[2001:db8::10", "'[' without ']'"},
        {"[2001:db8::10]8000", "text after ']' that is not ':PORT'"},
        {"[2001:db8::10]:", "the port must be a number 1..65535"},
        {"[2001:db8::10]:0", "the port must be a number 1..65535"},
        {"[2001:db8::10]:65536", "the port must be a number 1..65535"},
        {"198.51.100.10:99999", "the port must be a number 1..65535"},
        {"198.51.100.10:+80", "the port must be a number 1..65535"},
        {"[198.51.100.10]:80", "not an IPv6 address in the brackets"},
        {"[]:80", "not an IPv6 address in the brackets"},
        {"[app.lab.test]", "not an IPv6 address in the brackets"},
        {"app.lab.test:80", "the origin must be a numeric IP address (no host names)"},
        {":80", "the origin must be a numeric IP address (no host names)"},
        {"*:80", "the origin must be a numeric IP address (no host names)"},
        {"198.51.100", "not a numeric IP address"},
    };
    struct st_sockaddr a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        int rc = st_uri_origin_parse(bad[i].in, strlen(bad[i].in), 80, &a, &why);
        ck_assert_msg(rc == -EINVAL, "'%s' accepted", bad[i].in);
        ck_assert_msg(why && strcmp(why, bad[i].why) == 0, "'%s': '%s', want '%s'", bad[i].in, why,
                      bad[i].why);
    }
}
END_TEST

static Suite *uri_suite(void)
{
    Suite *s = suite_create("uri");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_rfc3986_5_4);
    tcase_add_test(tc, test_encodings);
    tcase_add_test(tc, test_slashes_and_query);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_origin_forms);
    tcase_add_test(tc, test_origin_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(uri_suite());
}
