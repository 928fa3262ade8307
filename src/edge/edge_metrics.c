#include "edge_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_ah2.h"
#include "edge_fleet.h"
#include "edge_flow.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "st_log.h"
#include "st_mhttp.h"

enum { TC_HANDSHAKE, TC_REGISTERING, TC_REGISTERED, TC_CLOSING, TC_N };
static const char *const tc_states[TC_N] = {"handshake", "registering", "registered", "closing"};

static int tconn_state(const struct edge_tconn *c)
{
    if (c->registered)
        return TC_REGISTERED;
    if (c->tunnel || c->evicted)
        return TC_CLOSING; /* unregistered (drain) or evicted by a reload */
    return c->h2.session ? TC_REGISTERING : TC_HANDSHAKE;
}

static void tunnel_conns(struct edge_server *srv, struct st_mbuf *b)
{
    static const char name[] = "subtunnel_tunnel_connections";
    size_t loose[TC_N] = {0}, n = srv->reg.n_tunnels;
    size_t *closing = calloc(n ? n : 1, sizeof(*closing));
    /* one pass: registered ones are the registry's n_conns; the rest are few */
    for (struct edge_tconn *c = srv->tconns; c; c = c->next) {
        if (c->relay) /* to another edge, not from a gateway */
            continue;
        int st = tconn_state(c);
        if (!c->tunnel)
            loose[st]++;
        for (size_t i = 0; closing && st == TC_CLOSING && c->tunnel && i < n; i++)
            closing[i] += srv->reg.tunnels[i] == c->tunnel;
    }
    st_metrics_family(b, name, ST_MGAUGE,
                      "Tunnel connections from gateways, by tunnel and state (handshake and "
                      "registering ones have no tunnel yet: tunnel=\"\").");
    for (int s = TC_HANDSHAKE; s <= TC_REGISTERING; s++)
        st_metrics_u64(b, name, (const char *[]){"state", tc_states[s], "tunnel", "", NULL},
                       loose[s]);
    for (size_t i = 0; i < n; i++) {
        const struct edge_tunnel *t = srv->reg.tunnels[i];
        st_metrics_u64(b, name, (const char *[]){"state", "registered", "tunnel", t->id, NULL},
                       t->n_conns);
        st_metrics_u64(b, name, (const char *[]){"state", "closing", "tunnel", t->id, NULL},
                       closing ? closing[i] : 0);
    }
    free(closing);
}

static void registrations(struct edge_server *srv, struct st_mbuf *b)
{
    st_metrics_family(b, "subtunnel_registrations_total", ST_MCOUNTER,
                      "Tunnel connections the edge registered, by tunnel.");
    for (size_t i = 0; i < srv->reg.n_tunnels; i++)
        st_metrics_u64(b, "subtunnel_registrations_total",
                       (const char *[]){"tunnel", srv->reg.tunnels[i]->id, NULL},
                       srv->reg.tunnels[i]->registrations);
    st_metrics_family(b, "subtunnel_registration_failures_total", ST_MCOUNTER,
                      "Registrations the edge refused (or that did not come in time), by reason.");
    for (int r = 0; r < ST_REG_N; r++)
        if (r != ST_REG_CONN_FAILED)
            st_metrics_u64(b, "subtunnel_registration_failures_total",
                           (const char *[]){"reason", st_reg_reason_names[r], NULL},
                           srv->reg_failures[r]);
}

static void tunnel_bytes(struct edge_server *srv, struct st_mbuf *b)
{
    st_metrics_family(b, "subtunnel_tunnel_bytes_total", ST_MCOUNTER,
                      "DATA payload of the streams on a tunnel's connections, by direction "
                      "(to_edge: from the gateway; to_gateway: toward it), bytes.");
    for (size_t i = 0; i < srv->reg.n_tunnels; i++)
        for (int d = 0; d < ST_DIR_N; d++)
            st_metrics_u64(b, "subtunnel_tunnel_bytes_total",
                           (const char *[]){"direction", st_dir_names[d], "tunnel",
                                            srv->reg.tunnels[i]->id, NULL},
                           srv->reg.tunnels[i]->bytes[d]);
}

static void flows(struct edge_server *srv, struct st_mbuf *b)
{
    size_t live[ST_KIND_N] = {0};
    for (const struct edge_flow *f = srv->flows; f; f = f->all_next)
        live[f->masque ? st_flow_kind_of(f->protocol) : ST_KIND_TCP]++;
    live[ST_KIND_HTTP] = srv->live_webs;
    st_metrics_family(b, "subtunnel_flows_opened_total", ST_MCOUNTER,
                      "Flows and visitor requests the edge opened a tunnel stream for, by kind.");
    for (int k = 0; k < ST_KIND_N; k++)
        st_metrics_u64(b, "subtunnel_flows_opened_total",
                       (const char *[]){"kind", st_flow_kind_names[k], NULL}, srv->flows_opened[k]);
    st_metrics_family(b, "subtunnel_flows_refused_total", ST_MCOUNTER,
                      "Flows and visitor requests answered with an error by the edge or relayed "
                      "from the gateway, by kind and reason (RFC 9209 error type).");
    for (int k = 0; k < ST_KIND_N; k++)
        for (int r = 0; r < ST_REASON_N; r++)
            st_metrics_u64(
                b, "subtunnel_flows_refused_total",
                (const char *[]){"kind", st_flow_kind_names[k], "reason", st_reason_names[r], NULL},
                srv->flows_refused[k][r]);
    st_metrics_family(b, "subtunnel_flows_active", ST_MGAUGE,
                      "Flows and visitor requests open now, by kind.");
    for (int k = 0; k < ST_KIND_N; k++)
        st_metrics_u64(b, "subtunnel_flows_active",
                       (const char *[]){"kind", st_flow_kind_names[k], NULL}, live[k]);
    st_metrics_family(b, "subtunnel_flows_cut_total", ST_MCOUNTER,
                      "Flows and visitor requests the edge closed: a reader that took nothing for "
                      "send-timeout, or no byte either way for flow-idle-timeout.");
    st_metrics_u64(b, "subtunnel_flows_cut_total", (const char *[]){"reason", "send_timeout", NULL},
                   srv->flows_stalled);
    st_metrics_u64(b, "subtunnel_flows_cut_total", (const char *[]){"reason", "idle_timeout", NULL},
                   srv->flows_idle);
}

/* One edge's relay connections in a state, for subtunnel_relay_connections. */
struct relay_count {
    const char *side, *edge, *state;
    size_t n;
};

static void count_relay(struct relay_count *rc, size_t *n, const char *side, const char *edge,
                        const char *state)
{
    for (size_t i = 0; i < *n; i++)
        if (rc[i].side == side && rc[i].state == state && strcmp(rc[i].edge, edge) == 0) {
            rc[i].n++;
            return;
        }
    rc[(*n)++] = (struct relay_count){side, edge, state, 1};
}

/* Relay connections now, by side, other edge (bounded by the fleet) and state. */
static void relay_conns(struct edge_server *srv, struct st_mbuf *b)
{
    static const char name[] = "subtunnel_relay_connections";
    size_t total = 0, n = 0;
    for (const struct edge_tconn *c = srv->tconns; c; c = c->next)
        total += c->relay;
    for (const struct edge_ah2 *a = srv->ah2s; a; a = a->next)
        total += a->relay;
    struct relay_count *rc = calloc(total ? total : 1, sizeof(*rc));
    for (const struct edge_tconn *c = srv->tconns; rc && c; c = c->next)
        if (c->relay)
            count_relay(rc, &n, "entry", c->relay_id,
                        !c->relay_up                                           ? "connecting"
                        : nghttp2_session_check_request_allowed(c->h2.session) ? "up"
                                                                               : "closing");
    for (const struct edge_ah2 *a = srv->ah2s; rc && a; a = a->next)
        if (a->relay)
            count_relay(rc, &n, "holder", a->names ? a->names->cn : "", "up");
    st_metrics_family(b, name, ST_MGAUGE,
                      "Relay connections open now: side entry (dialed by this edge to the holder "
                      "`edge`) or holder (accepted from the entry edge `edge`), by state.");
    for (size_t i = 0; i < n; i++)
        st_metrics_u64(
            b, name,
            (const char *[]){"edge", rc[i].edge, "side", rc[i].side, "state", rc[i].state, NULL},
            rc[i].n);
    free(rc);
}

static void relays(struct edge_server *srv, struct st_mbuf *b)
{
    static const char *const side[EDGE_RELAY_SIDES] = {"entry", "holder"};
    static const char *const dir[EDGE_RELAY_DIRS] = {"to_holder", "to_entry"};
    const struct edge_relay_stats *s = &srv->relay_stats;
    relay_conns(srv, b);
    st_metrics_one(b, "subtunnel_relay_dials_total", ST_MCOUNTER,
                   "Relay connections this edge dialed to other edges.", s->dials);
    st_metrics_one(b, "subtunnel_relay_dial_failures_total", ST_MCOUNTER,
                   "Relay connections that failed before their TLS handshake finished.",
                   s->dial_failures);
    st_metrics_family(b, "subtunnel_relay_flows_total", ST_MCOUNTER,
                      "Relayed flows: side entry (sent to the edge holding the tunnel) or holder "
                      "(received from the edge the user came in at).");
    for (int i = 0; i < EDGE_RELAY_SIDES; i++)
        st_metrics_u64(b, "subtunnel_relay_flows_total", (const char *[]){"side", side[i], NULL},
                       s->flows[i]);
    st_metrics_family(b, "subtunnel_relay_bytes_total", ST_MCOUNTER,
                      "DATA payload on relay connections, by side and direction, bytes.");
    for (int i = 0; i < EDGE_RELAY_SIDES; i++)
        for (int d = 0; d < EDGE_RELAY_DIRS; d++)
            st_metrics_u64(b, "subtunnel_relay_bytes_total",
                           (const char *[]){"direction", dir[d], "side", side[i], NULL},
                           s->bytes[i][d]);
}

static void visitors(struct edge_server *srv, struct st_mbuf *b)
{
    st_metrics_family(b, "subtunnel_visitor_requests_total", ST_MCOUNTER,
                      "Visitor requests (hostname ingress) by the class of their answer, counted "
                      "when they end (none: ended without an answer).");
    for (int c = 0; c < ST_CLASS_N; c++)
        st_metrics_u64(b, "subtunnel_visitor_requests_total",
                       (const char *[]){"code", st_class_names[c], NULL}, srv->visits_by_class[c]);
    st_metrics_one(b, "subtunnel_visitor_connections", ST_MGAUGE,
                   "HTTP/1.1 visitor connections open now.", srv->n_vconns);
    st_metrics_one(b, "subtunnel_access_auth_failures_total", ST_MCOUNTER,
                   "Access requests whose proxy credentials were missing or wrong.",
                   srv->auth_failures);
    st_metrics_one(b, "subtunnel_access_policy_denied_total", ST_MCOUNTER,
                   "User flows refused by access-policy (or its default deny).",
                   srv->policy_denied);
    st_metrics_one(b, "subtunnel_flows_revoked_total", ST_MCOUNTER,
                   "User flows closed because a reload removed their credential or policy "
                   "no longer allowed them, or their credential expired.",
                   srv->flows_revoked);
    st_metrics_one(b, "subtunnel_audit_records_total", ST_MCOUNTER, "Audit log records written.",
                   srv->audit.records);
    st_metrics_one(b, "subtunnel_audit_records_dropped_total", ST_MCOUNTER,
                   "Audit log records dropped (buffer full, disk full, write errors).",
                   srv->audit.dropped);
    st_metrics_one(b, "subtunnel_connections_refused_total", ST_MCOUNTER,
                   "Connections reset at accept by max-connections, listener-max-connections "
                   "or max-connections-per-client.",
                   srv->conns_refused);
    st_metrics_one(b, "subtunnel_connections_evicted_total", ST_MCOUNTER,
                   "Connections still in their startup phase closed by max-unauthenticated.",
                   srv->conns_evicted);
    st_metrics_one(b, "subtunnel_accept_pauses_total", ST_MCOUNTER,
                   "Times a listener paused because no file descriptor was left.",
                   srv->accept_pauses);
    st_metrics_one(b, "subtunnel_tunnel_setups", ST_MGAUGE,
                   "Tunnel connections in their TLS handshake or not registered yet.",
                   srv->tunnel_setups);
    st_metrics_one(b, "subtunnel_tunnel_setup_holds_total", ST_MCOUNTER,
                   "Times the tunnel listener stopped accepting until some of its connections "
                   "in setup finished.",
                   srv->tunnel_holds);
}

void edge_metrics_write(struct edge_server *srv, struct st_mbuf *b)
{
    st_metrics_build_info(b, "edge");
    st_metrics_one(b, "subtunnel_draining", ST_MGAUGE,
                   "1 once a SIGTERM started the graceful drain.", srv->drain.draining);
    tunnel_conns(srv, b);
    registrations(srv, b);
    st_metrics_heartbeats(b, &srv->hb);
    tunnel_bytes(srv, b);
    flows(srv, b);
    visitors(srv, b);
    if (srv->fleet)
        edge_fleet_metrics(srv->fleet, b);
    if (srv->relay)
        relays(srv, b);
    st_metrics_process(b);
}

bool edge_metrics_ready(const struct edge_server *srv, char *why, size_t len)
{
    const struct edge_config *cfg = &srv->cfg;
    const struct {
        bool on;
        enum edge_lis kind;
        const char *what;
    } lis[] = {{true, EDGE_LIS_TUNNEL, "tunnel"},
               {cfg->has_access, EDGE_LIS_ACCESS, "access"},
               {cfg->has_access6, EDGE_LIS_ACCESS6, "access (access-listen6)"},
               {cfg->has_access_tls, EDGE_LIS_ACCESS_TLS, "access TLS"},
               {cfg->has_http, EDGE_LIS_HTTP, "visitor HTTP"},
               {cfg->has_https, EDGE_LIS_HTTPS, "visitor HTTPS"}};
    if (srv->drain.draining) {
        snprintf(why, len, "draining");
        return false;
    }
    size_t open = 0;
    for (size_t i = 0; i < sizeof(lis) / sizeof(lis[0]); i++) {
        bool paused;
        size_t n = edge_listen_kind_open(srv, lis[i].kind, &paused);
        if (lis[i].on && n == 0) {
            snprintf(why, len, "the %s listener is not open", lis[i].what);
            return false;
        }
        if (lis[i].on && paused) {
            snprintf(why, len, "the %s listener is paused: no file descriptor left", lis[i].what);
            return false;
        }
        open += lis[i].on ? n : 0;
    }
    size_t reg = 0;
    for (const struct edge_tconn *c = srv->tconns; c; c = c->next)
        reg += c->registered;
    snprintf(why, len, "%zu listeners open, %zu tunnel connections registered", open, reg);
    return true;
}

static void write_cb(void *data, struct st_mbuf *out)
{
    edge_metrics_write(data, out);
}

static bool ready_cb(void *data, char *why, size_t len)
{
    return edge_metrics_ready(data, why, len);
}

static const struct st_mhttp_ops ops = {.metrics = write_cb, .ready = ready_cb};

int edge_metrics_start(struct edge_server *srv)
{
    st_h2_hbstats_init(&srv->hb);
    if (!srv->cfg.has_metrics)
        return 0;
    return st_mhttp_start(&srv->mhttp, &srv->loop, &srv->cfg.metrics_listen, &ops, srv);
}

void edge_metrics_stop(struct edge_server *srv)
{
    st_mhttp_free(srv->mhttp);
    srv->mhttp = NULL;
}
