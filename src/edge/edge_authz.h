#ifndef SUBTUNNEL_EDGE_AUTHZ_H
#define SUBTUNNEL_EDGE_AUTHZ_H

/* Authorization of user flows at the edge: access-policy's verdict when a flow opens and again
 * on reload, and the flow's audit records (edge_audit.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct edge_flow;
struct edge_server;
struct edge_tunnel;
struct edge_ident;
struct edge_web;
struct edge_visit_req;
struct edge_visit_h2;

/* access-policy's verdict on f (a user's flow) to addr:port in tunnel t (NULL: no tunnel
 * announces it). Logs a refusal naming user, destination and rule, and writes the decision
 * to the audit log; the caller answers a refusal (403). */
bool edge_authz_flow(struct edge_flow *f, struct edge_tunnel *t, int family, const uint8_t *addr,
                     uint16_t port);
/* Why f may not go on under the running configuration at now (credential removed or expired,
 * or access-policy no longer allows it), or NULL. */
const char *edge_authz_revoked(struct edge_flow *f, int64_t now);
/* A request whose credential was refused: its audit record. kind "tcp"... or "http". */
void edge_authz_audit_refused(struct edge_server *srv, const char *client, const char *kind,
                              const char *dest, const char *why);
/* The flow ends: its audit record (user flows and site-to-site flows that opened a stream). */
void edge_authz_audit_end(struct edge_flow *f);
/* A visitor request to a host name that requires users (tunnels[].hostnames with users or
 * groups): true when the request's Authorization (Basic with a token or signed token as the
 * password, or Bearer) or the connection's client certificate names an allowed user; then
 * the Authorization field is taken out of h (the origin never sees the credential).
 * Otherwise answers 401 (with WWW-Authenticate: Basic, so a browser asks) or 403 and returns
 * false. Public host names: true at once. */
bool edge_authz_visitor(struct edge_web *w, const struct edge_visit_req *req,
                        struct edge_visit_h2 *h);
/* The same for a request another edge relayed here (w->relayed; tls: its scheme was https):
 * the host's users and groups are checked against the identity that came with it
 * (edge_web_relay_header rechecked it), none or a refused one answers 401. */
bool edge_authz_visitor_relayed(struct edge_web *w, bool tls, struct edge_visit_h2 *h);
/* Why visitor exchange w (authenticated for a host that requires users) may not go on now,
 * or NULL. */
const char *edge_authz_web_revoked(struct edge_web *w, int64_t now);
/* The visitor request ends: its audit record (method, host, path, status, user). */
void edge_authz_audit_web(struct edge_web *w);
/* A reach stream's Proxy-Authorization "Bearer id:secret" (its tunnel token): the tunnel, or
 * NULL when the token is not valid. */
struct edge_tunnel *edge_authz_reach_tunnel(struct edge_server *srv, const uint8_t *v, size_t len);
/* A reach stream's subtunnel-client must be an address of the sending tunnel's own site, or
 * a gateway could pass off its flows as another site's hosts. */
bool edge_authz_client_in_site(const struct edge_flow *f);
/* tcp, udp or icmp: the flow's EDGE_PROTO_* */
unsigned edge_authz_proto(const struct edge_flow *f);

#endif
