#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_policy.h"
#include "edge_users.h"
#include "st_config.h"

static struct edge_policy pol;
static char err[256];
static char *tunnels[] = {"site1", "site2"};

static int load(const char *yaml)
{
    struct st_cfg c;
    edge_policy_fini(&pol);
    int rc = st_cfg_parse(&c, yaml, strlen(yaml), "t.yaml", err, sizeof(err));
    if (rc == 0)
        rc = edge_policy_parse(&c, st_cfg_get(c.root, "access-policy"), tunnels, 2, &pol);
    st_cfg_fini(&c);
    return rc;
}

static void teardown(void)
{
    edge_policy_fini(&pol);
}

static struct edge_ident who(const char *user, const char *group, bool legacy)
{
    struct edge_ident id;
    memset(&id, 0, sizeof(id));
    snprintf(id.user, sizeof(id.user), "%s", user);
    if (group)
        edge_ident_add_group(&id, group);
    id.legacy = legacy;
    return id;
}

/* Decision for user/group to ip:port over proto in tunnel; *rule gets the deciding rule. */
static bool decide(const char *user, const char *group, const char *tunnel, const char *ip,
                   unsigned port, unsigned proto, int *rule)
{
    struct edge_ident id = who(user, group, false);
    uint8_t addr[16];
    struct edge_request q = {.id = &id, .tunnel = tunnel, .port = (uint16_t)port, .proto = proto};
    q.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
    ck_assert_int_eq(inet_pton(q.family, ip, addr), 1);
    q.addr = addr;
    int r;
    bool ok = edge_policy_allows(&pol, &q, rule ? rule : &r);
    return ok;
}

static const char *lab_policy = "access-policy:\n"
                                "  - action: allow\n"
                                "    groups: [admins]\n"
                                "  - action: deny\n"
                                "    users: mallory\n"
                                "  - action: allow\n"
                                "    groups: [developers]\n"
                                "    destinations: [198.51.100.10/32]\n"
                                "    ports: [8000]\n"
                                "    protocols: [tcp]\n"
                                "  - action: allow\n"
                                "    groups: [developers]\n"
                                "    destinations: 198.51.100.53\n"
                                "    ports: [53]\n"
                                "    protocols: udp\n"
                                "  - action: allow\n"
                                "    users: [carol]\n"
                                "    tunnels: [site2]\n"
                                "    ports: ['22', 8000-8100]\n"
                                "  - action: allow\n"
                                "    destinations: ['2001:db8:51::/64']\n"
                                "    protocols: [icmp]\n";

START_TEST(first_match_wins_default_deny)
{
    int rule;
    ck_assert_msg(load(lab_policy) == 0, "%s", err);
    ck_assert_uint_eq(pol.n_rules, 6);
    /* admins: everything, rule 0 */
    ck_assert(decide("lab", "admins", "site1", "198.51.100.77", 443, EDGE_PROTO_TCP, &rule));
    ck_assert_int_eq(rule, 0);
    ck_assert(decide("ops", "admins", NULL, "203.0.113.5", 0, EDGE_PROTO_ICMP, &rule));
    /* developers: only tcp 198.51.100.10:8000 and udp 198.51.100.53:53 */
    ck_assert(decide("dev", "developers", "site1", "198.51.100.10", 8000, EDGE_PROTO_TCP, &rule));
    ck_assert_int_eq(rule, 2);
    ck_assert(!decide("dev", "developers", "site1", "198.51.100.10", 8001, EDGE_PROTO_TCP, &rule));
    ck_assert_int_eq(rule, -1);
    ck_assert(!decide("dev", "developers", "site1", "198.51.100.11", 8000, EDGE_PROTO_TCP, NULL));
    ck_assert(!decide("dev", "developers", "site1", "198.51.100.10", 8000, EDGE_PROTO_UDP, NULL));
    ck_assert(decide("dev", "developers", "site1", "198.51.100.53", 53, EDGE_PROTO_UDP, &rule));
    ck_assert_int_eq(rule, 3);
    ck_assert(!decide("dev", "developers", "site1", "198.51.100.53", 53, EDGE_PROTO_TCP, NULL));
    ck_assert(!decide("dev", "developers", "site1", "198.51.100.53", 0, EDGE_PROTO_ICMP, NULL));
    /* deny before a later allow: mallory is refused even for the icmp rule */
    ck_assert(!decide("mallory", NULL, "site1", "2001:db8:51::1", 0, EDGE_PROTO_ICMP, &rule));
    ck_assert_int_eq(rule, 1);
    /* the same rule matches any other user (no users/groups given) */
    ck_assert(decide("nobody", NULL, "site1", "2001:db8:51::1", 0, EDGE_PROTO_ICMP, &rule));
    ck_assert_int_eq(rule, 5);
    ck_assert(!decide("nobody", NULL, "site1", "2001:db8:52::1", 0, EDGE_PROTO_ICMP, NULL));
    /* port ranges and tunnels */
    ck_assert(decide("carol", NULL, "site2", "203.0.113.9", 8100, EDGE_PROTO_UDP, NULL));
    ck_assert(decide("carol", NULL, "site2", "203.0.113.9", 22, EDGE_PROTO_TCP, NULL));
    ck_assert(!decide("carol", NULL, "site2", "203.0.113.9", 8101, EDGE_PROTO_TCP, NULL));
    ck_assert(!decide("carol", NULL, "site2", "203.0.113.9", 21, EDGE_PROTO_TCP, NULL));
    ck_assert(!decide("carol", NULL, "site1", "203.0.113.9", 22, EDGE_PROTO_TCP, NULL));
    ck_assert(!decide("carol", NULL, NULL, "203.0.113.9", 22, EDGE_PROTO_TCP, NULL));
    /* a rule with ports never matches icmp */
    ck_assert(!decide("carol", NULL, "site2", "203.0.113.9", 0, EDGE_PROTO_ICMP, NULL));
}
END_TEST

START_TEST(absent_policy_keeps_old_tokens_working)
{
    int rule;
    ck_assert_int_eq(load("log-level: info\n"), 0);
    ck_assert(!pol.configured);
    struct edge_ident legacy = who("t", NULL, true), user = who("dev", "admins", false);
    uint8_t a[4] = {198, 51, 100, 10};
    struct edge_request q = {
        .id = &legacy, .family = AF_INET, .addr = a, .port = 80, .proto = EDGE_PROTO_TCP};
    ck_assert(edge_policy_allows(&pol, &q, &rule));
    ck_assert_int_eq(rule, -1);
    q.id = &user; /* users: entries reach nothing until a policy says so */
    ck_assert(!edge_policy_allows(&pol, &q, &rule));
    /* an empty policy denies everyone, access-tokens users too */
    ck_assert_int_eq(load("access-policy: []\n"), 0);
    ck_assert(pol.configured);
    q.id = &legacy;
    ck_assert(!edge_policy_allows(&pol, &q, &rule));
}
END_TEST

static void bad(const char *yaml, const char *want)
{
    ck_assert_int_eq(load(yaml), -EINVAL);
    ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
}

START_TEST(rule_errors)
{
    bad("access-policy:\n  - {users: [a]}\n", "missing required key 'action'");
    bad("access-policy:\n  - {action: permit}\n", "must be allow or deny, not 'permit'");
    bad("access-policy:\n  - {action: allow, tunnels: [site9]}\n", "no tunnel 'site9'");
    bad("access-policy:\n  - {action: allow, ports: [0]}\n", "'0' is not a port");
    bad("access-policy:\n  - {action: allow, ports: [65536]}\n", "is not a port");
    bad("access-policy:\n  - {action: allow, ports: [9-8]}\n", "'9-8' is not a port");
    bad("access-policy:\n  - {action: allow, ports: [8-]}\n", "is not a port");
    bad("access-policy:\n  - {action: allow, ports: ['+8']}\n", "is not a port");
    bad("access-policy:\n  - {action: allow, ports: []}\n", "is empty");
    bad("access-policy:\n  - {action: allow, protocols: [sctp]}\n", "protocol 'sctp'");
    bad("access-policy:\n  - {action: allow, protocols: [icmp], ports: [1]}\n",
        "ports never match icmp");
    bad("access-policy:\n  - {action: allow, destinations: [198.51.100.1/24]}\n", "host bits");
    bad("access-policy:\n  - {action: allow, users: []}\n", "is empty");
    bad("access-policy:\n  - {action: allow, groups: [a, a]}\n", "listed twice");
    bad("access-policy:\n  - {action: allow, hosts: [a]}\n", "unknown key 'hosts'");
    bad("access-policy: {action: allow}\n", "must be a list");
    ck_assert_msg(load("access-policy:\n  - {action: allow, ports: [1-65535, 443], "
                       "protocols: [tcp, udp], destinations: [0.0.0.0/0, '::/0']}\n") == 0,
                  "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, first_match_wins_default_deny);
    tcase_add_test(tc, absent_policy_keeps_old_tokens_working);
    tcase_add_test(tc, rule_errors);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
