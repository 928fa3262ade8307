#ifndef SUBTUNNEL_EDGE_SVC_H
#define SUBTUNNEL_EDGE_SVC_H

/* The edge as a service: systemd notifications (READY=1 once the listeners are open,
 * RELOADING=1 / STOPPING=1, a STATUS= line with its connection and flow counts, WATCHDOG=1
 * from the loop) and the switch to `user:` once the listeners are open, keeping no
 * capability (the edge never binds again: a listener change needs a restart). */

#include <stddef.h>

struct edge_server;
struct edge_config;

/* Resolves srv->cfg's user and group into srv->priv. 0, or -EINVAL with the reason in err. */
int edge_svc_resolve(struct edge_server *srv, char *err, size_t errlen);
/* Once the loop exists: connects to $NOTIFY_SOCKET and starts the watchdog and status
 * timers (no-op without a service manager). */
void edge_svc_start(struct edge_server *srv);
/* Once every listener is open: switches to the configured user (logged), then READY=1.
 * 0, or -1 when the switch failed (logged: the edge must not run on as root). */
int edge_svc_ready(struct edge_server *srv);
/* One line for STATUS=: registered tunnel connections and open flows. */
void edge_svc_status(struct edge_server *srv, char *buf, size_t len);
/* A reload cannot change user or group: keeps cur's in next (warns when they differ). */
void edge_svc_keep_user(struct edge_config *cur, struct edge_config *next);
void edge_svc_stop(struct edge_server *srv);

#endif
