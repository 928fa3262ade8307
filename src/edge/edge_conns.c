#include "edge_conns.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void edge_conns_init(struct edge_conns *c, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    st_quota_init(&c->clients, seed);
    c->head = c->tail = -1;
}

void edge_conns_fini(struct edge_conns *c)
{
    st_quota_fini(&c->clients);
    free(c->ents);
    memset(c, 0, sizeof(*c));
    c->head = c->tail = -1;
}

void edge_conns_client_key(uint8_t key[ST_QUOTA_KEY], const struct st_sockaddr *peer)
{
    if (peer->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&peer->ss;
        st_quota_addr_key(key, AF_INET, (const uint8_t *)&s->sin_addr);
        return;
    }
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&peer->ss;
    const uint8_t *a = s6->sin6_addr.s6_addr;
    if (peer->ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        st_quota_addr_key(key, AF_INET, a + 12);
        return;
    }
    uint8_t prefix[16] = {0};
    if (peer->ss.ss_family == AF_INET6)
        memcpy(prefix, a, 8);
    st_quota_addr_key(key, AF_INET6, prefix);
}

static struct edge_conn_ent *ent(const struct edge_conns *c, int fd)
{
    return fd >= 0 && (size_t)fd < c->n_ents && c->ents[fd].used ? &c->ents[fd] : NULL;
}

static int reserve(struct edge_conns *c, int fd)
{
    if ((size_t)fd < c->n_ents)
        return 0;
    size_t n = c->n_ents ? c->n_ents : 64;
    while (n <= (size_t)fd)
        n *= 2;
    struct edge_conn_ent *v = realloc(c->ents, n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    memset(v + c->n_ents, 0, (n - c->n_ents) * sizeof(*v));
    c->ents = v;
    c->n_ents = n;
    return 0;
}

int edge_conns_admit(struct edge_conns *c, int fd, enum edge_lis lis,
                     const struct st_sockaddr *peer, const struct edge_conn_caps *caps,
                     uint64_t now_ms)
{
    if (fd < 0 || lis >= EDGE_LIS_KINDS || ent(c, fd))
        return -EINVAL;
    if (c->total >= caps->total)
        return EDGE_CONN_OVER_TOTAL;
    if (c->per_lis[lis] >= caps->listener)
        return EDGE_CONN_OVER_LISTENER;
    uint8_t key[ST_QUOTA_KEY];
    edge_conns_client_key(key, peer);
    if (reserve(c, fd) < 0)
        return -ENOMEM;
    int rv = st_quota_take(&c->clients, key, caps->per_client);
    if (rv == -EDQUOT)
        return EDGE_CONN_OVER_CLIENT;
    if (rv < 0)
        return rv;
    struct edge_conn_ent *e = &c->ents[fd];
    memcpy(e->key, key, sizeof(e->key));
    e->used = e->unauth = true;
    e->lis = (uint8_t)lis;
    e->since_ms = now_ms;
    e->next = -1;
    e->prev = c->tail;
    if (c->tail >= 0)
        c->ents[c->tail].next = fd;
    else
        c->head = fd;
    c->tail = fd;
    c->total++;
    c->unauth++;
    c->per_lis[lis]++;
    return EDGE_CONN_ADMITTED;
}

static void unlink_unauth(struct edge_conns *c, int fd)
{
    struct edge_conn_ent *e = &c->ents[fd];
    if (e->prev >= 0)
        c->ents[e->prev].next = e->next;
    else
        c->head = e->next;
    if (e->next >= 0)
        c->ents[e->next].prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = -1;
    e->unauth = false;
    c->unauth--;
}

void edge_conns_authed(struct edge_conns *c, int fd)
{
    struct edge_conn_ent *e = ent(c, fd);
    if (e && e->unauth)
        unlink_unauth(c, fd);
}

void edge_conns_release(struct edge_conns *c, int fd)
{
    struct edge_conn_ent *e = ent(c, fd);
    if (!e)
        return;
    if (e->unauth)
        unlink_unauth(c, fd);
    st_quota_give(&c->clients, e->key);
    c->per_lis[e->lis]--;
    c->total--;
    e->used = false;
}

int edge_conns_evict(struct edge_conns *c, size_t cap, uint64_t *since_ms, enum edge_lis *lis)
{
    if (c->unauth <= cap || c->head < 0)
        return -1;
    int fd = c->head;
    if (since_ms)
        *since_ms = c->ents[fd].since_ms;
    if (lis)
        *lis = (enum edge_lis)c->ents[fd].lis;
    unlink_unauth(c, fd);
    return fd;
}

uint32_t edge_conns_from(const struct edge_conns *c, const struct st_sockaddr *peer)
{
    uint8_t key[ST_QUOTA_KEY];
    edge_conns_client_key(key, peer);
    return st_quota_count(&c->clients, key);
}

bool edge_conns_counted(const struct edge_conns *c, int fd)
{
    return ent(c, fd) != NULL;
}

bool edge_conns_is_unauth(const struct edge_conns *c, int fd)
{
    const struct edge_conn_ent *e = ent(c, fd);
    return e && e->unauth;
}
