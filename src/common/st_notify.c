#include "st_notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "st_log.h"

int st_notify_addr(const char *env, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = env ? strlen(env) : 0;
    if (n < 2 || (env[0] != '/' && env[0] != '@'))
        return -EINVAL;
    if (n >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, env, n);
    if (env[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (env[0] == '/'));
    return 0;
}

static int decimal(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end || *out == 0 ? -EINVAL : 0;
}

int st_notify_watchdog(const char *usec, const char *pid, pid_t self, uint64_t *ms)
{
    unsigned long long us, p;
    *ms = 0;
    if (!usec)
        return 0;
    if (decimal(usec, &us) < 0 || (pid && decimal(pid, &p) < 0))
        return -EINVAL;
    if (pid && p != (unsigned long long)self)
        return 0; /* meant for another process (our parent, say) */
    *ms = us < 1000 ? 1 : us / 1000;
    return 0;
}

int st_notify_init(struct st_notify *n, const char *sock, const char *usec, const char *pid)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    n->status_ms = ST_NOTIFY_STATUS_MS;
    if (!sock)
        return 0;
    struct sockaddr_un sa;
    socklen_t len;
    int rc = st_notify_addr(sock, &sa, &len);
    if (rc < 0 || (rc = st_notify_watchdog(usec, pid, getpid(), &n->watchdog_ms)) < 0)
        return rc;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (n->fd < 0)
        return -errno;
    if (connect(n->fd, (struct sockaddr *)&sa, len) < 0) {
        rc = -errno;
        goto fail_close;
    }
    n->on = true;
    return 0;

fail_close:
    close(n->fd);
    n->fd = -1;
    n->watchdog_ms = 0;
    return rc;
}

void st_notify_init_env(struct st_notify *n)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    int rc = st_notify_init(n, sock, getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"));
    if (rc < 0)
        st_warn("NOTIFY_SOCKET=%s (WATCHDOG_USEC=%s): %s; not notifying the service manager", sock,
                getenv("WATCHDOG_USEC") ? getenv("WATCHDOG_USEC") : "", strerror(-rc));
    else if (n->on)
        st_debug("notifying the service manager at %s (watchdog %llu ms)", sock,
                 (unsigned long long)n->watchdog_ms);
}

int st_notify_send(struct st_notify *n, const char *msg)
{
    if (!n->on)
        return 0;
    if (send(n->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        int rc = -errno;
        st_debug("NOTIFY_SOCKET: sending '%.20s...': %s", msg, strerror(-rc));
        return rc;
    }
    n->sent++;
    return 0;
}

/* The status line, one line of printable text, into n->last_status; true if it changed. */
static bool refresh_status(struct st_notify *n)
{
    char buf[ST_NOTIFY_STATUS_MAX] = "";
    if (!n->status)
        return false;
    n->status(n->data, buf, sizeof(buf));
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (strcmp(buf, n->last_status) == 0)
        return false;
    memcpy(n->last_status, buf, sizeof(buf));
    return true;
}

/* Sends head, then "\nSTATUS=..." when there is a status. */
static void send_with_status(struct st_notify *n, const char *head)
{
    char msg[ST_NOTIFY_STATUS_MAX + 64];
    refresh_status(n);
    if (n->last_status[0])
        snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", head, n->last_status);
    else
        snprintf(msg, sizeof(msg), "%s", head);
    st_notify_send(n, msg);
}

static void on_watchdog(struct st_timer *t)
{
    struct st_notify *n = t->data;
    st_notify_send(n, "WATCHDOG=1");
    st_timer_start(t, n->watchdog_ms / 2 ? n->watchdog_ms / 2 : 1);
}

static void on_status(struct st_timer *t)
{
    struct st_notify *n = t->data;
    char msg[ST_NOTIFY_STATUS_MAX + 8];
    if (refresh_status(n)) {
        snprintf(msg, sizeof(msg), "STATUS=%s", n->last_status);
        st_notify_send(n, msg);
    }
    st_timer_start(t, n->status_ms);
}

void st_notify_start(struct st_notify *n, struct st_loop *loop, st_notify_status_cb status,
                     void *data)
{
    n->status = status;
    n->data = data;
    if (!n->on)
        return;
    st_timer_init(&n->wd_timer, loop, on_watchdog, n);
    st_timer_init(&n->status_timer, loop, on_status, n);
    n->timers = true;
    if (n->watchdog_ms)
        st_timer_start(&n->wd_timer, 0);
    if (status)
        st_timer_start(&n->status_timer, n->status_ms);
}

void st_notify_ready(struct st_notify *n)
{
    if (n->ready)
        return;
    n->ready = true;
    n->reloading = false;
    send_with_status(n, "READY=1");
}

void st_notify_reloading(struct st_notify *n)
{
    struct timespec ts;
    char msg[64];
    if (!n->ready)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    n->ready = false;
    n->reloading = true;
    st_notify_send(n, msg);
}

void st_notify_reloaded(struct st_notify *n)
{
    if (n->reloading)
        st_notify_ready(n);
}

void st_notify_stopping(struct st_notify *n)
{
    send_with_status(n, "STOPPING=1");
}

void st_notify_fini(struct st_notify *n)
{
    if (n->timers) {
        st_timer_stop(&n->wd_timer);
        st_timer_stop(&n->status_timer);
    }
    if (n->on)
        close(n->fd);
    memset(n, 0, sizeof(*n));
    n->fd = -1;
}
