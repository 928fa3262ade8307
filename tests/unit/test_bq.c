#include "st_check.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st_bq.h"

START_TEST(append_peek_consume_across_chunks)
{
    struct st_bq q;
    st_bq_init(&q, 3 * ST_BQ_CHUNK);
    size_t n = 2 * ST_BQ_CHUNK + 100;
    uint8_t *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(st_bq_append(&q, in, n), 0);
    ck_assert_uint_eq(q.len, n);
    const uint8_t *p;
    ck_assert_uint_eq(st_bq_peek(&q, 0, &p), ST_BQ_CHUNK);
    ck_assert_uint_eq(st_bq_peek(&q, ST_BQ_CHUNK + 5, &p), ST_BQ_CHUNK - 5);
    ck_assert_int_eq(p[0], in[ST_BQ_CHUNK + 5]);
    ck_assert_uint_eq(st_bq_peek(&q, n, &p), 0);
    uint8_t *out = malloc(n);
    ck_assert_uint_eq(st_bq_copy(&q, out, n), n);
    ck_assert_int_eq(memcmp(in, out, n), 0);
    st_bq_consume(&q, ST_BQ_CHUNK + 1);
    ck_assert_uint_eq(q.len, n - ST_BQ_CHUNK - 1);
    ck_assert_uint_eq(st_bq_copy(&q, out, 10), 10);
    ck_assert_int_eq(memcmp(out, in + ST_BQ_CHUNK + 1, 10), 0);
    st_bq_consume(&q, q.len);
    ck_assert_uint_eq(q.len, 0);
    ck_assert_ptr_null(q.head); /* memory released as soon as it is consumed */
    st_bq_fini(&q);
    free(in);
    free(out);
}
END_TEST

START_TEST(limit_is_enforced)
{
    struct st_bq q;
    st_bq_init(&q, 1000);
    uint8_t buf[600] = {0};
    ck_assert_int_eq(st_bq_append(&q, buf, 600), 0);
    ck_assert_uint_eq(st_bq_room(&q), 400);
    ck_assert_int_eq(st_bq_append(&q, buf, 401), -ENOBUFS);
    ck_assert_uint_eq(q.len, 600);
    ck_assert_int_eq(st_bq_append(&q, buf, 400), 0);
    ck_assert_uint_eq(st_bq_room(&q), 0);
    st_bq_fini(&q);
    ck_assert_uint_eq(q.len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_peek_consume_across_chunks);
    tcase_add_test(tc, limit_is_enforced);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
