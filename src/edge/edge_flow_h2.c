#include "edge_flow.h"
#include "edge_flow_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "edge_ah2.h"
#include "edge_auth.h"
#include "edge_authz.h"
#include "edge_registry.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "st_addr.h"
#include "st_log.h"
#include "st_masque.h"

/* The HTTP/2 access side of a flow: its request's fields and the checks before routing. */

/* A relayed stream's fields: the user's identity (checked against this edge's configuration
 * again) or the site's tunnel, and the original client. Credentials are not accepted here.
 * Every identity or tunnel field must check out: one that does not refuses the flow, whatever
 * came before or after it. */
static void relay_header(struct edge_flow *f, const uint8_t *name, size_t nlen,
                         const uint8_t *value, size_t vlen)
{
    const char *why = NULL;
    bool ok;
    if (nlen == strlen(EDGE_RELAY_IDENT_HDR) && memcmp(name, EDGE_RELAY_IDENT_HDR, nlen) == 0) {
        ok = f->has_ident = edge_relay_ident_accept(&f->srv->cfg, (const char *)value, vlen,
                                                    st_wall_seconds(), &f->ident, &why);
    } else if (nlen == strlen(EDGE_RELAY_TUNNEL_HDR) &&
               memcmp(name, EDGE_RELAY_TUNNEL_HDR, nlen) == 0) {
        char id[64];
        ok = edge_relay_tunnel_decode((const char *)value, vlen, id, sizeof(id)) == 0 &&
             (f->src_tunnel = edge_registry_find(&f->srv->reg, id)) != NULL;
        why = "unknown relayed tunnel";
    } else {
        if (nlen == 16 && memcmp(name, "subtunnel-client", 16) == 0)
            snprintf(f->client, sizeof(f->client), "%.*s", (int)vlen, (const char *)value);
        return;
    }
    f->authorized = ok && !f->auth_why;
    if (!ok)
        f->auth_why = why;
}

void edge_flow_h2_header(struct edge_flow *f, const uint8_t *name, size_t nlen,
                         const uint8_t *value, size_t vlen)
{
    if (nlen == 7 && memcmp(name, ":method", 7) == 0)
        snprintf(f->method, sizeof(f->method), "%.*s", (int)vlen, (const char *)value);
    else if (nlen == 10 && memcmp(name, ":authority", 10) == 0)
        snprintf(f->target, sizeof(f->target), "%.*s", (int)vlen, (const char *)value);
    else if (nlen == 9 && memcmp(name, ":protocol", 9) == 0) {
        f->has_protocol = true;
        snprintf(f->protocol, sizeof(f->protocol), "%.*s", (int)vlen, (const char *)value);
    } else if (nlen == 5 && memcmp(name, ":path", 5) == 0 && vlen < sizeof(f->path))
        snprintf(f->path, sizeof(f->path), "%.*s", (int)vlen, (const char *)value);
    else if (f->ah->relay)
        relay_header(f, name, nlen, value, vlen);
    else if (nlen == 19 && memcmp(name, "proxy-authorization", 19) == 0 && f->ah->reach) {
        f->authorized = (f->src_tunnel = edge_authz_reach_tunnel(f->srv, value, vlen)) != NULL;
        if (f->authorized) /* a reach gateway with a valid token */
            edge_ah2_authenticated(f->ah);
    } else if (nlen == 19 && memcmp(name, "proxy-authorization", 19) == 0) {
        f->authorized = f->has_ident =
            edge_auth_header(&f->srv->cfg, (const char *)value, vlen, st_wall_seconds(), &f->ident,
                             &f->auth_why) == 0;
        if (f->authorized) /* a user with a valid credential */
            edge_ah2_authenticated(f->ah);
    } else if (nlen == 16 && memcmp(name, "subtunnel-client", 16) == 0 && f->ah->reach)
        snprintf(f->client, sizeof(f->client), "%.*s", (int)vlen, (const char *)value);
}

/* connect-udp (RFC 9298) or connect-ip scoped to one address and ICMP (RFC 9484): the
 * target comes from :path; f->target becomes "ip:port" ("ip:0" for connect-ip). */
int edge_flow_masque_target(struct edge_flow *f)
{
    int family;
    uint8_t addr[16];
    uint16_t port;
    int rv = st_masque_target(f->protocol, f->path, strlen(f->path), &family, addr, &port);
    if (rv < 0)
        return rv == -EPROTONOSUPPORT ? rv : -EINVAL;
    struct st_sockaddr sa;
    st_sockaddr_from(&sa, family, addr, port);
    st_sockaddr_format(&sa, f->target, sizeof(f->target));
    return 0;
}

void edge_flow_h2_request(struct edge_flow *f, const char *client)
{
    if (f->relayed && f->srv->drain.draining) {
        /* as a draining gateway's connection does (GOAWAY came first): unprocessed, so the
         * entry edge gives the flow to the next holder */
        st_info("relay %s: CONNECT %s refused: draining", client, f->target);
        edge_ah2_reset(f->ah, f->asid, NGHTTP2_REFUSED_STREAM);
        return;
    }
    f->masque = strcmp(f->method, "CONNECT") == 0 &&
                (strcmp(f->protocol, "connect-udp") == 0 || strcmp(f->protocol, "connect-ip") == 0);
    if (strcmp(f->method, "CONNECT") != 0 || (f->has_protocol && !f->masque)) {
        edge_flow_respond_error(f, 501,
                                "subtunnel; error=http_request_error; "
                                "details=\"only CONNECT, connect-udp and connect-ip\"");
        return;
    }
    int rv = f->masque ? edge_flow_masque_target(f) : 0;
    if (rv < 0) {
        edge_flow_respond_error(f, rv == -EPROTONOSUPPORT ? 501 : 400,
                                rv == -EPROTONOSUPPORT ? ST_MASQUE_PS_SCOPE
                                                       : ST_MASQUE_PS_BAD_PATH);
        return;
    }
    if (f->masque) /* its datagrams go before bulk DATA on this connection (st_h2conn.h) */
        st_h2_favour(f->ah->h2.session, f->asid);
    if (!f->authorized && !f->ah->reach && !f->auth_why && f->ah->names) {
        /* no Proxy-Authorization: the connection's client certificate, when it has one */
        f->authorized = f->has_ident =
            edge_auth_request(&f->srv->cfg, "", 0, f->ah->names, st_wall_seconds(), &f->ident,
                              &f->auth_why) == 0;
        if (f->authorized)
            edge_ah2_authenticated(f->ah);
    }
    if (!f->authorized) {
        f->srv->auth_failures++;
        edge_authz_audit_refused(f->srv, client, edge_proto_name(edge_authz_proto(f)), f->target,
                                 f->auth_why ? f->auth_why : "missing");
        edge_refusal(f->srv, EDGE_REFUSE_AUTH,
                     "access %s: CONNECT %s over HTTP/2: proxy authentication %s", client,
                     f->target, f->auth_why ? f->auth_why : "missing");
        edge_flow_respond_error(f, 407, "subtunnel; error=http_request_denied");
        return;
    }
    if (f->src_tunnel && !edge_authz_client_in_site(f)) {
        st_warn("flow from tunnel %s: client address '%s' is outside its routes: refused",
                f->src_tunnel->id, f->client);
        edge_flow_respond_error(f, 403,
                                "subtunnel; error=http_request_denied; details=\"bad client\"");
        return;
    }
    if (!f->src_tunnel && !(f->relayed && f->client[0]))
        snprintf(f->client, sizeof(f->client), "%s", client);
    edge_flow_route(f, f->client);
}
