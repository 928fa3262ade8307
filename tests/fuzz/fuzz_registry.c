/* The fleet registry's decoders: the first byte picks RESP replies (st_redis_parser, fed in
 * two pieces split where the second byte says), a tunnel value (edge_fentry_decode), a fleet
 * message applied to a cache (edge_fmsg_decode, edge_fcache_apply, then every lookup), or a
 * registry URL (st_redis_url_parse). What decodes must hold the limits it promises, and a
 * decoded entry or message encoded again must decode to the same value. */
#include "edge_fcache.h"
#include "fuzz.h"
#include "st_redis.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void check_reply(const struct st_redis_reply *r, int depth)
{
    FUZZ_ASSERT(depth < 10);
    if (r->type == ST_REDIS_ARRAY) {
        FUZZ_ASSERT(r->elements <= ST_REDIS_MAX_ELEMENTS);
        for (size_t i = 0; i < r->elements; i++)
            check_reply(r->element[i], depth + 1);
    } else if (r->type == ST_REDIS_STRING || r->type == ST_REDIS_STATUS ||
               r->type == ST_REDIS_ERROR) {
        FUZZ_ASSERT(r->len <= ST_REDIS_MAX_STRING && r->str[r->len] == 0);
    }
}

static void resp(const uint8_t *d, size_t n)
{
    struct st_redis_parser *p = st_redis_parser_new();
    struct st_redis_reply *m;
    char why[160];
    size_t cut = n ? d[0] % (n + 1) : 0;
    FUZZ_ASSERT(p != NULL);
    for (int part = 0; part < 2; part++) {
        const uint8_t *b = part ? d + cut : d;
        size_t len = part ? n - cut : cut;
        if (len && st_redis_parser_feed(p, b, len) < 0)
            break;
        int rc;
        while ((rc = st_redis_parser_next(p, &m, why, sizeof(why))) == 1) {
            check_reply(m, 0);
            st_redis_reply_free(m);
        }
        if (rc < 0) {
            FUZZ_ASSERT(strncmp(why, "bad reply: ", 11) == 0);
            break;
        }
    }
    st_redis_parser_free(p);
}

static bool same_entry(const struct edge_fentry *a, const struct edge_fentry *b)
{
    if (a->n_routes != b->n_routes || a->n_hostnames != b->n_hostnames || a->conns != b->conns)
        return false;
    for (size_t i = 0; i < a->n_routes; i++) {
        const struct st_cidr *x = &a->routes[i], *y = &b->routes[i];
        if (x->family != y->family || x->prefix != y->prefix ||
            memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16) != 0)
            return false;
    }
    for (size_t i = 0; i < a->n_hostnames; i++)
        if (strcmp(a->hostnames[i], b->hostnames[i]) != 0)
            return false;
    return true;
}

/* The JSON of a decoded entry, NULL on ENOMEM. */
static char *entry_json(const struct edge_fentry *e)
{
    return edge_fentry_encode(e->routes, e->n_routes, (const char *const *)e->hostnames,
                              e->n_hostnames, e->conns);
}

/* decode(encode(e)) == e */
static void entry_again(const struct edge_fentry *e)
{
    struct edge_fentry back = {0};
    char err[160], *j = entry_json(e);
    if (!j)
        return;
    FUZZ_ASSERT(edge_fentry_decode(j, strlen(j), &back, err, sizeof(err)) == 0);
    FUZZ_ASSERT(same_entry(e, &back));
    edge_fentry_fini(&back);
    free(j);
}

/* decode(encode(m)) == m */
static void message_again(const struct edge_fmsg *m)
{
    bool up = m->kind == EDGE_FMSG_UP, tunnel = up || m->kind == EDGE_FMSG_DOWN;
    char err[160], *v = up ? entry_json(&m->entry) : NULL;
    if (up && !v)
        return;
    char *j = edge_fmsg_encode(m->kind, m->edge, m->inst, m->seq, tunnel ? m->entry.tunnel : NULL,
                               v, m->relay);
    struct edge_fmsg back;
    if (j) {
        FUZZ_ASSERT(edge_fmsg_decode(j, strlen(j), &back, err, sizeof(err)) == 0);
        FUZZ_ASSERT(back.kind == m->kind && back.inst == m->inst && back.seq == m->seq);
        FUZZ_ASSERT(strcmp(back.edge, m->edge) == 0 && strcmp(back.relay, m->relay) == 0);
        FUZZ_ASSERT(strcmp(back.entry.tunnel, m->entry.tunnel) == 0);
        FUZZ_ASSERT(!up || same_entry(&back.entry, &m->entry));
        edge_fmsg_fini(&back);
    }
    free(j);
    free(v);
}

static void entry(const uint8_t *d, size_t n)
{
    struct edge_fentry e = {0};
    char err[160];
    int rc = edge_fentry_decode((const char *)d, n, &e, err, sizeof(err));
    FUZZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
    if (rc == 0) {
        FUZZ_ASSERT(e.n_routes <= EDGE_FLEET_LIST_MAX && e.n_hostnames <= EDGE_FLEET_LIST_MAX);
        for (size_t i = 0; i < e.n_hostnames; i++)
            FUZZ_ASSERT(st_hostname_valid(e.hostnames[i], true));
        entry_again(&e);
    }
    edge_fentry_fini(&e);
}

static void message(const uint8_t *d, size_t n)
{
    struct edge_fcache c;
    struct edge_fmsg m;
    struct edge_fholder h[4];
    char err[160];
    static const uint8_t addr[4] = {198, 51, 100, 10};
    FUZZ_ASSERT(edge_fcache_init(&c, "self") == 0);
    int rc = edge_fmsg_decode((const char *)d, n, &m, err, sizeof(err));
    FUZZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
    if (rc == 0) {
        FUZZ_ASSERT(edge_fleet_id_valid(m.edge));
        message_again(&m);
        /* a known edge one step behind, so that up/down apply */
        FUZZ_ASSERT(edge_fcache_replace(&c, m.edge, "", m.inst, m.seq - 1, NULL, 0, 100, 1) == 0);
        edge_fcache_apply(&c, &m, 0, 1000);
        edge_fmsg_fini(&m);
        FUZZ_ASSERT(edge_fcache_holders(&c, "t", h, 4) <= 1);
        edge_fcache_by_addr(&c, AF_INET, addr);
        edge_fcache_by_host(&c, "a.b.example");
        edge_fcache_expire(&c, 50);
    }
    edge_fcache_fini(&c);
}

static void url(const uint8_t *d, size_t n)
{
    struct st_redis_url u;
    char err[200], *s = fuzz_cstr(d, n);
    int rc = st_redis_url_parse(s, &u, err, sizeof(err));
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    if (rc == 0) {
        FUZZ_ASSERT(u.port > 0 && u.host[0]);
        FUZZ_ASSERT(u.named ? st_hostname_valid(u.host, false)
                            : st_sockaddr_port(&u.addr) == u.port);
    } else
        FUZZ_ASSERT(!u.user && !u.password);
    st_redis_url_fini(&u);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        resp(data + 1, size - 1);
        break;
    case 1:
        entry(data + 1, size - 1);
        break;
    case 2:
        message(data + 1, size - 1);
        break;
    default:
        url(data + 1, size - 1);
    }
    return 0;
}
