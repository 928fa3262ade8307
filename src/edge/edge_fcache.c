#include "edge_fcache.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fidx {
    const char *tunnel;
    struct edge_fholder *h;
    size_t n;
};

struct fhost {
    char *name; /* lower-cased */
    const char *tunnel;
};

/* ---- codecs ---- */

bool edge_fleet_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= EDGE_FLEET_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -EBADMSG;
}

void edge_fentry_fini(struct edge_fentry *e)
{
    for (size_t i = 0; i < e->n_hostnames; i++)
        free(e->hostnames[i]);
    free(e->hostnames);
    free(e->routes);
    e->hostnames = NULL;
    e->routes = NULL;
    e->n_hostnames = e->n_routes = 0;
}

static int decode_routes(json_t *a, struct edge_fentry *out, char *err, size_t errlen)
{
    if (!json_is_array(a) || json_array_size(a) > EDGE_FLEET_LIST_MAX)
        return bad(err, errlen, "\"routes\" must be an array of at most 1024 CIDRs");
    out->routes = calloc(json_array_size(a) + 1, sizeof(*out->routes));
    if (!out->routes)
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || st_cidr_parse(s, &out->routes[i]) < 0)
            return bad(err, errlen, "\"routes\" holds something that is no CIDR");
        out->n_routes++;
    }
    return 0;
}

static int decode_hosts(json_t *a, struct edge_fentry *out, char *err, size_t errlen)
{
    if (!json_is_array(a) || json_array_size(a) > EDGE_FLEET_LIST_MAX)
        return bad(err, errlen, "\"hostnames\" must be an array of at most 1024 names");
    out->hostnames = calloc(json_array_size(a) + 1, sizeof(*out->hostnames));
    if (!out->hostnames)
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !st_hostname_valid(s, true))
            return bad(err, errlen, "\"hostnames\" holds something that is no host name");
        if (!(out->hostnames[i] = strdup(s)))
            return -ENOMEM;
        for (char *p = out->hostnames[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        out->n_hostnames++;
    }
    return 0;
}

static int decode_entry(json_t *o, struct edge_fentry *out, char *err, size_t errlen)
{
    json_t *conns = json_object_get(o, "conns");
    int rc;
    if (!json_is_object(o))
        return bad(err, errlen, "a tunnel's value must be a JSON object");
    if (conns && (!json_is_integer(conns) || json_integer_value(conns) < 0 ||
                  json_integer_value(conns) > UINT32_MAX))
        return bad(err, errlen, "\"conns\" must be a count");
    out->conns = conns ? (uint32_t)json_integer_value(conns) : 0;
    json_t *r = json_object_get(o, "routes"), *h = json_object_get(o, "hostnames");
    if (r && (rc = decode_routes(r, out, err, errlen)) < 0)
        return rc;
    if (h && (rc = decode_hosts(h, out, err, errlen)) < 0)
        return rc;
    return 0;
}

int edge_fentry_decode(const char *json, size_t len, struct edge_fentry *out, char *err,
                       size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    out->routes = NULL;
    out->hostnames = NULL;
    out->n_routes = out->n_hostnames = 0;
    if (!o)
        return bad(err, errlen, "a tunnel's value is no JSON");
    int rc = decode_entry(o, out, err, errlen);
    json_decref(o);
    if (rc < 0)
        edge_fentry_fini(out);
    return rc;
}

char *edge_fentry_encode(const struct st_cidr *routes, size_t n_routes,
                         const char *const *hostnames, size_t n_hostnames, uint32_t conns)
{
    json_t *o = json_object(), *r = json_array(), *h = json_array();
    char buf[64], *s = NULL;
    for (size_t i = 0; r && i < n_routes; i++)
        if (st_cidr_format(&routes[i], buf, sizeof(buf)) == 0)
            json_array_append_new(r, json_string(buf));
    for (size_t i = 0; h && i < n_hostnames; i++)
        json_array_append_new(h, json_string(hostnames[i]));
    if (o && r && h && json_object_set(o, "routes", r) == 0 &&
        json_object_set(o, "hostnames", h) == 0 &&
        json_object_set_new(o, "conns", json_integer(conns)) == 0)
        s = json_dumps(o, JSON_COMPACT);
    json_decref(r);
    json_decref(h);
    json_decref(o);
    return s;
}

static int get_id(json_t *o, const char *key, char *out, char *err, size_t errlen)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!edge_fleet_id_valid(s)) {
        snprintf(err, errlen, "\"%s\" must be an id of 1..63 letters, digits, '.', '_', '-'", key);
        return -EBADMSG;
    }
    snprintf(out, EDGE_FLEET_ID_MAX, "%s", s);
    return 0;
}

static int get_u64(json_t *o, const char *key, uint64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "\"%s\" must be a non-negative integer", key);
        return -EBADMSG;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int decode_msg(json_t *o, struct edge_fmsg *m, char *err, size_t errlen)
{
    static const char *const kinds[] = {"up", "down", "alive", "gone"};
    const char *ev = json_string_value(json_object_get(o, "ev"));
    const char *relay = json_string_value(json_object_get(o, "relay"));
    int rc, k = -1;
    for (int i = 0; ev && i < 4; i++)
        if (strcmp(ev, kinds[i]) == 0)
            k = i;
    if (k < 0)
        return bad(err, errlen, "\"ev\" must be up, down, alive or gone");
    m->kind = (enum edge_fmsg_kind)k;
    if ((rc = get_id(o, "edge", m->edge, err, errlen)) < 0 ||
        (rc = get_u64(o, "inst", &m->inst, err, errlen)) < 0 ||
        (rc = get_u64(o, "seq", &m->seq, err, errlen)) < 0)
        return rc;
    if (relay && strlen(relay) >= EDGE_FLEET_ADDR_MAX)
        return bad(err, errlen, "\"relay\" too long");
    snprintf(m->relay, sizeof(m->relay), "%s", relay ? relay : "");
    if (m->kind != EDGE_FMSG_UP && m->kind != EDGE_FMSG_DOWN)
        return 0;
    if ((rc = get_id(o, "tunnel", m->entry.tunnel, err, errlen)) < 0)
        return rc;
    return m->kind == EDGE_FMSG_UP ? decode_entry(json_object_get(o, "v"), &m->entry, err, errlen)
                                   : 0;
}

int edge_fmsg_decode(const char *json, size_t len, struct edge_fmsg *m, char *err, size_t errlen)
{
    json_error_t je;
    memset(m, 0, sizeof(*m));
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(err, errlen, "a fleet message must be a JSON object");
    }
    int rc = decode_msg(o, m, err, errlen);
    json_decref(o);
    if (rc < 0)
        edge_fmsg_fini(m);
    return rc;
}

void edge_fmsg_fini(struct edge_fmsg *m)
{
    edge_fentry_fini(&m->entry);
}

char *edge_fmsg_encode(enum edge_fmsg_kind kind, const char *edge, uint64_t inst, uint64_t seq,
                       const char *tunnel, const char *entry_json, const char *relay)
{
    static const char *const kinds[] = {"up", "down", "alive", "gone"};
    json_t *o = json_pack("{ss ss sI sI}", "ev", kinds[kind], "edge", edge, "inst",
                          (json_int_t)inst, "seq", (json_int_t)seq);
    char *s = NULL;
    if (!o)
        return NULL;
    if (tunnel)
        json_object_set_new(o, "tunnel", json_string(tunnel));
    if (relay && relay[0])
        json_object_set_new(o, "relay", json_string(relay));
    if (entry_json) {
        json_error_t je;
        json_t *v = json_loads(entry_json, 0, &je);
        if (v)
            json_object_set_new(o, "v", v);
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ---- cache ---- */

static void edge_free(struct edge_fedge *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_entries; i++)
        edge_fentry_fini(&e->entries[i]);
    free(e->entries);
    free(e);
}

static void index_clear(struct edge_fcache *c)
{
    for (size_t i = 0; i < c->n_tunnels; i++)
        free(c->tunnels[i].h);
    free(c->tunnels);
    for (size_t i = 0; i < c->n_hosts; i++)
        free(c->hosts[i].name);
    free(c->hosts);
    c->tunnels = NULL;
    c->hosts = NULL;
    c->n_tunnels = c->n_hosts = c->n_entries = 0;
    edge_route_free(c->routes);
    c->routes = NULL;
}

int edge_fcache_init(struct edge_fcache *c, const char *self)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->self, sizeof(c->self), "%s", self);
    c->routes = edge_route_new();
    return c->routes ? 0 : -ENOMEM;
}

void edge_fcache_fini(struct edge_fcache *c)
{
    index_clear(c);
    for (size_t i = 0; i < c->n_edges; i++)
        edge_free(c->edges[i]);
    free(c->edges);
    memset(c, 0, sizeof(*c));
}

static int cmp_idx(const void *a, const void *b)
{
    return strcmp(((const struct fidx *)a)->tunnel, ((const struct fidx *)b)->tunnel);
}

static int cmp_host(const void *a, const void *b)
{
    return strcmp(((const struct fhost *)a)->name, ((const struct fhost *)b)->name);
}

static struct fidx *find_idx(const struct edge_fcache *c, const char *tunnel)
{
    struct fidx key = {.tunnel = tunnel};
    return c->n_tunnels ? bsearch(&key, c->tunnels, c->n_tunnels, sizeof(key), cmp_idx) : NULL;
}

/* One slot per distinct tunnel, sorted; then the holders of each. */
static int index_tunnels(struct edge_fcache *c)
{
    size_t total = 0;
    for (size_t i = 0; i < c->n_edges; i++)
        total += c->edges[i]->n_entries;
    c->tunnels = calloc(total + 1, sizeof(*c->tunnels));
    if (!c->tunnels)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_edges; i++)
        for (size_t j = 0; j < c->edges[i]->n_entries; j++)
            c->tunnels[c->n_tunnels++].tunnel = c->edges[i]->entries[j].tunnel;
    qsort(c->tunnels, c->n_tunnels, sizeof(*c->tunnels), cmp_idx);
    size_t u = 0;
    for (size_t i = 0; i < c->n_tunnels; i++)
        if (u == 0 || strcmp(c->tunnels[u - 1].tunnel, c->tunnels[i].tunnel) != 0)
            c->tunnels[u++] = c->tunnels[i];
    c->n_tunnels = u;
    c->n_entries = total;
    for (size_t i = 0; i < c->n_edges; i++)
        for (size_t j = 0; j < c->edges[i]->n_entries; j++) {
            struct fidx *x = find_idx(c, c->edges[i]->entries[j].tunnel);
            struct edge_fholder *h = realloc(x->h, (x->n + 1) * sizeof(*h));
            if (!h)
                return -ENOMEM;
            x->h = h;
            h[x->n++] = (struct edge_fholder){c->edges[i], &c->edges[i]->entries[j]};
        }
    return 0;
}

/* Routes and host names of every holder; a clash between tunnels keeps the first. */
static int index_names(struct edge_fcache *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_tunnels; i++)
        for (size_t k = 0; k < c->tunnels[i].n; k++)
            n += c->tunnels[i].h[k].entry->n_hostnames;
    if (!(c->routes = edge_route_new()) || !(c->hosts = calloc(n + 1, sizeof(*c->hosts))))
        return -ENOMEM;
    for (size_t i = 0; i < c->n_tunnels; i++)
        for (size_t k = 0; k < c->tunnels[i].n; k++) {
            const struct edge_fentry *e = c->tunnels[i].h[k].entry;
            for (size_t r = 0; r < e->n_routes; r++)
                if (edge_route_add(c->routes, &e->routes[r], &c->tunnels[i]) == -ENOMEM)
                    return -ENOMEM;
            for (size_t h = 0; h < e->n_hostnames; h++) {
                if (!(c->hosts[c->n_hosts].name = strdup(e->hostnames[h])))
                    return -ENOMEM;
                c->hosts[c->n_hosts++].tunnel = e->tunnel;
            }
        }
    qsort(c->hosts, c->n_hosts, sizeof(*c->hosts), cmp_host);
    return 0;
}

static int reindex(struct edge_fcache *c)
{
    index_clear(c);
    int rc = index_tunnels(c);
    if (rc == 0)
        rc = index_names(c);
    if (rc < 0) /* lookups answer nothing rather than half */
        index_clear(c);
    return rc;
}

static struct edge_fedge *find_edge(const struct edge_fcache *c, const char *id, size_t *at)
{
    for (size_t i = 0; i < c->n_edges; i++)
        if (strcmp(c->edges[i]->id, id) == 0) {
            if (at)
                *at = i;
            return c->edges[i];
        }
    return NULL;
}

const struct edge_fedge *edge_fcache_edge(const struct edge_fcache *c, const char *id)
{
    return find_edge(c, id, NULL);
}

static struct edge_fedge *add_edge(struct edge_fcache *c, const char *id)
{
    struct edge_fedge **v = realloc(c->edges, (c->n_edges + 1) * sizeof(*v));
    if (!v)
        return NULL;
    c->edges = v;
    struct edge_fedge *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->id, sizeof(e->id), "%s", id);
    c->edges[c->n_edges++] = e;
    return e;
}

static void drop_edge_at(struct edge_fcache *c, size_t i)
{
    edge_free(c->edges[i]);
    c->edges[i] = c->edges[--c->n_edges];
}

bool edge_fcache_remove(struct edge_fcache *c, const char *id)
{
    size_t at;
    if (!find_edge(c, id, &at))
        return false;
    drop_edge_at(c, at);
    reindex(c);
    return true;
}

int edge_fcache_replace(struct edge_fcache *c, const char *id, const char *relay, uint64_t inst,
                        uint64_t seq, struct edge_fentry *entries, size_t n, uint64_t expires_ms,
                        uint64_t mark)
{
    struct edge_fedge *e = find_edge(c, id, NULL);
    struct edge_fentry *copy = calloc(n + 1, sizeof(*copy));
    if (!copy || (!e && !(e = add_edge(c, id)))) {
        free(copy);
        return -ENOMEM;
    }
    for (size_t i = 0; i < e->n_entries; i++)
        edge_fentry_fini(&e->entries[i]);
    free(e->entries);
    if (n) {
        memcpy(copy, entries, n * sizeof(*copy));
        memset(entries, 0, n * sizeof(*entries));
    }
    e->entries = copy;
    e->n_entries = n;
    snprintf(e->relay, sizeof(e->relay), "%s", relay ? relay : "");
    e->inst = inst;
    e->seq = seq;
    e->expires_ms = expires_ms;
    e->mark = mark;
    return reindex(c);
}

static struct edge_fentry *find_entry(struct edge_fedge *e, const char *tunnel)
{
    for (size_t i = 0; i < e->n_entries; i++)
        if (strcmp(e->entries[i].tunnel, tunnel) == 0)
            return &e->entries[i];
    return NULL;
}

/* up/down on a known edge, in sequence. */
static int apply_change(struct edge_fcache *c, struct edge_fedge *e, struct edge_fmsg *m)
{
    struct edge_fentry *old = find_entry(e, m->entry.tunnel);
    if (m->kind == EDGE_FMSG_DOWN) {
        if (old) {
            edge_fentry_fini(old);
            *old = e->entries[--e->n_entries];
        }
        return reindex(c);
    }
    if (!old) {
        struct edge_fentry *v = realloc(e->entries, (e->n_entries + 1) * sizeof(*v));
        if (!v)
            return -ENOMEM;
        e->entries = v;
        old = &e->entries[e->n_entries++];
    } else {
        edge_fentry_fini(old);
    }
    *old = m->entry;
    memset(&m->entry, 0, sizeof(m->entry));
    return reindex(c);
}

enum edge_fcache_apply edge_fcache_apply(struct edge_fcache *c, struct edge_fmsg *m, uint64_t now,
                                         uint64_t lease_ms)
{
    size_t at;
    struct edge_fedge *e = find_edge(c, m->edge, &at);
    if (strcmp(m->edge, c->self) == 0)
        return EDGE_FCACHE_OK;
    if (m->kind == EDGE_FMSG_GONE) {
        if (e) {
            drop_edge_at(c, at);
            reindex(c);
        }
        return EDGE_FCACHE_OK;
    }
    bool same = e && e->inst == m->inst;
    if (m->kind == EDGE_FMSG_ALIVE) {
        if (!same || e->seq != m->seq)
            return EDGE_FCACHE_RESYNC;
        e->expires_ms = now + lease_ms;
        return EDGE_FCACHE_OK;
    }
    if (!same || m->seq != e->seq + 1)
        return EDGE_FCACHE_RESYNC;
    if (apply_change(c, e, m) < 0)
        return EDGE_FCACHE_RESYNC;
    e->seq = m->seq;
    e->expires_ms = now + lease_ms;
    return EDGE_FCACHE_OK;
}

static size_t drop_if(struct edge_fcache *c, bool (*pred)(const struct edge_fedge *, uint64_t),
                      uint64_t v)
{
    size_t n = 0;
    for (size_t i = c->n_edges; i-- > 0;)
        if (pred(c->edges[i], v)) {
            drop_edge_at(c, i);
            n++;
        }
    if (n)
        reindex(c);
    return n;
}

static bool expired(const struct edge_fedge *e, uint64_t now)
{
    return e->expires_ms <= now;
}

static bool unmarked(const struct edge_fedge *e, uint64_t mark)
{
    return e->mark != mark;
}

size_t edge_fcache_expire(struct edge_fcache *c, uint64_t now)
{
    return drop_if(c, expired, now);
}

size_t edge_fcache_sweep(struct edge_fcache *c, uint64_t mark)
{
    return drop_if(c, unmarked, mark);
}

/* ---- lookups ---- */

size_t edge_fcache_holders(const struct edge_fcache *c, const char *tunnel,
                           struct edge_fholder *out, size_t max)
{
    const struct fidx *x = find_idx(c, tunnel);
    if (!x)
        return 0;
    for (size_t i = 0; i < x->n && i < max; i++)
        out[i] = x->h[i];
    return x->n;
}

const char *edge_fcache_by_addr(const struct edge_fcache *c, int family, const uint8_t *addr)
{
    const struct fidx *x = c->routes ? edge_route_lookup(c->routes, family, addr) : NULL;
    return x ? x->tunnel : NULL;
}

static const char *host_exact(const struct edge_fcache *c, const char *name)
{
    struct fhost key = {.name = (char *)name};
    const struct fhost *h =
        c->n_hosts ? bsearch(&key, c->hosts, c->n_hosts, sizeof(key), cmp_host) : NULL;
    return h ? h->tunnel : NULL;
}

const char *edge_fcache_by_host(const struct edge_fcache *c, const char *host)
{
    char name[256];
    size_t n = strlen(host);
    if (n == 0 || n + 2 >= sizeof(name))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)tolower((unsigned char)host[i]);
    const char *t = host_exact(c, name);
    /* "*.b.c" then "*.c": the longest pattern first; a pattern never covers its apex */
    for (char *dot = strchr(name, '.'); !t && dot; dot = strchr(dot + 1, '.')) {
        char pat[260];
        snprintf(pat, sizeof(pat), "*%s", dot);
        t = host_exact(c, pat);
    }
    return t;
}

size_t edge_fcache_entries(const struct edge_fcache *c)
{
    return c->n_entries;
}
