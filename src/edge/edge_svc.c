#include "edge_svc.h"

#include <stdio.h>
#include <string.h>

#include "edge_server.h"
#include "edge_tconn.h"
#include "st_log.h"

int edge_svc_resolve(struct edge_server *srv, char *err, size_t errlen)
{
    return st_priv_resolve(&srv->priv, srv->cfg.user, srv->cfg.group, err, errlen);
}

void edge_svc_status(struct edge_server *srv, char *buf, size_t len)
{
    size_t reg = 0;
    for (const struct edge_tconn *c = srv->tconns; c; c = c->next)
        reg += c->registered;
    snprintf(buf, len, "%s%zu tunnel connections registered, %zu flows open",
             srv->drain.draining ? "draining: " : "", reg, srv->live_flows + srv->live_webs);
}

static void status_cb(void *data, char *buf, size_t len)
{
    edge_svc_status(data, buf, len);
}

void edge_svc_start(struct edge_server *srv)
{
    st_notify_init_env(&srv->notify);
    st_notify_start(&srv->notify, &srv->loop, status_cb, srv);
}

int edge_svc_ready(struct edge_server *srv)
{
    char err[256], who[256];
    if (srv->priv.on) {
        if (st_priv_drop(&srv->priv, NULL, 0, err, sizeof(err)) < 0) {
            st_err("%s", err);
            return -1;
        }
        st_priv_describe(who, sizeof(who));
        st_info("running as user %s, group %s (%s)", srv->priv.user, srv->priv.group, who);
    }
    st_notify_ready(&srv->notify);
    return 0;
}

void edge_svc_keep_user(struct edge_config *cur, struct edge_config *next)
{
    st_priv_keep_user(&cur->user, &cur->group, &next->user, &next->group);
}

void edge_svc_stop(struct edge_server *srv)
{
    st_notify_fini(&srv->notify);
}
