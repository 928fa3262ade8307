/* Gateway ingress rules: parsing with clear errors, first-match by host and path. */
#include "gw_ingress.h"

#include "st_check.h"
#include "st_config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static char err[512];

/* Parses "ingress:\n" + body; returns the parse code, rules in *in (fini by caller). */
static int parse(const char *body, struct gw_ingress *in)
{
    char text[4096];
    struct st_cfg c;
    int rc;

    snprintf(text, sizeof(text), "ingress:\n%s", body);
    memset(in, 0, sizeof(*in));
    rc = st_cfg_parse(&c, text, strlen(text), "gw.yaml", err, sizeof(err));
    if (rc == 0)
        rc = gw_ingress_parse(&c, st_cfg_get(c.root, "ingress"), in);
    st_cfg_fini(&c);
    return rc;
}

static void bad(const char *body, const char *want)
{
    struct gw_ingress in;

    ck_assert_int_lt(parse(body, &in), 0);
    ck_assert_msg(strcmp(err, want) == 0, "got '%s', want '%s'", err, want);
    gw_ingress_fini(&in);
}

/* The rule for host and target (which must be matchable). */
static const struct gw_ingress_rule *pick(const struct gw_ingress *in, const char *host,
                                          const char *target)
{
    static char norm[4 * GW_INGRESS_PATH_MAX];
    const struct gw_ingress_rule *r;
    int rc = gw_ingress_match(in, host, target, norm, sizeof(norm), &r);

    ck_assert_msg(rc == 0, "'%.80s': error %d", target, rc);
    return r;
}

static const char lab[] = "  - hostname: app.lab.test\n"
                          "    service: http://198.51.100.10:8000\n"
                          "  - hostname: WS.lab.test\n"
                          "    service: http://198.51.100.11:8001/\n"
                          "  - hostname: \"*.lab.test\"\n"
                          "    path: /api/\n"
                          "    service: https://198.51.100.12\n"
                          "    origin:\n"
                          "      no-tls-verify: true\n"
                          "      server-name: api.lab.test\n"
                          "      keep-alive-connections: 4\n"
                          "  - path-regex: ^/v[0-9]+/\n"
                          "    service: http://198.51.100.13:8080\n"
                          "  - service: http_status:404\n";

START_TEST(test_parse_lab)
{
    struct gw_ingress in;
    char a[64];

    ck_assert_msg(parse(lab, &in) == 0, "%s", err);
    ck_assert_uint_eq(in.n_rules, 5);
    ck_assert_int_eq(in.rules[0].kind, GW_INGRESS_HTTP);
    st_sockaddr_format(&in.rules[0].origin, a, sizeof(a));
    ck_assert_str_eq(a, "198.51.100.10:8000");
    ck_assert_int_eq(in.rules[0].keep_alive_conns, 100);
    ck_assert_int_eq(in.rules[0].connect_timeout_ms, 10000);
    ck_assert_int_eq(in.rules[0].max_connecting, 4);
    ck_assert_int_eq(in.rules[0].max_queued, 1024);
    ck_assert_str_eq(in.rules[1].hostname, "ws.lab.test");
    st_sockaddr_format(&in.rules[1].origin, a, sizeof(a));
    ck_assert_str_eq(a, "198.51.100.11:8001");
    ck_assert_int_eq(in.rules[2].kind, GW_INGRESS_HTTPS);
    st_sockaddr_format(&in.rules[2].origin, a, sizeof(a));
    ck_assert_str_eq(a, "198.51.100.12:443");
    ck_assert(in.rules[2].no_tls_verify);
    ck_assert_str_eq(in.rules[2].server_name, "api.lab.test");
    ck_assert_int_eq(in.rules[2].keep_alive_conns, 4);
    st_sockaddr_format(&in.rules[3].origin, a, sizeof(a));
    ck_assert_str_eq(a, "198.51.100.13:8080");
    ck_assert_int_eq(in.rules[4].kind, GW_INGRESS_STATUS);
    ck_assert_int_eq(in.rules[4].status, 404);
    gw_ingress_fini(&in);
}
END_TEST

/* IPv6 origins: bracketed, default ports by scheme, a trailing slash. */
START_TEST(test_parse_ipv6_origins)
{
    struct gw_ingress in;
    char a[64];

    ck_assert_msg(parse("  - hostname: a.lab.test\n    service: 'http://[2001:db8:51::10]:8000/'\n"
                        "  - hostname: b.lab.test\n    service: 'https://[2001:db8:51::11]'\n"
                        "  - service: 'http://[2001:db8:51::10]'\n",
                        &in) == 0,
                  "%s", err);
    st_sockaddr_format(&in.rules[0].origin, a, sizeof(a));
    ck_assert_str_eq(a, "[2001:db8:51::10]:8000");
    st_sockaddr_format(&in.rules[1].origin, a, sizeof(a));
    ck_assert_str_eq(a, "[2001:db8:51::11]:443");
    ck_assert_int_eq(in.rules[1].kind, GW_INGRESS_HTTPS);
    st_sockaddr_format(&in.rules[2].origin, a, sizeof(a));
    ck_assert_str_eq(a, "[2001:db8:51::10]:80");
    gw_ingress_fini(&in);
}
END_TEST

START_TEST(test_match)
{
    struct gw_ingress in;

    ck_assert_msg(parse(lab, &in) == 0, "%s", err);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/"), &in.rules[0]);
    ck_assert_ptr_eq(pick(&in, "APP.Lab.Test:443", "/x?y"), &in.rules[0]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test.", "/"), &in.rules[0]);
    ck_assert_ptr_eq(pick(&in, "ws.lab.test", "/socket"), &in.rules[1]);
    ck_assert_ptr_eq(pick(&in, "x.lab.test", "/api/users"), &in.rules[2]);
    ck_assert_ptr_eq(pick(&in, "a.b.lab.test", "/api/"), &in.rules[2]);
    /* the wildcard does not match the apex, and the prefix is literal */
    ck_assert_ptr_eq(pick(&in, "lab.test", "/api/"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, "x.lab.test", "/apix"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, "x.lab.test", "/API/"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, "other.test", "/v2/items"), &in.rules[3]);
    ck_assert_ptr_eq(pick(&in, "other.test", "/v2?/x"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, "other.test", "/x/v2/"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, NULL, "/"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, "[2001:db8::1]:8443", "/"), &in.rules[4]);
    ck_assert_ptr_eq(pick(&in, "", "/v1/"), &in.rules[3]);
    gw_ingress_fini(&in);
}
END_TEST

/* A deny rule ahead of the site, as the security review asked: the spellings of "/admin"
 * that an origin would serve as /admin all reach it. */
static const char deny[] = "  - hostname: app.lab.test\n"
                           "    path: /admin\n"
                           "    service: http_status:403\n"
                           "  - hostname: app.lab.test\n"
                           "    path-regex: ^/private/[a-z]+$\n"
                           "    service: http_status:451\n"
                           "  - hostname: app.lab.test\n"
                           "    path: /api//v1/./x/\n"
                           "    service: http_status:299\n"
                           "  - hostname: app.lab.test\n"
                           "    service: http://198.51.100.10:8000\n"
                           "  - service: http_status:404\n";

START_TEST(test_match_normalised)
{
    static const char *const to_deny[] = {
        "/admin",      "/%61dmin",       "/%61%64%6D%69%6E", "//admin",         "///admin/x",
        "/a/../admin", "/%2e%2e/admin",  "/./admin",         "/x/%2E%2e/admin", "/admin/.",
        "/admin%2F",   "/admin%2fx?y=1", "/admin?/../x",     "/a//..//admin",   "/admin/../admin",
    };
    struct gw_ingress in;
    char norm[256];
    const struct gw_ingress_rule *r;

    ck_assert_msg(parse(deny, &in) == 0, "%s", err);
    ck_assert_str_eq(in.rules[2].path_prefix, "/api/v1/x/"); /* normalised at load */
    for (size_t i = 0; i < sizeof(to_deny) / sizeof(to_deny[0]); i++)
        ck_assert_msg(pick(&in, "app.lab.test", to_deny[i]) == &in.rules[0], "'%s' not denied",
                      to_deny[i]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/%41dmin"), &in.rules[3]); /* case-sensitive */
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/admin/.."), &in.rules[3]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/private/%61b"), &in.rules[1]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/private/a/../b?x=/y"), &in.rules[1]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/private/ab/"), &in.rules[3]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/api/v1/x/y"), &in.rules[2]);
    ck_assert_ptr_eq(pick(&in, "app.lab.test", "/api/v1//./x//y"), &in.rules[2]);
    /* the normalised target is what the caller forwards: query as received */
    ck_assert_int_eq(
        gw_ingress_match(&in, "app.lab.test", "//%61dmin/./x?a=%2e%2E//", norm, sizeof(norm), &r),
        0);
    ck_assert_ptr_eq(r, &in.rules[0]);
    ck_assert_str_eq(norm, "/admin/x?a=%2e%2E//");
    gw_ingress_fini(&in);
}
END_TEST

START_TEST(test_match_refused)
{
    static char target[3 * GW_INGRESS_PATH_MAX], norm[sizeof(target)];
    static const char *const malformed[] = {"/%",   "/%6", "/%zz", "/a%00",
                                            "/a#b", "*",   "x",    "/a%2F..%2Fadmin"};
    struct gw_ingress in;
    const struct gw_ingress_rule *r = (const void *)1;
    size_t n;

    ck_assert_msg(parse(deny, &in) == 0, "%s", err);
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        ck_assert_msg(gw_ingress_match(&in, "app.lab.test", malformed[i], norm, sizeof(norm), &r) ==
                          -EINVAL,
                      "'%s' not refused", malformed[i]);
        ck_assert_ptr_null(r);
    }
    /* a path of exactly GW_INGRESS_PATH_MAX bytes is matched; one more byte is 414, even
     * with a deny prefix in front (it once matched no rule past 2048 bytes) */
    memcpy(target, "/admin/", 7);
    memset(target + 7, 'a', GW_INGRESS_PATH_MAX - 7);
    target[GW_INGRESS_PATH_MAX] = '\0';
    ck_assert_ptr_eq(pick(&in, "app.lab.test", target), &in.rules[0]);
    ck_assert_ptr_eq(pick(&in, "other.lab.test", target), &in.rules[4]);
    strcpy(target + GW_INGRESS_PATH_MAX, "a?q");
    ck_assert_int_eq(gw_ingress_match(&in, "app.lab.test", target, norm, sizeof(norm), &r),
                     -ENAMETOOLONG);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(gw_ingress_match(&in, "other.lab.test", target, norm, sizeof(norm), &r),
                     -ENAMETOOLONG);
    /* ... but a long spelling that normalises short enough is matched */
    for (n = 0; n + 4 < GW_INGRESS_PATH_MAX * 2; n += 3)
        memcpy(target + n, "/./", 3);
    strcpy(target + n, "admin");
    ck_assert_ptr_eq(pick(&in, "app.lab.test", target), &in.rules[0]);
    /* a long query does not count */
    n = (size_t)snprintf(target, sizeof(target), "/admin?");
    memset(target + n, 'q', sizeof(target) - n - 1);
    target[sizeof(target) - 1] = '\0';
    ck_assert_ptr_eq(pick(&in, "app.lab.test", target), &in.rules[0]);
    ck_assert_int_eq(gw_ingress_match(&in, "app.lab.test", "/admin", norm, 6, &r), -ENOSPC);
    gw_ingress_fini(&in);
}
END_TEST

START_TEST(test_errors)
{
    bad("  - hostname: a.test\n    service: http://198.51.100.10\n",
        "gw.yaml:2: the last ingress rule must match everything (no hostname, no path), e.g. "
        "'- service: http_status:404'");
    bad("  - service: http_status:404\n  - hostname: a.test\n    service: http_status:200\n",
        "gw.yaml:2: 'ingress[0]' matches every request: the rules after it are unreachable "
        "(only the last rule may omit hostname and path)");
    bad("  - service: http://app.lab.test:8000\n",
        "gw.yaml:2: 'ingress[0].service': 'http://app.lab.test:8000': the origin must be a "
        "numeric IP address (no host names)");
    bad("  - service: 'http://2001:db8:51::10:8000'\n",
        "gw.yaml:2: 'ingress[0].service': 'http://2001:db8:51::10:8000': an IPv6 address needs "
        "brackets, e.g. http://[2001:db8::10]:8000");
    bad("  - service: 'https://[fe80::1%25eth0]:8443'\n",
        "gw.yaml:2: 'ingress[0].service': 'https://[fe80::1%25eth0]:8443': IPv6 zone ids ('%') "
        "are not supported");
    bad("  - service: ftp://198.51.100.10\n",
        "gw.yaml:2: 'ingress[0].service': 'ftp://198.51.100.10' must be http://IP[:PORT], "
        "https://IP[:PORT] (IPv6: [IP]) or http_status:CODE");
    bad("  - service: http://198.51.100.10:8000/app\n",
        "gw.yaml:2: 'ingress[0].service': 'http://198.51.100.10:8000/app': give an address (and "
        "port) but no path");
    bad("  - service: http_status:99\n",
        "gw.yaml:2: 'ingress[0].service': 'http_status:99': status must be 100..599");
    bad("  - service: http_status:abc\n",
        "gw.yaml:2: 'ingress[0].service': 'http_status:abc': status must be 100..599");
    bad("  - hostname: 'a b.test'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].hostname': 'a b.test' is not a host name (DNS labels, optionally "
        "'*.' first)");
    bad("  - hostname: 'a.*.test'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].hostname': 'a.*.test' is not a host name (DNS labels, optionally "
        "'*.' first)");
    bad("  - path: api\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path': 'api' must start with '/'");
    bad("  - path: /a?b\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path': '/a?b': a path prefix has no query ('?')");
    bad("  - path: /a%zz\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path': '/a%zz' is not a valid path (a '%' without two hex "
        "digits, \"%00\", '#', or a dot segment next to \"%2F\")");
    bad("  - path: /a\n    path-regex: ^/a\n    service: http_status:404\n",
        "gw.yaml:3: 'path' and 'path-regex' are mutually exclusive");
    bad("  - path-regex: '^/(a'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': invalid regular expression '^/(a': Unmatched ( or "
        "\\(");
    bad("  - hostname: a.test\n", "gw.yaml:2: missing required key 'service' in 'ingress[0]'");
    /* nested bounds: regcomp would take over a gigabyte and seconds */
    bad("  - path-regex: '((a{1,100}){1,100}){1,100}'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 bytes, "
        "and its length times its repetition bounds {m,n} at most 16384)");
    bad("  - path-regex: 'a{1,32767}'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 bytes, "
        "and its length times its repetition bounds {m,n} at most 16384)");
    bad("  - service: http_status:404\n    origin:\n      connect-timeout: 5\n",
        "gw.yaml:3: 'ingress[0].origin': an http_status service has no origin options");
    bad("  - service: http://198.51.100.10\n    origin:\n      no-tls-verify: true\n",
        "gw.yaml:3: 'ingress[0].origin': no-tls-verify, ca-file and server-name need an https:// "
        "service");
    bad("  - service: http://198.51.100.10\n    origin:\n      keep-alive-connections: 2000\n",
        "gw.yaml:4: 'ingress[0].origin.keep-alive-connections' is 2000, must be between 0 and "
        "1024");
    bad("  - service: http://198.51.100.10\n    origin:\n      retries: 3\n",
        "gw.yaml:4: unknown key 'retries' in 'ingress[0].origin'");
    bad("  - service: http://198.51.100.10\n    host: x\n",
        "gw.yaml:3: unknown key 'host' in 'ingress[0]'");
    bad("  []\n", "gw.yaml:2: 'ingress' needs at least 1 item");
    bad("  - service: http://198.51.100.10\n    origin:\n      response-timeout: 0\n",
        "gw.yaml:4: 'ingress[0].origin.response-timeout' is 0, must be between 1 and 3600");
    bad("  - service: http://198.51.100.10\n    origin:\n      max-connecting: 0\n",
        "gw.yaml:4: 'ingress[0].origin.max-connecting' is 0, must be between 1 and 1024");
    bad("  - service: http://198.51.100.10\n    origin:\n      max-connecting: 1025\n",
        "gw.yaml:4: 'ingress[0].origin.max-connecting' is 1025, must be between 1 and 1024");
    bad("  - service: http://198.51.100.10\n    origin:\n      max-queued: -1\n",
        "gw.yaml:4: 'ingress[0].origin.max-queued' is -1, must be between 0 and 100000");
    bad("  - service: http://198.51.100.10\n    origin:\n      max-queued: 100001\n",
        "gw.yaml:4: 'ingress[0].origin.max-queued' is 100001, must be between 0 and 100000");
    bad("  - service: http_status:404\n    origin:\n      max-queued: 5\n",
        "gw.yaml:3: 'ingress[0].origin': an http_status service has no origin options");
}
END_TEST

/* max-connecting and max-queued: set per rule (0 queued: none wait), defaults otherwise. */
START_TEST(test_admission_options)
{
    struct gw_ingress in;

    ck_assert_msg(parse("  - hostname: a.lab.test\n    service: http://198.51.100.10\n"
                        "    origin: {max-connecting: 1, max-queued: 0}\n"
                        "  - hostname: b.lab.test\n    service: https://198.51.100.10\n"
                        "    origin: {max-connecting: 1024, max-queued: 100000}\n"
                        "  - service: http://198.51.100.11\n"
                        "    origin: {keep-alive-connections: 0}\n",
                        &in) == 0,
                  "%s", err);
    ck_assert_int_eq(in.rules[0].max_connecting, 1);
    ck_assert_int_eq(in.rules[0].max_queued, 0);
    ck_assert_int_eq(in.rules[1].max_connecting, 1024);
    ck_assert_int_eq(in.rules[1].max_queued, 100000);
    ck_assert_int_eq(in.rules[2].max_connecting, GW_INGRESS_MAX_CONNECTING);
    ck_assert_int_eq(in.rules[2].max_queued, GW_INGRESS_MAX_QUEUED);
    gw_ingress_fini(&in);
}
END_TEST

/* Found by fuzz_gw_ingress: nested {m,n} bounds made regcomp take gigabytes; ordinary bounds
 * and escaped braces still load. */
START_TEST(test_regex_cost)
{
    struct gw_ingress in;

    ck_assert_int_eq(parse("  - path-regex: '^/api/v[0-9]{1,3}/[0-9a-f]{32}$'\n"
                           "    service: http_status:404\n  - service: http_status:404\n",
                           &in),
                     0);
    char norm[128];
    const struct gw_ingress_rule *r = NULL;
    ck_assert_int_eq(gw_ingress_match(&in, "a.test", "/api/v12/0123456789abcdef0123456789abcdef",
                                      norm, sizeof(norm), &r),
                     0);
    ck_assert_ptr_eq(r, &in.rules[0]);
    gw_ingress_fini(&in);
    ck_assert_int_eq(parse("  - path-regex: '^/x\\{100000\\}'\n"
                           "    service: http_status:404\n  - service: http_status:404\n",
                           &in),
                     0);
    gw_ingress_fini(&in);
    bad("  - path-regex: '(ab{1,20}){1,20}(cd){1,50}'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 bytes, "
        "and its length times its repetition bounds {m,n} at most 16384)");
    /* also found by fuzz_gw_ingress: '+' on a repetition or a group doubles what regcomp
     * copies, "p+++..." (100 of them) took over a gigabyte */
    char text[512], plus[101];
    memset(plus, '+', 100);
    plus[100] = 0;
    snprintf(text, sizeof(text), "  - path-regex: '^/ap%s'\n    service: http_status:404\n", plus);
    bad(text, "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 "
              "bytes, and its length times its repetition bounds {m,n} at most 16384)");
    bad("  - path-regex: '((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+'\n"
        "    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 bytes, "
        "and its length times its repetition bounds {m,n} at most 16384)");
    /* stacked repetition operators: "^/+++++*+++++x" kept glibc's regcomp busy 14 s
     * (fuzz_gw_ingress); refused whatever the count, and bracket contents are no operators */
    bad("  - path-regex: '^/+++++*+++++app'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 bytes, "
        "and its length times its repetition bounds {m,n} at most 16384)");
    bad("  - path-regex: '^/a+*'\n    service: http_status:404\n",
        "gw.yaml:2: 'ingress[0].path-regex': regular expression too large (at most 1024 bytes, "
        "and its length times its repetition bounds {m,n} at most 16384)");
    ck_assert_int_eq(parse("  - path-regex: '^/[+*?]+/[]+*]*/[[:alpha:]*+]+$'\n"
                           "    service: http_status:404\n  - service: http_status:404\n",
                           &in),
                     0);
    gw_ingress_fini(&in);
    ck_assert_int_eq(parse("  - path-regex: '^/a+/b+/c+/d+/e+/f+/g+/h+/(ab)+/(cd)+$'\n"
                           "    service: http_status:404\n  - service: http_status:404\n",
                           &in),
                     0);
    gw_ingress_fini(&in);
}
END_TEST

START_TEST(test_timeouts_and_name_limit)
{
    struct gw_ingress in;
    char body[8192];
    size_t len = 0;

    ck_assert_msg(
        parse("  - service: http://198.51.100.10\n    origin:\n      response-timeout: 7\n", &in) ==
            0,
        "%s", err);
    ck_assert_int_eq(in.rules[0].response_timeout_ms, 7000);
    gw_ingress_fini(&in);
    ck_assert_msg(parse("  - service: http://198.51.100.10\n", &in) == 0, "%s", err);
    ck_assert_int_eq(in.rules[0].response_timeout_ms, 100000); /* default */
    gw_ingress_fini(&in);

    /* REGISTER carries at most 32 host names: a 33rd distinct one is refused (repeats are
     * fine) */
    for (int i = 0; i < 32; i++)
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "  - hostname: h%d.lab.test\n    service: http_status:404\n"
                                "  - hostname: h%d.lab.test\n    path: /x\n"
                                "    service: http_status:410\n",
                                i, i);
    snprintf(body + len, sizeof(body) - len, "  - service: http_status:404\n");
    ck_assert_msg(parse(body, &in) == 0, "%s", err);
    ck_assert_uint_eq(in.n_rules, 65);
    gw_ingress_fini(&in);
    snprintf(body + len, sizeof(body) - len,
             "  - hostname: one-more.lab.test\n    service: http_status:404\n"
             "  - service: http_status:404\n");
    bad(body, "gw.yaml:162: 'ingress[64]': more than 32 distinct host names (the edge accepts 32)");
}
END_TEST

static Suite *ingress_suite(void)
{
    Suite *s = suite_create("gw_ingress");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_parse_lab);
    tcase_add_test(tc, test_parse_ipv6_origins);
    tcase_add_test(tc, test_match);
    tcase_add_test(tc, test_match_normalised);
    tcase_add_test(tc, test_match_refused);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_regex_cost);
    tcase_add_test(tc, test_timeouts_and_name_limit);
    tcase_add_test(tc, test_admission_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ingress_suite());
}
