#include "st_b64url.h"

#include "st_check.h"
#include <errno.h>
#include <string.h>

START_TEST(test_vectors)
{
    /* RFC 4648 10 test vectors, in the url alphabet without padding */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[16];
    uint8_t dec[16];

    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);

        ck_assert_int_eq(st_b64url_encode(plain[i], n, out, sizeof(out)), (int)strlen(enc[i]));
        ck_assert_str_eq(out, enc[i]);
        ck_assert_uint_eq(ST_B64URL_ENC_LEN(n), strlen(enc[i]));
        ck_assert_int_eq(st_b64url_decode(enc[i], strlen(enc[i]), dec, sizeof(dec)), (int)n);
        ck_assert(memcmp(dec, plain[i], n) == 0);
    }
    /* the two url characters */
    static const uint8_t fb[] = {0xfb, 0xff};
    ck_assert_int_eq(st_b64url_encode(fb, 2, out, sizeof(out)), 3);
    ck_assert_str_eq(out, "-_8");
    ck_assert_int_eq(st_b64url_decode("-_8", 3, dec, sizeof(dec)), 2);
    ck_assert(memcmp(dec, fb, 2) == 0);
}
END_TEST

START_TEST(test_roundtrip)
{
    uint8_t in[64], dec[64];
    char enc[100];

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(in); n++) {
        int e = st_b64url_encode(in, n, enc, sizeof(enc));

        ck_assert_int_eq(e, (int)ST_B64URL_ENC_LEN(n));
        ck_assert_int_eq(st_b64url_decode(enc, (size_t)e, dec, sizeof(dec)), (int)n);
        ck_assert(memcmp(in, dec, n) == 0);
        ck_assert_uint_ge(ST_B64URL_DEC_MAX((size_t)e), n);
    }
}
END_TEST

START_TEST(test_refused)
{
    static const char *const bad[] = {"Zg==",  "Zm8=", "a+b_", "a/b-", "Zm9v\n", "Z",
                                      "Zm9vY", " Zm8", "Zh",   "Zm9",  "Zm\x80", "Zm\0v"};
    static const size_t badlen[] = {4, 4, 4, 4, 5, 1, 5, 4, 2, 3, 3, 4};
    uint8_t dec[16];
    char out[4];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(st_b64url_decode(bad[i], badlen[i], dec, sizeof(dec)) == -EINVAL,
                      "accepted #%zu", i);
    /* "Zh", "Zm9": non-zero unused bits (the canonical forms are "Zg", "Zm8") */
    ck_assert_int_eq(st_b64url_decode("Zm9vYmFy", 8, dec, 5), -ENOSPC);
    ck_assert_int_eq(st_b64url_decode("Zm9vYmE", 7, dec, 5), 5);
    ck_assert_int_eq(st_b64url_encode("foo", 3, out, 4), -ENOSPC);
    ck_assert_int_eq(st_b64url_encode("fo", 2, out, 4), 3);
}
END_TEST

static Suite *b64url_suite(void)
{
    Suite *s = suite_create("b64url");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(b64url_suite());
}
