/* Edge registry: tunnel policy (may-reach) and the routes it announces to gateways. */
#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_config.h"
#include "edge_registry.h"
#include "edge_route.h"

#define HASH "0000000000000000000000000000000000000000000000000000000000000000"

static char dir[] = "/tmp/st-test-registry-XXXXXX";
static char cert[300], err[512];
static struct edge_config cfg;
static struct edge_registry reg;

static void setup(void)
{
    strcpy(dir, "/tmp/st-test-registry-XXXXXX"); /* mkdtemp rewrote it (CK_FORK=no) */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    FILE *f = fopen(cert, "w");
    ck_assert_ptr_nonnull(f);
    fputs("x\n", f);
    fclose(f);
    char text[2048];
    snprintf(text, sizeof(text),
             "cert: %s\nkey: %s\n"
             "tunnels:\n"
             "  - id: site1\n    secret-sha256: " HASH
             "\n    routes: [198.51.100.0/24, '2001:db8:51::/64']\n"
             "    may-reach: [site2, 192.0.2.128/25]\n"
             "  - id: site2\n    secret-sha256: " HASH "\n    routes: [203.0.113.0/24]\n"
             "    may-reach: [198.51.100.10]\n"
             "  - id: other\n    secret-sha256: " HASH "\n    routes: [192.0.2.0/25]\n"
             "access-tokens:\n  - name: u\n    sha256: " HASH "\n",
             cert, cert);
    ck_assert_msg(edge_config_parse(text, strlen(text), "edge.yaml", &cfg, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_eq(edge_registry_init(&reg, &cfg), 0);
}

static void teardown(void)
{
    edge_registry_fini(&reg);
    edge_config_fini(&cfg);
    unlink(cert);
    rmdir(dir);
}

static bool may(const char *src, const char *dst, const char *ip)
{
    uint8_t a[4];
    ck_assert_int_eq(inet_pton(AF_INET, ip, a), 1);
    return edge_registry_may_reach(edge_registry_find(&reg, src),
                                   dst ? edge_registry_find(&reg, dst) : NULL, AF_INET, a);
}

START_TEST(default_deny_and_named_tunnels)
{
    ck_assert(may("site1", "site2", "203.0.113.10"));   /* named tunnel: all its routes */
    ck_assert(!may("site1", "other", "192.0.2.10"));    /* not named, outside its CIDRs */
    ck_assert(!may("site1", NULL, "192.0.2.200"));      /* granted CIDR but nobody owns it */
    ck_assert(!may("site2", "site1", "198.51.100.11")); /* only .10/32 was granted */
    ck_assert(may("site2", "site1", "198.51.100.10"));
    ck_assert(!may("other", "site1", "198.51.100.10")); /* no may-reach: deny all */
    ck_assert(!may("site1", "site1", "198.51.100.10")); /* never to itself */
    ck_assert(!may("site1", NULL, "203.0.113.10"));     /* no owner */
}
END_TEST

START_TEST(reachable_routes_for_gateways)
{
    struct st_cidr out[8];
    char buf[64];
    size_t n = edge_registry_reachable(&reg, edge_registry_find(&reg, "site1"), out, 8);
    ck_assert_uint_eq(n, 2);
    st_cidr_format(&out[0], buf, sizeof(buf));
    ck_assert_str_eq(buf, "203.0.113.0/24");
    st_cidr_format(&out[1], buf, sizeof(buf));
    ck_assert_str_eq(buf, "192.0.2.128/25");
    n = edge_registry_reachable(&reg, edge_registry_find(&reg, "other"), out, 8);
    ck_assert_uint_eq(n, 0);
    n = edge_registry_reachable(&reg, edge_registry_find(&reg, "site1"), out, 1);
    ck_assert_uint_eq(n, 1); /* bounded by max */
}
END_TEST

START_TEST(unknown_tunnel_in_may_reach_is_a_config_error)
{
    struct edge_config bad;
    char text[1024];
    snprintf(text, sizeof(text),
             "cert: %s\nkey: %s\ntunnels:\n"
             "  - id: a\n    secret-sha256: " HASH "\n    routes: [198.51.100.0/24]\n"
             "    may-reach: [nosuch]\n"
             "access-tokens:\n  - name: u\n    sha256: " HASH "\n",
             cert, cert);
    ck_assert_int_lt(edge_config_parse(text, strlen(text), "e.yaml", &bad, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "e.yaml:7: tunnel 'a': may-reach names unknown tunnel 'nosuch'");
}
END_TEST

/* A reload keeps tunnel objects by id (connections and flows point at them), adds new
 * ids and leaves removed ones without a configuration: not found, not routed to. */
START_TEST(reconfigure_keeps_tunnels_by_id)
{
    struct edge_config next;
    char text[2048];
    snprintf(text, sizeof(text),
             "cert: %s\nkey: %s\n"
             "tunnels:\n"
             "  - id: site2\n    secret-sha256: " HASH "\n    routes: [203.0.113.0/24]\n"
             "  - id: site3\n    secret-sha256: " HASH "\n    routes: [198.18.5.0/24]\n"
             "access-tokens:\n  - name: u\n    sha256: " HASH "\n",
             cert, cert);
    ck_assert_msg(edge_config_parse(text, strlen(text), "next.yaml", &next, err, sizeof(err)) == 0,
                  "%s", err);
    struct edge_tunnel *site1 = edge_registry_find(&reg, "site1");
    struct edge_tunnel *site2 = edge_registry_find(&reg, "site2");
    struct st_cidr r1;
    const struct st_cidr *bad = NULL;
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &r1), 0);
    int dummy;
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&dummy, &r1, 1, &bad),
                     0);

    ck_assert_int_eq(edge_registry_reconfigure(&reg, &next), 0);
    ck_assert_ptr_null(edge_registry_find(&reg, "site1"));
    ck_assert_ptr_eq(edge_registry_find(&reg, "site2"), site2);
    ck_assert_ptr_eq(site2->conf, &next.tunnels[0]);
    ck_assert_ptr_null(site1->conf);
    ck_assert_str_eq(site1->id, "site1");
    struct edge_tunnel *site3 = edge_registry_find(&reg, "site3");
    ck_assert_ptr_nonnull(site3);
    ck_assert_ptr_eq(site3->conf, &next.tunnels[1]);

    uint8_t a[4] = {198, 51, 100, 10};
    struct edge_tunnel *t = (struct edge_tunnel *)1;
    ck_assert_ptr_null(edge_registry_pick(&reg, AF_INET, a, &t));
    ck_assert_ptr_null(t); /* the removed tunnel is not routed to */
    struct st_cidr out[8];
    ck_assert_uint_eq(edge_registry_reachable(&reg, site1, out, 8), 0);
    ck_assert(!edge_registry_may_reach(site1, site2, AF_INET, a));
    edge_registry_detach(&reg, site1, (struct edge_tconn *)&dummy);

    /* back again: the same object returns with the new configuration */
    ck_assert_int_eq(edge_registry_reconfigure(&reg, &cfg), 0);
    ck_assert_ptr_eq(edge_registry_find(&reg, "site1"), site1);
    ck_assert_ptr_eq(site1->conf, &cfg.tunnels[0]);
    ck_assert_ptr_null(site3->conf);
    edge_config_fini(&next);
}
END_TEST

/* The route table holds the union of what the registered connections announced: a route
 * only one connection announced leaves with it (a gateway narrowing its routes). */
START_TEST(routes_follow_connections)
{
    struct edge_tunnel *site1 = edge_registry_find(&reg, "site1");
    struct edge_tunnel *site2 = edge_registry_find(&reg, "site2");
    struct st_cidr wide, narrow;
    const struct st_cidr *bad = NULL;
    int c1, c2;
    uint8_t a10[4] = {198, 51, 100, 10}, a200[4] = {198, 51, 100, 200};

    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &wide), 0);
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/25", &narrow), 0);
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&c1, &wide, 1, &bad),
                     0);
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&c2, &narrow, 1, &bad),
                     0);
    ck_assert_ptr_eq(edge_route_lookup(reg.routes, AF_INET, a200), site1);
    ck_assert(edge_registry_conn_allowed(site1, (struct edge_tconn *)&c1, site1->conf, &bad));
    ck_assert(!edge_registry_conn_allowed(site1, (struct edge_tconn *)&c1, site2->conf, &bad));
    ck_assert_ptr_eq(bad, &site1->conns[0].routes[0]);

    edge_registry_detach(&reg, site1, (struct edge_tconn *)&c1);
    ck_assert_ptr_null(edge_route_lookup(reg.routes, AF_INET, a200));
    ck_assert_ptr_eq(edge_route_lookup(reg.routes, AF_INET, a10), site1);
    edge_registry_detach(&reg, site1, (struct edge_tconn *)&c2);
    ck_assert_ptr_null(edge_route_lookup(reg.routes, AF_INET, a10));
    ck_assert_uint_eq(edge_route_count(reg.routes), 0);
}
END_TEST

/* A flow goes only to a connection that announced its destination; when none does, the
 * answer names the tunnel configured for it (502 at the edge), never another tenant. */
START_TEST(pick_never_crosses_tenants)
{
    struct edge_tunnel *site1 = edge_registry_find(&reg, "site1");
    struct edge_tunnel *other = edge_registry_find(&reg, "other");
    struct st_cidr lo, hi, o;
    const struct st_cidr *bad = NULL;
    int c1, c2, c3;
    uint8_t a10[4] = {198, 51, 100, 10}, a200[4] = {198, 51, 100, 200}, o5[4] = {192, 0, 2, 5};
    struct edge_tunnel *t = NULL;

    ck_assert_int_eq(st_cidr_parse("198.51.100.0/25", &lo), 0);
    ck_assert_int_eq(st_cidr_parse("198.51.100.128/25", &hi), 0);
    ck_assert_int_eq(st_cidr_parse("192.0.2.0/25", &o), 0);
    /* nobody registered: the configured owner, no connection */
    ck_assert_ptr_null(edge_registry_pick(&reg, AF_INET, a10, &t));
    ck_assert_ptr_eq(t, site1);
    /* another tenant is up, site1 is not: still site1's, still no connection */
    ck_assert_int_eq(edge_registry_attach(&reg, other, (struct edge_tconn *)&c3, &o, 1, &bad), 0);
    ck_assert_ptr_null(edge_registry_pick(&reg, AF_INET, a10, &t));
    ck_assert_ptr_eq(t, site1);
    ck_assert_ptr_eq(edge_registry_pick(&reg, AF_INET, o5, &t), (struct edge_tconn *)&c3);
    ck_assert_ptr_eq(t, other);
    /* two connections of site1 announce different halves: each flow goes to its half */
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&c1, &lo, 1, &bad), 0);
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&c2, &hi, 1, &bad), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_eq(edge_registry_pick(&reg, AF_INET, a10, &t), (struct edge_tconn *)&c1);
        ck_assert_ptr_eq(edge_registry_pick(&reg, AF_INET, a200, &t), (struct edge_tconn *)&c2);
        ck_assert_ptr_eq(t, site1);
    }
    /* the half's connection leaves: its addresses are site1's but not announced */
    edge_registry_detach(&reg, site1, (struct edge_tconn *)&c2);
    ck_assert_ptr_null(edge_registry_pick(&reg, AF_INET, a200, &t));
    ck_assert_ptr_eq(t, site1);
    ck_assert_uint_eq(site1->n_conns, 1);
    /* another tenant cannot announce site1's prefixes, exactly or nested */
    ck_assert_int_eq(edge_registry_attach(&reg, other, (struct edge_tconn *)&c3, &hi, 1, &bad),
                     -EPERM);
    ck_assert_ptr_eq(bad, &hi);
    edge_registry_detach(&reg, site1, (struct edge_tconn *)&c1);
    edge_registry_detach(&reg, other, (struct edge_tconn *)&c3);
}
END_TEST

/* IPv6 routes: announced, owned and picked per connection like IPv4 ones (issue 23). */
START_TEST(pick_ipv6_longest_prefix)
{
    struct edge_tunnel *site1 = edge_registry_find(&reg, "site1");
    struct edge_tunnel *other = edge_registry_find(&reg, "other");
    struct st_cidr net[2], host;
    const struct st_cidr *bad = NULL;
    uint8_t p10[16], p11[16], out[16];
    struct edge_tunnel *t = NULL;
    int c1, c2, c3;

    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &net[0]), 0);
    ck_assert_int_eq(st_cidr_parse("2001:db8:51::/64", &net[1]), 0);
    ck_assert_int_eq(st_cidr_parse("2001:db8:51::10/128", &host), 0);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:51::10", p10), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:51::11", p11), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:52::10", out), 1);
    /* configured but not announced: the owner, no connection */
    ck_assert_ptr_null(edge_registry_pick(&reg, AF_INET6, p10, &t));
    ck_assert_ptr_eq(t, site1);
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&c1, net, 2, &bad), 0);
    ck_assert_int_eq(edge_registry_attach(&reg, site1, (struct edge_tconn *)&c2, &host, 1, &bad),
                     0);
    /* ::11 only in c1's announcement; ::10 in both (the least busy of them takes it) */
    ck_assert_ptr_eq(edge_registry_pick(&reg, AF_INET6, p11, &t), (struct edge_tconn *)&c1);
    struct edge_tconn *got = edge_registry_pick(&reg, AF_INET6, p10, &t);
    ck_assert(got == (struct edge_tconn *)&c1 || got == (struct edge_tconn *)&c2);
    ck_assert_ptr_eq(t, site1);
    t = NULL;
    ck_assert_ptr_null(edge_registry_pick(&reg, AF_INET6, out, &t));
    ck_assert_ptr_null(t);
    /* another tenant cannot announce site1's IPv6 prefix */
    ck_assert_int_eq(edge_registry_attach(&reg, other, (struct edge_tconn *)&c3, &host, 1, &bad),
                     -EPERM);
    edge_registry_detach(&reg, site1, (struct edge_tconn *)&c2);
    ck_assert_ptr_eq(edge_registry_pick(&reg, AF_INET6, p10, &t), (struct edge_tconn *)&c1);
    edge_registry_detach(&reg, site1, (struct edge_tconn *)&c1);
}
END_TEST

/* Loads for pick_least_busy: the fake connections are ints holding their own load. */
static uint64_t fake_load(struct edge_tconn *c)
{
    return (uint64_t) * (int *)c;
}

/* A new flow goes to the least busy connection announcing its destination; among equally
 * busy ones, round robin. */
START_TEST(pick_least_busy)
{
    struct edge_tunnel *site1 = edge_registry_find(&reg, "site1");
    struct st_cidr all;
    const struct st_cidr *bad = NULL;
    int c[3] = {0, 0, 0};
    uint8_t a10[4] = {198, 51, 100, 10};
    struct edge_tunnel *t = NULL;
    size_t seen[3] = {0};

    reg.conn_load = fake_load;
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &all), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(
            edge_registry_attach(&reg, site1, (struct edge_tconn *)&c[i], &all, 1, &bad), 0);
    /* all idle: each in turn */
    for (int i = 0; i < 6; i++)
        seen[(int *)edge_registry_pick(&reg, AF_INET, a10, &t) - c]++;
    ck_assert_uint_eq(seen[0], 2);
    ck_assert_uint_eq(seen[1], 2);
    ck_assert_uint_eq(seen[2], 2);
    /* a bulk flow on c[1]: new flows share c[0] and c[2] only */
    c[1] = 40;
    seen[0] = seen[1] = seen[2] = 0;
    for (int i = 0; i < 6; i++)
        seen[(int *)edge_registry_pick(&reg, AF_INET, a10, &t) - c]++;
    ck_assert_uint_eq(seen[1], 0);
    ck_assert_uint_eq(seen[0], 3);
    ck_assert_uint_eq(seen[2], 3);
    /* every one busy: the least busy */
    c[0] = 7;
    c[2] = 3;
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_eq(edge_registry_pick(&reg, AF_INET, a10, &t), (struct edge_tconn *)&c[2]);
    reg.conn_load = NULL;
    for (int i = 0; i < 3; i++)
        edge_registry_detach(&reg, site1, (struct edge_tconn *)&c[i]);
}
END_TEST

START_TEST(hosts_map_to_tunnels)
{
    struct edge_config hc;
    struct edge_registry hr;
    char text[2048];
    snprintf(text, sizeof(text),
             "cert: %s\nkey: %s\n"
             "tunnels:\n"
             "  - id: a\n    secret-sha256: " HASH "\n    routes: [198.51.100.0/24]\n"
             "    hostnames: [app.lab.test, '*.lab.test']\n"
             "  - id: b\n    secret-sha256: " HASH "\n    routes: [203.0.113.0/24]\n"
             "    hostnames: ['*.b.lab.test', lab.test]\n"
             "access-tokens:\n  - name: u\n    sha256: " HASH "\n",
             cert, cert);
    ck_assert_msg(edge_config_parse(text, strlen(text), "h.yaml", &hc, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_int_eq(edge_registry_init(&hr, &hc), 0);
    struct edge_tunnel *a = edge_registry_find(&hr, "a"), *b = edge_registry_find(&hr, "b");
    ck_assert_ptr_eq(edge_registry_by_host(&hr, "app.lab.test"), a);
    ck_assert_ptr_eq(edge_registry_by_host(&hr, "APP.LAB.TEST"), a);
    ck_assert_ptr_eq(edge_registry_by_host(&hr, "x.lab.test"), a);
    ck_assert_ptr_eq(edge_registry_by_host(&hr, "x.b.lab.test"), b); /* longest wildcard */
    ck_assert_ptr_eq(edge_registry_by_host(&hr, "b.lab.test"), a);   /* not b's apex */
    ck_assert_ptr_eq(edge_registry_by_host(&hr, "lab.test"), b);
    ck_assert_ptr_null(edge_registry_by_host(&hr, "other.test"));
    ck_assert_ptr_null(edge_registry_by_host(&hr, "xlab.test"));
    edge_registry_fini(&hr);
    edge_config_fini(&hc);

    /* a name belongs to one tunnel */
    snprintf(text, sizeof(text),
             "cert: %s\nkey: %s\n"
             "tunnels:\n"
             "  - id: a\n    secret-sha256: " HASH "\n    routes: [198.51.100.0/24]\n"
             "    hostnames: [app.lab.test]\n"
             "  - id: b\n    secret-sha256: " HASH "\n    routes: [203.0.113.0/24]\n"
             "    hostnames: [ok.lab.test, App.Lab.Test]\n"
             "access-tokens:\n  - name: u\n    sha256: " HASH "\n",
             cert, cert);
    ck_assert_int_lt(edge_config_parse(text, strlen(text), "h.yaml", &hc, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "h.yaml:11: hostname 'app.lab.test' already belongs to tunnel 'a'");
}
END_TEST

START_TEST(registered_hostnames_pick_connections)
{
    struct edge_config hc;
    struct edge_registry hr;
    char text[2048];
    snprintf(text, sizeof(text),
             "cert: %s\nkey: %s\n"
             "tunnels:\n"
             "  - id: a\n    secret-sha256: " HASH "\n    routes: [198.51.100.0/24]\n"
             "    hostnames: [app.lab.test, '*.lab.test']\n"
             "  - id: b\n    secret-sha256: " HASH "\n    routes: [203.0.113.0/24]\n"
             "    hostnames: [b.example.test]\n"
             "access-tokens:\n  - name: u\n    sha256: " HASH "\n",
             cert, cert);
    ck_assert_msg(edge_config_parse(text, strlen(text), "h.yaml", &hc, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_int_eq(edge_registry_init(&hr, &hc), 0);
    struct edge_tunnel *a = edge_registry_find(&hr, "a"), *t;
    int c1, c2;
    struct st_cidr r;
    const struct st_cidr *bad;
    const char *badname = NULL;
    bool connected;
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &r), 0);

    /* no connection yet: the tunnel is known, not connected */
    ck_assert_ptr_null(edge_registry_pick_host(&hr, "app.lab.test", &t, &connected));
    ck_assert_ptr_eq(t, a);
    ck_assert(!connected);
    ck_assert_ptr_null(edge_registry_pick_host(&hr, "nobody.example.test", &t, &connected));
    ck_assert_ptr_null(t);

    /* names outside the tunnel's configuration are refused, nothing recorded */
    ck_assert_int_eq(edge_registry_attach(&hr, a, (struct edge_tconn *)&c1, &r, 1, &bad), 0);
    const char bad_names[2][254] = {"app.lab.test", "b.example.test"};
    ck_assert_int_eq(edge_registry_hostnames(a, (struct edge_tconn *)&c1, bad_names, 2, &badname),
                     -EPERM);
    ck_assert_str_eq(badname, "b.example.test");
    const char apex[1][254] = {"lab.test"}; /* '*.lab.test' does not cover its apex */
    ck_assert_int_eq(edge_registry_hostnames(a, (struct edge_tconn *)&c1, apex, 1, &badname),
                     -EPERM);

    /* c1 serves app.lab.test; c2 serves everything below lab.test */
    const char n1[1][254] = {"app.lab.test"}, n2[2][254] = {"*.lab.test", "*.x.lab.test"};
    ck_assert_int_eq(edge_registry_hostnames(a, (struct edge_tconn *)&c1, n1, 1, &badname), 0);
    ck_assert_int_eq(edge_registry_attach(&hr, a, (struct edge_tconn *)&c2, &r, 1, &bad), 0);
    ck_assert_int_eq(edge_registry_hostnames(a, (struct edge_tconn *)&c2, n2, 2, &badname), 0);
    int seen1 = 0, seen2 = 0;
    for (int i = 0; i < 10; i++) {
        struct edge_tconn *c = edge_registry_pick_host(&hr, "APP.lab.test", &t, &connected);
        seen1 += c == (struct edge_tconn *)&c1;
        seen2 += c == (struct edge_tconn *)&c2;
    }
    ck_assert_int_eq(seen1, 5); /* round robin over both */
    ck_assert_int_eq(seen2, 5);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_eq(edge_registry_pick_host(&hr, "other.lab.test", &t, &connected),
                         (struct edge_tconn *)&c2);

    /* c2 gone: connected, but nobody registered other.lab.test */
    edge_registry_detach(&hr, a, (struct edge_tconn *)&c2);
    ck_assert_ptr_null(edge_registry_pick_host(&hr, "other.lab.test", &t, &connected));
    ck_assert_ptr_eq(t, a);
    ck_assert(connected);
    ck_assert_ptr_eq(edge_registry_pick_host(&hr, "app.lab.test", &t, &connected),
                     (struct edge_tconn *)&c1);
    edge_registry_fini(&hr); /* frees c1's names */
    edge_config_fini(&hc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, default_deny_and_named_tunnels);
    tcase_add_test(tc, reachable_routes_for_gateways);
    tcase_add_test(tc, unknown_tunnel_in_may_reach_is_a_config_error);
    tcase_add_test(tc, reconfigure_keeps_tunnels_by_id);
    tcase_add_test(tc, routes_follow_connections);
    tcase_add_test(tc, pick_never_crosses_tenants);
    tcase_add_test(tc, pick_ipv6_longest_prefix);
    tcase_add_test(tc, pick_least_busy);
    tcase_add_test(tc, hosts_map_to_tunnels);
    tcase_add_test(tc, registered_hostnames_pick_connections);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
