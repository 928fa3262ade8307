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

/* A random mix of appends, consumes and peeks (forward like lwIP's send window, and back
 * to the head) checked byte for byte against a flat model of the stream; the peek
 * cursor must follow chunks being freed and the queue running empty. */
START_TEST(peek_cursor_matches_model)
{
    enum { CAP = 5 * ST_BQ_CHUNK + 777 };
    static uint8_t model[1 << 23];
    struct st_bq q;
    size_t head = 0, tail = 0, inflight = 0;
    uint32_t seed = 12345;
    uint8_t buf[3 * ST_BQ_CHUNK];
    st_bq_init(&q, CAP);
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8, op = r % 4;
        if (op == 0 && tail - head < CAP && tail + sizeof(buf) < sizeof(model)) {
            size_t n = r % sizeof(buf) % (CAP - (tail - head)) + 1;
            for (size_t i = 0; i < n; i++)
                buf[i] = model[tail + i] = (uint8_t)((tail + i) * 31 + (tail + i) / 251);
            ck_assert_int_eq(st_bq_append(&q, buf, n), 0);
            tail += n;
        } else if (op == 1 && inflight) {
            size_t n = r % inflight + 1; /* acked: at most what was peeked past */
            st_bq_consume(&q, n);
            head += n;
            inflight -= n;
        } else {
            size_t off = op == 2 ? inflight : r % (tail - head + 1);
            const uint8_t *p;
            size_t n = st_bq_peek(&q, off, &p);
            if (head + off == tail) {
                ck_assert_uint_eq(n, 0);
                continue;
            }
            ck_assert_uint_gt(n, 0);
            ck_assert_uint_le(head + off + n, tail);
            ck_assert_int_eq(memcmp(p, model + head + off, n), 0);
            if (op == 2)
                inflight += n;
        }
        ck_assert_uint_eq(q.len, tail - head);
    }
    ck_assert_uint_gt(tail, 4 * CAP); /* the walk went through many chunks */
    st_bq_fini(&q);
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

/* Writing in place (a recv() straight into the queue): the room offered stops at the chunk's
 * end and at the limit, committed bytes read back in order across chunks of a chosen size,
 * and an unused chunk is given back when nothing is queued. */
START_TEST(tail_space_commit)
{
    enum { CHUNK = 1000, LIMIT = 2500 };
    struct st_bq q;
    uint8_t *p, out[LIMIT];
    st_bq_init_chunks(&q, LIMIT, CHUNK);
    ck_assert_uint_eq(st_bq_tail_space(&q, &p), CHUNK);
    ck_assert_ptr_nonnull(q.spare); /* a chunk was allocated for it */
    st_bq_commit(&q, 0);
    ck_assert_ptr_null(q.spare); /* nothing queued: given back */
    size_t total = 0;
    for (int i = 0; i < 10; i++) {
        size_t n = st_bq_tail_space(&q, &p);
        if (!n)
            break;
        ck_assert_uint_le(n, CHUNK - (total % CHUNK));
        size_t k = n > 700 ? 700 : n;
        for (size_t j = 0; j < k; j++)
            p[j] = (uint8_t)(total + j);
        st_bq_commit(&q, k);
        total += k;
    }
    ck_assert_uint_eq(total, LIMIT);
    ck_assert_uint_eq(q.len, LIMIT);
    ck_assert_uint_eq(st_bq_tail_space(&q, &p), 0); /* full */
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(st_bq_copy(&q, out, sizeof(out)), LIMIT);
    for (size_t j = 0; j < LIMIT; j++)
        ck_assert_uint_eq(out[j], (uint8_t)j);
    const uint8_t *r;
    ck_assert_uint_eq(st_bq_peek(&q, 0, &r), CHUNK); /* runs are whole chunks */
    st_bq_consume(&q, CHUNK + 1);
    ck_assert_uint_eq(st_bq_peek(&q, 0, &r), CHUNK - 1);
    ck_assert_uint_eq(r[0], (uint8_t)(CHUNK + 1));
    st_bq_fini(&q);
    /* A fresh chunk's run has 9 writable bytes before it (a frame header goes there): writing
     * them leaves the queue's bookkeeping and bytes alone. */
    st_bq_init_chunks(&q, LIMIT, CHUNK);
    ck_assert_int_eq(st_bq_append(&q, "abcdef", 6), 0);
    ck_assert_uint_eq(st_bq_peek(&q, 0, &r), 6);
    memset((uint8_t *)r - 9, 0xee, 9);
    ck_assert_uint_eq(q.head->start, 0);
    ck_assert_uint_eq(q.head->end, 6);
    ck_assert_uint_eq(st_bq_copy(&q, out, sizeof(out)), 6);
    ck_assert_int_eq(memcmp(out, "abcdef", 6), 0);
    /* 3 bytes consumed: the 9 before the run straddle the headroom and the consumed bytes */
    st_bq_consume(&q, 3);
    ck_assert_uint_eq(st_bq_peek(&q, 0, &r), 3);
    memset((uint8_t *)r - 9, 0xee, 9);
    ck_assert_uint_eq(q.head->start, 3);
    ck_assert_uint_eq(st_bq_copy(&q, out, sizeof(out)), 3);
    ck_assert_int_eq(memcmp(out, "def", 3), 0);
    st_bq_fini(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_peek_consume_across_chunks);
    tcase_add_test(tc, limit_is_enforced);
    tcase_add_test(tc, tail_space_commit);
    tcase_add_test(tc, peek_cursor_matches_model);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
