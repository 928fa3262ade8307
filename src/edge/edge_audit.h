#ifndef SUBTUNNEL_EDGE_AUDIT_H
#define SUBTUNNEL_EDGE_AUDIT_H

/* The audit log (`audit-log:` PATH or "stdout"): one JSON object per line for every access
 * decision and every flow or visitor request when it ends. Never a token, secret or JWT.
 * Records wait in a bounded buffer written out once per loop turn: a slow or full disk never
 * stalls traffic; records that do not fit, or whose write failed, are counted as dropped
 * (logged once per episode). SIGUSR1 reopens the file (logrotate's convention). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "st_loop.h"

struct edge_ident;

#define EDGE_AUDIT_BUF (256 * 1024) /* records waiting for the disk */
#define EDGE_AUDIT_REC_MAX 4096     /* longest record; longer fields are cut */
#define EDGE_AUDIT_RETRY_MS 100     /* a full pipe or socket is tried again after this */

/* One record; NULL / 0 / -1 fields are left out. */
struct edge_audit_rec {
    const char *event;           /* "decision", "end" */
    const char *location;        /* the edge's location */
    const struct edge_ident *id; /* user, groups, auth method; NULL: none (auth failed, public) */
    const char *client;          /* "ip:port" of the user or visitor */
    const char *src_tunnel;      /* a site-to-site flow: the tunnel whose site opened it */
    const char *tunnel;          /* the tunnel the flow or request went to */
    uint64_t flow;               /* the edge's flow or request number (0: none) */
    uint64_t conn;               /* the tunnel connection that carried it (0: none) */
    const char *kind;            /* tcp, udp, icmp, http */
    const char *dest;            /* "ip:port" */
    const char *method, *host, *path; /* visitor requests */
    const char *relayed_to;           /* the fleet's edge it was relayed to (edge id) */
    const char *relayed_from;         /* the fleet's edge that relayed it here */
    int status;                       /* HTTP status answered (0: none) */
    const char *verdict;              /* "allow", "deny" */
    int rule;                         /* 0-based access-policy rule; -1: the default */
    bool has_rule;                    /* rule is meaningful */
    const char *reason;               /* why denied, or how it ended */
    uint64_t bytes_up, bytes_down;    /* "end": bytes from / to the user */
    int64_t duration_ms;              /* "end"; -1: leave out */
};

/* Formats r as one JSON line ("\n"-terminated) stamped ts into buf. Returns its length, or
 * -ENOSPC / -ENOMEM. Invalid UTF-8 in any field becomes '?'; fields are cut at 1 KiB. */
int edge_audit_format(const struct edge_audit_rec *r, const struct timespec *ts, char *buf,
                      size_t len);

struct edge_audit {
    struct st_loop *loop;
    char *path; /* NULL: off */
    int fd;
    char *buf;
    size_t len;
    size_t pending;            /* records in buf */
    uint64_t records, dropped; /* written, dropped */
    bool failing;              /* dropping since the last failure was logged */
    bool sock;                 /* stdout is a socket: written with send(MSG_DONTWAIT) */
    struct st_defer flush;
    struct st_timer retry; /* a pipe or socket that was full: try again soon */
};

/* Opens path ("stdout": standard output; a pipe is opened anew non-blocking and a socket
 * written with MSG_DONTWAIT, so stderr sharing the same pipe or socket stays blocking) for
 * appending, creating it 0640; a FIFO without a reader is refused (ENXIO), never waited for. 0, or
 * -errno with "audit-log PATH: reason" in err. path NULL: the log is off and every call below does
 * nothing. */
int edge_audit_open(struct edge_audit *a, struct st_loop *loop, const char *path, char *err,
                    size_t errlen);
/* Queues one record (dropped and counted when the buffer is full). */
void edge_audit_log(struct edge_audit *a, const struct edge_audit_rec *r);
/* Writes what is queued now (also called once per loop turn). */
void edge_audit_flush(struct edge_audit *a);
/* SIGUSR1 or a reload: flushes, closes and opens path again (NULL: off). 0 or -errno (then
 * the old file stays open unless the path changed; logged). */
int edge_audit_reopen(struct edge_audit *a, const char *path);
/* Flushes what it can and closes. */
void edge_audit_close(struct edge_audit *a);

#endif
