/* gw_dgram, connect-udp on the expose side: datagrams, capsules, malformed input, refusals, limits,
 * queues, lifetimes. The harness (gw_dgram_harness.h) describes the fixture. */
#include "gw_dgram_harness.h"

/* After the expected packets were read: no more on the TUN, exactly `sent` more sent and
 * no new drop since (tx, drops), no partial capsule held by d, nothing queued. */
static void expect_all_sent(const struct gw_dgram *d, uint64_t tx, uint64_t drops, uint64_t sent)
{
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.tx, tx + sent);
    ck_assert_uint_eq(gw.dgram.drops, drops);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}

/* 1. One DATAGRAM capsule -> one UDP packet from the flow's virtual IP. */
START_TEST(test_udp_expose)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    ck_assert_ptr_nonnull(d);
    ck_assert(f->connected);
    ck_assert_ptr_nonnull(d->pcb);
    ck_assert(vip_ok(f));
    ck_assert_str_eq(f->authority, "198.51.100.53:53");
    ck_assert_uint_eq(gw.dgram.udp_live, 1);
    ck_assert_uint_eq(gw.dgram.udp_opened, 1);
    ck_assert_uint_eq(gw.dgram.icmp_live, 0);

    static uint8_t payload[1400], cap[1500];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)rnd();
    size_t n = put_dgram(cap, 0, payload, sizeof(payload));
    uint64_t tx = gw.dgram.tx, drops = gw.dgram.drops;
    ck_assert_int_eq(dgram_data(d, cap, n), 0);

    struct udp4 u;
    expect_udp(&u);
    ck_assert(memcmp(u.src, &f->vip.s_addr, 4) == 0);
    ck_assert(addr_is(u.dst, "198.51.100.53"));
    ck_assert_uint_eq(u.dport, 53);
    ck_assert_uint_eq(u.sport, 4000); /* the client's port is kept when free */
    ck_assert_uint_eq(u.ttl, 64);
    ck_assert_uint_eq(u.len, sizeof(payload));
    ck_assert(memcmp(u.data, payload, sizeof(payload)) == 0);
    ck_assert_uint_eq(get16(rbuf + 2), 28 + sizeof(payload));
    expect_all_sent(d, tx, drops, 1);
}
END_TEST

/* 1b. Datagrams over the MTU leave in fragments; over the IPv4 maximum they are dropped.
 * (The socketpair queues about 10 packets: sizes stay below that many fragments.) */
START_TEST(test_udp_large)
{
    static uint8_t payload[65508], cap[65600], whole[65600];
    static const size_t sizes[] = {1472, 1473, 3000, 14000};
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)rnd();
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t size = sizes[k], got = 0, frags = 0;
        bool last = false;
        ck_assert_int_eq(dgram_data(f->dgram, cap, put_dgram(cap, 0, payload, size)), 0);
        memset(whole, 0, 28 + size);
        for (;;) {
            struct st_ipv4_info ip;
            ssize_t n = recv(sv[1], rbuf, sizeof(rbuf), MSG_DONTWAIT);
            if (n < 0)
                break;
            ck_assert_int_le(n, 1500);
            st_ipv4_parse(rbuf, (size_t)n, &ip); /* -EPROTO for fragments, filled all the same */
            ck_assert_uint_eq(ip.total, (size_t)n);
            ck_assert(st_ipv4_csum_ok(rbuf));
            ck_assert_uint_eq(ip.proto, ST_IPPROTO_UDP);
            ck_assert(memcmp(ip.src, &f->vip.s_addr, 4) == 0);
            ck_assert(addr_is(ip.dst, "198.51.100.53"));
            uint16_t fo = get16(rbuf + 6);
            size_t off = (size_t)(fo & 0x1fff) * 8, len = (size_t)n - 20;
            ck_assert_uint_le(off + len, 8 + size);
            memcpy(whole + 20 + off, rbuf + 20, len);
            got += len;
            frags++;
            if (!(fo & 0x2000)) {
                ck_assert_uint_eq(off + len, 8 + size);
                last = true;
            }
        }
        ck_assert(last);
        ck_assert_uint_eq(got, 8 + size);
        ck_assert_uint_eq(frags, (8 + size + 1479) / 1480);
        memcpy(whole + 12, &f->vip.s_addr, 4);
        a4(whole + 16, "198.51.100.53");
        ck_assert_uint_eq(get16(whole + 22), 53);
        ck_assert_uint_eq(get16(whole + 24), 8 + size);
        ck_assert(udp_csum_ok(whole, 28 + size));
        ck_assert(memcmp(whole + 28, payload, size) == 0);
    }
    ck_assert_uint_eq(gw.dgram.tx, 4);

    /* 65508 bytes cannot be one IPv4 datagram: dropped, counted */
    uint64_t drops = gw.dgram.drops;
    ck_assert_int_eq(dgram_data(f->dgram, cap, put_dgram(cap, 0, payload, 65508)), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    ck_assert_uint_eq(gw.dgram.tx, 4);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}
END_TEST

/* 2. Three capsules (one empty datagram) split at every point and byte by byte. */
static const size_t split_sizes[3] = {100, 0, 300};
static uint8_t split_stream[512];
static size_t split_len;

static void split_build(void)
{
    uint8_t p[300];
    split_len = 0;
    for (int i = 0; i < 3; i++) {
        fill(p, split_sizes[i], (uint8_t)(i * 50 + 1));
        split_len += put_dgram(split_stream + split_len, 0, p, split_sizes[i]);
    }
}

static void split_expect(const struct gw_flow *f)
{
    uint8_t p[300];
    for (int i = 0; i < 3; i++) {
        struct udp4 u;
        expect_udp(&u);
        fill(p, split_sizes[i], (uint8_t)(i * 50 + 1));
        ck_assert_uint_eq(u.len, split_sizes[i]);
        ck_assert(memcmp(u.data, p, u.len) == 0);
        ck_assert(memcmp(u.src, &f->vip.s_addr, 4) == 0);
        ck_assert(addr_is(u.dst, "198.51.100.53"));
    }
    expect_nothing();
    ck_assert_ptr_null(f->dgram->in);
    ck_assert_uint_eq(f->dgram->in_len, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
}

START_TEST(test_udp_split)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    split_build();
    uint64_t tx = gw.dgram.tx;
    size_t rounds = 0;

    for (size_t i = 0; i < split_len; i++)
        ck_assert_int_eq(dgram_data(d, split_stream + i, 1), 0);
    split_expect(f);
    rounds++;
    for (size_t k = 1; k < split_len; k++) {
        ck_assert_int_eq(dgram_data(d, split_stream, k), 0);
        /* whatever is pending is accounted for while it waits */
        ck_assert_uint_eq(gw.dgram.queued_bytes, d->in_cap);
        ck_assert_int_eq(dgram_data(d, split_stream + k, split_len - k), 0);
        split_expect(f);
        rounds++;
    }
    for (int r = 0; r < 200; r++) { /* three random cuts */
        size_t c[4] = {0, 0, 0, split_len};
        c[1] = rnd() % split_len;
        c[2] = c[1] + rnd() % (split_len - c[1]);
        for (int j = 0; j < 3; j++)
            ck_assert_int_eq(dgram_data(d, split_stream + c[j], c[j + 1] - c[j]), 0);
        split_expect(f);
        rounds++;
    }
    ck_assert_uint_eq(gw.dgram.tx, tx + 3 * rounds);
}
END_TEST

/* 3. Unknown capsule types are skipped, other context ids dropped silently. */
START_TEST(test_unknown_capsules)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    static uint8_t s[180000];
    static uint8_t big[100000];
    size_t n = 0;
    const uint8_t five[5] = {1, 2, 3, 4, 5};
    fill(big, sizeof(big), 9);
    n += put_capsule(s + n, 0x2a, five, 5);
    n += put_dgram(s + n, 0, (const uint8_t *)"one", 3);
    n += put_capsule(s + n, 0x53540099, five, 3); /* 8-byte type varint */
    n += put_dgram(s + n, 1, (const uint8_t *)"nope", 4);
    n += put_capsule(s + n, 0x3fff, NULL, 0);
    n += put_capsule(s + n, ST_CAP_REGISTER, big, 60000); /* large, within the datagram limit */
    n += put_capsule(s + n, 0x2b, big, sizeof(big));      /* over it: skipped as it streams by */
    n += put_dgram(s + n, 0x4000, (const uint8_t *)"nope2", 5); /* 4-byte context id */
    n += put_dgram(s + n, 0, (const uint8_t *)"two", 3);

    for (int pass = 0; pass < 3; pass++) {
        uint64_t tx = gw.dgram.tx, drops = gw.dgram.drops;
        if (pass == 0) {
            ck_assert_int_eq(dgram_data(d, s, n), 0);
        } else if (pass == 1) {
            for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(dgram_data(d, s + i, 1), 0);
        } else {
            for (size_t i = 0; i < n; i += 1000)
                ck_assert_int_eq(dgram_data(d, s + i, n - i < 1000 ? n - i : 1000), 0);
        }
        struct udp4 u;
        expect_udp(&u);
        ck_assert_uint_eq(u.len, 3);
        ck_assert(memcmp(u.data, "one", 3) == 0);
        ck_assert_msg(d->skip == 0 && gw.dgram.drops == drops, "pass %d: skip %llu drops +%llu",
                      pass, (unsigned long long)d->skip,
                      (unsigned long long)(gw.dgram.drops - drops));
        expect_udp(&u);
        ck_assert_uint_eq(u.len, 3);
        ck_assert(memcmp(u.data, "two", 3) == 0);
        expect_all_sent(d, tx, drops, 2);
    }
}
END_TEST

/* 4. Malformed capsules: counted, buffers freed, the stream reset (wired: the edge sees it). */
START_TEST(test_malformed)
{
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, false);
    struct gw_dgram *d = f->dgram;
    uint8_t b[64];
    uint64_t drops = gw.dgram.drops, q0 = gw.dgram.queued_bytes;

    /* a length over the limit (100000), whole header at once */
    b[0] = 0x00;
    ck_assert_int_eq(st_varint_encode(b + 1, 8, 100000), 4);
    memset(b + 5, 0, 20);
    ck_assert_int_eq(dgram_data(d, b, 25), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);
    expect_nothing();

    /* ... with a partial capsule buffered first */
    ck_assert_int_eq(dgram_data(d, b, 1), 0);
    ck_assert_ptr_nonnull(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0 + d->in_cap);
    ck_assert_int_eq(dgram_data(d, b + 1, 2), 0);
    ck_assert_ptr_nonnull(d->in);
    ck_assert_int_eq(dgram_data(d, b + 3, 2), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 2);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(d->in_len, 0);
    ck_assert_uint_eq(d->in_cap, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);

    /* an 8-byte length varint far beyond anything */
    b[0] = 0x00;
    ck_assert_int_eq(st_varint_encode(b + 1, 8, (uint64_t)1 << 40), 8);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(dgram_data(d, b + i, 1), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 3);
    ck_assert_ptr_null(d->in);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);

    /* DATAGRAM without a context id; with a truncated one; then a good one in the same
     * read, which goes with the reset stream */
    size_t n = put_capsule(b, ST_CAP_DATAGRAM, NULL, 0);
    ck_assert_int_eq(dgram_data(d, b, n), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 4);
    n = put_capsule(b, ST_CAP_DATAGRAM, (const uint8_t[]){0x40}, 1);
    n += put_dgram(b + n, 0, (const uint8_t *)"late", 4);
    ck_assert_int_eq(dgram_data(d, b, n), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 5);
    expect_nothing();
    ck_assert_uint_eq(gw.dgram.tx, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);

    /* wired: the edge gets RST_STREAM(PROTOCOL_ERROR) */
    struct gw_flow *w = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct rec *r = rec_of(&ex, w->sid);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(dgram_data(w->dgram, b, 1), 0); /* a partial one first */
    ck_assert_ptr_nonnull(w->dgram->in);
    b[0] = 0x00;
    ck_assert_int_eq(st_varint_encode(b + 1, 8, 100000), 4);
    ck_assert_int_eq(dgram_data(w->dgram, b + 1, 4), 0);
    ck_assert_ptr_null(w->dgram->in);
    pump(&ex);
    ck_assert_int_eq(r->rst, NGHTTP2_PROTOCOL_ERROR);
    ck_assert_uint_eq(gw.dgram.queued_bytes, q0);
}
END_TEST

/* 5. Paths and policy: refused with the right status, nothing opened. */
struct refusal {
    const char *protocol, *path;
    int status;
    const char *why;
};

static const struct refusal refusals[] = {
    {"connect-udp", "/.well-known/masque/udp/198.51.100.53/0/", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/resolver.example/53/", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/198.51.100.53/53", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/198.51.100.53/53/?x=1", 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/2001%3Adb8%3A%3A1/53/", 403,
     "destination_ip_prohibited"}, /* outside expose.routes */
    {"connect-udp", "/.well-known/masque/udp/%5B2001:db8::1%5D/53/", 403,
     "destination_ip_prohibited"},
    {"connect-udp", "/.well-known/masque/udp/2001%3Adb8%3A%3A1%25eth0/53/", 400, "bad MASQUE path"},
    {"connect-ip", "/.well-known/masque/ip/2001%3Adb8%3A%3A1/1/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.10/58/", 501, "ICMP only"},
    {"connect-udp", NULL, 400, "bad MASQUE path"},
    {"connect-udp", "/.well-known/masque/udp/203.0.113.9/53/", 403, "destination_ip_prohibited"},
    {"connect-udp", "/.well-known/masque/udp/100.64.0.2/53/", 403, "destination_ip_prohibited"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.10/17/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.0%2F24/1/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/*/1/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.10/*/", 501, "ICMP only"},
    {"connect-ip", "/.well-known/masque/ip/203.0.113.9/1/", 403, "destination_ip_prohibited"},
    /* the guard: an address of the gateway's host, inside the exposed route */
    {"connect-udp", "/.well-known/masque/udp/198.51.100.1/53/", 403,
     "destination_ip_prohibited; details=\"local address\""},
    {"connect-ip", "/.well-known/masque/ip/198.51.100.1/1/", 403,
     "destination_ip_prohibited; details=\"local address\""},
    {"connect-ip", "/.well-known/masque/udp/198.51.100.10/1/", 400, "bad MASQUE path"},
};

/* Refusals the gateway counted for flows of this kind (metrics), every reason. */
static uint64_t refused_of(const char *protocol)
{
    uint64_t n = 0;
    for (int r = 0; r < ST_REASON_N; r++)
        n += gw.flows_refused[st_flow_kind_of(protocol)][r];
    return n;
}

START_TEST(test_refused)
{
    static uint8_t cap[64];
    size_t cn = put_dgram(cap, 0, (const uint8_t *)"x", 1);
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const struct refusal *t = &refusals[i];
        for (int wired = 0; wired < 2; wired++) {
            uint64_t refused = refused_of(t->protocol);
            const char *path = t->path ? t->path : "(null)";
            struct gw_flow *f = open_flow(t->protocol, t->path, CLIENT, wired);
            ck_assert_msg(!f->connected, "%s", path);
            ck_assert_ptr_nonnull(f->dgram);
            ck_assert_ptr_null(f->dgram->pcb);
            ck_assert(!f->has_vip);
            ck_assert_uint_eq(gw_vip_in_use(gw.vips), 0);
            if (wired) {
                struct rec *r = rec_of(&ex, f->sid);
                ck_assert_msg(r->status == t->status, "%s: status %d", path, r->status);
                ck_assert_msg(strstr(r->proxy_status, t->why) != NULL, "%s: %s", path,
                              r->proxy_status);
                ck_assert(r->end_stream);
                ck_assert(f->responded);
                ck_assert_uint_eq(refused_of(t->protocol), refused + 1);
            } else {
                ck_assert(!f->responded); /* gw_flow_respond: no connection, nothing to do */
            }
            /* the body of a refused stream goes nowhere */
            ck_assert_int_eq(dgram_data(f->dgram, cap, cn), 0);
            expect_nothing();
            ck_assert_uint_eq(gw.dgram.tx, 0);
        }
    }
    ck_assert_uint_eq(gw.dgram.udp_opened + gw.dgram.icmp_opened,
                      2 * sizeof(refusals) / sizeof(refusals[0]));
    ck_assert_uint_eq(gw.guard_refused[ST_KIND_UDP], 2); /* wired and not */
    ck_assert_uint_eq(gw.guard_refused[ST_KIND_ICMP], 2);

    /* and the ones that are served answer 200 with capsule-protocol, stream open */
    struct gw_flow *u = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *i = open_flow("connect-ip", IP_PATH, CLIENT, true);
    for (int k = 0; k < 2; k++) {
        struct rec *r = rec_of(&ex, (k ? i : u)->sid);
        ck_assert_int_eq(r->status, 200);
        ck_assert(r->capsule_protocol);
        ck_assert(!r->end_stream);
        ck_assert_int_eq(r->rst, -1);
    }
    /* one client, one virtual IP */
    ck_assert(vip_ok(u));
    ck_assert_uint_eq(u->vip.s_addr, i->vip.s_addr);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 1);
}
END_TEST

/* 5b. Out of virtual IPs, out of flows: 503. */
START_TEST(test_limits)
{
    struct st_cidr small;
    char client[32];
    ck_assert_int_eq(st_cidr_parse("100.64.0.0/29", &small), 0);
    gw_vip_pool_free(gw.vips);
    gw.vips = gw_vip_pool_new(&small, 2); /* .3 to .6 */
    ck_assert_ptr_nonnull(gw.vips);
    for (int k = 1; k <= 4; k++) {
        snprintf(client, sizeof(client), "203.0.113.%d:5000", k);
        struct gw_flow *f = open_flow("connect-udp", UDP_PATH, client, true);
        ck_assert(f->connected);
        ck_assert_uint_eq(ntohl(f->vip.s_addr), 0x64400002u + (uint32_t)k);
    }
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, "203.0.113.5:5000", true);
    struct rec *r = rec_of(&ex, f->sid);
    ck_assert_int_eq(r->status, 503);
    ck_assert_ptr_nonnull(strstr(r->proxy_status, "connection_limit_reached"));
    ck_assert(!f->connected);
    ck_assert_ptr_null(f->dgram->pcb);

    /* GW_DGRAM_MAX_FLOWS live flows: refused before any state is made */
    uint64_t live = gw.dgram.udp_live;
    gw.dgram.udp_live = GW_DGRAM_MAX_FLOWS;
    f = open_flow("connect-ip", IP_PATH, "203.0.113.1:0", true);
    gw.dgram.udp_live = live;
    r = rec_of(&ex, f->sid);
    ck_assert_int_eq(r->status, 503);
    ck_assert_ptr_null(f->dgram);
    ck_assert_uint_eq(gw.dgram.icmp_opened, 0);
    uint8_t x[8] = {0};
    ck_assert_int_eq(flow_data(f, x, sizeof(x)), 0); /* dropped as a refused stream */
    expect_nothing();
}
END_TEST

/* 5c. One user, or one destination, cannot take the whole datagram budget: per-client and
 * per-host caps refuse with 503, and a closed flow frees its place. */
START_TEST(test_quota_per_client_and_host)
{
    gw.cfg.dgram_per_client = 2;
    gw.cfg.dgram_per_host = 3;
    struct gw_flow *a = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *b = open_flow("connect-ip", IP_PATH, CLIENT, true);
    ck_assert(a->connected && b->connected);
    struct gw_flow *c =
        open_flow("connect-udp", "/.well-known/masque/udp/198.51.100.54/53/", CLIENT, true);
    struct rec *r = rec_of(&ex, c->sid);
    ck_assert_int_eq(r->status, 503);
    ck_assert_str_eq(r->proxy_status, "subtunnel; error=connection_limit_reached; "
                                      "details=\"too many datagram flows for this client\"");
    ck_assert(!c->connected);
    /* other users still get 198.51.100.53, until three flows go to that one host */
    struct gw_flow *d = open_flow("connect-udp", UDP_PATH, "203.0.113.8:4000", true);
    struct gw_flow *e = open_flow("connect-udp", UDP_PATH, "203.0.113.9:4000", true);
    ck_assert(d->connected && e->connected);
    struct gw_flow *g = open_flow("connect-udp", UDP_PATH, "203.0.113.10:4000", true);
    ck_assert_int_eq(rec_of(&ex, g->sid)->status, 503);
    ck_assert_str_eq(rec_of(&ex, g->sid)->proxy_status,
                     "subtunnel; error=connection_limit_reached; "
                     "details=\"too many datagram flows to this host\"");
    ck_assert_uint_eq(gw_quota_count(&gw.dgram_hosts, AF_INET, (const uint8_t *)"\xc6\x33\x64\x35"),
                      3);
    /* a flow ends: its user and its host have room again */
    release(a);
    struct gw_flow *h = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    ck_assert(h->connected);
    ck_assert_uint_eq(gw_quota_count(&gw.dgram_clients, AF_INET, (const uint8_t *)&h->vip), 2);
}
END_TEST

/* 7. The up queue: bounded per flow and, past the fair share, by the gateway's total. */
START_TEST(test_queue_bound)
{
    static uint8_t big[60000], pkt[60000];
    struct gw_flow *f = open_flow("connect-ip", IP_PATH, CLIENT, true);
    struct gw_flow *g =
        open_flow("connect-ip", "/.well-known/masque/ip/198.51.100.12/1/", CLIENT, true);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &f->vip, vip, sizeof(vip));
    size_t n = echo_pkt(big, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 1, 1, 60000 - 28, 64);
    size_t csize = 1 + st_varint_len(n + 1) + 1 + n;
    size_t fit = GW_DGRAM_QUEUE / csize;
    ck_assert_uint_eq(fit, 17);

    uint64_t drops = gw.dgram.drops;
    for (size_t k = 0; k < fit + 3; k++) {
        memcpy(pkt, big, n);
        ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    }
    ck_assert_uint_eq(f->dgram->up.len, fit * csize);
    ck_assert_uint_eq(gw.dgram.rx, fit);
    ck_assert_uint_eq(gw.dgram.drops, drops + 3);
    ck_assert_uint_eq(gw.dgram.queued_bytes, fit * csize);

    /* other flows hold the gateway's total: g still gets its fair share, no more */
    gw.dgram.queued_bytes += GW_DGRAM_QUEUE_TOTAL;
    memcpy(big + 12, (const uint8_t[]){198, 51, 100, 12}, 4);
    set_csum(big + 10, big, 20);
    for (int k = 0; k < 3; k++) {
        memcpy(pkt, big, n);
        ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    }
    gw.dgram.queued_bytes -= GW_DGRAM_QUEUE_TOTAL;
    ck_assert_uint_eq(g->dgram->up.len, csize);
    ck_assert_uint_eq(gw.dgram.drops, drops + 5);

    /* the edge reads everything, in order; then the queue takes capsules again */
    pump(&ex);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    struct rec *r = rec_of(&ex, f->sid);
    ck_assert_uint_eq(r->body_len, fit * csize);
    for (size_t off = 0; off < r->body_len;) {
        const uint8_t *p;
        size_t pn;
        next_dgram(r->body, r->body_len, &off, &p, &pn);
        ck_assert_uint_eq(pn, n);
        ck_assert(addr_is(p + 16, "203.0.113.7") || addr_is(p + 16, vip));
        ck_assert(memcmp(p + 20, big + 20, n - 20) == 0);
    }
    ck_assert_uint_eq(rec_of(&ex, g->sid)->body_len, csize);
    memcpy(pkt, big, n);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(g->dgram->up.len, csize);
    pump(&ex);
    ck_assert_uint_eq(rec_of(&ex, g->sid)->body_len, 2 * csize);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);

    /* unwired (no stream): nothing queues */
    struct gw_flow *u =
        open_flow("connect-ip", "/.well-known/masque/ip/198.51.100.13/1/", CLIENT, false);
    memcpy(big + 12, (const uint8_t[]){198, 51, 100, 13}, 4);
    set_csum(big + 10, big, 20);
    drops = gw.dgram.drops;
    memcpy(pkt, big, n);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_eq(u->dgram->up.len, 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
}
END_TEST

/* 8. Lifetime: close, release, counters and memory back to zero. */
START_TEST(test_lifetime)
{
    static uint8_t pkt[256], cap[256];
    struct gw_flow *u = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *i = open_flow("connect-ip", IP_PATH, CLIENT, true);
    struct gw_flow *j =
        open_flow("connect-ip", "/.well-known/masque/ip/198.51.100.12/1/", CLIENT, false);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &i->vip, vip, sizeof(vip));
    ck_assert_uint_eq(gw.dgram.udp_live, 1);
    ck_assert_uint_eq(gw.dgram.icmp_live, 2);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 1);

    /* state to free: a partial capsule on u, a queued reply on i */
    size_t cn = put_dgram(cap, 0, (const uint8_t *)"hello", 5);
    ck_assert_int_eq(dgram_data(u->dgram, cap, cn - 2), 0);
    ck_assert_ptr_nonnull(u->dgram->in);
    size_t n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 5, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    ck_assert_uint_gt(i->dgram->up.len, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, u->dgram->in_cap + i->dgram->up.len);

    /* the stream of i closes: off the ICMP list, its queue dropped, idempotent */
    gw_dgram_on_close(i->dgram);
    gw_dgram_on_close(i->dgram);
    ck_assert_uint_eq(gw.dgram.icmp_live, 1);
    ck_assert_ptr_eq(gw.icmp_flows, j->dgram);
    ck_assert_ptr_null(j->dgram->prev);
    ck_assert_uint_eq(gw.dgram.queued_bytes, u->dgram->in_cap);
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 6, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0); /* nobody's any more */
    release(i);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 1);

    /* u: the closed flow's pcb is gone; later capsules are dropped, not sent */
    gw_dgram_on_close(u->dgram);
    ck_assert_ptr_null(u->dgram->pcb);
    ck_assert_uint_eq(gw.dgram.udp_live, 0);
    uint64_t drops = gw.dgram.drops;
    ck_assert_int_eq(dgram_data(u->dgram, cap + cn - 2, 2), 0);
    ck_assert_uint_eq(gw.dgram.drops, drops + 1);
    expect_nothing();
    release(u);
    release(j);
    ck_assert_uint_eq(gw.dgram.udp_live, 0);
    ck_assert_uint_eq(gw.dgram.icmp_live, 0);
    ck_assert_uint_eq(gw.dgram.queued_bytes, 0);
    ck_assert_ptr_null(gw.icmp_flows);
    ck_assert_uint_eq(gw_vip_in_use(gw.vips), 0);
    ck_assert_uint_eq(gw.dgram.freed, 3);
    for (size_t k = 0; k < ex.n_recs; k++)
        ck_assert_int_eq(ex.recs[k].rst, -1);
}
END_TEST

/* 8b. The end of the edge's side, and idle flows: the stream ends after the queue. */
START_TEST(test_end)
{
    static uint8_t pkt[256], cap[512];
    gw.cfg.dns_idle_timeout_ms = 40;
    struct gw_flow *dns = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    struct gw_flow *other =
        open_flow("connect-udp", "/.well-known/masque/udp/198.51.100.53/5353/", CLIENT, true);
    struct gw_flow *i = open_flow("connect-ip", IP_PATH, CLIENT, true);
    char vip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &i->vip, vip, sizeof(vip));

    /* the edge ends i with a reply queued: the reply goes first, then END_STREAM */
    size_t n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 5, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 1);
    gw_flow_on_eof(i);
    ck_assert(i->dgram->ended);
    n = echo_pkt(pkt, "198.51.100.10", vip, ST_ICMP_ECHO_REPLY, 5, 6, 40, 64);
    ck_assert_int_eq(gw_dgram_icmp_hook(&gw, pkt, n), 0); /* an ended flow takes no more */
    size_t cn = put_dgram(cap, 0, pkt, n);
    ck_assert_int_eq(dgram_data(i->dgram, cap, cn), 0);
    expect_nothing();
    pump(&ex);
    struct rec *r = rec_of(&ex, i->sid);
    ck_assert(r->end_stream);
    ck_assert_uint_eq(r->body_len, 1 + st_varint_len(1 + 68) + 1 + 68);

    /* DNS flows idle out after dns-idle-timeout, others keep udp-idle-timeout */
    uint64_t expired = gw.dgram.expired;
    run_loop_ms(120);
    ck_assert_uint_eq(gw.dgram.expired, expired + 1);
    ck_assert(dns->dgram->ended);
    ck_assert(!other->dgram->ended);
    pump(&ex);
    ck_assert(rec_of(&ex, dns->sid)->end_stream);
    ck_assert(!rec_of(&ex, other->sid)->end_stream);
    cn = put_dgram(cap, 0, (const uint8_t *)"late", 4);
    ck_assert_int_eq(dgram_data(dns->dgram, cap, cn), 0);
    ck_assert_int_eq(dgram_data(other->dgram, cap, cn), 0);
    struct udp4 u;
    expect_udp(&u);
    ck_assert_uint_eq(u.dport, 5353);
    expect_nothing();
}
END_TEST

/* 9. Reach: captured ICMP/UDP opens a stream on a reach connection; refusals answer ICMP. */

/* 10. Replies read from the TUN in one wake-up go to the stream back to back: one DATA frame
 * carries all their capsules, in order and intact (counted in gw.dgram.frames). The TUN reads
 * lend their buffer to lwIP for UDP: every datagram still arrives whole. */
START_TEST(test_capsules_batched)
{
    static uint8_t pkt[1600], payload[1200], want[16384];
    struct gw_flow *f = open_flow("connect-udp", UDP_PATH, CLIENT, true);
    pump(&ex);
    uint8_t vip[4], srv[4];
    memcpy(vip, &f->vip.s_addr, 4);
    a4(srv, "198.51.100.53");
    uint64_t frames = gw.dgram.frames, rx = gw.dgram.rx;
    size_t wn = 0;
    for (size_t k = 0; k < 8; k++) { /* the socketpair queues 10 packets at most */
        size_t len = 100 + k * 130;
        fill(payload, len, (uint8_t)k);
        int n = st_udp4_build(pkt, sizeof(pkt), srv, 53, vip, f->dgram->cport, payload, len, 64);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(send(sv[1], pkt, (size_t)n, 0), n);
        wn += put_dgram(want + wn, 0, payload, len);
    }
    ck_assert_int_eq(ns_netif_read(&gw.nif, 256), 8);
    ck_assert_uint_eq(gw.dgram.rx, rx + 8);
    struct rec *r = rec_of(&ex, f->sid);
    size_t frames0 = r->data_frames, body0 = r->body_len;
    pump(&ex);
    ck_assert_uint_eq(r->data_frames, frames0 + 1);
    ck_assert_uint_eq(gw.dgram.frames, frames + 1);
    ck_assert_uint_eq(r->body_len - body0, wn);
    ck_assert(memcmp(r->body + body0, want, wn) == 0);
}
END_TEST

static Suite *gw_dgram_udp_suite(void)
{
    Suite *s = suite_create("gw_dgram_udp");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_udp_expose);
    tcase_add_test(tc, test_udp_large);
    tcase_add_test(tc, test_udp_split);
    tcase_add_test(tc, test_unknown_capsules);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_quota_per_client_and_host);
    tcase_add_test(tc, test_queue_bound);
    tcase_add_test(tc, test_lifetime);
    tcase_add_test(tc, test_end);
    tcase_add_test(tc, test_capsules_batched);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(gw_dgram_udp_suite());
}
