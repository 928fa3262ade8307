/* Batched reads from the TUN through io_uring (the recvmmsg a TUN does not have), for
 * ns_netif_read; ns_netif_batch_reads (ns_netif.h) turns them on. */
#ifndef SUBTUNNEL_NS_RXBATCH_H
#define SUBTUNNEL_NS_RXBATCH_H

#include <sys/types.h>
#include <sys/uio.h>

#include "ns_netif.h"

/* Reads n packets (n > 1 only with batched reads) into nif->rx[0..n), read i through iov[i]
 * (iovcnt vectors); res[i] gets its byte count or -errno (-EAGAIN: nothing more to read).
 * Returns n, or 0 when the kernel refused batching just now (nif->batch_err; nothing was
 * read, and reads are one readv each from now on). */
int ns_rxbatch_reads(struct ns_netif *nif, struct iovec (*iov)[2], int iovcnt, ssize_t *res, int n);

void ns_rxbatch_close(struct ns_rxbatch *b);

#endif /* SUBTUNNEL_NS_RXBATCH_H */
