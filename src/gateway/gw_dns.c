#include "gw_dns.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_ares.h"
#include "st_log.h"

#define MAX_RESULTS (GW_DNS_MAX_TARGETS * GW_DNS_MAX_ADDRS)
#define STR_(x) #x
#define STR(x) STR_(x)

struct dns_target {
    char name[256];
    uint16_t port, priority, weight;
    int status; /* ares status of its address lookup */
};

_Static_assert(sizeof(((struct dns_target *)0)->name) == sizeof(((struct gw_edge_target *)0)->name),
               "target names are copied whole");

/* Argument of one c-ares query: callbacks of an older resolution (gen) are ignored. */
struct lookup {
    struct gw_dns *d;
    unsigned gen;
    size_t index; /* into tg; SIZE_MAX for the SRV query */
};

struct dns_result {
    struct gw_edge_target t[MAX_RESULTS];
    size_t n;
    int status;
    uint32_t ttl;
    char err[640];
};

struct gw_dns {
    struct st_loop *loop;
    struct st_ares *ares;
    struct st_timer deadline; /* GW_DNS_TIMEOUT_MS for the whole resolution */
    struct st_defer done;     /* delivers the result outside c-ares and the I/O batch */
    unsigned gen;
    bool busy, finished, timed_out;
    char name[256];
    gw_dns_cb cb;
    void *arg;
    struct dns_target tg[GW_DNS_MAX_TARGETS];
    size_t n_tg, pending;
    uint32_t ttl;
    struct dns_result res[2]; /* res[work] is being filled, the other one was delivered */
    unsigned work;
};

/* ---- results ---- */

static int errno_of(int status)
{
    switch (status) {
    case ARES_ENOTFOUND:
        return -ENOENT;
    case ARES_ENODATA:
        return -ENODATA;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED: /* only the deadline cancels */
        return -ETIMEDOUT;
    case ARES_ECONNREFUSED:
    case ARES_EREFUSED:
        return -ECONNREFUSED;
    case ARES_EBADRESP:
    case ARES_EFORMERR:
        return -EBADMSG;
    case ARES_ENOMEM:
        return -ENOMEM;
    case ARES_EBADNAME:
        return -EINVAL;
    default:
        return -EIO;
    }
}

static const char *reason(int status)
{
    switch (status) {
    case ARES_ENOTFOUND:
        return "NXDOMAIN";
    case ARES_ECANCELLED:
        return "no answer within " STR(GW_DNS_TIMEOUT_MS) " ms";
    default:
        return ares_strerror(status);
    }
}

static void finish(struct gw_dns *d)
{
    d->finished = true;
    st_timer_stop(&d->deadline);
    st_defer_queue(d->loop, &d->done);
}

static void fail(struct gw_dns *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct gw_dns *d, int status, const char *fmt, ...)
{
    struct dns_result *r = &d->res[d->work];
    va_list ap;

    r->status = status;
    r->n = 0;
    r->ttl = 1;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    finish(d);
}

static void complete(struct gw_dns *d)
{
    struct dns_result *r = &d->res[d->work];

    if (d->finished)
        return;
    if (r->n == 0) {
        const struct dns_target *t = &d->tg[0];
        fail(d, errno_of(t->status), "%s: none of the %zu SRV targets resolved (%s: %s)", d->name,
             d->n_tg, t->name, reason(t->status));
        return;
    }
    for (size_t i = 0; i < d->n_tg; i++)
        if (d->tg[i].status != ARES_SUCCESS)
            st_warn("%s: SRV target %s skipped: %s", d->name, d->tg[i].name,
                    reason(d->tg[i].status));
    r->n = gw_edges_sort(r->t, r->n);
    r->status = 0;
    r->ttl = d->ttl ? d->ttl : 1;
    r->err[0] = '\0';
    finish(d);
}

static void on_done(struct st_defer *def)
{
    struct gw_dns *d = def->data;
    const struct dns_result *r = &d->res[d->work];
    gw_dns_cb cb = d->cb;
    void *arg = d->arg;

    /* A new resolution started from cb fills the other buffer. */
    d->work ^= 1;
    d->busy = false;
    d->cb = NULL;
    cb(arg, r->status, r->t, r->n, r->ttl, r->err);
}

/* ---- address lookups ---- */

static void min_ttl(struct gw_dns *d, int ttl)
{
    uint32_t t = ttl > 0 ? (uint32_t)ttl : 0;

    if (t < d->ttl)
        d->ttl = t;
}

static bool add_address(struct gw_dns *d, const struct dns_target *tg,
                        const struct ares_addrinfo_node *node)
{
    struct dns_result *r = &d->res[d->work];
    struct gw_edge_target *e = &r->t[r->n];

    if ((node->ai_family != AF_INET && node->ai_family != AF_INET6) || !node->ai_addr ||
        node->ai_addrlen > sizeof(e->addr.ss) || r->n >= MAX_RESULTS)
        return false;
    memset(e, 0, sizeof(*e));
    memcpy(&e->addr.ss, node->ai_addr, node->ai_addrlen);
    e->addr.len = node->ai_addrlen;
    if (node->ai_family == AF_INET)
        ((struct sockaddr_in *)&e->addr.ss)->sin_port = htons(tg->port);
    else
        ((struct sockaddr_in6 *)&e->addr.ss)->sin6_port = htons(tg->port);
    e->priority = tg->priority;
    e->weight = tg->weight;
    memcpy(e->name, tg->name, sizeof(e->name));
    r->n++;
    min_ttl(d, node->ai_ttl);
    return true;
}

static void add_addresses(struct gw_dns *d, struct dns_target *tg, const struct ares_addrinfo *ai)
{
    size_t added = 0;

    for (const struct ares_addrinfo_node *n = ai->nodes; n && added < GW_DNS_MAX_ADDRS;
         n = n->ai_next)
        if (add_address(d, tg, n))
            added++;
    if (!added) {
        tg->status = ARES_ENODATA;
        return;
    }
    for (const struct ares_addrinfo_cname *c = ai->cnames; c; c = c->next)
        min_ttl(d, c->ttl);
}

static struct lookup *lookup_new(struct gw_dns *d, size_t index)
{
    struct lookup *l = malloc(sizeof(*l));

    if (l)
        *l = (struct lookup){.d = d, .gen = d->gen, .index = index};
    return l;
}

/* Frees l; returns its gw_dns when the callback still matters, else NULL. */
static struct gw_dns *lookup_take(struct lookup *l)
{
    struct gw_dns *d = l->d;
    bool stale = l->gen != d->gen || d->finished;

    free(l);
    return stale ? NULL : d;
}

static void lookup_done(struct gw_dns *d)
{
    if (--d->pending == 0)
        complete(d);
}

static void addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    size_t index = ((struct lookup *)arg)->index;
    struct gw_dns *d = lookup_take(arg);

    (void)timeouts;
    if (d) {
        d->tg[index].status = status;
        if (status == ARES_SUCCESS && ai)
            add_addresses(d, &d->tg[index], ai);
    }
    if (ai)
        ares_freeaddrinfo(ai);
    if (d)
        lookup_done(d);
}

static void start_addr_lookups(struct gw_dns *d)
{
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC,
                                        .ai_flags = ARES_AI_NUMERICSERV | ARES_AI_NOSORT};
    char port[8];

    /* Set first: lookups may complete synchronously (/etc/hosts, literals). */
    d->pending = d->n_tg;
    for (size_t i = 0; i < d->n_tg; i++) {
        struct lookup *l = lookup_new(d, i);
        if (!l) {
            d->tg[i].status = ARES_ENOMEM;
            lookup_done(d);
            continue;
        }
        snprintf(port, sizeof(port), "%u", d->tg[i].port);
        ares_getaddrinfo(st_ares_channel(d->ares), d->tg[i].name, port, &hints, addr_cb, l);
    }
}

/* ---- SRV ---- */

static int skip_name(const unsigned char *buf, int len, int off)
{
    for (int labels = 0; off < len && labels < 128; labels++) {
        unsigned c = buf[off];
        if (c == 0)
            return off + 1;
        if ((c & 0xc0) == 0xc0) /* compression pointer ends the name in place */
            return off + 2 <= len ? off + 2 : -1;
        if (c & 0xc0)
            return -1;
        off += 1 + (int)c;
    }
    return -1;
}

int gw_dns_answer_ttl(const unsigned char *buf, int len, uint32_t *ttl)
{
    int off = 12;

    if (len < 12)
        return -EBADMSG;
    unsigned qd = (unsigned)buf[4] << 8 | buf[5], an = (unsigned)buf[6] << 8 | buf[7];
    for (unsigned i = 0; i < qd; i++) {
        off = skip_name(buf, len, off);
        if (off < 0 || off + 4 > len)
            return -EBADMSG;
        off += 4;
    }
    *ttl = UINT32_MAX;
    for (unsigned i = 0; i < an; i++) {
        off = skip_name(buf, len, off);
        if (off < 0 || off + 10 > len)
            return -EBADMSG;
        const unsigned char *p = buf + off;
        uint32_t t = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        off += 10 + (p[8] << 8 | p[9]);
        if (off > len)
            return -EBADMSG;
        if (t > INT32_MAX) /* RFC 2181: treat as zero */
            t = 0;
        if (t < *ttl)
            *ttl = t;
    }
    return 0;
}

static bool srv_better(const struct ares_srv_reply *a, const struct dns_target *b)
{
    if (a->priority != b->priority)
        return a->priority < b->priority;
    if (a->weight != b->weight)
        return a->weight > b->weight;
    int c = strcmp(a->host, b->name);
    return c ? c < 0 : a->port < b->port;
}

/* Keeps the best GW_DNS_MAX_TARGETS records in tg, sorted, one per (name, port). */
static void keep_target(struct gw_dns *d, const struct ares_srv_reply *s)
{
    size_t i;

    for (i = 0; i < d->n_tg; i++)
        if (d->tg[i].port == s->port && strcmp(d->tg[i].name, s->host) == 0)
            break;
    if (i < d->n_tg) { /* duplicate: keep the better one */
        if (!srv_better(s, &d->tg[i]))
            return;
        memmove(&d->tg[i], &d->tg[i + 1], (d->n_tg - i - 1) * sizeof(d->tg[0]));
        d->n_tg--;
    }
    for (i = d->n_tg; i > 0 && srv_better(s, &d->tg[i - 1]); i--)
        ;
    if (i >= GW_DNS_MAX_TARGETS)
        return;
    size_t tail = d->n_tg - i - (d->n_tg == GW_DNS_MAX_TARGETS);
    memmove(&d->tg[i + 1], &d->tg[i], tail * sizeof(d->tg[0]));
    if (d->n_tg < GW_DNS_MAX_TARGETS)
        d->n_tg++;
    d->tg[i] = (struct dns_target){.port = s->port, .priority = s->priority, .weight = s->weight};
    snprintf(d->tg[i].name, sizeof(d->tg[i].name), "%s", s->host);
}

/* Returns true when at least one record was "." (RFC 2782: service not available). */
static bool collect_targets(struct gw_dns *d, const struct ares_srv_reply *srv)
{
    bool dot = false;

    for (const struct ares_srv_reply *s = srv; s; s = s->next) {
        if (strlen(s->host) >= sizeof(d->name))
            continue;
        if (!s->host[0] || strcmp(s->host, ".") == 0) {
            dot = true;
            continue;
        }
        keep_target(d, s);
    }
    return dot;
}

static void srv_parsed(struct gw_dns *d, const unsigned char *abuf, int alen)
{
    struct ares_srv_reply *srv = NULL;
    uint32_t ttl;
    int rc = ares_parse_srv_reply(abuf, alen, &srv);

    if (rc == ARES_ENODATA) {
        fail(d, -ENODATA, "%s: no SRV records (empty answer)", d->name);
        return;
    }
    if (rc != ARES_SUCCESS || gw_dns_answer_ttl(abuf, alen, &ttl) < 0) {
        ares_free_data(srv);
        fail(d, -EBADMSG, "%s: malformed SRV reply (%s)", d->name,
             rc != ARES_SUCCESS ? ares_strerror(rc) : "bad answer section");
        return;
    }
    d->ttl = ttl;
    bool dot = collect_targets(d, srv);
    ares_free_data(srv);
    if (d->n_tg == 0) {
        fail(d, dot ? -ENOENT : -ENODATA, "%s: %s", d->name,
             dot ? "service not available (SRV target \".\")" : "no usable SRV records");
        return;
    }
    start_addr_lookups(d);
}

static void srv_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct gw_dns *d = lookup_take(arg);

    (void)timeouts;
    if (!d)
        return;
    switch (status) {
    case ARES_SUCCESS:
        srv_parsed(d, abuf, alen);
        break;
    case ARES_ENOTFOUND:
        fail(d, -ENOENT, "%s: no SRV records (NXDOMAIN)", d->name);
        break;
    case ARES_ENODATA:
        fail(d, -ENODATA, "%s: no SRV records (empty answer)", d->name);
        break;
    default:
        fail(d, errno_of(status), "%s: SRV query failed: %s", d->name, reason(status));
    }
}

static void on_deadline(struct st_timer *t)
{
    struct gw_dns *d = t->data;

    d->timed_out = true;
    ares_cancel(
        st_ares_channel(d->ares)); /* every pending callback runs now with ARES_ECANCELLED */
    if (!d->finished)              /* defensive: a query issued during the cancel */
        fail(d, -ETIMEDOUT, "%s: %s", d->name, reason(ARES_ECANCELLED));
    st_ares_kick(d->ares);
}

/* ---- public ---- */

struct gw_dns *gw_dns_new(struct st_loop *loop, const struct st_sockaddr *servers, size_t n_servers,
                          char *err, size_t errlen)
{
    /* SRV names and targets are absolute: no search list */
    struct st_ares_opts o = {.try_timeout_ms = GW_DNS_TRY_TIMEOUT_MS,
                             .tries = GW_DNS_TRIES,
                             .no_search = true,
                             .servers = servers,
                             .n_servers = n_servers};
    struct gw_dns *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "dns: out of memory");
        return NULL;
    }
    if (!(d->ares = st_ares_new(loop, &o, err, errlen))) {
        free(d);
        return NULL;
    }
    d->loop = loop;
    st_timer_init(&d->deadline, loop, on_deadline, d);
    st_defer_init(&d->done, on_done, d);
    return d;
}

int gw_dns_resolve(struct gw_dns *d, const char *srv_name, gw_dns_cb cb, void *arg)
{
    struct lookup *l;

    if (!srv_name || !srv_name[0] || strlen(srv_name) >= sizeof(d->name))
        return -EINVAL;
    if (d->busy)
        return -EBUSY;
    d->gen++;
    d->busy = true;
    d->finished = d->timed_out = false;
    d->cb = cb;
    d->arg = arg;
    d->n_tg = 0;
    d->ttl = UINT32_MAX;
    d->res[d->work].n = 0;
    snprintf(d->name, sizeof(d->name), "%s", srv_name);
    st_timer_start(&d->deadline, GW_DNS_TIMEOUT_MS);
    l = lookup_new(d, SIZE_MAX);
    if (!l) {
        fail(d, -ENOMEM, "%s: out of memory", d->name);
        return 0;
    }
    ares_query(st_ares_channel(d->ares), d->name, ns_c_in, ns_t_srv, srv_cb, l);
    st_ares_kick(d->ares);
    return 0;
}

bool gw_dns_busy(const struct gw_dns *d)
{
    return d->busy;
}

void gw_dns_free(struct gw_dns *d)
{
    if (!d)
        return;
    d->gen++; /* callbacks run by ares_destroy are stale */
    d->busy = false;
    d->cb = NULL;
    st_defer_cancel(d->loop, &d->done);
    st_timer_stop(&d->deadline);
    st_ares_free(d->ares); /* the loop may still name its sockets: it defers their memory */
    free(d);
}
