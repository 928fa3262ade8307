#ifndef SUBTUNNEL_ST_ARES_H
#define SUBTUNNEL_ST_ARES_H

/* A c-ares channel driven by st_loop: its sockets are watched by the loop and its
 * retransmissions run on a loop timer, so no DNS query ever blocks. Shared by the gateway's
 * edge discovery (gw_dns) and the edge's registry client (st_redis). */

#include <ares.h>
#include <stdbool.h>
#include <stddef.h>

#include "st_addr.h"
#include "st_loop.h"

struct st_ares;

struct st_ares_opts {
    int try_timeout_ms;                /* first try per server; c-ares doubles it per round */
    int tries;                         /* tries per server */
    bool no_search;                    /* names are absolute: no search domains */
    const struct st_sockaddr *servers; /* ip:port (port 0: 53) instead of /etc/resolv.conf */
    size_t n_servers;
};

/* A channel on loop. NULL with the reason in err (ENOMEM, c-ares setup, a bad server). */
struct st_ares *st_ares_new(struct st_loop *loop, const struct st_ares_opts *o, char *err,
                            size_t errlen);
/* The channel, for ares_query / ares_getaddrinfo; call st_ares_kick after issuing queries. */
ares_channel st_ares_channel(struct st_ares *a);
/* Re-arms the retransmission timer after queries were issued or cancelled. */
void st_ares_kick(struct st_ares *a);
/* Destroys the channel (pending callbacks run now with ARES_EDESTRUCTION) and frees; NULL-safe.
 * Safe from fd, timer and signal callbacks of the loop's current batch: the socket watchers
 * the loop may still name are released right after the batch. Never from a c-ares callback. */
void st_ares_free(struct st_ares *a);

#endif
