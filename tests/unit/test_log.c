/* Log lines: the RFC 3339 UTC prefix and level parsing. */
#include "st_log.h"

#include "st_check.h"
#include <string.h>

START_TEST(test_prefix_has_date_and_time)
{
    char buf[128];
    struct timespec ts = {.tv_sec = 1796490000, .tv_nsec = 123456789}; /* 2026-12-05 */
    int n = st_log_prefix(buf, sizeof(buf), &ts, "subtunnel-edge", ST_LOG_WARN);
    ck_assert_str_eq(buf, "2026-12-05T17:00:00.123Z subtunnel-edge warn: ");
    ck_assert_int_eq(n, (int)strlen(buf));
}
END_TEST

START_TEST(test_prefix_truncates)
{
    char buf[10];
    struct timespec ts = {0};
    int n = st_log_prefix(buf, sizeof(buf), &ts, "x", ST_LOG_INFO);
    ck_assert_int_eq(n, 9);
    ck_assert_str_eq(buf, "1970-01-0");
}
END_TEST

START_TEST(test_parse_level)
{
    ck_assert_int_eq(st_log_parse_level("debug"), ST_LOG_DEBUG);
    ck_assert_int_eq(st_log_parse_level("error"), ST_LOG_ERROR);
    ck_assert_int_eq(st_log_parse_level("loud"), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_prefix_has_date_and_time);
    tcase_add_test(tc, test_prefix_truncates);
    tcase_add_test(tc, test_parse_level);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
