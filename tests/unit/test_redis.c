#include "st_redis.h"

#include "redis_fixture.h"
#include "tls_fixture.h"

#include <sys/epoll.h>

/* ---- URL ---- */

static void url_ok(const char *text, bool tls, const char *user, const char *pass, int port, int db)
{
    struct st_redis_url u;
    char err[160] = "";
    ck_assert_msg(st_redis_url_parse(text, &u, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert(u.tls == tls);
    ck_assert(user ? u.user && strcmp(u.user, user) == 0 : !u.user);
    ck_assert(pass ? u.password && strcmp(u.password, pass) == 0 : !u.password);
    ck_assert_int_eq(u.port, port);
    ck_assert_int_eq(u.named ? 0 : st_sockaddr_port(&u.addr), u.named ? 0 : port);
    ck_assert_int_eq(u.db, db);
    st_redis_url_fini(&u);
}

/* host as kept (for logs and TLS), and whether it is a name to resolve */
static void url_host(const char *text, const char *host, bool named)
{
    struct st_redis_url u;
    char err[160] = "";
    ck_assert_msg(st_redis_url_parse(text, &u, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert_str_eq(u.host, host);
    ck_assert_msg(u.named == named, "%s", text);
    st_redis_url_fini(&u);
}

/* err is exactly "registry URL: " want */
static void url_bad(const char *text, const char *want)
{
    struct st_redis_url u;
    char err[300] = "", full[300];
    ck_assert_msg(st_redis_url_parse(text, &u, err, sizeof(err)) == -EINVAL, "%s parsed", text);
    snprintf(full, sizeof(full), "registry URL: %s", want);
    ck_assert_str_eq(err, full);
    ck_assert(!strstr(err, "hunter2"));
    ck_assert_ptr_null(u.user);
    ck_assert_ptr_null(u.password);
}

START_TEST(test_url)
{
    url_ok("redis://127.0.0.1", false, NULL, NULL, 6379, 0);
    url_ok("redis://127.0.0.1:7000/3", false, NULL, NULL, 7000, 3);
    url_ok("rediss://:pw@[2001:db8::1]:6380/", true, NULL, "pw", 6380, 0);
    url_ok("redis://edge:p%40ss%3Aw@192.0.2.50:6379", false, "edge", "p@ss:w", 6379, 0);
    url_ok("redis://secret@192.0.2.50", false, NULL, "secret", 6379, 0);
    url_ok("redis://edge:@registry.lab.test:7000", false, "edge", NULL, 7000, 0);
    url_ok("rediss://registry.example/1", true, NULL, NULL, 6379, 1);
    url_host("redis://[2001:db8::1]:6379", "[2001:db8::1]", false);
    url_host("redis://192.0.2.50", "192.0.2.50", false);
    url_host("redis://u:hunter2@Registry-1.lab.test:6379/0", "Registry-1.lab.test", true);
    url_host("redis://localhost", "localhost", true);
    url_bad("http://127.0.0.1", "must start with redis:// or rediss://");
    url_bad(NULL, "missing");
    url_bad("redis://", "no host");
    url_bad("redis://u:hunter2@:6379", "no host");
    static const char not_host[] = "host must be an IPv4 address, an IPv6 address in brackets or "
                                   "a host name (letters, digits, '-', dots)";
    url_bad("redis://registry_1.example:6379", not_host);
    url_bad("redis://u:hunter2@-registry.example", not_host);
    url_bad("redis://registry..example", not_host);
    url_bad("redis://registry.example.", not_host);
    url_bad("redis://192.0.2.300", not_host);
    url_bad("redis://10.1", not_host);
    url_bad("redis://*:6379", not_host);
    url_bad("redis://[registry.example]:6379", "'[...]' must hold an IPv6 address");
    url_bad("redis://[2001:db8::1]x", "junk after ']'");
    url_bad("redis://2001:db8::1", "port must be 1..65535");
    url_bad("redis://127.0.0.1:0", "port must be 1..65535");
    url_bad("redis://registry.example:65536", "port must be 1..65535");
    url_bad("redis://127.0.0.1:6x", "port must be 1..65535");
    url_bad("redis://127.0.0.1:", "port must be 1..65535");
    url_bad("redis://[2001:db8::1", "'[' without ']' around an IPv6 address");
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "redis://", 8);
    longname[sizeof(longname) - 1] = 0;
    url_bad(longname, "host too long");
    url_bad("redis://u:hunter2%zz@127.0.0.1", "bad percent-encoding in the password");
    url_bad("redis://u:hunter2%00@127.0.0.1", "bad percent-encoding in the password");
    url_bad("redis://u%:hunter2@127.0.0.1", "bad percent-encoding in the user name");
    url_bad("redis://:@127.0.0.1", "empty password before '@'");
    url_bad("redis://@registry.example", "empty password before '@'");
    url_bad("redis://127.0.0.1/x", "the path must be a database number (/0, /1, ...)");
    url_bad("redis://127.0.0.1/0?timeout=1", "query parameters are not supported");
    url_bad("redis://127.0.0.1 ", "spaces or control characters");
}
END_TEST

/* ---- parser ---- */

static struct st_redis_reply *parse_one(const char *text, size_t len, int *rc, char *why)
{
    struct st_redis_parser *p = st_redis_parser_new();
    struct st_redis_reply *m = NULL;
    ck_assert_ptr_nonnull(p);
    *rc = 0;
    for (size_t i = 0; i < len && *rc == 0; i++) /* byte by byte: replies split anywhere */
        if ((*rc = st_redis_parser_feed(p, text + i, 1)) == 0)
            *rc = st_redis_parser_next(p, &m, why, 160);
    st_redis_parser_free(p);
    return m;
}

START_TEST(test_parser)
{
    static const char good[] = "*4\r\n$7\r\nmessage\r\n:42\r\n$-1\r\n*1\r\n+OK\r\n";
    char why[160] = "";
    int rc;
    struct st_redis_reply *m = parse_one(good, sizeof(good) - 1, &rc, why);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(m->type, ST_REDIS_ARRAY);
    ck_assert_uint_eq(m->elements, 4);
    ck_assert_str_eq(st_redis_elem_str(m, 0, NULL), "message");
    ck_assert_int_eq(m->element[1]->integer, 42);
    ck_assert_int_eq(m->element[2]->type, ST_REDIS_NIL);
    ck_assert_ptr_null(st_redis_elem_str(m, 2, NULL));
    ck_assert_ptr_null(st_redis_elem_str(m, 9, NULL));
    ck_assert_str_eq(m->element[3]->element[0]->str, "OK");
    st_redis_reply_free(m);

    static const char *const bad[][2] = {
        {"?what\r\n", "bad reply: Protocol error"},
        {"*99999999\r\n", "an array of 99999999 elements"},
        {"$-5\r\n", "bad reply"},
        {":12x\r\n", "bad reply"},
        {"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "bad reply"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = 0;
        m = parse_one(bad[i][0], strlen(bad[i][0]), &rc, why);
        ck_assert_msg(rc == -EPROTO && !m, "%s: rc %d", bad[i][0], rc);
        ck_assert_msg(strstr(why, bad[i][1]), "%s: '%s'", bad[i][0], why);
    }
}
END_TEST

START_TEST(test_parser_pending_bound)
{
    struct st_redis_parser *p = st_redis_parser_new();
    static char chunk[1 << 16];
    struct st_redis_reply *m;
    char why[160];
    int rc = 0;
    size_t fed = 0;
    memcpy(chunk, "$900000000\r\n", 12); /* a 900 MB string: never buffered whole */
    while (rc == 0 && fed <= ST_REDIS_MAX_PENDING) {
        if ((rc = st_redis_parser_feed(p, chunk, sizeof(chunk))) == 0) {
            fed += sizeof(chunk);
            ck_assert_int_eq(st_redis_parser_next(p, &m, why, sizeof(why)), 0);
        }
    }
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_uint_le(fed, ST_REDIS_MAX_PENDING);
    st_redis_parser_free(p);
}
END_TEST

/* ---- client against a real redis-server ---- */

struct ctx {
    struct st_loop loop;
    struct st_redis *r;
    int ups, downs, pushes, nulls, free_in_cb;
    char why[200];
    char got[16][64]; /* replies in order, as text */
    size_t n_got;
};

static void on_state(struct st_redis *r, bool up, const char *why, void *data)
{
    struct ctx *c = data;
    (void)r;
    up ? c->ups++ : c->downs++;
    snprintf(c->why, sizeof(c->why), "%s", why);
}

static void on_push(struct st_redis *r, const struct st_redis_reply *m, void *data)
{
    struct ctx *c = data;
    (void)r;
    const char *kind = st_redis_elem_str(m, 0, NULL), *payload = st_redis_elem_str(m, 2, NULL);
    if (kind && strcmp(kind, "message") == 0 && payload && c->n_got < 16)
        snprintf(c->got[c->n_got++], 64, "%s", payload);
    c->pushes++;
}

static void on_reply(struct st_redis *r, const struct st_redis_reply *m, void *arg)
{
    struct ctx *c = arg;
    if (!m) {
        c->nulls++;
    } else if (c->n_got < 16) {
        if (m->type == ST_REDIS_INTEGER)
            snprintf(c->got[c->n_got++], 64, ":%lld", m->integer);
        else if (m->type == ST_REDIS_NIL)
            snprintf(c->got[c->n_got++], 64, "nil");
        else
            snprintf(c->got[c->n_got++], 64, "%c%s", m->type == ST_REDIS_ERROR ? '-' : '+',
                     m->str ? m->str : "?");
    }
    if (c->free_in_cb) {
        st_redis_free(r);
        c->r = NULL;
    }
}

static void ctx_open(struct ctx *c, const char *url_text, struct st_redis_opts *o)
{
    struct st_redis_url u;
    char err[160];
    struct st_redis_opts def = {0};
    memset(c, 0, sizeof(*c));
    ck_assert_int_eq(st_loop_init(&c->loop), 0);
    ck_assert_msg(st_redis_url_parse(url_text, &u, err, sizeof(err)) == 0, "%s", err);
    if (!o)
        o = &def;
    o->state_cb = on_state;
    o->push_cb = on_push;
    o->data = c;
    if (!o->backoff_min_ms)
        o->backoff_min_ms = 20;
    if (!o->backoff_max_ms)
        o->backoff_max_ms = 100;
    c->r = st_redis_new(&c->loop, &u, o);
    st_redis_url_fini(&u);
    ck_assert_ptr_nonnull(c->r);
    st_redis_start(c->r);
}

static void ctx_close(struct ctx *c)
{
    st_redis_free(c->r);
    st_loop_fini(&c->loop);
}

static bool is_up(void *arg)
{
    return ((struct ctx *)arg)->ups > 0;
}

static bool is_down(void *arg)
{
    return ((struct ctx *)arg)->downs > 0;
}

static size_t want_got;
static bool got_enough(void *arg)
{
    return ((struct ctx *)arg)->n_got >= want_got;
}

static void url_of(char *buf, size_t len, const char *scheme, const char *pass, int port)
{
    snprintf(buf, len, "%s://%s%s%s127.0.0.1:%d", scheme, pass ? ":" : "", pass ? pass : "",
             pass ? "@" : "", port);
}

/* Opens c on the suite's server with the right password and waits until it is up. */
static void ctx_up(struct ctx *c, char *url, size_t len)
{
    url_of(url, len, "redis", REDIS_PASS, srv.port);
    ctx_open(c, url, NULL);
    ck_assert_msg(fx_run_until(&c->loop, is_up, c, 3000), "%s", c->why);
}

static void cmd(struct ctx *c, const char *a0, const char *a1, const char *a2)
{
    const char *argv[] = {a0, a1, a2};
    int argc = a2 ? 3 : a1 ? 2 : 1;
    ck_assert_int_eq(st_redis_command(c->r, on_reply, c, argc, argv, NULL), 0);
}

START_TEST(test_pipeline)
{
    NEED_REDIS();
    struct ctx c;
    char url[128];
    ctx_up(&c, url, sizeof(url));
    ck_assert(st_redis_up(c.r));
    cmd(&c, "DEL", "t:n", NULL);
    cmd(&c, "SET", "t:k", "v\r\n binary-safe");
    cmd(&c, "GET", "t:k", NULL);
    cmd(&c, "INCR", "t:n", NULL);
    cmd(&c, "INCR", "t:n", NULL);
    cmd(&c, "GET", "t:missing", NULL);
    cmd(&c, "NOSUCHCOMMAND", NULL, NULL);
    want_got = 7;
    ck_assert(fx_run_until(&c.loop, got_enough, &c, 3000));
    ck_assert_str_eq(c.got[1], "+OK");
    ck_assert_str_eq(c.got[2], "+v\r\n binary-safe");
    ck_assert_str_eq(c.got[3], ":1");
    ck_assert_str_eq(c.got[4], ":2");
    ck_assert_str_eq(c.got[5], "nil");
    ck_assert_msg(strncmp(c.got[6], "-ERR", 4) == 0, "%s", c.got[6]);
    ck_assert_uint_ge(st_redis_stats(c.r)->errors, 1);
    ck_assert_int_eq(c.downs, 0);
    ctx_close(&c);
}
END_TEST

START_TEST(test_auth_refused)
{
    NEED_REDIS();
    struct ctx c;
    char url[128];
    url_of(url, sizeof(url), "redis", "wrong", srv.port);
    ctx_open(&c, url, NULL);
    ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
    ck_assert_msg(strstr(c.why, "AUTH refused"), "%s", c.why);
    ck_assert_int_eq(c.ups, 0);
    ck_assert_int_eq(st_redis_command(c.r, NULL, NULL, 1, (const char *[]){"PING"}, NULL),
                     -ENOTCONN);
    ctx_close(&c);

    url_of(url, sizeof(url), "redis", NULL, srv.port);
    ctx_open(&c, url, NULL);
    ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
    ck_assert_msg(strstr(c.why, "PING refused: NOAUTH"), "%s", c.why);
    ctx_close(&c);
}
END_TEST

START_TEST(test_bounded)
{
    NEED_REDIS();
    struct ctx c;
    char url[128], big[200];
    struct st_redis_opts o = {.max_out = 128, .max_inflight = 2};
    url_of(url, sizeof(url), "redis", REDIS_PASS, srv.port);
    ctx_open(&c, url, &o);
    ck_assert_int_eq(st_redis_command(c.r, NULL, NULL, 1, (const char *[]){"PING"}, NULL),
                     -ENOTCONN);
    ck_assert_msg(fx_run_until(&c.loop, is_up, &c, 3000), "%s", c.why);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ck_assert_int_eq(
        st_redis_command(c.r, on_reply, &c, 3, (const char *[]){"SET", "t:b", big}, NULL),
        -ENOBUFS);
    cmd(&c, "PING", NULL, NULL);
    cmd(&c, "PING", NULL, NULL);
    ck_assert_int_eq(st_redis_command(c.r, on_reply, &c, 1, (const char *[]){"PING"}, NULL),
                     -ENOBUFS);
    ck_assert_int_eq(st_redis_command(c.r, on_reply, &c, 0, (const char *[]){"PING"}, NULL),
                     -EINVAL);
    ck_assert_uint_eq(st_redis_stats(c.r)->refused, 3);
    want_got = 2;
    ck_assert(fx_run_until(&c.loop, got_enough, &c, 3000));
    ck_assert_str_eq(c.got[0], "+PONG");
    cmd(&c, "PING", NULL, NULL); /* room again once the replies came */
    ctx_close(&c);
}
END_TEST

struct want {
    int *v;
    int n;
};

static bool reached(void *arg)
{
    struct want *w = arg;
    return *w->v >= w->n;
}

START_TEST(test_pubsub)
{
    NEED_REDIS();
    struct ctx sub, pub;
    char url[128];
    url_of(url, sizeof(url), "redis", REDIS_PASS, srv.port);
    ctx_open(&sub, url, NULL);
    ctx_open(&pub, url, NULL);
    ck_assert(fx_run_until(&sub.loop, is_up, &sub, 3000));
    ck_assert(fx_run_until(&pub.loop, is_up, &pub, 3000));
    ck_assert_int_eq(st_redis_subscribe(sub.r, "t:chan"), 0);
    ck_assert(fx_run_until(&sub.loop, reached, &(struct want){&sub.pushes, 1}, 3000));
    ck_assert_uint_eq(sub.n_got, 0); /* the "subscribe" confirmation is no message */
    cmd(&pub, "PUBLISH", "t:chan", "one");
    cmd(&pub, "PUBLISH", "t:chan", "two");
    want_got = 2;
    ck_assert(fx_run_until(&pub.loop, got_enough, &pub, 3000));
    ck_assert_str_eq(pub.got[0], ":1"); /* one subscriber got it */
    ck_assert(fx_run_until(&sub.loop, got_enough, &sub, 3000));
    ck_assert_str_eq(sub.got[0], "one");
    ck_assert_str_eq(sub.got[1], "two");
    ctx_close(&sub);
    ctx_close(&pub);
}
END_TEST

/* The server dies with commands in flight: their callbacks get NULL, the state goes down
 * once, and the client is back (AUTH again) once the server is. */
START_TEST(test_restart)
{
    NEED_REDIS();
    struct ctx c;
    char url[128];
    ctx_up(&c, url, sizeof(url));
    cmd(&c, "BLPOP", "t:never", "0"); /* stays in flight */
    ck_assert(!fx_run_until(&c.loop, got_enough, &c, 50) || c.n_got == 0);
    redis_kill(&srv);
    ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
    ck_assert_int_eq(c.nulls, 1);
    ck_assert_msg(strstr(c.why, "closed by the server") || strstr(c.why, "reset"), "%s", c.why);
    /* reconnection attempts fail (refused) without another state change */
    c.ups = 0;
    ck_assert(!fx_run_until(&c.loop, is_up, &c, 300));
    ck_assert_int_eq(c.downs, 1);
    ck_assert_int_eq(redis_start(&srv, srv_why, sizeof(srv_why)), 0);
    ck_assert_msg(fx_run_until(&c.loop, is_up, &c, 3000), "%s", c.why);
    cmd(&c, "PING", NULL, NULL);
    want_got = 1;
    ck_assert(fx_run_until(&c.loop, got_enough, &c, 3000));
    ck_assert_str_eq(c.got[0], "+PONG");
    ck_assert_uint_eq(st_redis_stats(c.r)->connects, 2);
    ctx_close(&c);
}
END_TEST

/* A host name: resolved (c-ares, /etc/hosts) before every connection, the connection up;
 * a dropped connection resolves again; freeing while a resolution runs is clean. */
START_TEST(test_named_host)
{
    NEED_REDIS();
    struct ctx c;
    char url[160];
    snprintf(url, sizeof(url), "redis://:%s@localhost:%d", REDIS_PASS, srv.port);
    ctx_open(&c, url, NULL);
    ck_assert_msg(fx_run_until(&c.loop, is_up, &c, 3000), "%s", c.why);
    cmd(&c, "PING", NULL, NULL);
    want_got = 1;
    ck_assert(fx_run_until(&c.loop, got_enough, &c, 3000));
    ck_assert_str_eq(c.got[0], "+PONG");
    c.ups = 0;
    st_redis_drop(c.r, "test drop");
    ck_assert_msg(fx_run_until(&c.loop, is_up, &c, 3000), "%s", c.why);
    ck_assert_uint_eq(st_redis_stats(c.r)->connects, 2);
    ctx_close(&c);
    /* freed right after st_redis_start, the resolution still running or its result queued */
    ctx_open(&c, url, NULL);
    ctx_close(&c);
}
END_TEST

/* A name that does not resolve: the state callback says so, naming the host. */
START_TEST(test_named_host_unknown)
{
    struct ctx c;
    struct st_redis_opts o = {.connect_timeout_ms = 300};
    ctx_open(&c, "redis://no-such-registry.invalid:6379", &o);
    ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
    ck_assert_msg(strncmp(c.why, "resolving no-such-registry.invalid: ", 36) == 0, "%s", c.why);
    ck_assert(!st_redis_up(c.r));
    ctx_close(&c);
}
END_TEST

START_TEST(test_free_in_callback)
{
    NEED_REDIS();
    struct ctx c;
    char url[128];
    ctx_up(&c, url, sizeof(url));
    cmd(&c, "PING", NULL, NULL);
    cmd(&c, "PING", NULL, NULL);
    c.free_in_cb = 1;
    want_got = 1;
    ck_assert(fx_run_until(&c.loop, got_enough, &c, 3000));
    ck_assert_ptr_null(c.r);
    ck_assert_int_eq(c.nulls, 1); /* the second PING's callback, when freed */
    ctx_close(&c);
}
END_TEST

/* Nothing listens: refused, reported down once, retried. */
START_TEST(test_refused)
{
    struct ctx c;
    char url[128];
    url_of(url, sizeof(url), "redis", NULL, fx_free_port());
    ctx_open(&c, url, NULL);
    ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
    ck_assert_msg(strstr(c.why, "Connection refused"), "%s", c.why);
    ck_assert(!fx_run_until(&c.loop, is_up, &c, 200));
    ck_assert_int_eq(c.downs, 1);
    ck_assert_uint_ge(st_redis_stats(c.r)->errors, 2); /* retried with backoff */
    ctx_close(&c);
}
END_TEST

/* A server that answers with bytes that are no RESP: a clear error, the connection dropped. */
struct fake {
    struct st_io lio, cio;
    const char *say;
};

static void fake_client(struct st_io *io, uint32_t ev)
{
    char buf[256];
    (void)ev;
    if (read(io->fd, buf, sizeof(buf)) <= 0) {
        st_io_stop(io);
        return;
    }
    struct fake *f = io->data;
    ck_assert_int_gt(write(io->fd, f->say, strlen(f->say)), 0);
}

static void fake_accept(struct st_io *io, uint32_t ev)
{
    struct fake *f = io->data;
    (void)ev;
    int fd = accept(io->fd, NULL, NULL);
    if (fd < 0)
        return;
    if (f->cio.events) {
        st_io_stop(&f->cio);
        close(f->cio.fd);
    }
    st_io_init(&f->cio, io->loop, fd, fake_client, f);
    st_io_set(&f->cio, EPOLLIN);
}

static void bad_server(const char *say, const char *want)
{
    struct ctx c;
    struct fake f = {.say = say};
    char url[128];
    int port = fx_free_port();
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    url_of(url, sizeof(url), "redis", NULL, port);
    ctx_open(&c, url, NULL);
    st_io_init(&f.lio, &c.loop, lfd, fake_accept, &f);
    st_io_set(&f.lio, EPOLLIN);
    ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
    ck_assert_msg(strstr(c.why, want), "'%s' lacks '%s'", c.why, want);
    st_io_stop(&f.lio);
    close(lfd);
    if (f.cio.events)
        close(f.cio.fd);
    ctx_close(&c);
}

START_TEST(test_bad_replies)
{
    bad_server("!garbage\r\n", "bad reply: Protocol error");
    bad_server("+PONG\r\n+PONG\r\n", "bad reply: an answer to no command");
    bad_server("*100000000\r\n", "bad reply: an array of 100000000 elements");
}
END_TEST

/* rediss:// against redis-server's TLS port, verified against its certificate. */
START_TEST(test_tls)
{
    if (redis_missing()[0]) {
        printf("skipped test_tls: %s\n", redis_missing());
        return;
    }
    char dir[] = "/tmp/st-rtls-XXXXXX", crt[96], key[96], other[96], okey[96], why[160];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(crt, sizeof(crt), "%s/r.crt", dir);
    snprintf(key, sizeof(key), "%s/r.key", dir);
    snprintf(other, sizeof(other), "%s/o.crt", dir);
    snprintf(okey, sizeof(okey), "%s/o.key", dir);
    write_pem(crt, key, "registry", "IP:127.0.0.1");
    write_pem(other, okey, "other", "IP:127.0.0.1");
    struct redis_srv t = {.pid = -1, .tls_cert = crt, .tls_key = key};
    if (redis_start(&t, why, sizeof(why)) < 0) {
        printf("skipped test_tls: %s (redis-server without TLS?)\n", why);
        redis_stop(&t);
        return;
    }
    char url[128], err[160];
    url_of(url, sizeof(url), "rediss", REDIS_PASS, t.port);
    for (int round = 0; round < 2; round++) {
        struct ctx c;
        SSL_CTX *ctx = st_redis_tls_ctx(round ? other : crt, err, sizeof(err));
        ck_assert_msg(ctx != NULL, "%s", err);
        struct st_redis_opts o = {.tls_ctx = ctx};
        ctx_open(&c, url, &o);
        SSL_CTX_free(ctx); /* the client holds its own reference */
        if (round == 0) {
            ck_assert_msg(fx_run_until(&c.loop, is_up, &c, 3000), "%s", c.why);
            cmd(&c, "PING", NULL, NULL);
            want_got = 1;
            ck_assert(fx_run_until(&c.loop, got_enough, &c, 3000));
            ck_assert_str_eq(c.got[0], "+PONG");
            /* 1.5 MB of replies in one go: more TLS records than one read round takes */
            static char big[500001];
            memset(big, 'b', sizeof(big) - 1);
            cmd(&c, "SET", "t:big", big);
            for (int i = 0; i < 3; i++)
                cmd(&c, "GET", "t:big", NULL);
            cmd(&c, "PING", NULL, NULL);
            want_got = 6;
            ck_assert(fx_run_until(&c.loop, got_enough, &c, 5000));
            ck_assert_str_eq(c.got[1], "+OK");
            ck_assert_int_eq(strspn(c.got[4] + 1, "b"), 62);
            ck_assert_str_eq(c.got[5], "+PONG");
        } else {
            ck_assert(fx_run_until(&c.loop, is_down, &c, 3000));
            ck_assert_msg(strstr(c.why, "server certificate refused"), "%s", c.why);
        }
        ctx_close(&c);
    }
    ck_assert_ptr_null(st_redis_tls_ctx("/nonexistent.pem", err, sizeof(err)));
    ck_assert_msg(strstr(err, "/nonexistent.pem"), "%s", err);
    redis_stop(&t);
    unlink(crt), unlink(key), unlink(other), unlink(okey);
    rmdir(dir);
}
END_TEST

static Suite *redis_suite(void)
{
    Suite *s = suite_create("redis");
    TCase *pure = tcase_create("pure");
    TCase *live = tcase_create("live");

    tcase_add_test(pure, test_url);
    tcase_add_test(pure, test_parser);
    tcase_add_test(pure, test_parser_pending_bound);
    tcase_add_test(pure, test_refused);
    tcase_add_test(pure, test_bad_replies);
    tcase_add_test(pure, test_tls);
    tcase_add_test(pure, test_named_host_unknown);
    tcase_set_timeout(pure, 30);
    suite_add_tcase(s, pure);
    tcase_add_unchecked_fixture(live, srv_up, srv_down);
    tcase_add_test(live, test_pipeline);
    tcase_add_test(live, test_auth_refused);
    tcase_add_test(live, test_bounded);
    tcase_add_test(live, test_pubsub);
    tcase_add_test(live, test_free_in_callback);
    tcase_add_test(live, test_named_host);
    tcase_add_test(live, test_restart); /* last: the server it restarts dies with the test */
    tcase_set_timeout(live, 30);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    if (redis_missing()[0])
        printf("test_redis: live cases skipped: %s\n", redis_missing());
    return st_check_run(redis_suite());
}
