#include "edge_authz.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "edge_ah2.h"
#include "edge_audit.h"
#include "edge_auth.h"
#include "edge_flow.h"
#include "edge_policy.h"
#include "edge_registry.h"
#include "edge_server.h"
#include "edge_vconn.h"
#include "edge_visit.h"
#include "edge_web.h"
#include "st_addr.h"
#include "st_metrics.h"
#include "st_token.h"

unsigned edge_authz_proto(const struct edge_flow *f)
{
    enum st_flow_kind k = f->masque ? st_flow_kind_of(f->protocol) : ST_KIND_TCP;
    return k == ST_KIND_UDP ? EDGE_PROTO_UDP : k == ST_KIND_ICMP ? EDGE_PROTO_ICMP : EDGE_PROTO_TCP;
}

/* A relayed flow's other edge: the holder at the entry edge, the entry edge at the holder. */
static const char *relay_to(const struct edge_flow *f)
{
    return !f->relayed && f->relay_peer[0] ? f->relay_peer : NULL;
}

static const char *relay_from(const struct edge_flow *f)
{
    return f->relayed && f->relay_peer[0] ? f->relay_peer : NULL;
}

static void audit_decision(struct edge_flow *f, const char *tunnel, bool allow)
{
    struct edge_audit_rec r = {.event = "decision",
                               .location = f->srv->cfg.location,
                               .id = &f->ident,
                               .client = f->client,
                               .tunnel = tunnel,
                               .relay_from = relay_from(f),
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
                               .relay_to = relay_to(f),
                               .relay_from = relay_from(f),
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

static const struct st_tls_names *visitor_names(const struct edge_web *w)
{
    if (w->vc)
        return edge_vconn_names(w->vc);
    return w->ah ? w->ah->names : NULL;
}

/* Takes every Authorization field out of the request for the origin. */
static void strip_authorization(struct edge_visit_h2 *h)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n_nv; i++)
        if (!(h->nv[i].namelen == 13 &&
              strncasecmp((const char *)h->nv[i].name, "authorization", 13) == 0))
            h->nv[k++] = h->nv[i];
    h->n_nv = k;
}

/* A visitor w->ident that a host requiring users (acl) may not see: 403, false. */
static bool host_allows(struct edge_web *w, const struct edge_host_acl *acl)
{
    if (edge_policy_host_allows(acl, &w->ident))
        return true;
    w->srv->policy_denied++;
    edge_refusal(w->srv, EDGE_REFUSE_POLICY, "visitor %s: host '%s': user %s is not allowed",
                 w->client, w->host, w->ident.user);
    edge_web_local(w, 403, NULL);
    return false;
}

bool edge_authz_visitor(struct edge_web *w, const struct edge_visit_req *req,
                        struct edge_visit_h2 *h)
{
    struct edge_server *srv = w->srv;
    const struct edge_host_acl *acl = edge_registry_host_acl(&srv->reg, w->host);
    if (!acl)
        return true;
    if (!req->tls) { /* credentials never cross in the clear: to HTTPS, or refused */
        edge_refusal(srv, EDGE_REFUSE_POLICY,
                     "visitor %s: host '%s' requires a user: not over "
                     "cleartext HTTP",
                     w->client, w->host);
        edge_web_local(w, srv->cfg.has_https ? 308 : 403, NULL);
        return false;
    }
    const struct st_http_field *auth = NULL;
    for (size_t i = 0; i < req->n_fields; i++)
        if (req->fields[i].nlen == 13 && strncasecmp(req->fields[i].name, "authorization", 13) == 0)
            auth = &req->fields[i];
    const char *why = "missing";
    int rc = edge_auth_request(&srv->cfg, auth ? auth->value : "", auth ? auth->vlen : 0,
                               visitor_names(w), st_wall_seconds(), &w->ident, &why);
    if (rc < 0) {
        srv->auth_failures++;
        edge_refusal(srv, EDGE_REFUSE_AUTH, "visitor %s: host '%s' requires a user: %s", w->client,
                     w->host, why);
        edge_web_local(w, 401, NULL);
        return false;
    }
    w->has_ident = true;
    if (!host_allows(w, acl))
        return false;
    strip_authorization(h);
    return true;
}

bool edge_authz_visitor_relayed(struct edge_web *w, bool tls, struct edge_visit_h2 *h)
{
    struct edge_server *srv = w->srv;
    const struct edge_host_acl *acl = edge_registry_host_acl(&srv->reg, w->host);
    if (!acl)
        return true;
    if (!tls) { /* the relaying edge answers that itself */
        edge_web_local(w, 403, NULL);
        return false;
    }
    if (!w->has_ident) {
        srv->auth_failures++;
        edge_refusal(srv, EDGE_REFUSE_AUTH,
                     "visitor %s relayed by edge %s: host '%s' requires a user: %s", w->client,
                     w->relay_edge, w->host, w->auth_why ? w->auth_why : "missing");
        edge_web_local(w, 401, NULL);
        return false;
    }
    if (!host_allows(w, acl))
        return false;
    strip_authorization(h);
    return true;
}

const char *edge_authz_web_revoked(struct edge_web *w, int64_t now)
{
    const char *why = NULL;
    if (edge_auth_recheck(&w->srv->cfg, &w->ident, now, &why) < 0)
        return why;
    const struct edge_host_acl *acl = edge_registry_host_acl(&w->srv->reg, w->host);
    return acl && !edge_policy_host_allows(acl, &w->ident) ? "no longer allowed on this host"
                                                           : NULL;
}

void edge_authz_audit_web(struct edge_web *w)
{
    if (!w->srv->audit.path || !w->method[0])
        return;
    char path[sizeof(w->req_path)]; /* without the query: it may carry tokens (OAuth codes) */
    snprintf(path, sizeof(path), "%.*s", (int)strcspn(w->req_path, "?#"), w->req_path);
    struct edge_audit_rec r = {.event = "end",
                               .location = w->srv->cfg.location,
                               .id = w->has_ident ? &w->ident : NULL,
                               .client = w->client,
                               .tunnel = w->tunnel ? w->tunnel->id : NULL,
                               .flow = w->id,
                               .kind = "http",
                               .method = w->method,
                               .host = w->host,
                               .path = path,
                               .relay_to = !w->relayed && w->relay_edge[0] ? w->relay_edge : NULL,
                               .relay_from = w->relayed && w->relay_edge[0] ? w->relay_edge : NULL,
                               .status = w->responded ? w->status : 0,
                               .verdict = w->has_ident || w->status != 401 ? NULL : "deny",
                               .reason = w->responded ? NULL : "no response",
                               .bytes_up = w->bytes_up,
                               .bytes_down = w->bytes_down,
                               .duration_ms = (int64_t)(st_loop_now(&w->srv->loop) - w->start_ms)};
    edge_audit_log(&w->srv->audit, &r);
}

/* A reach connection's stream authenticates with its tunnel token: "Bearer id:secret". */
struct edge_tunnel *edge_authz_reach_tunnel(struct edge_server *srv, const uint8_t *v, size_t len)
{
    char tok[320], id[64], secret[256];
    if (len < 8 || len - 7 >= sizeof(tok) || memcmp(v, "Bearer ", 7) != 0)
        return NULL;
    memcpy(tok, v + 7, len - 7);
    tok[len - 7] = 0;
    if (st_token_split(tok, id, sizeof(id), secret, sizeof(secret)) < 0)
        return NULL;
    struct edge_tunnel *t = edge_registry_find(&srv->reg, id);
    return t && edge_tunnel_secret_ok(t->conf, secret, NULL) ? t : NULL;
}

/* A reach stream's subtunnel-client must be an address of the sending tunnel's own site,
 * or a gateway could pass off its flows as another site's hosts. */
bool edge_authz_client_in_site(const struct edge_flow *f)
{
    int family;
    uint8_t addr[16];
    uint16_t port;
    if (st_client_parse(f->client, strlen(f->client), &family, addr, &port) < 0)
        return false;
    const struct edge_tunnel_conf *t = f->src_tunnel->conf;
    for (size_t i = 0; t && i < t->n_routes; i++)
        if (st_cidr_contains(&t->routes[i], family, addr))
            return true;
    return false;
}
