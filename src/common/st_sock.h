#ifndef SUBTUNNEL_ST_SOCK_H
#define SUBTUNNEL_ST_SOCK_H

#include <stddef.h>

#include "st_addr.h"

/* Non-blocking TCP listening socket on addr (SO_REUSEADDR). fd or -errno. */
int st_sock_listen(const struct st_sockaddr *addr);
/* Accepts one connection, non-blocking and close-on-exec, with its peer formatted as
 * "ip:port" into peer. fd, or -errno (-EAGAIN when none is pending). */
int st_sock_accept(int lfd, char *peer, size_t peerlen);

#endif
