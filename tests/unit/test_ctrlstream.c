/* Control stream plumbing: capsule reassembly across chunks, limits, the send queue. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "st_capsule.h"
#include "st_check.h"
#include "st_ctrl.h"
#include "st_ctrlstream.h"

static struct st_ctrlstream cs;
static uint64_t seen[8];
static size_t n_seen;

static int collect(void *arg, const struct st_capsule *cap)
{
    (void)arg;
    if (n_seen < 8)
        seen[n_seen] = cap->type;
    n_seen++;
    return 0;
}

START_TEST(capsules_reassembled_across_chunks)
{
    uint8_t buf[256];
    int a = st_ctrl_encode_unregister(buf, sizeof(buf));
    struct st_ctrl_registered ok = {.conn_id = "site1-1", .location = "lab"};
    int b = st_ctrl_encode_registered(&ok, buf + a, sizeof(buf) - (size_t)a);
    ck_assert_int_gt(a, 0);
    ck_assert_int_gt(b, 0);
    st_ctrlstream_reset(&cs);
    n_seen = 0;
    /* one byte at a time: nothing is delivered before a capsule is complete */
    for (int i = 0; i < a + b; i++)
        ck_assert_int_eq(st_ctrlstream_feed(&cs, buf + i, 1, collect, NULL), 0);
    ck_assert_uint_eq(n_seen, 2);
    ck_assert_uint_eq(seen[0], ST_CAP_UNREGISTER);
    ck_assert_uint_eq(seen[1], ST_CAP_REGISTERED);
    ck_assert_uint_eq(cs.in_len, 0);
}
END_TEST

START_TEST(oversized_capsule_is_refused)
{
    uint8_t hdr[16];
    int n = st_capsule_encode_header(hdr, sizeof(hdr), ST_CAP_REGISTER, 1 << 20);
    ck_assert_int_gt(n, 0);
    st_ctrlstream_reset(&cs);
    n_seen = 0;
    ck_assert_int_eq(st_ctrlstream_feed(&cs, hdr, (size_t)n, collect, NULL), -EMSGSIZE);
    ck_assert_uint_eq(n_seen, 0);
    /* more bytes than the buffer holds at once */
    static uint8_t big[40000];
    st_ctrlstream_reset(&cs);
    ck_assert_int_eq(st_ctrlstream_feed(&cs, big, sizeof(big), collect, NULL), -EMSGSIZE);
}
END_TEST

START_TEST(send_queue_defers_and_ends)
{
    uint8_t out[64];
    uint32_t flags = 0;
    st_ctrlstream_reset(&cs);
    ck_assert_int_eq(st_ctrlstream_read(&cs, out, sizeof(out), &flags), NGHTTP2_ERR_DEFERRED);
    ck_assert(cs.deferred);
    ck_assert_int_eq(st_ctrlstream_send(&cs, NULL, (const uint8_t *)"abcdef", 6), 0);
    ck_assert_int_eq(st_ctrlstream_read(&cs, out, 4, &flags), 4);
    ck_assert_int_eq(memcmp(out, "abcd", 4), 0);
    ck_assert_int_eq(st_ctrlstream_read(&cs, out, sizeof(out), &flags), 2);
    ck_assert_int_eq(memcmp(out, "ef", 2), 0);
    cs.closing = true;
    ck_assert_int_eq(st_ctrlstream_read(&cs, out, sizeof(out), &flags), 0);
    ck_assert(flags & NGHTTP2_DATA_FLAG_EOF);
    static uint8_t big[20000];
    ck_assert_int_eq(st_ctrlstream_send(&cs, NULL, big, sizeof(big)), -ENOBUFS);
}
END_TEST

/* An idle control stream holds no buffer: 10,000 idle tunnel connections at the edge. */
START_TEST(buffers_only_while_bytes_wait)
{
    uint8_t buf[64], out[64];
    uint32_t flags = 0;
    int n = st_ctrl_encode_unregister(buf, sizeof(buf));
    struct st_ctrl_registered ok = {.conn_id = "t-1", .location = "lab"};
    int m = st_ctrl_encode_registered(&ok, buf + n, sizeof(buf) - (size_t)n);
    ck_assert_int_gt(n, 0);
    ck_assert_int_gt(m, 0);
    st_ctrlstream_reset(&cs);
    n_seen = 0;
    /* whole capsules are parsed where they arrived: nothing kept */
    ck_assert_int_eq(st_ctrlstream_feed(&cs, buf, (size_t)n, collect, NULL), 0);
    ck_assert_uint_eq(n_seen, 1);
    ck_assert_ptr_null(cs.in);
    /* a capsule and the start of the next: only the start is kept, then released */
    ck_assert_int_eq(st_ctrlstream_feed(&cs, buf, (size_t)n + 2, collect, NULL), 0);
    ck_assert_uint_eq(n_seen, 2);
    ck_assert_ptr_nonnull(cs.in);
    ck_assert_uint_eq(cs.in_len, 2);
    ck_assert_int_eq(st_ctrlstream_feed(&cs, buf + n + 2, (size_t)m - 2, collect, NULL), 0);
    ck_assert_uint_eq(n_seen, 3);
    ck_assert_uint_eq(seen[2], ST_CAP_REGISTERED);
    ck_assert_ptr_null(cs.in);
    /* the send queue exists while bytes wait */
    ck_assert_int_eq(st_ctrlstream_send(&cs, NULL, buf, (size_t)n), 0);
    ck_assert_ptr_nonnull(cs.out);
    ck_assert_int_eq(st_ctrlstream_read(&cs, out, sizeof(out), &flags), n);
    ck_assert_int_eq(memcmp(out, buf, (size_t)n), 0);
    ck_assert_ptr_null(cs.out);
    /* reset frees a partial capsule */
    ck_assert_int_eq(st_ctrlstream_feed(&cs, buf, 1, collect, NULL), 0);
    ck_assert_ptr_nonnull(cs.in);
    st_ctrlstream_reset(&cs);
    ck_assert_ptr_null(cs.in);
    ck_assert_uint_eq(cs.in_len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrlstream");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, capsules_reassembled_across_chunks);
    tcase_add_test(tc, oversized_capsule_is_refused);
    tcase_add_test(tc, send_queue_defers_and_ends);
    tcase_add_test(tc, buffers_only_while_bytes_wait);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
