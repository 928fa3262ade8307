#ifndef SUBTUNNEL_EDGE_POLICY_H
#define SUBTUNNEL_EDGE_POLICY_H

/* The edge's access policy (`access-policy:`): an ordered list of rules, first match wins,
 * default deny. Applies to every user flow (CONNECT, connect-udp, connect-ip). Pure.
 * See docs/configuration.md and docs/security.md. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

struct st_cfg;
struct st_cfg_node;
struct edge_ident;
struct edge_host_acl;

enum edge_proto {
    EDGE_PROTO_TCP = 1,
    EDGE_PROTO_UDP = 2,
    EDGE_PROTO_ICMP = 4,
};

struct edge_port_range {
    uint16_t lo, hi;
};

struct edge_rule {
    bool allow;
    char **users, **groups, **tunnels; /* NULL-terminated; NULL: any */
    size_t n_users, n_groups, n_tunnels;
    struct st_cidr *dests; /* NULL: any */
    size_t n_dests;
    struct edge_port_range *ports; /* NULL: any (a rule with ports never matches ICMP) */
    size_t n_ports;
    unsigned protocols; /* EDGE_PROTO_* bits; 0: any */
};

struct edge_policy {
    bool configured; /* access-policy present; absent: users from access-tokens reach
                        everything (as before the policy existed), every other user nothing */
    struct edge_rule *rules;
    size_t n_rules;
};

/* One flow to decide on. tunnel: the id of the tunnel announcing the destination, or NULL
 * when none does (then only rules without `tunnels` can match). port 0 for ICMP. */
struct edge_request {
    const struct edge_ident *id;
    const char *tunnel;
    int family;
    const uint8_t *addr;
    uint16_t port;
    unsigned proto; /* one EDGE_PROTO_* */
};

/* Parses `access-policy:` (n: a sequence, or NULL for absent) into *p (zeroed first).
 * tunnel_ids (n_tunnels) are the configured tunnels: a rule naming another is an error. */
int edge_policy_parse(struct st_cfg *c, const struct st_cfg_node *n, char *const *tunnel_ids,
                      size_t n_tunnels, struct edge_policy *p);
/* Frees what p owns and zeroes it; accepts a zeroed p. */
void edge_policy_fini(struct edge_policy *p);

/* The verdict for r: true to allow. *rule gets the deciding rule's index (0-based), or -1
 * when no rule matched (the default). */
bool edge_policy_allows(const struct edge_policy *p, const struct edge_request *r, int *rule);
/* True when id is one of acl's users or in one of its groups. */
bool edge_policy_host_allows(const struct edge_host_acl *acl, const struct edge_ident *id);
/* "tcp", "udp", "icmp". */
const char *edge_proto_name(unsigned proto);

#endif
