#include "edge_audit.h"

#include "edge_users.h"
#include "st_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD_MAX 1024

/* Sets key to s (cleaned to UTF-8, cut at FIELD_MAX) unless s is NULL. */
static int set_str(json_t *o, const char *key, const char *s)
{
    if (!s)
        return 0;
    char clean[FIELD_MAX + 8];
    st_log_utf8_clean(s, clean, sizeof(clean));
    return json_object_set_new(o, key, json_string(clean));
}

static int set_int(json_t *o, const char *key, json_int_t v)
{
    return json_object_set_new(o, key, json_integer(v));
}

static int set_ident(json_t *o, const struct edge_ident *id)
{
    if (!id)
        return set_str(o, "auth", "none");
    json_t *groups = json_array();
    const char *g = id->groups;
    for (unsigned i = 0; groups && i < id->n_groups; i++, g += strlen(g) + 1)
        json_array_append_new(groups, json_string(g));
    return set_str(o, "user", id->user) | json_object_set_new(o, "groups", groups) |
           set_str(o, "auth", edge_auth_method_name(id->method));
}

static int set_request(json_t *o, const struct edge_audit_rec *r)
{
    int rc = set_str(o, "method", r->method) | set_str(o, "host", r->host) |
             set_str(o, "path", r->path) | set_str(o, "relayed_to", r->relayed_to) |
             set_str(o, "relayed_from", r->relayed_from);
    if (r->status)
        rc |= set_int(o, "status", r->status);
    return rc;
}

static int set_outcome(json_t *o, const struct edge_audit_rec *r)
{
    int rc = set_str(o, "verdict", r->verdict);
    if (r->has_rule)
        rc |= r->rule >= 0 ? set_int(o, "rule", r->rule + 1) : set_str(o, "rule", "default");
    rc |= set_str(o, "reason", r->reason);
    if (r->duration_ms >= 0) {
        rc |= set_int(o, "bytes_up", (json_int_t)r->bytes_up) |
              set_int(o, "bytes_down", (json_int_t)r->bytes_down) |
              set_int(o, "duration_ms", (json_int_t)r->duration_ms);
    }
    return rc;
}

int edge_audit_format(const struct edge_audit_rec *r, const struct timespec *ts, char *buf,
                      size_t len)
{
    char t[64];
    st_log_rfc3339(t, sizeof(t), ts);
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    int rc = set_str(o, "time", t) | set_str(o, "event", r->event) |
             set_str(o, "location", r->location) | set_ident(o, r->id) |
             set_str(o, "client", r->client) | set_str(o, "src_tunnel", r->src_tunnel) |
             set_str(o, "tunnel", r->tunnel) | set_str(o, "kind", r->kind) |
             set_str(o, "dest", r->dest) | set_request(o, r) | set_outcome(o, r);
    if (r->flow)
        rc |= set_int(o, "flow", (json_int_t)r->flow);
    if (r->conn)
        rc |= set_int(o, "conn", (json_int_t)r->conn);
    size_t n = rc == 0 && len ? json_dumpb(o, buf, len - 1, JSON_COMPACT) : 0;
    json_decref(o);
    if (rc != 0 || n == 0)
        return -ENOMEM;
    if (n >= len - 1)
        return -ENOSPC;
    buf[n++] = '\n';
    return (int)n;
}

static int open_path(const char *path, bool *sock, char *err, size_t errlen)
{
    int fd = -1;
    *sock = false;
    if (strcmp(path, "stdout") == 0) {
        struct stat st;
        if (fstat(STDOUT_FILENO, &st) < 0)
            goto fail;
        if (S_ISFIFO(st.st_mode)) /* a description of our own: O_NONBLOCK spares stderr's */
            fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        else
            fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        *sock = S_ISSOCK(st.st_mode);
    } else {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
    }
    if (fd >= 0)
        return fd;
fail:
    snprintf(err, errlen, "audit-log %s: %s", path,
             errno == ENXIO ? "a FIFO without a reader" : strerror(errno));
    return -errno;
}

static void on_retry(struct st_timer *t)
{
    edge_audit_flush(t->data);
}

static void on_flush(struct st_defer *d)
{
    edge_audit_flush(d->data);
}

int edge_audit_open(struct edge_audit *a, struct st_loop *loop, const char *path, char *err,
                    size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->loop = loop;
    st_defer_init(&a->flush, on_flush, a);
    st_timer_init(&a->retry, loop, on_retry, a);
    if (!path)
        return 0;
    if (!(a->buf = malloc(EDGE_AUDIT_BUF)) || !(a->path = strdup(path))) {
        free(a->buf);
        a->buf = NULL;
        snprintf(err, errlen, "audit-log %s: out of memory", path);
        return -ENOMEM;
    }
    int fd = open_path(path, &a->sock, err, errlen);
    if (fd < 0) {
        free(a->buf);
        free(a->path);
        a->buf = NULL, a->path = NULL;
        return fd;
    }
    a->fd = fd;
    return 0;
}

static void dropped(struct edge_audit *a, uint64_t n, const char *why)
{
    a->dropped += n;
    if (!a->failing)
        st_warn("audit-log %s: %s: records are dropped until writing works again "
                "(subtunnel_audit_records_dropped_total)",
                a->path, why);
    a->failing = true;
}

void edge_audit_log(struct edge_audit *a, const struct edge_audit_rec *r)
{
    if (!a->path)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[EDGE_AUDIT_REC_MAX];
    int n = edge_audit_format(r, &ts, line, sizeof(line));
    if (n < 0) {
        dropped(a, 1, n == -ENOSPC ? "record too long" : "out of memory");
        return;
    }
    if (a->len + (size_t)n > EDGE_AUDIT_BUF) {
        dropped(a, 1, "the disk does not keep up");
        return;
    }
    memcpy(a->buf + a->len, line, (size_t)n);
    a->len += (size_t)n;
    a->pending++;
    st_defer_queue(a->loop, &a->flush);
}

void edge_audit_flush(struct edge_audit *a)
{
    size_t done = 0;
    if (!a->buf)
        return; /* off */
    while (a->fd >= 0 && done < a->len) {
        ssize_t w = a->sock ? send(a->fd, a->buf + done, a->len - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                            : write(a->fd, a->buf + done, a->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) { /* a full pipe or socket: again soon, never waited for */
            st_timer_start(&a->retry, EDGE_AUDIT_RETRY_MS);
            break;
        }
        if (w <= 0) {
            dropped(a, a->pending, w < 0 ? strerror(errno) : "wrote nothing");
            a->len = a->pending = 0;
            return;
        }
        done += (size_t)w;
    }
    /* Records fully written: count the line ends among the bytes gone. */
    for (size_t i = 0; i < done; i++)
        if (a->buf[i] == '\n') {
            a->records++;
            a->pending--;
        }
    memmove(a->buf, a->buf + done, a->len - done);
    a->len -= done;
    if (done && a->failing) {
        st_info("audit-log %s: writing again (%llu records dropped so far)", a->path,
                (unsigned long long)a->dropped);
        a->failing = false;
    }
}

int edge_audit_reopen(struct edge_audit *a, const char *path)
{
    char err[300];
    edge_audit_flush(a);
    if (!path) {
        edge_audit_close(a);
        return 0;
    }
    if (!a->path) {
        struct st_loop *loop = a->loop;
        int rc = edge_audit_open(a, loop, path, err, sizeof(err));
        if (rc < 0)
            st_err("%s", err);
        return rc;
    }
    bool sock;
    int fd = open_path(path, &sock, err, sizeof(err));
    if (fd < 0) {
        st_err("%s; still writing to the file open before", err);
        return fd;
    }
    a->sock = sock;
    char *p = strdup(path);
    if (!p) {
        close(fd);
        return -ENOMEM;
    }
    if (a->len) /* what the old file did not take goes to the new one */
        st_debug("audit-log: %zu bytes carried over to the reopened file", a->len);
    close(a->fd);
    a->fd = fd;
    free(a->path);
    a->path = p;
    return 0;
}

void edge_audit_close(struct edge_audit *a)
{
    if (a->path)
        edge_audit_flush(a);
    if (a->loop) {
        st_defer_cancel(a->loop, &a->flush);
        st_timer_stop(&a->retry);
    }
    if (a->fd >= 0)
        close(a->fd);
    free(a->buf);
    free(a->path);
    a->fd = -1;
    a->buf = NULL;
    a->path = NULL;
    a->len = a->pending = 0;
}
