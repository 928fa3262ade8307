#include "st_check.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge_audit.h"
#include "edge_users.h"
#include "st_loop.h"

static const struct timespec ts = {.tv_sec = 1798761600, .tv_nsec = 5000000};

static json_t *parse_line(const char *line, int n)
{
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_ptr_null(memchr(line, '\n', (size_t)n - 1)); /* one line, whatever the fields */
    json_error_t e;
    json_t *o = json_loadb(line, (size_t)n, 0, &e);
    ck_assert_msg(o != NULL, "%s: %s", e.text, line);
    return o;
}

START_TEST(flow_end_record)
{
    struct edge_ident id;
    memset(&id, 0, sizeof(id));
    strcpy(id.user, "dev");
    edge_ident_add_group(&id, "developers");
    id.method = EDGE_AUTH_TOKEN;
    struct edge_audit_rec r = {.event = "end",
                               .location = "edge-1",
                               .id = &id,
                               .client = "198.18.0.10:40000",
                               .tunnel = "site1",
                               .flow = 7,
                               .conn = 3,
                               .kind = "tcp",
                               .dest = "198.51.100.10:8000",
                               .rule = 2,
                               .has_rule = true,
                               .reason = "closed",
                               .bytes_up = 100,
                               .bytes_down = 1 << 20,
                               .duration_ms = 1500};
    char buf[EDGE_AUDIT_REC_MAX];
    int n = edge_audit_format(&r, &ts, buf, sizeof(buf));
    json_t *o = parse_line(buf, n);
    ck_assert_str_eq(json_string_value(json_object_get(o, "time")), "2027-01-01T00:00:00.005Z");
    ck_assert_str_eq(json_string_value(json_object_get(o, "user")), "dev");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "groups"), 0)),
                     "developers");
    ck_assert_str_eq(json_string_value(json_object_get(o, "auth")), "token");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "rule")), 3); /* 1-based */
    ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes_down")), 1 << 20);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "duration_ms")), 1500);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "flow")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "conn")), 3);
    ck_assert_ptr_null(json_object_get(o, "status"));
    ck_assert_ptr_null(json_object_get(o, "verdict"));
    ck_assert_ptr_null(json_object_get(o, "relay_to")); /* not relayed */
    ck_assert_ptr_null(json_object_get(o, "relay_from"));
    json_decref(o);
}
END_TEST

/* A flow or visitor request relayed between edges names the other edge on both sides. */
START_TEST(relayed_record)
{
    struct edge_audit_rec r = {.event = "end",
                               .location = "lab-edge-3",
                               .client = "198.18.0.10",
                               .tunnel = "site1",
                               .kind = "http",
                               .method = "GET",
                               .host = "app.lab.test",
                               .path = "/file",
                               .relay_to = "lab-edge-1",
                               .status = 200,
                               .duration_ms = 12};
    char buf[EDGE_AUDIT_REC_MAX];
    json_t *o = parse_line(buf, edge_audit_format(&r, &ts, buf, sizeof(buf)));
    ck_assert_str_eq(json_string_value(json_object_get(o, "relay_to")), "lab-edge-1");
    ck_assert_ptr_null(json_object_get(o, "relay_from"));
    json_decref(o);
    r.relay_to = NULL;
    r.relay_from = "lab-edge-3";
    o = parse_line(buf, edge_audit_format(&r, &ts, buf, sizeof(buf)));
    ck_assert_str_eq(json_string_value(json_object_get(o, "relay_from")), "lab-edge-3");
    ck_assert_ptr_null(json_object_get(o, "relay_to"));
    json_decref(o);
}
END_TEST

/* Visitor paths are the visitor's bytes: quotes, newlines, control bytes and invalid UTF-8
 * must come out as one valid JSON line. */
START_TEST(hostile_fields_are_escaped)
{
    struct edge_audit_rec r = {.event = "end",
                               .kind = "http",
                               .method = "GET",
                               .host = "app.lab.test",
                               .path = "/a\"b\\c\n{\"fake\":1}\r\x01\x7f\xff\xfe/\xc3\xa9",
                               .status = 404,
                               .rule = -1,
                               .has_rule = true,
                               .duration_ms = -1};
    char buf[EDGE_AUDIT_REC_MAX];
    int n = edge_audit_format(&r, &ts, buf, sizeof(buf));
    json_t *o = parse_line(buf, n);
    const char *path = json_string_value(json_object_get(o, "path"));
    ck_assert_str_eq(path, "/a\"b\\c\n{\"fake\":1}\r\x01\x7f"
                           "??"
                           "/\xc3\xa9");
    ck_assert_str_eq(json_string_value(json_object_get(o, "rule")), "default");
    ck_assert_str_eq(json_string_value(json_object_get(o, "auth")), "none");
    ck_assert_ptr_null(json_object_get(o, "fake"));
    ck_assert_ptr_null(json_object_get(o, "bytes_up"));
    json_decref(o);
    /* a field over 1 KiB is cut; the record still fits */
    static char longpath[3000];
    memset(longpath, 'x', sizeof(longpath) - 1);
    r.path = longpath;
    n = edge_audit_format(&r, &ts, buf, sizeof(buf));
    o = parse_line(buf, n);
    ck_assert_uint_lt(strlen(json_string_value(json_object_get(o, "path"))), 1100);
    json_decref(o);
    ck_assert_int_eq(edge_audit_format(&r, &ts, buf, 64), -ENOSPC);
}
END_TEST

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

START_TEST(writes_reopens_and_drops)
{
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    char dir[] = "/tmp/st-audit-XXXXXX", path[64], rotated[64], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/audit.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/audit.log.1", dir);
    struct edge_audit a;
    ck_assert_int_eq(edge_audit_open(&a, &loop, path, err, sizeof(err)), 0);
    struct edge_audit_rec r = {.event = "decision", .verdict = "deny", .duration_ms = -1};
    for (int i = 0; i < 3; i++)
        edge_audit_log(&a, &r);
    edge_audit_flush(&a);
    ck_assert_int_eq(count_lines(path), 3);
    ck_assert_uint_eq(a.records, 3);
    /* logrotate: rename, then SIGUSR1 */
    ck_assert_int_eq(rename(path, rotated), 0);
    ck_assert_int_eq(edge_audit_reopen(&a, path), 0);
    edge_audit_log(&a, &r);
    edge_audit_flush(&a);
    ck_assert_int_eq(count_lines(path), 1);
    ck_assert_int_eq(count_lines(rotated), 3);
    /* a full disk: records are dropped and counted, traffic goes on */
    int full = open("/dev/full", O_WRONLY);
    if (full >= 0) {
        dup2(full, a.fd);
        close(full);
        edge_audit_log(&a, &r);
        edge_audit_log(&a, &r);
        edge_audit_flush(&a);
        ck_assert_uint_eq(a.dropped, 2);
        ck_assert(a.failing);
    }
    edge_audit_close(&a);
    /* off: nothing happens */
    ck_assert_int_eq(edge_audit_open(&a, &loop, NULL, err, sizeof(err)), 0);
    edge_audit_log(&a, &r);
    edge_audit_flush(&a);
    edge_audit_close(&a);
    /* an unwritable path says why */
    ck_assert_int_eq(edge_audit_open(&a, &loop, "/nonexistent-dir/audit.log", err, sizeof(err)),
                     -ENOENT);
    ck_assert_msg(strstr(err, "audit-log /nonexistent-dir/audit.log: ") == err, "%s", err);
    /* a FIFO nobody reads is refused, never waited for (the loop must not block) */
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(edge_audit_open(&a, &loop, path, err, sizeof(err)), -ENXIO);
    ck_assert_msg(strstr(err, "a FIFO without a reader") != NULL, "%s", err);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
    st_loop_fini(&loop);
}
END_TEST

/* A reader that does not read (a pipe): the buffer is bounded and the rest is dropped. */
START_TEST(bounded_when_the_reader_stalls)
{
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    char err[256];
    struct edge_audit a;
    ck_assert_int_eq(edge_audit_open(&a, &loop, "stdout", err, sizeof(err)), 0);
    dup2(p[1], a.fd);
    struct edge_audit_rec r = {.event = "decision", .reason = "x", .duration_ms = -1};
    for (int i = 0; i < 20000; i++) {
        edge_audit_log(&a, &r);
        if (i % 100 == 0)
            edge_audit_flush(&a);
    }
    ck_assert_uint_gt(a.dropped, 0);
    ck_assert_uint_le(a.len, EDGE_AUDIT_BUF);
    ck_assert_uint_eq(a.records + a.dropped + a.pending, 20000);
    edge_audit_close(&a);
    close(p[0]);
    close(p[1]);
    st_loop_fini(&loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_audit");
    TCase *tc = tcase_create("audit");
    tcase_add_test(tc, flow_end_record);
    tcase_add_test(tc, relayed_record);
    tcase_add_test(tc, hostile_fields_are_escaped);
    tcase_add_test(tc, writes_reopens_and_drops);
    tcase_add_test(tc, bounded_when_the_reader_stalls);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
