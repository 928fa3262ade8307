#ifndef SUBTUNNEL_ST_SOCK_H
#define SUBTUNNEL_ST_SOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "st_addr.h"

/* Non-blocking TCP listening socket on addr (SO_REUSEADDR); an IPv6 one with IPV6_V6ONLY
 * off, so "[::]:port" is dual stack. fd or -errno. */
int st_sock_listen(const struct st_sockaddr *addr);
/* TCP keepalive: first probe after ST_SOCK_KEEPIDLE s of silence, then every
 * ST_SOCK_KEEPINTVL s, ST_SOCK_KEEPCNT unanswered probes end the connection (about two
 * minutes for a peer that vanished without a FIN or RST). */
#define ST_SOCK_KEEPIDLE 60
#define ST_SOCK_KEEPINTVL 15
#define ST_SOCK_KEEPCNT 4
void st_sock_keepalive(int fd);
/* An IPv4-mapped IPv6 address (::ffff:198.51.100.1, a dual-stack listener's IPv4 peer)
 * becomes the plain IPv4 one with the same port; any other address is left alone. */
void st_sock_unmap(struct st_sockaddr *a);
/* Accepts one connection, non-blocking and close-on-exec, with TCP keepalive on
 * (st_sock_keepalive), its peer address into *addr (may be NULL; IPv4-mapped ones unmapped by
 * st_sock_unmap, so policies, limits and logs see IPv4 peers as IPv4) and formatted as
 * "ip:port" / "[ip6]:port" into peer. fd, or -errno (-EAGAIN when none is pending). */
int st_sock_accept(int lfd, struct st_sockaddr *addr, char *peer, size_t peerlen);
/* Pure: is err (a negative errno from accept() or socket()) a shortage of descriptors or
 * kernel memory (-EMFILE, -ENFILE, -ENOBUFS, -ENOMEM), which retrying at once cannot cure? */
bool st_sock_fd_shortage(int err);
/* Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit in force
 * afterwards (unchanged when raising failed), or -errno when it cannot be read. */
long long st_sock_raise_nofile(void);

#endif
