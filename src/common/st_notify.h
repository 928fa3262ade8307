#ifndef SUBTUNNEL_ST_NOTIFY_H
#define SUBTUNNEL_ST_NOTIFY_H

/* The service manager's readiness protocol (sd_notify(3), spoken directly: one datagram
 * of "KEY=value" lines to the unix socket named by $NOTIFY_SOCKET) and its watchdog
 * ($WATCHDOG_USEC, $WATCHDOG_PID). Without $NOTIFY_SOCKET every call is a no-op. The socket
 * is connected once at start-up, so messages still go out after the privilege drop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "st_loop.h"

#define ST_NOTIFY_STATUS_MS 1000 /* how often the STATUS= line is refreshed (sent on change) */
#define ST_NOTIFY_STATUS_MAX 256

/* Writes a one-line status (no "STATUS=") into buf. */
typedef void (*st_notify_status_cb)(void *data, char *buf, size_t len);

struct st_notify {
    bool on; /* fd is connected to $NOTIFY_SOCKET (false: no service manager) */
    int fd;
    bool ready;           /* READY=1 sent, no RELOADING=1 since */
    bool reloading;       /* RELOADING=1 sent, READY=1 not yet */
    uint64_t watchdog_ms; /* $WATCHDOG_USEC for this process, ms; 0: no watchdog */
    uint64_t status_ms;   /* STATUS= refresh period: ST_NOTIFY_STATUS_MS (tests shorten it) */
    struct st_timer wd_timer, status_timer;
    bool timers; /* st_notify_start ran */
    st_notify_status_cb status;
    void *data;
    char last_status[ST_NOTIFY_STATUS_MAX];
    uint64_t sent; /* datagrams sent (tests) */
};

/* Pure: the socket address of a $NOTIFY_SOCKET value: "/path" or "@abstract". 0, or -EINVAL
 * (empty, relative, "vsock:..." and other forms we do not speak) or -ENAMETOOLONG. */
int st_notify_addr(const char *env, struct sockaddr_un *sa, socklen_t *len);
/* Pure: the watchdog period in ms from $WATCHDOG_USEC and $WATCHDOG_PID (either may be
 * NULL). *ms = 0 without a watchdog (no usec, or a pid that is not self). 0, or -EINVAL for a
 * value that is not a positive decimal number (then *ms = 0). */
int st_notify_watchdog(const char *usec, const char *pid, pid_t self, uint64_t *ms);

/* Opens n from the given values of $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (NULL:
 * unset). sock NULL: 0 and n is a no-op. Else 0, or -errno when the value is malformed or
 * the socket cannot be connected (n is then a no-op too; the caller logs it). */
int st_notify_init(struct st_notify *n, const char *sock, const char *usec, const char *pid);
/* st_notify_init from the environment, logging (warn) a socket that cannot be used. */
void st_notify_init_env(struct st_notify *n);
/* Sends WATCHDOG=1 every watchdog_ms / 2 from the loop's timers (a stuck loop stops them)
 * and, every ST_NOTIFY_STATUS_MS, STATUS= from status() when it changed. */
void st_notify_start(struct st_notify *n, struct st_loop *loop, st_notify_status_cb status,
                     void *data);
/* Sends msg (lines "KEY=value" separated by '\n') as one datagram. 0 (also when n is a
 * no-op), or -errno. */
int st_notify_send(struct st_notify *n, const char *msg);
/* READY=1 with the current STATUS=, unless ready already. */
void st_notify_ready(struct st_notify *n);
/* RELOADING=1 (with MONOTONIC_USEC=) when ready; st_notify_reloaded then sends READY=1. */
void st_notify_reloading(struct st_notify *n);
void st_notify_reloaded(struct st_notify *n);
/* STOPPING=1 with the current STATUS= (the drain started). */
void st_notify_stopping(struct st_notify *n);
/* Stops the timers and closes the socket; accepts a zeroed n. */
void st_notify_fini(struct st_notify *n);

#endif
