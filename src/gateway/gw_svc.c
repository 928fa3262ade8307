#include "gw_svc.h"

#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_flow.h"
#include "gw_metrics.h"
#include "gw_server.h"
#include "st_log.h"

int gw_svc_resolve(struct gw_server *gw, char *err, size_t errlen)
{
    return st_priv_resolve(&gw->priv, gw->cfg.user, gw->cfg.group, err, errlen);
}

static size_t flows_open(const struct gw_server *gw)
{
    size_t n = (size_t)(gw->dgram.udp_live + gw->dgram.icmp_live);
    for (size_t i = 0; i < gw->n_conns; i++)
        for (const struct gw_flow *f = gw->conns[i]->flows; f; f = f->next)
            n += !f->dgram;
    for (const struct gw_conn *c = gw->retired; c; c = c->next_retired)
        for (const struct gw_flow *f = c->flows; f; f = f->next)
            n += !f->dgram;
    return n;
}

void gw_svc_status(struct gw_server *gw, char *buf, size_t len)
{
    char why[200];
    bool ready = gw_metrics_ready(gw, why, sizeof(why));
    snprintf(buf, len, "%s%s; %zu flows open", ready ? "" : "not ready: ", why, flows_open(gw));
}

static void status_cb(void *data, char *buf, size_t len)
{
    gw_svc_status(data, buf, len);
}

void gw_svc_start(struct gw_server *gw)
{
    st_notify_init_env(&gw->notify);
    st_notify_start(&gw->notify, &gw->loop, status_cb, gw);
}

int gw_svc_drop(struct gw_server *gw)
{
    static const int keep[] = {CAP_NET_ADMIN};
    char err[256], who[256];
    if (!gw->priv.on)
        return 0;
    /* only reach changes routes after start-up (adding reach needs a restart) */
    if (st_priv_drop(&gw->priv, keep, gw->cfg.reach ? 1 : 0, err, sizeof(err)) < 0) {
        st_err("%s", err);
        return -1;
    }
    st_priv_describe(who, sizeof(who));
    st_info("running as user %s, group %s (%s)", gw->priv.user, gw->priv.group, who);
    return 0;
}

void gw_svc_registered(struct gw_server *gw)
{
    st_notify_ready(&gw->notify);
}

void gw_svc_keep_user(struct gw_config *cur, struct gw_config *next)
{
    st_priv_keep_user(&cur->user, &cur->group, &next->user, &next->group);
}

void gw_svc_stop(struct gw_server *gw)
{
    st_notify_fini(&gw->notify);
}
