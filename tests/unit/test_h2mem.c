/* st_h2mem: large blocks handed out during session creation lose their pages (they read as
 * zeros, stay writable); small ones and those handed out later keep their contents. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "st_check.h"
#include "st_h2mem.h"

START_TEST(large_blocks_start_unbacked)
{
    nghttp2_mem *m = st_h2mem();
    size_t n = 64 * 1024;
    uint8_t *p = m->malloc(n, m->mem_user_data);
    ck_assert_ptr_nonnull(p);
    memset(p, 0xaa, n);
    m->free(p, m->mem_user_data);
    /* glibc hands the same chunk back: with lazy on, its pages past the kept head read 0 */
    st_h2mem_lazy(true);
    uint8_t *q = m->realloc(NULL, n, m->mem_user_data);
    st_h2mem_lazy(false);
    ck_assert_ptr_nonnull(q);
    if (q == p) { /* whole pages past the kept head; the last partial page keeps its bytes */
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t first = ((uintptr_t)q + ST_H2MEM_KEEP + pg - 1) & ~(pg - 1);
        ck_assert_uint_eq(q[first - (uintptr_t)q], 0);
        ck_assert_uint_eq(q[n / 2], 0);
        ck_assert_uint_eq(q[0], 0xaa);
    }
    memset(q, 0x55, n); /* writable throughout */
    ck_assert_uint_eq(q[n - 1], 0x55);
    m->free(q, m->mem_user_data);
    /* lazy off: an ordinary malloc, contents of a reused chunk untouched */
    uint8_t *r = m->malloc(n, m->mem_user_data);
    ck_assert_ptr_nonnull(r);
    memset(r, 0x11, n);
    ck_assert_uint_eq(r[n / 2], 0x11);
    m->free(r, m->mem_user_data);
    uint8_t *z = m->calloc(4, 1024, m->mem_user_data);
    ck_assert_uint_eq(z[4095], 0);
    m->free(z, m->mem_user_data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("h2mem");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, large_blocks_start_unbacked);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
