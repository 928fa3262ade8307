#include "gw_reach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lwip/tcp.h>
#include <string.h>

#include "gw_dgram.h"
#include "gw_flow.h"
#include "gw_server.h"
#include "ns_tun.h"
#include "st_log.h"

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct gw_server *gw = arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    return gw_flow_accept(gw, pcb) < 0 ? ERR_ABRT : ERR_OK;
}

int gw_reach_init(struct gw_server *gw)
{
    struct tcp_pcb *pcb = tcp_new();
    if (!pcb)
        return -ENOMEM;
    ip_set_option(pcb, SOF_ANYPORT); /* netstack patch: accept SYNs to any address and port */
    struct tcp_pcb *l = tcp_listen(pcb);
    if (!l) {
        tcp_abort(pcb);
        return -ENOMEM;
    }
    tcp_arg(l, gw);
    tcp_accept(l, on_accept);
    gw->reach_listener = l;
    return gw_dgram_reach_init(gw);
}

static bool installed(const struct gw_server *gw, const struct st_cidr *c)
{
    for (size_t i = 0; i < gw->n_reach_routes; i++)
        if (gw->reach_routes[i].prefix == c->prefix &&
            memcmp(gw->reach_routes[i].addr, c->addr, 4) == 0)
            return true;
    return false;
}

void gw_reach_routes(struct gw_server *gw, const struct st_cidr *routes, size_t n)
{
    if (!gw->cfg.reach)
        return;
    for (size_t i = 0; i < n; i++) {
        char txt[64];
        st_cidr_format(&routes[i], txt, sizeof(txt));
        if (routes[i].family != AF_INET) {
            st_warn("reach: route %s skipped: only IPv4 is captured yet", txt);
            continue;
        }
        if (installed(gw, &routes[i]))
            continue;
        if (gw->n_reach_routes == GW_REACH_MAX_ROUTES) {
            st_warn("reach: route %s skipped: more than %d routes", txt, GW_REACH_MAX_ROUTES);
            continue;
        }
        struct in_addr net;
        memcpy(&net, routes[i].addr, 4);
        int rv = ns_tun_add_route4(gw->ifname, net, routes[i].prefix);
        if (rv < 0) {
            st_err("reach: route %s via %s: %s", txt, gw->ifname, strerror(-rv));
            continue;
        }
        gw->reach_routes[gw->n_reach_routes++] = routes[i];
        st_info("reach: %s routed into %s", txt, gw->ifname);
    }
}

bool gw_reach_covers(const struct gw_server *gw, const uint8_t addr[4])
{
    for (size_t i = 0; i < gw->n_reach_routes; i++)
        if (st_cidr_contains(&gw->reach_routes[i], AF_INET, addr))
            return true;
    return false;
}
