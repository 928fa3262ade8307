#include "edge_route.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

static int owner_a, owner_b, owner_c;

static void add(struct edge_route_table *t, const char *cidr, void *owner, int want)
{
    struct st_cidr c;

    ck_assert_int_eq(st_cidr_parse(cidr, &c), 0);
    ck_assert_int_eq(edge_route_add(t, &c, owner), want);
}

static void *lookup(const struct edge_route_table *t, const char *ip)
{
    uint8_t a[16];
    int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

    ck_assert_int_eq(inet_pton(family, ip, a), 1);
    return edge_route_lookup(t, family, a);
}

START_TEST(test_lpm_nested_v4)
{
    struct edge_route_table *t = edge_route_new();

    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(lookup(t, "198.51.100.10"));
    add(t, "198.51.100.0/24", &owner_a, 0);
    add(t, "198.51.100.128/25", &owner_b, 0);
    add(t, "198.51.100.77/32", &owner_c, 0);
    ck_assert_ptr_eq(lookup(t, "198.51.100.10"), &owner_a);
    ck_assert_ptr_eq(lookup(t, "198.51.100.200"), &owner_b);
    ck_assert_ptr_eq(lookup(t, "198.51.100.77"), &owner_c);
    ck_assert_ptr_eq(lookup(t, "198.51.100.78"), &owner_a);
    ck_assert_ptr_null(lookup(t, "198.51.101.1"));
    ck_assert_ptr_null(lookup(t, "2001:db8::1"));
    ck_assert_uint_eq(edge_route_count(t), 3);
    edge_route_free(t);
}
END_TEST

START_TEST(test_default_route_and_v6)
{
    struct edge_route_table *t = edge_route_new();

    add(t, "0.0.0.0/0", &owner_c, 0);
    add(t, "2001:db8::/32", &owner_a, 0);
    add(t, "2001:db8:1::/48", &owner_b, 0);
    add(t, "2001:db8:1::1/128", &owner_c, 0);
    ck_assert_ptr_eq(lookup(t, "203.0.113.9"), &owner_c);
    ck_assert_ptr_eq(lookup(t, "2001:db8:2::1"), &owner_a);
    ck_assert_ptr_eq(lookup(t, "2001:db8:1:ffff::1"), &owner_b);
    ck_assert_ptr_eq(lookup(t, "2001:db8:1::1"), &owner_c);
    ck_assert_ptr_null(lookup(t, "2001:db9::1"));
    ck_assert_uint_eq(edge_route_count(t), 4);
    edge_route_free(t);
}
END_TEST

START_TEST(test_eexist_idempotent)
{
    struct edge_route_table *t = edge_route_new();
    struct st_cidr c = {.family = AF_INET, .prefix = 33};

    add(t, "198.51.100.0/24", &owner_a, 0);
    add(t, "198.51.100.0/24", &owner_a, 0);
    add(t, "198.51.100.0/24", &owner_b, -EEXIST);
    ck_assert_uint_eq(edge_route_count(t), 1);
    ck_assert_ptr_eq(lookup(t, "198.51.100.1"), &owner_a);
    ck_assert_int_eq(edge_route_add(t, &c, &owner_a), -EINVAL);
    c.prefix = 8;
    ck_assert_int_eq(edge_route_add(t, &c, NULL), -EINVAL);
    edge_route_free(t);
}
END_TEST

START_TEST(test_remove_owner)
{
    struct edge_route_table *t = edge_route_new();

    add(t, "198.51.100.0/24", &owner_a, 0);
    add(t, "198.51.100.0/25", &owner_b, 0);
    add(t, "203.0.113.0/24", &owner_a, 0);
    add(t, "2001:db8::/32", &owner_a, 0);
    ck_assert_int_eq(edge_route_remove_owner(t, &owner_a), 3);
    ck_assert_uint_eq(edge_route_count(t), 1);
    ck_assert_ptr_eq(lookup(t, "198.51.100.1"), &owner_b);
    ck_assert_ptr_null(lookup(t, "198.51.100.200"));
    ck_assert_ptr_null(lookup(t, "203.0.113.1"));
    ck_assert_ptr_null(lookup(t, "2001:db8::1"));
    ck_assert_int_eq(edge_route_remove_owner(t, &owner_a), 0);
    /* the prefix can now be taken by someone else */
    add(t, "198.51.100.0/24", &owner_c, 0);
    ck_assert_ptr_eq(lookup(t, "198.51.100.200"), &owner_c);
    ck_assert_int_eq(edge_route_remove_owner(t, &owner_b), 1);
    ck_assert_int_eq(edge_route_remove_owner(t, &owner_c), 1);
    ck_assert_uint_eq(edge_route_count(t), 0);
    ck_assert_ptr_null(lookup(t, "198.51.100.1"));
    edge_route_free(t);
    edge_route_free(NULL);
}
END_TEST

static Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_lpm_nested_v4);
    tcase_add_test(tc, test_default_route_and_v6);
    tcase_add_test(tc, test_eexist_idempotent);
    tcase_add_test(tc, test_remove_owner);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(route_suite());
}
