#include "edge_fleet.h"
#include "edge_registry.h"

#include "redis_fixture.h"

/* ---- the cache and its codecs (pure) ---- */

static struct edge_fentry entry(const char *tunnel, const char *json)
{
    struct edge_fentry e = {0};
    char err[160];
    ck_assert_msg(edge_fentry_decode(json, strlen(json), &e, err, sizeof(err)) == 0, "%s", err);
    snprintf(e.tunnel, sizeof(e.tunnel), "%s", tunnel);
    return e;
}

static const uint8_t *ip4(const char *s)
{
    static uint8_t a[4];
    ck_assert_int_eq(inet_pton(AF_INET, s, a), 1);
    return a;
}

START_TEST(test_entry_codec)
{
    static const struct st_cidr r[2] = {
        {AF_INET, {198, 51, 100, 0}, 24},
        {AF_INET, {203, 0, 113, 0}, 25},
    };
    const char *hosts[] = {"app.example", "*.svc.example"};
    char *json = edge_fentry_encode(r, 2, hosts, 2, 3);
    ck_assert_ptr_nonnull(json);
    struct edge_fentry e = entry("t1", json);
    ck_assert_uint_eq(e.n_routes, 2);
    ck_assert_uint_eq(e.routes[1].prefix, 25);
    ck_assert_uint_eq(e.n_hostnames, 2);
    ck_assert_str_eq(e.hostnames[1], "*.svc.example");
    ck_assert_uint_eq(e.conns, 3);
    edge_fentry_fini(&e);
    free(json);

    static const char *const bad[][2] = {
        {"", "no JSON"},
        {"[]", "JSON object"},
        {"{\"routes\":\"198.51.100.0/24\"}", "\"routes\" must be an array"},
        {"{\"routes\":[\"198.51.100.1/24\"]}", "no CIDR"},
        {"{\"routes\":[7]}", "no CIDR"},
        {"{\"hostnames\":[\"bad_name!\"]}", "no host name"},
        {"{\"conns\":-1}", "\"conns\" must be a count"},
        {"{\"conns\":1,\"conns\":2}", "no JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[160] = "";
        ck_assert_int_eq(edge_fentry_decode(bad[i][0], strlen(bad[i][0]), &e, err, sizeof(err)),
                         -EBADMSG);
        ck_assert_msg(strstr(err, bad[i][1]), "%s: '%s'", bad[i][0], err);
        ck_assert_ptr_null(e.routes);
        ck_assert_ptr_null(e.hostnames);
    }
}
END_TEST

START_TEST(test_msg_codec)
{
    char *s = edge_fmsg_encode(EDGE_FMSG_UP, "e1", 7, 3, "t1", "{\"conns\":1}", "192.0.2.1:7845");
    struct edge_fmsg m;
    char err[160];
    ck_assert_int_eq(edge_fmsg_decode(s, strlen(s), &m, err, sizeof(err)), 0);
    ck_assert_int_eq(m.kind, EDGE_FMSG_UP);
    ck_assert_str_eq(m.edge, "e1");
    ck_assert_str_eq(m.entry.tunnel, "t1");
    ck_assert_str_eq(m.relay, "192.0.2.1:7845");
    ck_assert_uint_eq(m.inst, 7);
    ck_assert_uint_eq(m.seq, 3);
    ck_assert_uint_eq(m.entry.conns, 1);
    edge_fmsg_fini(&m);
    free(s);

    static const char *const bad[][2] = {
        {"nope", "JSON object"},
        {"{\"ev\":\"sideways\"}", "\"ev\" must be"},
        {"{\"ev\":\"alive\",\"edge\":\"e 1\",\"inst\":1,\"seq\":1}", "\"edge\" must be an id"},
        {"{\"ev\":\"alive\",\"edge\":\"e1\",\"inst\":1}", "\"seq\" must be"},
        {"{\"ev\":\"alive\",\"edge\":\"e1\",\"inst\":-1,\"seq\":1}", "\"inst\" must be"},
        {"{\"ev\":\"down\",\"edge\":\"e1\",\"inst\":1,\"seq\":1}", "\"tunnel\" must be"},
        {"{\"ev\":\"up\",\"edge\":\"e1\",\"inst\":1,\"seq\":1,\"tunnel\":\"t\"}", "JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        ck_assert_int_eq(edge_fmsg_decode(bad[i][0], strlen(bad[i][0]), &m, err, sizeof(err)),
                         -EBADMSG);
        ck_assert_msg(strstr(err, bad[i][1]), "%s: '%s'", bad[i][0], err);
    }
}
END_TEST

static enum edge_fcache_apply apply(struct edge_fcache *c, const char *json, uint64_t now)
{
    struct edge_fmsg m;
    char err[160];
    ck_assert_msg(edge_fmsg_decode(json, strlen(json), &m, err, sizeof(err)) == 0, "%s", err);
    enum edge_fcache_apply a = edge_fcache_apply(c, &m, now, 1000);
    edge_fmsg_fini(&m);
    return a;
}

START_TEST(test_cache)
{
    struct edge_fcache c;
    struct edge_fholder h[4];
    ck_assert_int_eq(edge_fcache_init(&c, "me"), 0);
    /* an unknown edge: reload it first */
    ck_assert_int_eq(apply(&c, "{\"ev\":\"alive\",\"edge\":\"e1\",\"inst\":5,\"seq\":2}", 0),
                     EDGE_FCACHE_RESYNC);
    struct edge_fentry es[1] = {entry("t1", "{\"routes\":[\"198.51.100.0/24\"],"
                                            "\"hostnames\":[\"app.example\",\"*.web.example\"],"
                                            "\"conns\":2}")};
    ck_assert_int_eq(edge_fcache_replace(&c, "e1", "192.0.2.1:7845", 5, 2, es, 1, 1000, 1), 0);
    ck_assert_ptr_null(es[0].routes); /* moved */
    ck_assert_uint_eq(edge_fcache_holders(&c, "t1", h, 4), 1);
    ck_assert_str_eq(h[0].edge->relay, "192.0.2.1:7845");
    ck_assert_uint_eq(h[0].entry->conns, 2);
    ck_assert_str_eq(edge_fcache_by_addr(&c, AF_INET, ip4("198.51.100.10")), "t1");
    ck_assert_ptr_null(edge_fcache_by_addr(&c, AF_INET, ip4("203.0.113.10")));
    ck_assert_str_eq(edge_fcache_by_host(&c, "APP.example"), "t1");
    ck_assert_str_eq(edge_fcache_by_host(&c, "a.b.web.example"), "t1");
    ck_assert_ptr_null(edge_fcache_by_host(&c, "web.example")); /* not its apex */
    ck_assert_ptr_null(edge_fcache_by_host(&c, "other.example"));

    /* in sequence: applied; a second holder of t1 and a longer prefix of t2 */
    ck_assert_int_eq(apply(&c,
                           "{\"ev\":\"up\",\"edge\":\"e1\",\"inst\":5,\"seq\":3,\"tunnel\":\"t2\","
                           "\"v\":{\"routes\":[\"198.51.100.128/25\"],\"conns\":1}}",
                           10),
                     EDGE_FCACHE_OK);
    ck_assert_str_eq(edge_fcache_by_addr(&c, AF_INET, ip4("198.51.100.200")), "t2");
    ck_assert_str_eq(edge_fcache_by_addr(&c, AF_INET, ip4("198.51.100.20")), "t1");
    ck_assert_uint_eq(edge_fcache_entries(&c), 2);
    /* a gap, another instance, our own messages */
    ck_assert_int_eq(apply(&c,
                           "{\"ev\":\"down\",\"edge\":\"e1\",\"inst\":5,\"seq\":5,"
                           "\"tunnel\":\"t2\"}",
                           20),
                     EDGE_FCACHE_RESYNC);
    ck_assert_int_eq(apply(&c, "{\"ev\":\"alive\",\"edge\":\"e1\",\"inst\":6,\"seq\":3}", 20),
                     EDGE_FCACHE_RESYNC);
    ck_assert_int_eq(apply(&c,
                           "{\"ev\":\"down\",\"edge\":\"me\",\"inst\":1,\"seq\":1,"
                           "\"tunnel\":\"t1\"}",
                           20),
                     EDGE_FCACHE_OK);
    ck_assert_uint_eq(edge_fcache_entries(&c), 2);
    /* alive in sequence extends the lease */
    ck_assert_int_eq(apply(&c, "{\"ev\":\"alive\",\"edge\":\"e1\",\"inst\":5,\"seq\":3}", 500),
                     EDGE_FCACHE_OK);
    ck_assert_uint_eq(edge_fcache_edge(&c, "e1")->expires_ms, 1500);
    ck_assert_int_eq(apply(&c,
                           "{\"ev\":\"down\",\"edge\":\"e1\",\"inst\":5,\"seq\":4,"
                           "\"tunnel\":\"t2\"}",
                           600),
                     EDGE_FCACHE_OK);
    ck_assert_str_eq(edge_fcache_by_addr(&c, AF_INET, ip4("198.51.100.200")), "t1");

    /* a second edge, then expiry, sweep and gone */
    struct edge_fentry e2[1] = {entry("t1", "{\"routes\":[\"198.51.100.0/24\"]}")};
    ck_assert_int_eq(edge_fcache_replace(&c, "e2", "", 9, 1, e2, 1, 5000, 2), 0);
    ck_assert_uint_eq(edge_fcache_holders(&c, "t1", h, 4), 2);
    ck_assert_uint_eq(edge_fcache_expire(&c, 1599), 0);
    ck_assert_uint_eq(edge_fcache_expire(&c, 1600), 1);
    ck_assert_uint_eq(edge_fcache_holders(&c, "t1", h, 4), 1);
    ck_assert_str_eq(h[0].edge->id, "e2");
    ck_assert_uint_eq(edge_fcache_sweep(&c, 2), 0);
    ck_assert_int_eq(apply(&c, "{\"ev\":\"gone\",\"edge\":\"e2\",\"inst\":9,\"seq\":2}", 700),
                     EDGE_FCACHE_OK);
    ck_assert_uint_eq(edge_fcache_entries(&c), 0);
    ck_assert_ptr_null(edge_fcache_by_addr(&c, AF_INET, ip4("198.51.100.20")));
    ck_assert_ptr_null(edge_fcache_by_host(&c, "app.example"));
    ck_assert(!edge_fcache_remove(&c, "e2"));
    edge_fcache_fini(&c);
}
END_TEST

/* ---- two fleet members and a real redis-server ---- */

#define LEASE_MS 600

static struct edge_fleet *member(struct st_loop *loop, const char *id, const char *prefix)
{
    struct st_redis_url u;
    char url[128], err[160];
    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d", REDIS_PASS, srv.port);
    ck_assert_msg(st_redis_url_parse(url, &u, err, sizeof(err)) == 0, "%s", err);
    char relay[64];
    snprintf(relay, sizeof(relay), "192.0.2.%d:7845", id[1] - '0');
    struct edge_fleet_opts o = {.edge_id = id,
                                .relay = relay,
                                .url = &u,
                                .lease_ms = LEASE_MS,
                                .refresh_ms = 100,
                                .prefix = prefix,
                                .backoff_min_ms = 20,
                                .backoff_max_ms = 100};
    struct edge_fleet *f = edge_fleet_new(loop, &o);
    st_redis_url_fini(&u);
    ck_assert_ptr_nonnull(f);
    edge_fleet_start(f);
    return f;
}

struct pair {
    struct edge_fleet *a, *b;
    const char *tunnel; /* wanted in b's cache (holder a), or NULL: wanted gone */
    size_t holders;
};

static bool both_up(void *arg)
{
    struct pair *p = arg;
    return (!p->a || edge_fleet_up(p->a)) && (!p->b || edge_fleet_up(p->b));
}

static bool b_sees(void *arg)
{
    struct pair *p = arg;
    struct edge_fholder h[4];
    return edge_fcache_holders(edge_fleet_cache(p->b), p->tunnel, h, 4) == p->holders;
}

static void set_t1(struct edge_fleet *f, const char *route, uint32_t conns)
{
    struct st_cidr c;
    const char *hosts[] = {"app.example"};
    ck_assert_int_eq(st_cidr_parse(route, &c), 0);
    ck_assert_int_eq(edge_fleet_set(f, "t1", &c, 1, hosts, 1, conns), 0);
}

START_TEST(test_publish_lookup)
{
    NEED_REDIS();
    struct st_loop loop;
    struct edge_fholder h[4];
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct pair p = {member(&loop, "e1", "pl:"), NULL, "t1", 1};
    set_t1(p.a, "198.51.100.0/24", 1); /* before b exists: b learns it by loading */
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    p.b = member(&loop, "e2", "pl:");
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    const struct edge_fcache *cb = edge_fleet_cache(p.b);
    ck_assert_uint_eq(edge_fcache_holders(cb, "t1", h, 4), 1);
    ck_assert_str_eq(h[0].edge->id, "e1");
    ck_assert_str_eq(h[0].edge->relay, "192.0.2.1:7845");
    ck_assert_str_eq(edge_fcache_by_addr(cb, AF_INET, ip4("198.51.100.7")), "t1");
    ck_assert_str_eq(edge_fcache_by_host(cb, "app.example"), "t1");
    /* a holds nothing of its own in its cache, b's own tunnels never show in b's */
    ck_assert_uint_eq(edge_fcache_entries(edge_fleet_cache(p.a)), 0);
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));

    /* a change by pub/sub: a second tunnel and new routes */
    struct st_cidr c;
    ck_assert_int_eq(st_cidr_parse("203.0.113.0/24", &c), 0);
    ck_assert_int_eq(edge_fleet_set(p.a, "t2", &c, 1, NULL, 0, 1), 0);
    p.tunnel = "t2";
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    ck_assert_str_eq(edge_fcache_by_addr(cb, AF_INET, ip4("203.0.113.9")), "t2");
    /* the same tunnel on both: b holds it too, a sees b */
    set_t1(p.b, "198.51.100.0/24", 2);
    struct pair back = {p.b, p.a, "t1", 1};
    ck_assert(fx_run_until(&loop, b_sees, &back, 3000));
    /* down */
    ck_assert_int_eq(edge_fleet_unset(p.a, "t2"), 0);
    ck_assert_int_eq(edge_fleet_unset(p.a, "nope"), 0);
    p.holders = 0;
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    ck_assert_ptr_null(edge_fcache_by_addr(cb, AF_INET, ip4("203.0.113.9")));
    ck_assert_uint_eq(edge_fleet_stats(p.b)->bad_messages, 0);
    ck_assert_int_eq(edge_fleet_set(p.a, "bad id", &c, 1, NULL, 0, 1), -EINVAL);
    ck_assert_int_eq(edge_fleet_set(p.a, "t3", &c, 1, NULL, 0, 0), -EINVAL);

    /* metrics */
    struct st_mbuf mb;
    st_mbuf_init(&mb, 1 << 16);
    edge_fleet_metrics(p.b, &mb);
    ck_assert_ptr_nonnull(strstr(mb.p, "subtunnel_registry_up 1\n"));
    ck_assert_ptr_nonnull(strstr(mb.p, "subtunnel_registry_cache_entries 1\n"));
    st_mbuf_fini(&mb);
    edge_fleet_free(p.a);
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

/* An edge that stops refreshing (a crash: freed without withdrawing) is forgotten once its
 * lease lapses; one that withdraws at once. */
START_TEST(test_lease_lapse)
{
    NEED_REDIS();
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct pair p = {member(&loop, "e1", "ll:"), member(&loop, "e2", "ll:"), "t1", 1};
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    set_t1(p.a, "198.51.100.0/24", 1);
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    edge_fleet_free(p.a);
    p.a = NULL;
    uint64_t t0 = fx_now_ms();
    p.holders = 0;
    ck_assert(fx_run_until(&loop, b_sees, &p, 3 * LEASE_MS));
    ck_assert_uint_ge(fx_now_ms() - t0, LEASE_MS / 2); /* not before the lease ran out */

    p.a = member(&loop, "e3", "ll:");
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    set_t1(p.a, "198.51.100.0/24", 1);
    p.holders = 1;
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    edge_fleet_withdraw(p.a);
    set_t1(p.a, "198.51.100.0/25", 1); /* nothing published after withdrawing */
    edge_fleet_free(p.a);              /* at once: the last words go out on free */
    p.a = NULL;
    p.holders = 0;
    t0 = fx_now_ms();
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    ck_assert_uint_lt(fx_now_ms() - t0, LEASE_MS / 2); /* told, not timed out */
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

static bool a_down(void *arg)
{
    return !edge_fleet_up(((struct pair *)arg)->a);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

/* Redis dies: both keep their caches past the lease, then publish and reload once it is back
 * (its data gone: no persistence). */
START_TEST(test_redis_restart)
{
    NEED_REDIS();
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct pair p = {member(&loop, "e1", "rr:"), member(&loop, "e2", "rr:"), "t1", 1};
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    set_t1(p.a, "198.51.100.0/24", 1);
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    redis_kill(&srv);
    ck_assert(fx_run_until(&loop, a_down, &p, 3000));
    fx_run_until(&loop, never, NULL, 2 * LEASE_MS);
    ck_assert(b_sees(&p)); /* served from the cache */
    ck_assert_str_eq(edge_fcache_by_addr(edge_fleet_cache(p.b), AF_INET, ip4("198.51.100.1")),
                     "t1");
    /* a change while away: published when Redis is back */
    struct st_cidr c;
    ck_assert_int_eq(st_cidr_parse("203.0.113.0/24", &c), 0);
    ck_assert_int_eq(edge_fleet_set(p.a, "t2", &c, 1, NULL, 0, 1), 0);
    ck_assert_int_eq(redis_start(&srv, srv_why, sizeof(srv_why)), 0);
    ck_assert(fx_run_until(&loop, both_up, &p, 5000));
    p.tunnel = "t2";
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    p.tunnel = "t1";
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    edge_fleet_free(p.a);
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

/* Garbage on the channel and in the keys: counted, ignored, the cache intact. */
static int raw_replies;
static void raw_reply(struct st_redis *r, const struct st_redis_reply *m, void *arg)
{
    (void)r, (void)m, (void)arg;
    raw_replies++;
}

static bool raw_done(void *arg)
{
    return raw_replies >= *(int *)arg;
}

static bool bad_counted(void *arg)
{
    return edge_fleet_stats(((struct pair *)arg)->b)->bad_messages >= 2;
}

START_TEST(test_bad_input)
{
    NEED_REDIS();
    struct st_loop loop;
    struct st_redis_url u;
    char url[128], err[160];
    ck_assert_int_eq(st_loop_init(&loop), 0);
    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d", REDIS_PASS, srv.port);
    ck_assert_int_eq(st_redis_url_parse(url, &u, err, sizeof(err)), 0);
    struct st_redis *raw = st_redis_new(&loop, &u, NULL);
    st_redis_url_fini(&u);
    st_redis_start(raw);
    struct pair p = {member(&loop, "e1", "bi:"), member(&loop, "e2", "bi:"), "t1", 1};
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    set_t1(p.a, "198.51.100.0/24", 1);
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    /* a bad value beside a good one in another edge's hash, then a message that resyncs it */
    raw_replies = 0;
    const char *cmds[][6] = {
        {"HSET", "bi:edge:e9", "inst", "1", "seq", "1"},
        {"HSET", "bi:tunnels:e9", "t9", "{not json", "t8", "{\"conns\":1}"},
        {"PUBLISH", "bi:fleet", "this is no JSON", NULL},
        {"PUBLISH", "bi:fleet", "{\"ev\":\"alive\",\"edge\":\"e9\",\"inst\":1,\"seq\":1}", NULL},
    };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(st_redis_command(raw, raw_reply, NULL, cmds[i][4] ? 6 : 3, cmds[i], NULL),
                         0);
    int want = 4;
    ck_assert(fx_run_until(&loop, raw_done, &want, 3000));
    ck_assert(fx_run_until(&loop, bad_counted, &p, 3000));
    p.tunnel = "t8";
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    struct edge_fholder h[2];
    ck_assert_uint_eq(edge_fcache_holders(edge_fleet_cache(p.b), "t9", h, 2), 0);
    p.tunnel = "t1";
    ck_assert(b_sees(&p));
    st_redis_free(raw);
    edge_fleet_free(p.a);
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

/* edge_fleet_sync publishes the union of what a tunnel's connections registered. */
START_TEST(test_sync_from_registry)
{
    NEED_REDIS();
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct pair p = {member(&loop, "e1", "sy:"), member(&loop, "e2", "sy:"), "t1", 1};
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    struct st_cidr r1[2], r2[1];
    ck_assert_int_eq(st_cidr_parse("198.51.100.0/25", &r1[0]), 0);
    ck_assert_int_eq(st_cidr_parse("198.51.100.128/25", &r1[1]), 0);
    r2[0] = r1[1];
    char *h1[] = {"app.example"}, *h2[] = {"app.example", "ws.example"};
    struct edge_tunnel_conn conns[2] = {{NULL, r1, 2, h1, 1}, {NULL, r2, 1, h2, 2}};
    struct edge_tunnel t = {.id = "t1", .conns = conns, .n_conns = 2};
    edge_fleet_sync(p.a, &t);
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    struct edge_fholder h[2];
    ck_assert_uint_eq(edge_fcache_holders(edge_fleet_cache(p.b), "t1", h, 2), 1);
    ck_assert_uint_eq(h[0].entry->n_routes, 2);
    ck_assert_uint_eq(h[0].entry->n_hostnames, 2);
    ck_assert_uint_eq(h[0].entry->conns, 2);
    t.n_conns = 0;
    edge_fleet_sync(p.a, &t);
    edge_fleet_sync(NULL, &t);
    p.holders = 0;
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    edge_fleet_free(p.a);
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

/* More tunnels than a command's fixed argument array: one HSET of them all on connection. */
static bool b_has_40(void *arg)
{
    return edge_fcache_entries(edge_fleet_cache(((struct pair *)arg)->b)) == 40;
}

START_TEST(test_many_tunnels)
{
    NEED_REDIS();
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct pair p = {member(&loop, "e1", "mt:"), NULL, NULL, 0};
    for (int i = 0; i < 40; i++) {
        char id[16], cidr[32];
        struct st_cidr c;
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(cidr, sizeof(cidr), "198.18.%d.0/24", i);
        ck_assert_int_eq(st_cidr_parse(cidr, &c), 0);
        ck_assert_int_eq(edge_fleet_set(p.a, id, &c, 1, NULL, 0, 1), 0);
    }
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    p.b = member(&loop, "e2", "mt:");
    ck_assert(fx_run_until(&loop, b_has_40, &p, 3000));
    ck_assert_str_eq(edge_fcache_by_addr(edge_fleet_cache(p.b), AF_INET, ip4("198.18.39.1")),
                     "t39");
    edge_fleet_free(p.a);
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

/* Redis stops answering without closing (SIGSTOP): noticed within half a lease, the cache
 * kept, everything back once it answers again. */
START_TEST(test_redis_hangs)
{
    NEED_REDIS();
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct pair p = {member(&loop, "e1", "rh:"), member(&loop, "e2", "rh:"), "t1", 1};
    ck_assert(fx_run_until(&loop, both_up, &p, 3000));
    set_t1(p.a, "198.51.100.0/24", 1);
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    kill(srv.pid, SIGSTOP);
    uint64_t t0 = fx_now_ms();
    ck_assert(fx_run_until(&loop, a_down, &p, 3 * LEASE_MS));
    ck_assert_uint_ge(fx_now_ms() - t0, LEASE_MS / 2 - 100);
    fx_run_until(&loop, never, NULL, LEASE_MS);
    ck_assert(b_sees(&p));
    kill(srv.pid, SIGCONT);
    ck_assert(fx_run_until(&loop, both_up, &p, 5000));
    /* Redis expired e1's keys meanwhile: b's reload may miss them until e1 wrote them again */
    ck_assert(fx_run_until(&loop, b_sees, &p, 3000));
    edge_fleet_free(p.a);
    edge_fleet_free(p.b);
    st_loop_fini(&loop);
}
END_TEST

static Suite *fleet_suite(void)
{
    Suite *s = suite_create("edge_fleet");
    TCase *pure = tcase_create("cache");
    TCase *live = tcase_create("live");

    tcase_add_test(pure, test_entry_codec);
    tcase_add_test(pure, test_msg_codec);
    tcase_add_test(pure, test_cache);
    suite_add_tcase(s, pure);
    tcase_add_unchecked_fixture(live, srv_up, srv_down);
    tcase_add_test(live, test_publish_lookup);
    tcase_add_test(live, test_lease_lapse);
    tcase_add_test(live, test_bad_input);
    tcase_add_test(live, test_sync_from_registry);
    tcase_add_test(live, test_many_tunnels);
    tcase_add_test(live, test_redis_hangs);
    tcase_add_test(live, test_redis_restart);
    tcase_set_timeout(live, 30);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    return st_check_run(fleet_suite());
}
