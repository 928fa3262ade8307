#ifndef SUBTUNNEL_EDGE_LISTEN_H
#define SUBTUNNEL_EDGE_LISTEN_H

/* The edge's listeners. Each accepted connection is counted against the connection caps
 * (edge_conns: max-connections, listener-max-connections, max-connections-per-client) or
 * reset at once; past max-unauthenticated the oldest connection still in its startup phase
 * is closed. A listener whose accept() finds no descriptor or memory left (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM) leaves epoll instead of spinning on its pending connection: it is tried
 * again after 100 ms (doubling up to 1 s) or as soon as a connection closes. An episode
 * lasts until the listener accepts again and catches up with its backlog: one line when it
 * begins, one when it ends, however often accept() fails in between. Connections already
 * open are not affected. */

#include <stdbool.h>
#include <stdint.h>

#include "edge_config.h"
#include "edge_conns.h"
#include "st_addr.h"
#include "st_loop.h"

struct edge_server;

/* Listener slots: EDGE_LISTEN_ADDRS per kind, slot kind * EDGE_LISTEN_ADDRS + i for the
 * kind's i-th address. */
#define EDGE_LIS_SLOTS (EDGE_LIS_KINDS * EDGE_LISTEN_ADDRS)

#define EDGE_LISTEN_BACKOFF_MIN_MS 100
#define EDGE_LISTEN_BACKOFF_MAX_MS 1000

struct edge_listener {
    struct edge_server *srv;
    enum edge_lis kind;
    char name[112];  /* "visitor (HTTP/1.1) 198.18.0.1:80" */
    struct st_io io; /* fd -1: closed (or never opened) */
    struct st_timer retry;
    bool paused;       /* out of epoll after a shortage */
    bool held;         /* tunnel listener: out of epoll while EDGE_TUNNEL_SETUPS_MAX set up */
    bool short_logged; /* the pause was logged: "resumed" is owed */
    uint32_t accepted; /* connections accepted since, while "resumed" is owed */
    uint32_t backoff_ms;
    uint64_t paused_since; /* loop ms at the first failure of the episode */
};

/* Sets every listener up closed (before any other call). */
void edge_listen_init(struct edge_server *srv);
/* Opens a listener of kind on a (the kind's next free slot) and watches it. 0 or -errno
 * (logged; -ENOSPC when the kind has EDGE_LISTEN_ADDRS open already). */
int edge_listen_open(struct edge_server *srv, enum edge_lis kind, const struct st_sockaddr *a);
/* Opens a listener of kind on first and one on each of more's addresses (NULL: none). 0 or the
 * first error (logged). */
int edge_listen_open_all(struct edge_server *srv, enum edge_lis kind,
                         const struct st_sockaddr *first, const struct edge_listen_more *more);
/* The kind's listeners: how many are open; *paused when one of them is paused. */
size_t edge_listen_kind_open(const struct edge_server *srv, enum edge_lis kind, bool *paused);
/* Closes every listener (drain and exit); open connections are not touched. */
void edge_listen_close_all(struct edge_server *srv);
/* Accepted connection fd left its startup phase (what that is per listener:
 * docs/configuration.md, max-unauthenticated). */
void edge_listen_authed(struct edge_server *srv, int fd);
/* Accepted connection fd is about to be closed (call before close(); a connection handed to
 * another owner keeps its fd and its count). Paused listeners are tried again. */
void edge_listen_closed(struct edge_server *srv, int fd);
/* Tunnel connections in their setup (TLS handshake, then until REGISTERED) are at most
 * EDGE_TUNNEL_SETUPS_MAX while they make progress: past it the tunnel listener stops
 * accepting until one finishes, so a reconnect storm queues in the kernel's accept queue
 * (and SYN retransmits) instead of piling up handshakes that all go slow and time out. When
 * none registered for EDGE_TUNNEL_HOLD_STALL_MS (the slots are held by peers that stall),
 * it accepts again and max-unauthenticated closes the oldest, as on the other listeners. */
#define EDGE_TUNNEL_SETUPS_MAX 256
#define EDGE_TUNNEL_HOLD_STALL_MS 500
/* A tunnel connection entered / left its setup (edge_hs, edge_tconn); `ok`: it registered
 * (or became a reach connection), not closed or timed out. */
void edge_listen_setup_begin(struct edge_server *srv);
void edge_listen_setup_done(struct edge_server *srv, bool ok);
/* Raises the soft RLIMIT_NOFILE to the hard limit and warns when it is below what
 * max-connections needs (max-connections + EDGE_FD_RESERVE). */
void edge_listen_check_fds(struct edge_server *srv);

#endif
