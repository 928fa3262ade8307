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
    uint8_t pattern[sizeof(out) + 256]; /* pattern + s % 256: bytes s, s+1, ... (mod 256) */
    for (size_t k = 0; k < sizeof(pattern); k++)
        pattern[k] = (uint8_t)k;
    unsigned seen = 0;
    for (size_t step = 1; q.bytes; step = step * 7 % 3001 + 1) {
        size_t n = ns_pbufq_copy(&q, out, step);
        ck_assert_uint_eq(n, step < q.bytes ? step : q.bytes);
        /* one check per copy: a ck_assert per byte (a million, each a message to the
         * parent process) took over Check's 4 s per test under ASan on a busy machine */
        ck_assert_msg(memcmp(out, pattern + seen % 256, n) == 0, "bytes %u..%zu differ", seen,
                      seen + n);
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

/* ns_pbufq_run: the head pbuf's payload is offered for in-place prefixing only with enough
 * of the pbuf's own memory before it (the headers lwIP stripped) and no other reference. */
START_TEST(test_run_headroom)
{
    ns_stack_init();
    struct ns_pbufq q = {0};
    uint8_t *p;
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 9), 0); /* empty */
    ck_assert_ptr_null(p);
    struct pbuf *seg = chain(0, 1, 1500);
    ns_pbufq_push(&q, seg);
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 9), 0);    /* payload at the pbuf's first byte */
    ck_assert_int_eq(pbuf_remove_header(seg, 40), 0); /* as tcp_input leaves a segment */
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 41), 0);   /* only 40 bytes before it */
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 9), 1460);
    ck_assert_ptr_eq(p, seg->payload);
    memset(p - 9, 0xee, 9); /* the stripped headers: the payload and the queue are intact */
    q.bytes -= 40;
    uint8_t out[8];
    ck_assert_uint_eq(ns_pbufq_copy(&q, out, 1), 1);
    ck_assert_uint_eq(out[0], 40);
    pbuf_ref(seg); /* someone else holds it: not to be written */
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 9), 0);
    pbuf_free(seg);
    ns_pbufq_drop(&q, 1000); /* a partial drop moves the payload on: more room before it */
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 1000), 460);
    ck_assert_uint_eq(p[0], (uint8_t)1040);
    ns_pbufq_clear(&q);
    struct pbuf *ref = pbuf_alloc(PBUF_RAW, 100, PBUF_REF); /* memory not its own */
    ck_assert_ptr_nonnull(ref);
    ref->payload = out;
    ns_pbufq_push(&q, ref);
    ck_assert_uint_eq(ns_pbufq_run(&q, &p, 0), 0);
    ns_pbufq_clear(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ns_pbufq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_run_headroom);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
