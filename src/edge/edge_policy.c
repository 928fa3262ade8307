#include "edge_policy.h"

#include "edge_config.h"
#include "edge_users.h"
#include "st_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = {"action",       "users", "groups",    "tunnels",
                                        "destinations", "ports", "protocols", NULL};

static int get_action(struct st_cfg *c, const struct st_cfg_node *n, struct edge_rule *r)
{
    const struct st_cfg_node *v;
    const char *s = NULL;
    int rc;
    if ((rc = st_cfg_require(c, n, "action", &v)) < 0 || (rc = st_cfg_string(c, v, &s)) < 0)
        return rc;
    if (strcmp(s, "allow") != 0 && strcmp(s, "deny") != 0)
        return st_cfg_fail(c, v->line, "'%s' must be allow or deny, not '%s'", v->path, s);
    r->allow = strcmp(s, "allow") == 0;
    return 0;
}

static int get_tunnels(struct st_cfg *c, const struct st_cfg_node *v, char *const *ids, size_t n,
                       struct edge_rule *r)
{
    int rc = st_cfg_strlist(c, v, 255, &r->tunnels, &r->n_tunnels);
    for (size_t i = 0; rc == 0 && i < r->n_tunnels; i++) {
        bool known = false;
        for (size_t k = 0; k < n; k++)
            known |= strcmp(ids[k], r->tunnels[i]) == 0;
        if (!known)
            rc = st_cfg_fail(c, v->line, "'%s': no tunnel '%s' in tunnels", v->path, r->tunnels[i]);
    }
    return rc;
}

static int get_dests(struct st_cfg *c, const struct st_cfg_node *v, struct edge_rule *r)
{
    size_t n = st_cfg_items(v);
    if (n == 0)
        return st_cfg_fail(c, v->line, "'%s' is empty: leave it out to match any", v->path);
    if (!(r->dests = calloc(n, sizeof(*r->dests))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = st_cfg_cidr(c, st_cfg_item(v, i), &r->dests[i]);
        if (rc < 0)
            return rc;
        r->n_dests++;
    }
    return 0;
}

/* "22", "8000-8100": 1..65535, lo <= hi. */
static int parse_ports(const char *s, struct edge_port_range *out)
{
    unsigned lo, hi;
    int used = 0;
    if (sscanf(s, "%5u%n", &lo, &used) != 1 || s[0] < '0' || s[0] > '9')
        return -EINVAL;
    hi = lo;
    if (s[used] == '-') {
        int more = 0;
        if (s[used + 1] < '0' || s[used + 1] > '9' ||
            sscanf(s + used + 1, "%5u%n", &hi, &more) != 1)
            return -EINVAL;
        used += 1 + more;
    }
    if (s[used] || lo < 1 || hi > 65535 || lo > hi)
        return -EINVAL;
    out->lo = (uint16_t)lo;
    out->hi = (uint16_t)hi;
    return 0;
}

static int get_ports(struct st_cfg *c, const struct st_cfg_node *v, struct edge_rule *r)
{
    size_t n = st_cfg_items(v);
    if (n == 0)
        return st_cfg_fail(c, v->line, "'%s' is empty: leave it out to match any", v->path);
    if (!(r->ports = calloc(n, sizeof(*r->ports))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct st_cfg_node *e = st_cfg_item(v, i);
        const char *s = NULL;
        int rc = st_cfg_string(c, e, &s);
        if (rc < 0)
            return rc;
        if (parse_ports(s, &r->ports[i]) < 0)
            return st_cfg_fail(c, e->line,
                               "'%s': '%s' is not a port (1-65535) or a range like 8000-8100",
                               e->path, s);
        r->n_ports++;
    }
    return 0;
}

static int get_protocols(struct st_cfg *c, const struct st_cfg_node *v, struct edge_rule *r)
{
    char **list = NULL;
    size_t n = 0;
    int rc = st_cfg_strlist(c, v, 16, &list, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strcmp(list[i], "tcp") == 0)
            r->protocols |= EDGE_PROTO_TCP;
        else if (strcmp(list[i], "udp") == 0)
            r->protocols |= EDGE_PROTO_UDP;
        else if (strcmp(list[i], "icmp") == 0)
            r->protocols |= EDGE_PROTO_ICMP;
        else
            rc = st_cfg_fail(c, v->line, "'%s': protocol '%s' is not tcp, udp or icmp", v->path,
                             list[i]);
    }
    if (rc == 0 && n == 0)
        rc = st_cfg_fail(c, v->line, "'%s' is empty: leave it out to match any", v->path);
    st_cfg_strlist_free(list);
    return rc;
}

static int get_names(struct st_cfg *c, const struct st_cfg_node *v, char ***out, size_t *n)
{
    int rc = st_cfg_strlist(c, v, EDGE_USER_NAME_MAX, out, n);
    if (rc == 0 && *n == 0)
        rc = st_cfg_fail(c, v->line, "'%s' is empty: leave it out to match any", v->path);
    return rc;
}

static int get_rule(struct st_cfg *c, const struct st_cfg_node *n, char *const *ids, size_t n_ids,
                    struct edge_rule *r)
{
    const struct st_cfg_node *v;
    int rc;
    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, rule_keys)) < 0 ||
        (rc = get_action(c, n, r)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "users")) && (rc = get_names(c, v, &r->users, &r->n_users)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "groups")) && (rc = get_names(c, v, &r->groups, &r->n_groups)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "tunnels")) && (rc = get_tunnels(c, v, ids, n_ids, r)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "destinations")) && (rc = get_dests(c, v, r)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "ports")) && (rc = get_ports(c, v, r)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "protocols")) && (rc = get_protocols(c, v, r)) < 0)
        return rc;
    if (r->ports && r->protocols == EDGE_PROTO_ICMP)
        return st_cfg_fail(c, n->line, "'%s': ports never match icmp", n->path);
    return 0;
}

int edge_policy_parse(struct st_cfg *c, const struct st_cfg_node *n, char *const *tunnel_ids,
                      size_t n_tunnels, struct edge_policy *p)
{
    memset(p, 0, sizeof(*p));
    if (!n)
        return 0;
    int rc = st_cfg_seq(c, n, 0);
    if (rc < 0)
        return rc;
    p->configured = true;
    if (!(p->rules = calloc(n->n_children + 1, sizeof(*p->rules))))
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children && rc == 0; i++, p->n_rules++)
        rc = get_rule(c, n->children[i], tunnel_ids, n_tunnels, &p->rules[i]);
    return rc;
}

void edge_policy_fini(struct edge_policy *p)
{
    for (size_t i = 0; p && i < p->n_rules; i++) {
        struct edge_rule *r = &p->rules[i];
        st_cfg_strlist_free(r->users);
        st_cfg_strlist_free(r->groups);
        st_cfg_strlist_free(r->tunnels);
        free(r->dests);
        free(r->ports);
    }
    if (p) {
        free(p->rules);
        memset(p, 0, sizeof(*p));
    }
}

static bool in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* users and groups: the rule names the user, or one of its groups; neither given: anyone. */
static bool who_matches(const struct edge_rule *r, const struct edge_ident *id)
{
    if (!r->users && !r->groups)
        return true;
    if (in_list(r->users, r->n_users, id->user))
        return true;
    for (size_t i = 0; i < r->n_groups; i++)
        if (edge_ident_in_group(id, r->groups[i]))
            return true;
    return false;
}

static bool where_matches(const struct edge_rule *r, const struct edge_request *q)
{
    if (r->tunnels && !in_list(r->tunnels, r->n_tunnels, q->tunnel))
        return false;
    if (r->protocols && !(r->protocols & q->proto))
        return false;
    if (r->dests) {
        bool in = false;
        for (size_t i = 0; i < r->n_dests && !in; i++)
            in = st_cidr_contains(&r->dests[i], q->family, q->addr);
        if (!in)
            return false;
    }
    if (r->ports) {
        if (q->proto == EDGE_PROTO_ICMP)
            return false;
        for (size_t i = 0; i < r->n_ports; i++)
            if (q->port >= r->ports[i].lo && q->port <= r->ports[i].hi)
                return true;
        return false;
    }
    return true;
}

bool edge_policy_allows(const struct edge_policy *p, const struct edge_request *r, int *rule)
{
    *rule = -1;
    if (!p->configured)
        return r->id->legacy;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct edge_rule *x = &p->rules[i];
        if (who_matches(x, r->id) && where_matches(x, r)) {
            *rule = (int)i;
            return x->allow;
        }
    }
    return false;
}

bool edge_policy_host_allows(const struct edge_host_acl *acl, const struct edge_ident *id)
{
    if (in_list(acl->users, acl->n_users, id->user))
        return true;
    for (size_t i = 0; i < acl->n_groups; i++)
        if (edge_ident_in_group(id, acl->groups[i]))
            return true;
    return false;
}

const char *edge_proto_name(unsigned proto)
{
    return proto == EDGE_PROTO_UDP ? "udp" : proto == EDGE_PROTO_ICMP ? "icmp" : "tcp";
}
