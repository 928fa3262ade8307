#include "ns_rxbatch.h"

#include <errno.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "ns_netif.h"

struct ns_rxbatch {
    struct io_uring ring;
};

/* A ring for NS_NETIF_RX_BATCH reads: 0, or -errno (-ENOSYS, -EPERM under seccomp or
 * kernel.io_uring_disabled, -ENOMEM). */
static int batch_open(struct ns_rxbatch **out)
{
    struct ns_rxbatch *b = calloc(1, sizeof(*b));
    int rc;

    *out = NULL;
    if (!b)
        return -ENOMEM;
    if ((rc = io_uring_queue_init(NS_NETIF_RX_BATCH, &b->ring, 0)) < 0) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

/* Reads up to n packets from fd in one system call: read i goes into iov[i] (iovcnt vectors),
 * each RWF_NOWAIT so that it completes at once; res[i] gets its byte count or -errno
 * (-EAGAIN: nothing more to read). Returns 0, or -errno when the batch did not run or the
 * kernel refused non-blocking reads on fd (-EOPNOTSUPP, -EINVAL): then no packet was read.
 * A read that did not complete at once (never seen) keeps its buffer and reports
 * -EINPROGRESS in res[i], as does the return value (after the other results were set). */
static int batch_read(struct ns_rxbatch *b, int fd, struct iovec (*iov)[2], int iovcnt,
                      ssize_t *res, int n)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int i, rc, refused = 0;

    for (i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
        if (!sqe) /* the ring holds NS_NETIF_RX_BATCH and every batch completes at once */
            return -EBUSY;
        io_uring_prep_readv(sqe, fd, iov[i], (unsigned)iovcnt, 0);
        sqe->rw_flags = RWF_NOWAIT; /* EAGAIN when empty, instead of a read left pending */
        io_uring_sqe_set_data64(sqe, (uint64_t)i);
        res[i] = -EINPROGRESS;
    }
    do
        rc = io_uring_submit(&b->ring);
    while (rc == -EINTR);
    if (rc < 0)
        return rc;
    io_uring_for_each_cqe(&b->ring, head, cqe)
    {
        uint64_t k = io_uring_cqe_get_data64(cqe);
        if (k < (uint64_t)n)
            res[k] = cqe->res;
        refused += cqe->res == -EOPNOTSUPP || cqe->res == -EINVAL;
        seen++;
    }
    io_uring_cq_advance(&b->ring, seen);
    if (refused == n)
        return -EOPNOTSUPP;
    return seen < (unsigned)n ? -EINPROGRESS : 0;
}

int ns_netif_batch_reads(struct ns_netif *nif)
{
    int rc = nif->batch ? 0 : batch_open(&nif->batch);

    nif->batch_err = rc < 0 ? -rc : 0;
    return rc;
}

int ns_rxbatch_reads(struct ns_netif *nif, struct iovec (*iov)[2], int iovcnt, ssize_t *res, int n)
{
    if (!nif->batch) {
        res[0] = readv(nif->fd, iov[0], iovcnt);
        if (res[0] < 0)
            res[0] = -errno;
        return 1;
    }
    int rc = batch_read(nif->batch, nif->fd, iov, iovcnt, res, n);
    if (rc == 0) {
        nif->rx_batches++;
        return n;
    }
    /* refused (io_uring, or RWF_NOWAIT on this fd): one readv each from now on; a read left
     * pending (-EINPROGRESS, never seen) keeps its buffer, which is given up */
    nif->batch_err = -rc;
    ns_rxbatch_close(nif->batch);
    nif->batch = NULL;
    if (rc != -EINPROGRESS)
        return 0;
    for (int i = 0; i < n; i++)
        if (res[i] == -EINPROGRESS) {
            nif->rx[i].p = NULL;
            res[i] = -EAGAIN;
        }
    return n;
}

void ns_rxbatch_close(struct ns_rxbatch *b)
{
    if (!b)
        return;
    io_uring_queue_exit(&b->ring);
    free(b);
}
