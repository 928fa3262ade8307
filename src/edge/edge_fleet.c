#include "edge_fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge_config.h"
#include "edge_registry.h"
#include "st_log.h"
#include "st_loop.h"

/* A tunnel this edge holds, as published. */
struct local {
    char id[EDGE_FLEET_ID_MAX];
    char *json;
};

struct edge_fleet {
    struct st_loop *loop;
    char id[EDGE_FLEET_ID_MAX], relay[EDGE_FLEET_ADDR_MAX], host[256];
    char prefix[32], k_edge[160], k_tunnels[160], chan[64], edge_pat[64];
    size_t edge_pfx_len; /* strlen of "<prefix>edge:" */
    uint32_t lease, refresh;
    uint64_t inst, seq, started;
    struct st_redis *cmd, *sub;
    bool cmd_up, sub_ready, loaded, loading, scan_done, logged_down, withdrawn;
    bool tx_broken;               /* a command of the MULTI being queued was refused */
    bool refresh_waiting;         /* the last refresh's PEXPIRE has no answer yet */
    uint64_t refresh_sent, heard; /* when it was sent; the last push on the subscription */
    uint64_t load_gen;
    size_t load_pending;
    struct local *loc;
    size_t n_loc;
    struct edge_fcache cache;
    struct st_timer tick;
    struct edge_fleet_stats stats;
};

/* A reply's context: which fleet, what for (freed by the callback; f untouched on NULL). */
struct req {
    struct edge_fleet *f;
    bool in_load;
    uint64_t gen;
    char id[EDGE_FLEET_ID_MAX];
};

static void resync(struct edge_fleet *f, const char *id, bool in_load);

static void count_failed(struct st_redis *r, const struct st_redis_reply *m, void *arg)
{
    struct edge_fleet *f = arg;
    (void)r;
    if (m && m->type == ST_REDIS_ERROR) {
        f->stats.publish_failed++;
        st_warn("registry: Redis refused an update: %.160s", m->str);
    }
}

static int cmd(struct edge_fleet *f, st_redis_cb cb, void *arg, int argc, const char **argv)
{
    int rc = st_redis_command(f->cmd, cb, arg, argc, argv, NULL);
    if (rc < 0 && rc != -ENOTCONN) {
        f->stats.publish_failed++;
        f->tx_broken = true;
    }
    return rc;
}

static void tx_begin(struct edge_fleet *f)
{
    f->tx_broken = false;
    cmd(f, NULL, NULL, 1, (const char *[]){"MULTI"});
}

/* A transaction missing a command (output buffer full) would leave the connection inside
 * MULTI, or half-applied: then start afresh (reconnect, write everything again). 0: EXEC
 * queued, its callback will come; 1: queued, but the connection was dropped (the callback
 * came with NULL); < 0: EXEC not queued (no callback). */
static int tx_end(struct edge_fleet *f, st_redis_cb cb, void *arg)
{
    int rc = cmd(f, cb, arg, 1, (const char *[]){"EXEC"});
    if (f->tx_broken) {
        st_warn("registry: a transaction did not fit the output buffer: reconnecting");
        st_redis_drop(f->cmd, "a transaction did not fit the output buffer");
        return rc < 0 ? rc : 1;
    }
    return rc;
}

static void send_u64(struct edge_fleet *f, const char *c0, const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    cmd(f, NULL, NULL, 3, (const char *[]){c0, key, num});
}

/* HSET <edge> relay .. started .. inst .. seq .., and both leases. */
static void edge_record(struct edge_fleet *f)
{
    char started[24], inst[24], seq[24];
    snprintf(started, sizeof(started), "%llu", (unsigned long long)f->started);
    snprintf(inst, sizeof(inst), "%llu", (unsigned long long)f->inst);
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)f->seq);
    cmd(f, count_failed, f, 10,
        (const char *[]){"HSET", f->k_edge, "relay", f->relay, "started", started, "inst", inst,
                         "seq", seq});
    send_u64(f, "PEXPIRE", f->k_tunnels, f->lease);
    send_u64(f, "PEXPIRE", f->k_edge, f->lease);
}

static void publish(struct edge_fleet *f, enum edge_fmsg_kind kind, const char *tunnel,
                    const char *json)
{
    char *msg = edge_fmsg_encode(kind, f->id, f->inst, f->seq, tunnel, json, f->relay);
    if (!msg) {
        f->stats.publish_failed++;
        return;
    }
    cmd(f, count_failed, f, 3, (const char *[]){"PUBLISH", f->chan, msg});
    free(msg);
}

/* Everything this edge holds, replacing what Redis had; "alive" tells the others to resync. */
static void publish_all(struct edge_fleet *f)
{
    if (!f->cmd_up || f->withdrawn)
        return;
    f->seq++;
    const char **argv = calloc(2 + 2 * f->n_loc, sizeof(*argv));
    if (!argv) {
        f->stats.publish_failed++;
        return;
    }
    tx_begin(f);
    cmd(f, NULL, NULL, 2, (const char *[]){"DEL", f->k_tunnels});
    argv[0] = "HSET";
    argv[1] = f->k_tunnels;
    for (size_t i = 0; i < f->n_loc; i++) {
        argv[2 + 2 * i] = f->loc[i].id;
        argv[3 + 2 * i] = f->loc[i].json;
    }
    if (f->n_loc)
        cmd(f, count_failed, f, (int)(2 + 2 * f->n_loc), argv);
    free(argv);
    edge_record(f);
    if (tx_end(f, count_failed, f) == 0)
        publish(f, EDGE_FMSG_ALIVE, NULL, NULL);
}

/* One tunnel's change (json NULL: gone), atomically with the edge's sequence. */
static void publish_one(struct edge_fleet *f, const char *tunnel, const char *json)
{
    if (!f->cmd_up || f->withdrawn)
        return;
    f->seq++;
    tx_begin(f);
    if (json)
        cmd(f, count_failed, f, 4, (const char *[]){"HSET", f->k_tunnels, tunnel, json});
    else
        cmd(f, count_failed, f, 3, (const char *[]){"HDEL", f->k_tunnels, tunnel});
    edge_record(f);
    if (tx_end(f, count_failed, f) == 0)
        publish(f, json ? EDGE_FMSG_UP : EDGE_FMSG_DOWN, tunnel, json);
}

/* ---- reading the others ---- */

static const char *hash_get(const struct st_redis_reply *h, const char *field)
{
    for (size_t i = 0; h && h->type == ST_REDIS_ARRAY && i + 1 < h->elements; i += 2) {
        const char *k = st_redis_elem_str(h, i, NULL);
        if (k && strcmp(k, field) == 0)
            return st_redis_elem_str(h, i + 1, NULL);
    }
    return NULL;
}

/* The tunnels hash of an edge into entries (bad values are skipped and counted). */
static size_t read_entries(struct edge_fleet *f, const struct st_redis_reply *h,
                           struct edge_fentry *out)
{
    size_t n = 0;
    char err[160];
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        size_t len;
        const char *k = st_redis_elem_str(h, i, NULL), *v = st_redis_elem_str(h, i + 1, &len);
        if (!edge_fleet_id_valid(k) || !v ||
            edge_fentry_decode(v, len, &out[n], err, sizeof(err)) < 0) {
            f->stats.bad_messages++;
            st_debug("registry: a bad tunnel entry skipped: %s", k && v ? err : "not a string");
            continue;
        }
        snprintf(out[n++].tunnel, EDGE_FLEET_ID_MAX, "%s", k);
    }
    return n;
}

/* EXEC's answer to resync: [edge hash, tunnels hash, PTTL of the edge]. */
static void resync_apply(struct edge_fleet *f, const struct req *q, const struct st_redis_reply *m)
{
    const struct st_redis_reply *eh = m->element[0], *th = m->element[1], *ttl = m->element[2];
    const char *inst = hash_get(eh, "inst"), *seq = hash_get(eh, "seq");
    if (eh->type != ST_REDIS_ARRAY || th->type != ST_REDIS_ARRAY || eh->elements == 0 || !inst ||
        !seq) {
        edge_fcache_remove(&f->cache, q->id); /* gone, or never fully written */
        return;
    }
    struct edge_fentry *entries = calloc(th->elements / 2 + 1, sizeof(*entries));
    if (!entries)
        return;
    size_t n = read_entries(f, th, entries);
    uint64_t now = st_loop_now(f->loop);
    uint64_t left =
        ttl->type == ST_REDIS_INTEGER && ttl->integer > 0 ? (uint64_t)ttl->integer : f->lease;
    edge_fcache_replace(&f->cache, q->id, hash_get(eh, "relay"), strtoull(inst, NULL, 10),
                        strtoull(seq, NULL, 10), entries, n, now + left, f->load_gen);
    for (size_t i = 0; i < n; i++)
        edge_fentry_fini(&entries[i]);
    free(entries);
}

static void load_step_done(struct edge_fleet *f)
{
    if (!f->loading || !f->scan_done || f->load_pending)
        return;
    size_t gone = edge_fcache_sweep(&f->cache, f->load_gen);
    f->loading = false;
    f->loaded = true;
    f->stats.loads++;
    st_debug("registry: cache loaded: %zu entries, %zu edges forgotten",
             edge_fcache_entries(&f->cache), gone);
}

static void resync_reply(struct st_redis *r, const struct st_redis_reply *m, void *arg)
{
    struct req *q = arg;
    struct edge_fleet *f = q->f;
    (void)r;
    if (!m) {
        free(q);
        return;
    }
    if (m->type == ST_REDIS_ARRAY && m->elements == 3)
        resync_apply(f, q, m);
    else
        st_warn("registry: reloading edge '%s' failed: %.160s", q->id,
                m->type == ST_REDIS_ERROR ? m->str : "unexpected reply");
    if (q->in_load && q->gen == f->load_gen && f->loading) {
        f->load_pending--;
        load_step_done(f);
    }
    free(q);
}

static void resync(struct edge_fleet *f, const char *id, bool in_load)
{
    char ke[160], kt[160];
    struct req *q = calloc(1, sizeof(*q));
    if (!q)
        return;
    *q = (struct req){.f = f, .in_load = in_load, .gen = f->load_gen};
    snprintf(q->id, sizeof(q->id), "%s", id);
    snprintf(ke, sizeof(ke), "%sedge:%s", f->prefix, id);
    snprintf(kt, sizeof(kt), "%stunnels:%s", f->prefix, id);
    f->stats.resyncs++;
    tx_begin(f);
    cmd(f, NULL, NULL, 2, (const char *[]){"HGETALL", ke});
    cmd(f, NULL, NULL, 2, (const char *[]){"HGETALL", kt});
    cmd(f, NULL, NULL, 2, (const char *[]){"PTTL", ke});
    int rc = tx_end(f, resync_reply, q);
    if (rc < 0)
        free(q); /* EXEC not queued: no callback will come */
    if (rc != 0)
        return;
    if (in_load)
        f->load_pending++;
}

static void scan(struct edge_fleet *f, const char *cursor);

static void scan_reply(struct st_redis *r, const struct st_redis_reply *m, void *arg)
{
    struct req *q = arg;
    struct edge_fleet *f = q->f;
    (void)r;
    if (!m || q->gen != f->load_gen || !f->loading) {
        free(q);
        return;
    }
    free(q);
    const char *cursor = st_redis_elem_str(m, 0, NULL);
    const struct st_redis_reply *keys = m->elements == 2 ? m->element[1] : NULL;
    if (!cursor || !keys || keys->type != ST_REDIS_ARRAY) {
        st_warn("registry: SCAN failed: %.160s", m->type == ST_REDIS_ERROR ? m->str : "bad reply");
        f->loading = false;
        return;
    }
    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = st_redis_elem_str(keys, i, NULL);
        const char *id = k && strlen(k) > f->edge_pfx_len ? k + f->edge_pfx_len : NULL;
        if (edge_fleet_id_valid(id) && strcmp(id, f->id) != 0)
            resync(f, id, true);
    }
    if (strcmp(cursor, "0") == 0)
        f->scan_done = true;
    else
        scan(f, cursor);
    load_step_done(f);
}

static void scan(struct edge_fleet *f, const char *cursor)
{
    struct req *q = calloc(1, sizeof(*q));
    if (!q)
        return;
    *q = (struct req){.f = f, .gen = f->load_gen};
    if (cmd(f, scan_reply, q, 6,
            (const char *[]){"SCAN", cursor, "MATCH", f->edge_pat, "COUNT", "100"}) < 0) {
        free(q);
        f->loading = false;
    }
}

/* Once both connections are up and subscribed: SCAN every edge's record, then sweep. */
static void maybe_load(struct edge_fleet *f)
{
    if (!f->cmd_up || !f->sub_ready || f->loaded || f->loading)
        return;
    f->load_gen++;
    f->loading = true;
    f->scan_done = false;
    f->load_pending = 0;
    scan(f, "0");
}

static void on_message(struct edge_fleet *f, const char *payload, size_t len)
{
    struct edge_fmsg m;
    char err[160];
    f->stats.messages++;
    if (edge_fmsg_decode(payload, len, &m, err, sizeof(err)) < 0) {
        f->stats.bad_messages++;
        st_debug("registry: a bad fleet message ignored: %s", err);
        return;
    }
    if (edge_fcache_apply(&f->cache, &m, st_loop_now(f->loop), f->lease) == EDGE_FCACHE_RESYNC)
        resync(f, m.edge, false);
    edge_fmsg_fini(&m);
}

static void on_push(struct st_redis *r, const struct st_redis_reply *m, void *data)
{
    struct edge_fleet *f = data;
    const char *kind = st_redis_elem_str(m, 0, NULL);
    size_t len;
    (void)r;
    f->heard = st_loop_now(f->loop);
    if (!kind)
        return;
    if (strcmp(kind, "subscribe") == 0) {
        f->sub_ready = true;
        maybe_load(f);
    } else if (strcmp(kind, "message") == 0 && m->elements == 3) {
        const char *payload = st_redis_elem_str(m, 2, &len);
        if (payload)
            on_message(f, payload, len);
    }
}

static void sub_state(struct st_redis *r, bool up, const char *why, void *data)
{
    struct edge_fleet *f = data;
    (void)why;
    f->sub_ready = false;
    f->loaded = f->loading = false;
    f->heard = st_loop_now(f->loop);
    if (up && st_redis_subscribe(r, f->chan) < 0)
        st_redis_drop(r, "SUBSCRIBE refused");
}

static void cmd_state(struct st_redis *r, bool up, const char *why, void *data)
{
    struct edge_fleet *f = data;
    (void)r;
    f->cmd_up = up;
    f->loaded = f->loading = false;
    f->refresh_waiting = false;
    if (!up) {
        if (!f->logged_down)
            st_warn("registry: Redis at %s unreachable (%s); serving from the cache (%zu "
                    "entries) until it is back",
                    f->host, why, edge_fcache_entries(&f->cache));
        f->logged_down = true;
        return;
    }
    if (f->logged_down)
        st_info("registry: Redis at %s reachable again: publishing %zu tunnels, reloading the "
                "cache",
                f->host, f->n_loc);
    else
        st_info("registry: connected to Redis at %s as edge '%s'", f->host, f->id);
    f->logged_down = false;
    publish_all(f);
    maybe_load(f);
}

/* Our record lapsed or Redis lost it (restarted without the connection noticing, FLUSHALL):
 * write everything again. */
static void refresh_reply(struct st_redis *r, const struct st_redis_reply *m, void *arg)
{
    struct edge_fleet *f = arg;
    (void)r;
    if (!m)
        return;
    f->refresh_waiting = false;
    if (m->type == ST_REDIS_INTEGER && m->integer == 0) {
        st_info("registry: this edge's record was gone from Redis: publishing it again");
        publish_all(f);
    }
}

/* A Redis that stopped answering (hung, or a path that drops packets without a reset) is
 * noticed within half a lease: the refresh has no answer, or the subscription heard nothing
 * (not even this edge's own "alive"). */
static bool check_silence(struct edge_fleet *f, uint64_t now)
{
    char why[96];
    uint32_t limit = f->lease / 2;
    if (f->cmd_up && f->refresh_waiting && now - f->refresh_sent >= limit) {
        snprintf(why, sizeof(why), "no answer from Redis within %u ms", limit);
        st_redis_drop(f->cmd, why);
        return true;
    }
    if (f->cmd_up && f->sub_ready && !f->withdrawn && now - f->heard >= limit) {
        snprintf(why, sizeof(why), "nothing heard on the fleet channel within %u ms", limit);
        st_warn("registry: %s: reconnecting the subscription", why);
        st_redis_drop(f->sub, why);
    }
    return false;
}

static void on_tick(struct st_timer *t)
{
    struct edge_fleet *f = t->data;
    uint64_t now = st_loop_now(f->loop);
    if (!check_silence(f, now) && f->cmd_up && !f->withdrawn) {
        char lease[24];
        snprintf(lease, sizeof(lease), "%u", f->lease);
        if (cmd(f, refresh_reply, f, 3, (const char *[]){"PEXPIRE", f->k_edge, lease}) == 0 &&
            !f->refresh_waiting) {
            f->refresh_waiting = true;
            f->refresh_sent = now;
        }
        cmd(f, NULL, NULL, 3, (const char *[]){"PEXPIRE", f->k_tunnels, lease});
        publish(f, EDGE_FMSG_ALIVE, NULL, NULL);
    }
    if (edge_fleet_up(f)) /* never while Redis is away: serve what we have */
        edge_fcache_expire(&f->cache, now);
    st_timer_start(&f->tick, f->refresh);
}

/* ---- object ---- */

static int check_opts(const struct edge_fleet_opts *o)
{
    if (!edge_fleet_id_valid(o->edge_id)) {
        st_err("registry: edge id '%s' must be 1..63 letters, digits, '.', '_' or '-'",
               o->edge_id ? o->edge_id : "");
        return -EINVAL;
    }
    if ((o->relay && strlen(o->relay) >= EDGE_FLEET_ADDR_MAX) ||
        (o->prefix && strlen(o->prefix) >= 32) || !o->url) {
        st_err("registry: bad options (relay address or prefix too long, or no URL)");
        return -EINVAL;
    }
    return 0;
}

static void set_names(struct edge_fleet *f, const struct edge_fleet_opts *o)
{
    snprintf(f->id, sizeof(f->id), "%s", o->edge_id);
    snprintf(f->relay, sizeof(f->relay), "%s", o->relay ? o->relay : "");
    snprintf(f->host, sizeof(f->host), "%s", o->url->host);
    snprintf(f->prefix, sizeof(f->prefix), "%s", o->prefix ? o->prefix : "st:");
    snprintf(f->k_edge, sizeof(f->k_edge), "%sedge:%s", f->prefix, f->id);
    snprintf(f->k_tunnels, sizeof(f->k_tunnels), "%stunnels:%s", f->prefix, f->id);
    snprintf(f->chan, sizeof(f->chan), "%sfleet", f->prefix);
    snprintf(f->edge_pat, sizeof(f->edge_pat), "%sedge:*", f->prefix);
    f->edge_pfx_len = strlen(f->edge_pat) - 1;
    f->lease = o->lease_ms ? o->lease_ms : 25000;
    f->refresh = o->refresh_ms ? o->refresh_ms : f->lease / 5;
    if (f->refresh == 0 || f->refresh >= f->lease)
        f->refresh = f->lease / 2 ? f->lease / 2 : 1;
}

/* An instance number that differs between two starts of the same edge. */
static uint64_t new_inst(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000) & ((1ull << 53) - 1);
}

struct edge_fleet *edge_fleet_new(struct st_loop *loop, const struct edge_fleet_opts *o)
{
    if (check_opts(o) < 0)
        return NULL;
    struct edge_fleet *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->loop = loop;
    set_names(f, o);
    f->inst = new_inst();
    f->started = (uint64_t)st_wall_seconds();
    if (edge_fcache_init(&f->cache, f->id) < 0)
        goto fail_free;
    struct st_redis_opts ro = {.tls_ctx = o->tls_ctx,
                               .tls_name = o->tls_name,
                               .backoff_min_ms = o->backoff_min_ms,
                               .backoff_max_ms = o->backoff_max_ms,
                               .data = f};
    ro.state_cb = cmd_state;
    if (!(f->cmd = st_redis_new(loop, o->url, &ro)))
        goto fail_cache;
    ro.state_cb = sub_state;
    ro.push_cb = on_push;
    if (!(f->sub = st_redis_new(loop, o->url, &ro)))
        goto fail_cmd;
    st_timer_init(&f->tick, loop, on_tick, f);
    return f;

fail_cmd:
    st_redis_free(f->cmd);
fail_cache:
    edge_fcache_fini(&f->cache);
fail_free:
    free(f);
    st_err("registry: out of memory");
    return NULL;
}

void edge_fleet_free(struct edge_fleet *f)
{
    if (!f)
        return;
    st_timer_stop(&f->tick);
    st_redis_free(f->sub); /* pending callbacks see NULL and leave f alone */
    st_redis_free(f->cmd);
    for (size_t i = 0; i < f->n_loc; i++)
        free(f->loc[i].json);
    free(f->loc);
    edge_fcache_fini(&f->cache);
    free(f);
}

int edge_fleet_start(struct edge_fleet *f)
{
    st_redis_start(f->cmd);
    st_redis_start(f->sub);
    st_timer_start(&f->tick, f->refresh);
    return 0;
}

void edge_fleet_withdraw(struct edge_fleet *f)
{
    if (!f || f->withdrawn)
        return;
    if (f->cmd_up) {
        f->seq++;
        cmd(f, NULL, NULL, 3, (const char *[]){"DEL", f->k_tunnels, f->k_edge});
        publish(f, EDGE_FMSG_GONE, NULL, NULL);
        st_info("registry: leaving the fleet: this edge's record deleted");
    }
    f->withdrawn = true;
}

struct edge_fleet *edge_fleet_from_config(struct st_loop *loop, const struct edge_config *cfg)
{
    struct st_redis_url u;
    char err[256], relay[EDGE_FLEET_ADDR_MAX] = "";
    SSL_CTX *ctx = NULL;
    if (!cfg->has_registry)
        return NULL;
    if (st_redis_url_parse(cfg->registry_url, &u, err, sizeof(err)) < 0) {
        st_err("registry: %s", err);
        return NULL;
    }
    if (cfg->registry_password && !(u.password = strdup(cfg->registry_password))) {
        st_err("registry: out of memory");
        st_redis_url_fini(&u);
        return NULL;
    }
    if (u.tls && !(ctx = st_redis_tls_ctx(cfg->registry_ca, err, sizeof(err)))) {
        st_err("registry: TLS: %s", err);
        st_redis_url_fini(&u);
        return NULL;
    }
    if (cfg->has_relay)
        st_sockaddr_format(&cfg->relay_listen, relay, sizeof(relay));
    uint64_t lease = (uint64_t)cfg->heartbeat_interval_ms * (uint64_t)cfg->heartbeat_count;
    struct edge_fleet_opts o = {.edge_id = cfg->edge_id,
                                .relay = relay,
                                .url = &u,
                                .tls_ctx = ctx,
                                .tls_name = cfg->registry_name,
                                .lease_ms = (uint32_t)(lease > 3600000 ? 3600000 : lease),
                                .refresh_ms = (uint32_t)cfg->heartbeat_interval_ms};
    struct edge_fleet *f = edge_fleet_new(loop, &o);
    st_redis_url_fini(&u);
    SSL_CTX_free(ctx);
    if (f)
        edge_fleet_start(f);
    return f;
}

/* ---- this edge's state ---- */

static struct local *find_local(struct edge_fleet *f, const char *tunnel)
{
    for (size_t i = 0; i < f->n_loc; i++)
        if (strcmp(f->loc[i].id, tunnel) == 0)
            return &f->loc[i];
    return NULL;
}

int edge_fleet_set(struct edge_fleet *f, const char *tunnel, const struct st_cidr *routes,
                   size_t n_routes, const char *const *hostnames, size_t n_hostnames,
                   uint32_t conns)
{
    if (!edge_fleet_id_valid(tunnel) || conns == 0)
        return -EINVAL;
    char *json = edge_fentry_encode(routes, n_routes, hostnames, n_hostnames, conns);
    struct local *l = find_local(f, tunnel);
    if (!json)
        return -ENOMEM;
    if (l && strcmp(l->json, json) == 0) {
        free(json);
        return 0;
    }
    if (!l) {
        struct local *v = realloc(f->loc, (f->n_loc + 1) * sizeof(*v));
        if (!v) {
            free(json);
            return -ENOMEM;
        }
        f->loc = v;
        l = &f->loc[f->n_loc++];
        snprintf(l->id, sizeof(l->id), "%s", tunnel);
    } else {
        free(l->json);
    }
    l->json = json;
    publish_one(f, tunnel, json);
    return 0;
}

int edge_fleet_unset(struct edge_fleet *f, const char *tunnel)
{
    struct local *l = find_local(f, tunnel);
    if (!l)
        return 0;
    free(l->json);
    *l = f->loc[--f->n_loc];
    publish_one(f, tunnel, NULL);
    return 0;
}

static bool has_route(const struct st_cidr *v, size_t n, const struct st_cidr *c)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].family == c->family && v[i].prefix == c->prefix &&
            memcmp(v[i].addr, c->addr, 16) == 0)
            return true;
    return false;
}

static bool has_name(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

void edge_fleet_sync(struct edge_fleet *f, const struct edge_tunnel *t)
{
    size_t nr = 0, nh = 0, maxr = 0, maxh = 0;
    if (!f)
        return;
    if (t->n_conns == 0) {
        edge_fleet_unset(f, t->id);
        return;
    }
    for (size_t i = 0; i < t->n_conns; i++) {
        maxr += t->conns[i].n_routes;
        maxh += t->conns[i].n_hostnames;
    }
    struct st_cidr *routes = calloc(maxr + 1, sizeof(*routes));
    const char **hosts = calloc(maxh + 1, sizeof(*hosts));
    for (size_t i = 0; routes && hosts && i < t->n_conns; i++) {
        const struct edge_tunnel_conn *c = &t->conns[i];
        for (size_t k = 0; k < c->n_routes; k++)
            if (!has_route(routes, nr, &c->routes[k]))
                routes[nr++] = c->routes[k];
        for (size_t k = 0; k < c->n_hostnames; k++)
            if (!has_name(hosts, nh, c->hostnames[k]))
                hosts[nh++] = c->hostnames[k];
    }
    if (!routes || !hosts ||
        edge_fleet_set(f, t->id, routes, nr, hosts, nh, (uint32_t)t->n_conns) < 0)
        st_warn("registry: tunnel '%s' not published (out of memory or a bad id)", t->id);
    free(routes);
    free(hosts);
}

/* ---- the others ---- */

bool edge_fleet_up(const struct edge_fleet *f)
{
    return f->cmd_up && f->sub_ready && f->loaded;
}

const struct edge_fcache *edge_fleet_cache(const struct edge_fleet *f)
{
    return &f->cache;
}

const struct edge_fleet_stats *edge_fleet_stats(const struct edge_fleet *f)
{
    return &f->stats;
}

void edge_fleet_metrics(const struct edge_fleet *f, struct st_mbuf *b)
{
    const struct st_redis_stats *c = st_redis_stats(f->cmd), *s = st_redis_stats(f->sub);
    st_metrics_one(b, "subtunnel_registry_up", ST_MGAUGE,
                   "1 when the edge is connected to the fleet registry (Redis), subscribed and "
                   "its cache loaded; 0 while it serves from its cache.",
                   edge_fleet_up(f));
    st_metrics_one(b, "subtunnel_registry_commands_total", ST_MCOUNTER,
                   "Commands sent to the registry.", c->sent + s->sent);
    st_metrics_one(b, "subtunnel_registry_errors_total", ST_MCOUNTER,
                   "Registry errors: error replies, failed or lost connections, bad replies.",
                   c->errors + s->errors);
    st_metrics_one(b, "subtunnel_registry_refused_total", ST_MCOUNTER,
                   "Registry commands not sent: not connected, or the output buffer was full.",
                   c->refused + s->refused);
    st_metrics_one(b, "subtunnel_registry_bad_messages_total", ST_MCOUNTER,
                   "Fleet messages and registry values that did not decode (ignored).",
                   f->stats.bad_messages);
    st_metrics_one(b, "subtunnel_registry_cache_entries", ST_MGAUGE,
                   "Tunnels held by other edges, as cached here (one per edge and tunnel).",
                   edge_fcache_entries(&f->cache));
}
