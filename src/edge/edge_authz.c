#include "edge_authz.h"

#include <stdio.h>
#include <string.h>

#include "edge_audit.h"
#include "edge_auth.h"
#include "edge_flow.h"
#include "edge_policy.h"
#include "edge_registry.h"
#include "edge_server.h"
#include "st_addr.h"
#include "st_metrics.h"

unsigned edge_authz_proto(const struct edge_flow *f)
{
    enum st_flow_kind k = f->masque ? st_flow_kind_of(f->protocol) : ST_KIND_TCP;
    return k == ST_KIND_UDP ? EDGE_PROTO_UDP : k == ST_KIND_ICMP ? EDGE_PROTO_ICMP : EDGE_PROTO_TCP;
}

static void audit_decision(struct edge_flow *f, const char *tunnel, bool allow)
{
    struct edge_audit_rec r = {.event = "decision",
                               .location = f->srv->cfg.location,
                               .id = &f->ident,
                               .client = f->client,
                               .tunnel = tunnel,
                               .flow = f->id,
                               .kind = edge_proto_name(edge_authz_proto(f)),
                               .dest = f->target,
                               .verdict = allow ? "allow" : "deny",
                               .rule = f->rule,
                               .has_rule = true,
                               .duration_ms = -1};
    edge_audit_log(&f->srv->audit, &r);
}

bool edge_authz_flow(struct edge_flow *f, struct edge_tunnel *t, int family, const uint8_t *addr,
                     uint16_t port)
{
    unsigned proto = edge_authz_proto(f);
    struct edge_request q = {.id = &f->ident,
                             .tunnel = t ? t->id : NULL,
                             .family = family,
                             .addr = addr,
                             .port = proto == EDGE_PROTO_ICMP ? 0 : port,
                             .proto = proto};
    bool ok = edge_policy_allows(&f->srv->cfg.policy, &q, &f->rule);
    audit_decision(f, q.tunnel, ok);
    if (ok)
        return true;
    f->srv->policy_denied++;
    char rule[40] = "no rule matched (default deny)";
    if (f->rule >= 0)
        snprintf(rule, sizeof(rule), "access-policy rule %d", f->rule + 1);
    edge_refusal(f->srv, EDGE_REFUSE_POLICY, "flow %s -> %s %s: user %s refused by %s", f->client,
                 edge_proto_name(proto), f->target, f->ident.user, rule);
    return false;
}

const char *edge_authz_revoked(struct edge_flow *f, int64_t now)
{
    const char *why = NULL;
    if (edge_auth_recheck(&f->srv->cfg, &f->ident, now, &why) < 0)
        return why;
    uint8_t addr[16];
    uint16_t port;
    struct edge_request q = {.id = &f->ident, .tunnel = f->tunnel ? f->tunnel->id : NULL};
    if (st_client_parse(f->target, strlen(f->target), &q.family, addr, &port) < 0)
        return "destination unreadable";
    q.addr = addr;
    q.proto = edge_authz_proto(f);
    q.port = q.proto == EDGE_PROTO_ICMP ? 0 : port;
    if (!edge_policy_allows(&f->srv->cfg.policy, &q, &f->rule))
        return "access-policy no longer allows it";
    return NULL;
}

void edge_authz_audit_refused(struct edge_server *srv, const char *client, const char *kind,
                              const char *dest, const char *why)
{
    struct edge_audit_rec r = {.event = "decision",
                               .location = srv->cfg.location,
                               .client = client,
                               .kind = kind,
                               .dest = dest,
                               .verdict = "deny",
                               .reason = why,
                               .duration_ms = -1};
    edge_audit_log(&srv->audit, &r);
}

void edge_authz_audit_end(struct edge_flow *f)
{
    if (!f->opened || !f->srv->audit.path)
        return;
    struct edge_audit_rec r = {.event = "end",
                               .location = f->srv->cfg.location,
                               .id = f->has_ident ? &f->ident : NULL,
                               .client = f->client,
                               .src_tunnel = f->src_tunnel ? f->src_tunnel->id : NULL,
                               .tunnel = f->dest_tunnel ? f->dest_tunnel->id : NULL,
                               .flow = f->id,
                               .conn = f->tc_id,
                               .kind = edge_proto_name(edge_authz_proto(f)),
                               .dest = f->target,
                               .status = f->status > 0 ? f->status : 0,
                               .reason = f->end ? f->end : "closed",
                               .bytes_up = f->bytes_up,
                               .bytes_down = f->bytes_down,
                               .duration_ms = (int64_t)(st_loop_now(&f->srv->loop) - f->opened_ms)};
    edge_audit_log(&f->srv->audit, &r);
}
