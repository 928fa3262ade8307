#include "st_capsule.h"
#include "st_ctrl.h"

#include "st_check.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[32768];

/* Parses the whole capsule in buf[0..n) and checks its type. */
static struct st_capsule parse_whole(int n, uint64_t type)
{
    struct st_capsule cap;

    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(st_capsule_parse(buf, (size_t)n, sizeof(buf), &cap), n);
    ck_assert_uint_eq(cap.type, type);
    return cap;
}

START_TEST(test_register_round_trip)
{
    static struct st_ctrl_register in, out;
    struct st_capsule cap;

    memset(&in, 0, sizeof(in));
    strcpy(in.token, "site-1:0123456789abcdefXYZ");
    in.conn_index = 3;
    in.prev_attempts = 70000;
    strcpy(in.version, "0.1.0");
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &in.routes[0]), 0);
    ck_assert_int_eq(st_cidr_parse("2001:db8:1::/48", &in.routes[1]), 0);
    in.n_routes = 2;
    strcpy(in.hostnames[0], "app.lab.test");
    strcpy(in.hostnames[1], "ws.lab.test");
    in.n_hostnames = 2;

    cap = parse_whole(st_ctrl_encode_register(&in, buf, sizeof(buf)), ST_CAP_REGISTER);
    ck_assert_int_eq(st_ctrl_decode_register(cap.value, cap.len, &out), 0);
    ck_assert_str_eq(out.token, in.token);
    ck_assert_uint_eq(out.conn_index, 3);
    ck_assert_uint_eq(out.prev_attempts, 70000);
    ck_assert_str_eq(out.version, "0.1.0");
    ck_assert_uint_eq(out.n_routes, 2);
    ck_assert_mem_eq(&out.routes[0], &in.routes[0], sizeof(struct st_cidr));
    ck_assert_mem_eq(&out.routes[1], &in.routes[1], sizeof(struct st_cidr));
    ck_assert_uint_eq(out.n_hostnames, 2);
    ck_assert_str_eq(out.hostnames[1], "ws.lab.test");
}
END_TEST

START_TEST(test_register_full_fits)
{
    static struct st_ctrl_register in, out;
    struct st_capsule cap;
    char text[64];

    memset(&in, 0, sizeof(in));
    memset(in.token, 'a', sizeof(in.token) - 1);
    for (size_t i = 0; i < ST_CTRL_MAX_ROUTES; i++) {
        snprintf(text, sizeof(text), "2001:db8:%zx::/48", i);
        ck_assert_int_eq(st_cidr_parse(text, &in.routes[i]), 0);
    }
    in.n_routes = ST_CTRL_MAX_ROUTES;
    for (size_t i = 0; i < ST_CTRL_MAX_HOSTNAMES; i++)
        memset(in.hostnames[i], 'h', sizeof(in.hostnames[i]) - 1);
    in.n_hostnames = ST_CTRL_MAX_HOSTNAMES;
    cap = parse_whole(st_ctrl_encode_register(&in, buf, sizeof(buf)), ST_CAP_REGISTER);
    ck_assert_int_eq(st_ctrl_decode_register(cap.value, cap.len, &out), 0);
    ck_assert_uint_eq(out.n_routes, ST_CTRL_MAX_ROUTES);
    ck_assert_uint_eq(out.n_hostnames, ST_CTRL_MAX_HOSTNAMES);
    ck_assert_uint_eq(strlen(out.token), sizeof(out.token) - 1);
    ck_assert_uint_eq(strlen(out.hostnames[31]), 253);
}
END_TEST

START_TEST(test_registered_error_routes_unregister)
{
    struct st_ctrl_registered rin = {.conn_id = "c-42", .location = "edge-1"}, rout;
    struct st_ctrl_error ein = {.cause = "unknown tunnel", .retry_after_s = 30, .retry = true};
    struct st_ctrl_error eout;
    struct st_ctrl_routes oin = {.n_routes = 1}, oout;
    struct st_capsule cap;

    cap = parse_whole(st_ctrl_encode_registered(&rin, buf, sizeof(buf)), ST_CAP_REGISTERED);
    ck_assert_int_eq(st_ctrl_decode_registered(cap.value, cap.len, &rout), 0);
    ck_assert_str_eq(rout.conn_id, "c-42");
    ck_assert_str_eq(rout.location, "edge-1");
    ck_assert(!rout.fleet);
    rin.fleet = true;
    cap = parse_whole(st_ctrl_encode_registered(&rin, buf, sizeof(buf)), ST_CAP_REGISTERED);
    ck_assert_int_eq(st_ctrl_decode_registered(cap.value, cap.len, &rout), 0);
    ck_assert(rout.fleet);
    ck_assert_str_eq(rout.conn_id, "c-42");
    {
        /* fleet: a varint 0 or 1 only, once */
        static const uint8_t two[] = {3, 1, 2}, dup[] = {3, 1, 1, 3, 1, 1}, zero[] = {3, 1, 0};
        ck_assert_int_eq(st_ctrl_decode_registered(two, sizeof(two), &rout), -EBADMSG);
        ck_assert_int_eq(st_ctrl_decode_registered(dup, sizeof(dup), &rout), -EBADMSG);
        ck_assert_int_eq(st_ctrl_decode_registered(zero, sizeof(zero), &rout), 0);
        ck_assert(!rout.fleet);
    }

    cap = parse_whole(st_ctrl_encode_error(&ein, buf, sizeof(buf)), ST_CAP_ERROR);
    ck_assert_int_eq(st_ctrl_decode_error(cap.value, cap.len, &eout), 0);
    ck_assert_str_eq(eout.cause, "unknown tunnel");
    ck_assert_uint_eq(eout.retry_after_s, 30);
    ck_assert(eout.retry);
    ein.retry = false;
    cap = parse_whole(st_ctrl_encode_error(&ein, buf, sizeof(buf)), ST_CAP_ERROR);
    ck_assert_int_eq(st_ctrl_decode_error(cap.value, cap.len, &eout), 0);
    ck_assert(!eout.retry);

    ck_assert_int_eq(st_cidr_parse("203.0.113.0/24", &oin.routes[0]), 0);
    cap = parse_whole(st_ctrl_encode_routes(&oin, buf, sizeof(buf)), ST_CAP_ROUTES);
    ck_assert_int_eq(st_ctrl_decode_routes(cap.value, cap.len, &oout), 0);
    ck_assert_uint_eq(oout.n_routes, 1);
    ck_assert_uint_eq(oout.routes[0].prefix, 24);
    ck_assert_mem_eq(oout.routes[0].addr, oin.routes[0].addr, 4);

    cap = parse_whole(st_ctrl_encode_unregister(buf, sizeof(buf)), ST_CAP_UNREGISTER);
    ck_assert_uint_eq(cap.len, 0);
}
END_TEST

START_TEST(test_encode_nospace)
{
    struct st_ctrl_registered rin = {.conn_id = "c-42", .location = "edge-1"};
    int n = st_ctrl_encode_registered(&rin, buf, sizeof(buf));

    ck_assert_int_gt(n, 0);
    for (int cap = 0; cap < n; cap++)
        ck_assert_int_eq(st_ctrl_encode_registered(&rin, buf, (size_t)cap), -ENOSPC);
    ck_assert_int_eq(st_ctrl_encode_registered(&rin, buf, (size_t)n), n);
    ck_assert_int_eq(st_ctrl_encode_unregister(buf, 8), -ENOSPC);
}
END_TEST

START_TEST(test_register_missing_token)
{
    static struct st_ctrl_register m;
    uint8_t v[32];
    size_t off = 0;

    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 4, "0.1", 3), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -EBADMSG);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "t:0123456789abcdef", 18), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), 0);
    ck_assert_str_eq(m.version, "0.1");
}
END_TEST

/* Found by fuzz_ctrl: an empty token or hostname decoded, but the encoder leaves empty
 * strings out, so the message did not survive encode + decode (and "" is no token). */
START_TEST(test_register_empty_token_or_hostname)
{
    static struct st_ctrl_register m;
    uint8_t v[64];
    size_t off = 0;

    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "", 0), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -EBADMSG);
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "t:0123456789abcdef", 18), 0);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 6, "", 0), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -EBADMSG);
}
END_TEST

START_TEST(test_malformed)
{
    static struct st_ctrl_register m;
    struct st_ctrl_error e;
    struct st_ctrl_routes r;
    uint8_t v[64];
    size_t off = 0;

    /* truncated field */
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "abcdef", 6), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off - 1, &m), -EBADMSG);
    /* string with NUL, string with control char */
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "ab\0cd", 5), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -EBADMSG);
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "ab\ncd", 5), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -EBADMSG);
    /* bad CIDR (host bits) */
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 5, "198.51.100.1/24", 15), 0);
    ck_assert_int_eq(st_ctrl_decode_routes(v, off, &r), -EBADMSG);
    /* varint field with trailing byte, retry not 0/1 */
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 2, "\x05\x00", 2), 0);
    ck_assert_int_eq(st_ctrl_decode_error(v, off, &e), -EBADMSG);
    off = 0;
    ck_assert_int_eq(st_tlv_put_varint(v, sizeof(v), &off, 3, 2), 0);
    ck_assert_int_eq(st_ctrl_decode_error(v, off, &e), -EBADMSG);
    /* repeated single field */
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "x", 1), 0);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "y", 1), 0);
    ck_assert_int_eq(st_ctrl_decode_error(v, off, &e), -EBADMSG);
    ck_assert_str_eq(st_ctrl_strerror(-EBADMSG), "malformed control message");
}
END_TEST

START_TEST(test_too_big)
{
    static struct st_ctrl_register m;
    struct st_ctrl_registered rd;
    struct st_ctrl_routes r;
    static uint8_t v[8192];
    char longstr[80];
    size_t off = 0;

    for (int i = 0; i <= ST_CTRL_MAX_ROUTES; i++)
        ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 5, "192.0.2.0/24", 12), 0);
    ck_assert_int_eq(st_ctrl_decode_routes(v, off, &r), -E2BIG);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "t:0123456789abcdef", 18), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -E2BIG);

    off = 0;
    for (int i = 0; i <= ST_CTRL_MAX_HOSTNAMES; i++)
        ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 6, "a.test", 6), 0);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, "t:0123456789abcdef", 18), 0);
    ck_assert_int_eq(st_ctrl_decode_register(v, off, &m), -E2BIG);

    off = 0;
    memset(longstr, 'x', 64);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, longstr, 64), 0);
    ck_assert_int_eq(st_ctrl_decode_registered(v, off, &rd), -E2BIG);
    off = 0;
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1, longstr, 63), 0);
    ck_assert_int_eq(st_ctrl_decode_registered(v, off, &rd), 0);
    ck_assert_uint_eq(strlen(rd.conn_id), 63);

    r.n_routes = ST_CTRL_MAX_ROUTES + 1;
    ck_assert_int_eq(st_ctrl_encode_routes(&r, buf, sizeof(buf)), -E2BIG);
}
END_TEST

START_TEST(test_unknown_fields_skipped)
{
    struct st_ctrl_registered rd;
    uint8_t v[64];
    size_t off = 0;

    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 99, "\x01\x02", 2), 0);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 2, "edge-2", 6), 0);
    ck_assert_int_eq(st_tlv_put(v, sizeof(v), &off, 1000000, "", 0), 0);
    ck_assert_int_eq(st_ctrl_decode_registered(v, off, &rd), 0);
    ck_assert_str_eq(rd.location, "edge-2");
    ck_assert_str_eq(rd.conn_id, "");
}
END_TEST

static Suite *ctrl_suite(void)
{
    Suite *s = suite_create("ctrl");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_register_round_trip);
    tcase_add_test(tc, test_register_full_fits);
    tcase_add_test(tc, test_registered_error_routes_unregister);
    tcase_add_test(tc, test_encode_nospace);
    tcase_add_test(tc, test_register_missing_token);
    tcase_add_test(tc, test_register_empty_token_or_hostname);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_too_big);
    tcase_add_test(tc, test_unknown_fields_skipped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ctrl_suite());
}
