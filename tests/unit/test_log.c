/* Log lines: the RFC 3339 UTC prefix, level parsing, and rate-limited refusal lines. */
#include "st_log.h"

#include "st_check.h"
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_limit_window)
{
    struct st_log_limit l;
    st_log_limit_init(&l, "refusals", 3);
    uint64_t t = 5000;
    for (int i = 0; i < 3; i++)
        ck_assert(st_log_limit_allow(&l, t + (uint64_t)i));
    for (int i = 0; i < 7; i++)
        ck_assert(!st_log_limit_allow(&l, t + 10 + (uint64_t)i));
    ck_assert_uint_eq(l.suppressed, 7);
    /* no summary inside the window */
    ck_assert_uint_eq(st_log_limit_due(&l, t + 999), 0);
    /* the window is over: the summary counts them once */
    ck_assert_uint_eq(st_log_limit_due(&l, t + 1000), 7);
    ck_assert_uint_eq(st_log_limit_due(&l, t + 1001), 0);
    /* a new window allows per_sec lines again */
    for (int i = 0; i < 3; i++)
        ck_assert(st_log_limit_allow(&l, t + 1500));
    ck_assert(!st_log_limit_allow(&l, t + 1600));
    ck_assert_uint_eq(st_log_limit_due(&l, t + 2499), 0);
    ck_assert_uint_eq(st_log_limit_due(&l, t + 2500), 1);
}
END_TEST

START_TEST(test_limit_nothing_suppressed)
{
    struct st_log_limit l;
    st_log_limit_init(&l, "x", 2);
    ck_assert(st_log_limit_allow(&l, 0));
    ck_assert(st_log_limit_allow(&l, 400));
    ck_assert_uint_eq(st_log_limit_due(&l, 5000), 0);
    /* a quiet second later the window restarts */
    ck_assert(st_log_limit_allow(&l, 5000));
    ck_assert(st_log_limit_allow(&l, 5001));
    ck_assert(!st_log_limit_allow(&l, 5002));
}
END_TEST

static char first[1200];
static int line_level = ST_LOG_INFO;

/* Runs st_log_limited n times with stderr in a temporary file; returns the lines written
 * (the first one in `first`, the last in `last`). */
static int count_lines(struct st_log_limit *l, int n, char *last, size_t cap)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    dup2(fileno(tmp), 2);
    for (int i = 0; i < n; i++)
        st_log_limited(l, line_level, "refused peer %d", i);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    char line[1200];
    int lines = 0;
    last[0] = 0;
    first[0] = 0;
    while (fgets(line, sizeof(line), tmp)) {
        if (lines++ == 0)
            snprintf(first, sizeof(first), "%s", line);
        snprintf(last, cap, "%s", line);
    }
    fclose(tmp);
    return lines;
}

START_TEST(test_limited_lines)
{
    struct st_log_limit l;
    char last[1200];
    st_log_set_level(ST_LOG_INFO);
    st_log_limit_init(&l, "test refusals", 5);
    ck_assert_int_eq(count_lines(&l, 1000, last, sizeof(last)), 5);
    ck_assert_ptr_nonnull(strstr(last, "refused peer 4"));
    ck_assert_uint_eq(l.suppressed, 995);
    /* the next window starts with the summary line */
    l.window_ms -= 1000;
    ck_assert_int_eq(count_lines(&l, 0, last, sizeof(last)), 0);
    st_log_limit_flush(&l, ST_LOG_INFO, st_log_now_ms());
    ck_assert_uint_eq(l.suppressed, 0);
    /* below the level: neither logged nor counted */
    st_log_set_level(ST_LOG_WARN);
    ck_assert_int_eq(count_lines(&l, 10, last, sizeof(last)), 0);
    ck_assert_uint_eq(l.suppressed, 0);
    st_log_set_level(ST_LOG_INFO);
}
END_TEST

START_TEST(test_limited_summary)
{
    struct st_log_limit l;
    char last[1200];
    st_log_set_level(ST_LOG_INFO);
    st_log_limit_init(&l, "test refusals", 2);
    ck_assert_int_eq(count_lines(&l, 50, last, sizeof(last)), 2);
    l.window_ms -= 1000; /* as if a second went by */
    /* summary + the new line */
    ck_assert_int_eq(count_lines(&l, 1, last, sizeof(last)), 2);
    ck_assert_ptr_nonnull(strstr(first, "test refusals: suppressed 48 similar lines"));
    ck_assert_ptr_nonnull(strstr(last, "refused peer 0"));
    ck_assert_uint_eq(l.suppressed, 0);
}
END_TEST

/* A summary of suppressed warnings is a warning: it shows at log-level warn, where the
 * lines it stands for would have. */
START_TEST(test_limited_summary_level)
{
    struct st_log_limit l;
    char last[1200];
    st_log_set_level(ST_LOG_WARN);
    line_level = ST_LOG_WARN;
    st_log_limit_init(&l, "test refusals", 2);
    ck_assert_int_eq(count_lines(&l, 50, last, sizeof(last)), 2);
    l.window_ms -= 1000;
    ck_assert_int_eq(count_lines(&l, 1, last, sizeof(last)), 2);
    ck_assert_ptr_nonnull(strstr(first, "warn: test refusals: suppressed 48 similar lines"));
    ck_assert_int_eq(l.worst, ST_LOG_DEBUG);
    line_level = ST_LOG_INFO;
    st_log_set_level(ST_LOG_INFO);
}
END_TEST

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

/* A JSON line parses back with the four fields, msg exactly as given. */
START_TEST(test_json_line)
{
    char buf[4096];
    struct timespec ts = {.tv_sec = 1796491099, .tv_nsec = 123456789};
    const char *msg = "flow 198.18.0.10:1 -> \"x\"\n\ttab \\ back; caf\xc3\xa9";
    int n = st_log_json(buf, sizeof(buf), &ts, "subtunnel-edge", ST_LOG_WARN, msg);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    ck_assert_ptr_null(strchr(buf, '\n')); /* one line */
    json_error_t e;
    json_t *o = json_loads(buf, 0, &e);
    ck_assert_msg(o != NULL, "%s: %s", buf, e.text);
    ck_assert_str_eq(json_string_value(json_object_get(o, "time")), "2026-12-05T17:18:19.123Z");
    ck_assert_str_eq(json_string_value(json_object_get(o, "level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(o, "component")), "subtunnel-edge");
    ck_assert_str_eq(json_string_value(json_object_get(o, "msg")), msg);
    ck_assert_uint_eq(json_object_size(o), 4);
    json_decref(o);
}
END_TEST

/* Bytes that are not UTF-8 (a peer's, quoted in a message) become '?': the line stays JSON. */
START_TEST(test_json_bad_utf8)
{
    char buf[4096];
    struct timespec ts = {0};
    static const char *const bad[] = {
        "a\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_gt(st_log_json(buf, sizeof(buf), &ts, "x", ST_LOG_INFO, bad[i]), 0);
        json_t *o = json_loads(buf, 0, NULL);
        ck_assert_msg(o != NULL, "case %zu: %s", i, buf);
        const char *m = json_string_value(json_object_get(o, "msg"));
        ck_assert_ptr_nonnull(strchr(m, '?'));
        json_decref(o);
    }
    /* too small a buffer: refused, never cut */
    ck_assert_int_eq(st_log_json(buf, 20, &ts, "x", ST_LOG_INFO, "hello"), -1);
}
END_TEST

START_TEST(test_parse_format)
{
    ck_assert_int_eq(st_log_parse_format("text"), ST_LOG_TEXT);
    ck_assert_int_eq(st_log_parse_format("json"), ST_LOG_JSON);
    ck_assert_int_eq(st_log_parse_format("JSON"), -1);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("limit");
    tcase_add_test(tc, test_limit_window);
    tcase_add_test(tc, test_limit_nothing_suppressed);
    tcase_add_test(tc, test_limited_summary_level);
    tcase_add_test(tc, test_limited_lines);
    tcase_add_test(tc, test_limited_summary);
    suite_add_tcase(s, tc);
    TCase *lines = tcase_create("lines");
    tcase_add_test(lines, test_prefix_has_date_and_time);
    tcase_add_test(lines, test_prefix_truncates);
    tcase_add_test(lines, test_parse_level);
    tcase_add_test(lines, test_json_line);
    tcase_add_test(lines, test_json_bad_utf8);
    tcase_add_test(lines, test_parse_format);
    suite_add_tcase(s, lines);
    return s;
}

int main(void)
{
    return st_check_run(log_suite());
}
