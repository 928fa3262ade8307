/* edge_web: request fields kept as they arrive, and the tunnel response's :status taken only
 * when strictly valid. */
#include "edge_web.h"

#include "edge_server.h"
#include "st_check.h"
#include "st_http.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct edge_server srv;

static void header(struct edge_web *w, const char *name, const char *value)
{
    edge_web_h2_header(w, (const uint8_t *)name, strlen(name), (const uint8_t *)value,
                       strlen(value));
}

static void web_free(struct edge_web *w)
{
    st_defer_cancel(&srv.loop, &w->done);
    w->done.cb(&w->done);
}

START_TEST(test_no_field_memory_before_headers)
{
    struct edge_web *w = edge_web_new(&srv, "192.0.2.7");
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_null(w->arena);
    ck_assert_uint_eq(w->arena_cap, 0);
    ck_assert_uint_le(sizeof(*w), 8192);
    header(w, ":method", "GET");
    ck_assert_ptr_null(w->arena); /* the method is no field */
    header(w, ":authority", "app.lab.test");
    ck_assert_uint_eq(w->arena_cap, EDGE_WEB_ARENA_MIN);
    web_free(w);
    ck_assert_uint_eq(srv.live_webs, 0);
}
END_TEST

START_TEST(test_arena_grows_and_keeps_fields)
{
    struct edge_web *w = edge_web_new(&srv, "192.0.2.7");
    char name[32], value[201];
    header(w, ":method", "GET");
    header(w, ":authority", "app.lab.test");
    header(w, ":path", "/x?y=1");
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "x-field-%02d", i);
        memset(value, 'a' + i % 26, 200);
        value[200] = 0;
        header(w, name, value);
    }
    ck_assert(!w->overflow);
    ck_assert_uint_gt(w->arena_cap, EDGE_WEB_ARENA_MIN);
    ck_assert_uint_le(w->arena_cap, EDGE_WEB_ARENA);
    ck_assert_str_eq(w->authority, "app.lab.test");
    ck_assert_str_eq(w->path, "/x?y=1");
    ck_assert_uint_eq(w->n_fields, 51); /* host + 50 */
    ck_assert_str_eq(w->fields[0].name, "host");
    ck_assert_str_eq(w->fields[0].value, "app.lab.test");
    for (int i = 0; i < 50; i++) {
        const struct st_http_field *f = &w->fields[i + 1];
        snprintf(name, sizeof(name), "x-field-%02d", i);
        ck_assert_str_eq(f->name, name);
        ck_assert_uint_eq(f->vlen, 200);
        for (size_t k = 0; k < f->vlen; k++)
            ck_assert_int_eq(f->value[k], 'a' + i % 26);
    }
    web_free(w);
}
END_TEST

START_TEST(test_arena_limit)
{
    struct edge_web *w = edge_web_new(&srv, "192.0.2.7");
    char value[4001];
    memset(value, 'v', 4000);
    value[4000] = 0;
    for (int i = 0; i < 4; i++) /* 4 x 4007 bytes fit in EDGE_WEB_ARENA */
        header(w, "x-big", value);
    ck_assert(!w->overflow);
    header(w, "x-big", value); /* a fifth does not */
    ck_assert(w->overflow);
    ck_assert_uint_eq(w->arena_cap, EDGE_WEB_ARENA);
    ck_assert_uint_eq(w->n_fields, 4);
    web_free(w);
}
END_TEST

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

static Suite *edge_web_suite(void)
{
    Suite *s = suite_create("edge_web");
    TCase *tc = tcase_create("fields");
    tcase_add_test(tc, test_no_field_memory_before_headers);
    tcase_add_test(tc, test_arena_grows_and_keeps_fields);
    tcase_add_test(tc, test_arena_limit);
    tcase_add_test(tc, test_status);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(edge_web_suite());
}
