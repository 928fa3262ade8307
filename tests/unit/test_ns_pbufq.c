/* ns_pbufq: O(1) FIFO of received pbufs. */
#include "ns_pbufq.h"

#include "ns_stack.h"
#include "st_check.h"
#include <string.h>

/* A chain of `parts` pbufs of `each` bytes holding bytes start, start+1, ... */
static struct pbuf *chain(unsigned start, int parts, u16_t each)
{
    struct pbuf *head = NULL;
    for (int i = 0; i < parts; i++) {
        struct pbuf *p = pbuf_alloc(PBUF_RAW, each, PBUF_RAM);
        ck_assert_ptr_nonnull(p);
        for (u16_t k = 0; k < each; k++)
            ((uint8_t *)p->payload)[k] = (uint8_t)(start + (unsigned)i * each + k);
        if (head)
            pbuf_cat(head, p);
        else
            head = p;
    }
    return head;
}

START_TEST(test_fifo)
{
    ns_stack_init();
    struct ns_pbufq q = {0};
    uint8_t out[4096];
    ck_assert_uint_eq(ns_pbufq_copy(&q, out, sizeof(out)), 0);
    ns_pbufq_drop(&q, 10); /* empty: nothing happens */
    unsigned next = 0;
    for (int i = 0; i < 700; i++) { /* a 1 MiB window of segments, some chained */
        int parts = i % 3 + 1;
        ns_pbufq_push(&q, chain(next, parts, 500));
        next += (unsigned)parts * 500;
    }
    ns_pbufq_push(&q, NULL);
    ck_assert_uint_eq(q.bytes, next);
    unsigned seen = 0;
    for (size_t step = 1; q.bytes; step = step * 7 % 3001 + 1) {
        size_t n = ns_pbufq_copy(&q, out, step);
        ck_assert_uint_eq(n, step < q.bytes ? step : q.bytes);
        for (size_t k = 0; k < n; k++)
            ck_assert_uint_eq(out[k], (uint8_t)(seen + k));
        ns_pbufq_drop(&q, n);
        seen += (unsigned)n;
    }
    ck_assert_uint_eq(seen, next);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    /* push after emptying, drop more than held, clear */
    ns_pbufq_push(&q, chain(7, 2, 100));
    ck_assert_uint_eq(ns_pbufq_copy(&q, out, 3), 3);
    ck_assert_uint_eq(out[0], 7);
    ns_pbufq_drop(&q, 150);
    ck_assert_uint_eq(q.bytes, 50);
    ck_assert_uint_eq(ns_pbufq_copy(&q, out, sizeof(out)), 50);
    ck_assert_uint_eq(out[0], (uint8_t)(7 + 150));
    ns_pbufq_push(&q, chain(0, 1, 10));
    ns_pbufq_drop(&q, 1000);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_ptr_null(q.head);
    ns_pbufq_push(&q, chain(0, 3, 10));
    ns_pbufq_clear(&q);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ns_pbufq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fifo);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
