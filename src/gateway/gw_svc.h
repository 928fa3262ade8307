#ifndef SUBTUNNEL_GW_SVC_H
#define SUBTUNNEL_GW_SVC_H

/* The gateway as a service: systemd notifications (READY=1 once the first tunnel connection
 * registered, RELOADING=1 / STOPPING=1, a STATUS= line with its connection and flow counts,
 * WATCHDOG=1 from the loop) and the switch to `user:` once the TUN device is up, keeping
 * CAP_NET_ADMIN with `reach` (its routes are added and withdrawn while it runs and on
 * reload) and no capability without. */

#include <stddef.h>

struct gw_server;
struct gw_config;

/* Resolves gw->cfg's user and group into gw->priv. 0, or -EINVAL with the reason in err. */
int gw_svc_resolve(struct gw_server *gw, char *err, size_t errlen);
/* Once the loop exists: connects to $NOTIFY_SOCKET and starts the watchdog and status
 * timers (no-op without a service manager). */
void gw_svc_start(struct gw_server *gw);
/* Once the TUN device and the reach listener are set up: switches to the configured user
 * (logged), keeping CAP_NET_ADMIN only with reach. 0, or -1 when the switch failed (logged). */
int gw_svc_drop(struct gw_server *gw);
/* A tunnel connection registered: READY=1 the first time (and after a reload). */
void gw_svc_registered(struct gw_server *gw);
/* One line for STATUS=: registered tunnel connections, edges and open flows. */
void gw_svc_status(struct gw_server *gw, char *buf, size_t len);
/* A reload cannot change user or group: keeps cur's in next (warns when they differ). */
void gw_svc_keep_user(struct gw_config *cur, struct gw_config *next);
void gw_svc_stop(struct gw_server *gw);

#endif
