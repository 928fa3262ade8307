/* edge_web: the tunnel response's :status is taken only when strictly valid. */
#include "edge_web.h"

#include "st_check.h"
#include "st_http.h"
#include <errno.h>
#include <string.h>

static int status_of(const char *value, size_t vlen)
{
    struct edge_web w;

    memset(&w, 0, sizeof(w));
    edge_web_on_header(&w, (const uint8_t *)":status", 7, (const uint8_t *)value, vlen);
    return w.status;
}

START_TEST(test_status)
{
    ck_assert_int_eq(status_of("200", 3), 200);
    ck_assert_int_eq(status_of("101", 3), 101);
    ck_assert_int_eq(status_of("503", 3), 503);
    /* the old parser made 200 of "1:0": now refused, never taken as a number */
    ck_assert_int_eq(status_of("1:0", 3), -EINVAL);
    ck_assert_int_eq(status_of("9x9", 3), -EINVAL);
    ck_assert_int_eq(status_of("20", 2), -EINVAL);
    ck_assert_int_eq(status_of("2000", 4), -EINVAL);
    ck_assert_int_eq(status_of("600", 3), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_web");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_status);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
