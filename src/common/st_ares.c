#include "st_ares.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "st_log.h"

/* Watcher of one c-ares socket. Slots are recycled but only freed by st_ares_free: the loop
 * may still hold an event pointing at a slot whose socket c-ares closed in the same batch. */
struct ares_sock {
    struct st_io io; /* io.fd == ARES_SOCKET_BAD: free slot */
    bool stale;      /* released in this I/O batch: not reused before `sweep` ran */
    struct st_ares *a;
    struct ares_sock *next;
};

struct st_ares {
    struct st_loop *loop;
    ares_channel ch;
    struct ares_sock *socks;
    struct st_timer timer;   /* c-ares retransmissions (ares_timeout) */
    struct st_defer sweep;   /* makes released socket slots reusable after the batch */
    struct st_defer release; /* frees a channel freed during an I/O batch, after it */
};

void st_ares_kick(struct st_ares *a)
{
    struct timeval tv;

    if (!ares_timeout(a->ch, NULL, &tv)) {
        st_timer_stop(&a->timer);
        return;
    }
    st_timer_start(&a->timer, (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000);
}

static void on_timer(struct st_timer *t)
{
    struct st_ares *a = t->data;

    ares_process_fd(a->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    st_ares_kick(a);
}

static void on_sock(struct st_io *io, uint32_t events)
{
    struct st_ares *a = ((struct ares_sock *)io->data)->a;
    ares_socket_t r = ARES_SOCKET_BAD, w = ARES_SOCKET_BAD;

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        r = io->fd;
    if (events & EPOLLOUT)
        w = io->fd;
    ares_process_fd(a->ch, r, w); /* may close io->fd and recycle this slot */
    st_ares_kick(a);
}

static void on_sweep(struct st_defer *df)
{
    struct st_ares *a = df->data;
    for (struct ares_sock *s = a->socks; s; s = s->next)
        s->stale = false;
}

static struct ares_sock *sock_slot(struct st_ares *a, ares_socket_t fd)
{
    struct ares_sock *s, *free_slot = NULL;

    for (s = a->socks; s; s = s->next) {
        if (s->io.fd == fd)
            return s;
        if (s->io.fd == ARES_SOCKET_BAD && !s->stale && !free_slot)
            free_slot = s;
    }
    if (!free_slot) {
        free_slot = calloc(1, sizeof(*free_slot));
        if (!free_slot)
            return NULL;
        free_slot->a = a;
        free_slot->next = a->socks;
        a->socks = free_slot;
    }
    st_io_init(&free_slot->io, a->loop, fd, on_sock, free_slot);
    return free_slot;
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct st_ares *a = data;
    struct ares_sock *s;

    if (!readable && !writable) { /* c-ares closes fd right after this */
        for (s = a->socks; s; s = s->next)
            if (s->io.fd == fd) {
                st_io_stop(&s->io);
                s->io.fd = ARES_SOCKET_BAD;
                /* the loop may still hold an event for this slot in the current batch */
                s->stale = true;
                st_defer_queue(a->loop, &a->sweep);
            }
        return;
    }
    s = sock_slot(a, fd);
    int rc =
        s ? st_io_set(&s->io, (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u)) : -ENOMEM;
    if (rc < 0) /* the query then fails by timeout */
        st_err("dns: cannot watch socket %d: %s", fd, strerror(-rc));
}

static int set_servers(struct st_ares *a, const struct st_sockaddr *servers, size_t n)
{
    struct ares_addr_port_node *list = calloc(n, sizeof(*list));

    if (!list)
        return ARES_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct ares_addr_port_node *p = &list[i];
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&servers[i].ss;
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&servers[i].ss;
        p->next = i + 1 < n ? &list[i + 1] : NULL;
        p->family = servers[i].ss.ss_family;
        if (p->family == AF_INET) {
            memcpy(&p->addr.addr4, &s4->sin_addr, 4);
            p->udp_port = p->tcp_port = ntohs(s4->sin_port);
        } else if (p->family == AF_INET6) {
            memcpy(&p->addr.addr6, &s6->sin6_addr, 16);
            p->udp_port = p->tcp_port = ntohs(s6->sin6_port);
        } else {
            free(list);
            return ARES_EBADFAMILY;
        }
    }
    int rc = ares_set_servers_ports(a->ch, list);
    free(list);
    return rc;
}

static int channel_init(struct st_ares *a, const struct st_ares_opts *o)
{
    struct ares_options ao = {
        .sock_state_cb = sock_state_cb,
        .sock_state_cb_data = a,
        .timeout = o->try_timeout_ms,
        .tries = o->tries,
    };
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;

    if (o->no_search)
        mask |= ARES_OPT_DOMAINS; /* domains NULL, ndomains 0: no search list */
    return ares_init_options(&a->ch, &ao, mask);
}

static void release(struct st_ares *a)
{
    for (struct ares_sock *s = a->socks, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    ares_library_cleanup();
    free(a);
}

static void on_release(struct st_defer *df)
{
    release(df->data);
}

struct st_ares *st_ares_new(struct st_loop *loop, const struct st_ares_opts *o, char *err,
                            size_t errlen)
{
    struct st_ares *a = calloc(1, sizeof(*a));
    int rc;

    if (!a) {
        snprintf(err, errlen, "dns: out of memory");
        return NULL;
    }
    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS)
        goto fail_free;
    a->loop = loop;
    rc = channel_init(a, o);
    if (rc != ARES_SUCCESS)
        goto fail_cleanup_lib;
    if (o->n_servers) {
        rc = set_servers(a, o->servers, o->n_servers);
        if (rc != ARES_SUCCESS)
            goto fail_destroy;
    }
    st_timer_init(&a->timer, loop, on_timer, a);
    st_defer_init(&a->sweep, on_sweep, a);
    st_defer_init(&a->release, on_release, a);
    return a;

fail_destroy:
    ares_destroy(a->ch);
fail_cleanup_lib:
    ares_library_cleanup();
fail_free:
    snprintf(err, errlen, "dns: c-ares setup failed: %s", ares_strerror(rc));
    free(a);
    return NULL;
}

ares_channel st_ares_channel(struct st_ares *a)
{
    return a->ch;
}

void st_ares_free(struct st_ares *a)
{
    if (!a)
        return;
    st_timer_stop(&a->timer);
    ares_destroy(a->ch); /* closes sockets through sock_state_cb (which queues sweep) */
    st_defer_cancel(a->loop, &a->sweep);
    for (struct ares_sock *s = a->socks; s; s = s->next)
        st_io_stop(&s->io);           /* events of this batch for them are skipped by the loop */
    if (st_loop_dispatching(a->loop)) /* e.g. from a signal, timer or other fd callback */
        st_defer_queue(a->loop, &a->release);
    else
        release(a);
}
