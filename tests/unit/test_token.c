#include "st_token.h"

#include "st_check.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_split)
{
    char id[64], secret[256];

    ck_assert_int_eq(
        st_token_split("site-1.a_b:0123456789abcdef", id, sizeof(id), secret, sizeof(secret)), 0);
    ck_assert_str_eq(id, "site-1.a_b");
    ck_assert_str_eq(secret, "0123456789abcdef");
    /* the secret may itself contain ':' */
    ck_assert_int_eq(st_token_split("x:abc:defghijklmnop!", id, sizeof(id), secret, sizeof(secret)),
                     0);
    ck_assert_str_eq(id, "x");
    ck_assert_str_eq(secret, "abc:defghijklmnop!");
}
END_TEST

START_TEST(test_split_errors)
{
    static const char *const bad[] = {
        "nocolon0123456789abcdef",
        ":0123456789abcdef",
        "site 1:0123456789abcdef",
        "site/1:0123456789abcdef",
        "site:0123456789abcde",
        "site:0123456789 abcdef",
        "site:0123456789abcde\x01",
        "site:0123456789abcd\xc3\xa9",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:0123456789abcdef",
    };
    char id[64], secret[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(st_token_split(bad[i], id, sizeof(id), secret, sizeof(secret)) == -EINVAL,
                      "accepted '%s'", bad[i]);
    /* 63-char id is fine; output buffers too small are not */
    ck_assert_int_eq(
        st_token_split("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:"
                       "0123456789abcdef",
                       id, sizeof(id), secret, sizeof(secret)),
        0);
    ck_assert_int_eq(st_token_split("ab:0123456789abcdef", id, 2, secret, sizeof(secret)), -EINVAL);
    ck_assert_int_eq(st_token_split("ab:0123456789abcdef", id, 3, secret, 16), -EINVAL);
    ck_assert(st_token_id_valid("a.b-c_D9"));
    ck_assert(!st_token_id_valid(""));
    ck_assert(!st_token_id_valid("a:b"));
}
END_TEST

START_TEST(test_sha256_hex)
{
    /* SHA-256("abc"), FIPS 180-2 example */
    static const char hex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t h[32], d[32];

    st_sha256("abc", 3, h);
    ck_assert_int_eq(st_hex_decode32(hex, d), 0);
    ck_assert_mem_eq(h, d, 32);
    ck_assert_uint_eq(d[0], 0xba);
    ck_assert_uint_eq(d[31], 0xad);
    ck_assert(st_hash_equal(h, d));
    d[17] ^= 1;
    ck_assert(!st_hash_equal(h, d));

    ck_assert_int_eq(
        st_hex_decode32("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", d), 0);
    ck_assert_mem_eq(h, d, 32);
    ck_assert_int_eq(st_hex_decode32("ba7816", d), -EINVAL);
    ck_assert_int_eq(
        st_hex_decode32("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", d),
        -EINVAL);
    ck_assert_int_eq(
        st_hex_decode32("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", d),
        -EINVAL);
}
END_TEST

START_TEST(test_secret_matches)
{
    uint8_t h[32];

    st_sha256("0123456789abcdef", 16, h);
    ck_assert(st_secret_matches("0123456789abcdef", h));
    ck_assert(!st_secret_matches("0123456789abcdeF", h));
    ck_assert(!st_secret_matches("", h));
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_split_errors);
    tcase_add_test(tc, test_sha256_hex);
    tcase_add_test(tc, test_secret_matches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(token_suite());
}
