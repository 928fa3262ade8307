/* st-tunload: N simulated gateways in one process and one event loop, for scripts/bench.sh
 * scale and tests/integration/test_tunload.sh; not installed.
 *
 *   st-tunload run --edge ADDR:PORT --ca CA.crt --name EDGE-NAME --count N --seed S
 *           [--first K] [--route-base 198.19.0.0] [--rate R] [--heartbeat MS] [--heartbeat-count C]
 *           [--duration SECS] [--exit-registered SECS] [--progress MS]
 *       N gateways, tunnel ids load<K>..load<K+N-1>, each with its own secret (derived from S)
 *       and one /32 route (route-base + index), dial the edge over TLS 1.3 + HTTP/2 (first dials
 *       at R per second, default 1000), answer the control stream with REGISTER, send HTTP/2
 *       PING heartbeats as the gateway does, and echo every flow the edge opens. A refused or
 *       lost connection is dialled again after the gateway's backoff (gw_edges.c; an ERROR's
 *       retry-after is obeyed). Progress lines go to stderr; "all-registered", "storm" and
 *       "storm-end" lines and a final JSON summary ("summary {...}") to stdout.
 *   st-tunload config --count N --seed S [--first K] [--route-base A]
 *       prints the `tunnels:` list of an edge configuration for the same N tunnels.
 *   st-tunload probe ...: CONNECTs through the edge's access proxy (tunload_probe.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_edges.h"
#include "st_ctrl.h"
#include "st_log.h"
#include "st_sock.h"
#include "st_tls.h"
#include "st_token.h"
#include "tunload.h"

void tl_secret(const char *seed, unsigned idx, char out[TL_SECRET_HEX + 1])
{
    char in[256];
    uint8_t h[32];
    int n = snprintf(in, sizeof(in), "subtunnel-tunload:%s:%u", seed, idx);
    st_sha256(in, (size_t)n, h);
    for (int i = 0; i < TL_SECRET_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

int tl_ipv4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

void tl_route(uint32_t base, unsigned idx, char *buf, size_t len)
{
    uint32_t a = base + idx;
    snprintf(buf, len, "%u.%u.%u.%u/32", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static uint64_t since(struct tl_run *r)
{
    return st_loop_now(&r->loop) - r->start_ms;
}

static void enqueue(struct tl_gw *g)
{
    struct tl_run *r = g->run;
    if (g->queued)
        return;
    g->queued = true;
    g->next_q = NULL;
    if (r->q_tail)
        r->q_tail->next_q = g;
    else
        r->q_head = g;
    r->q_tail = g;
    if (!st_timer_active(&r->pace))
        st_timer_start(&r->pace, 0);
}

static uint32_t rnd32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)rand();
    return v;
}

/* As gw_conn.c: refusals in a row back off slowly unless the edge named a retry-after; any
 * other failure takes the reconnect backoff. */
static void schedule_retry(struct tl_gw *g)
{
    if (!g->refused_now)
        g->refusals = 0;
    g->refused_now = false;
    uint64_t wait = g->refusals && !g->retry_after_ms
                        ? gw_edges_refused_backoff_ms(g->refusals, rnd32())
                        : gw_edges_backoff_ms(g->attempts, g->retry_after_ms, rnd32());
    g->retry_after_ms = 0;
    g->attempts++;
    st_timer_start(&g->retry, wait);
}

void tl_gw_send_register(struct tl_gw *g)
{
    struct tl_run *r = g->run;
    struct st_ctrl_register *m = calloc(1, sizeof(*m));
    uint8_t buf[1024];
    char secret[TL_SECRET_HEX + 1], route[32];
    if (!m) {
        st_h2conn_fail(&g->h2, "out of memory");
        return;
    }
    tl_secret(r->o.seed, r->o.first + g->idx, secret);
    snprintf(m->token, sizeof(m->token), TL_ID_FMT ":%s", r->o.first + g->idx, secret);
    m->prev_attempts = g->attempts;
    snprintf(m->version, sizeof(m->version), "st-tunload/%s", ST_VERSION);
    tl_route(r->route_base, r->o.first + g->idx, route, sizeof(route));
    st_cidr_parse(route, &m->routes[0]);
    m->n_routes = 1;
    int n = st_ctrl_encode_register(m, buf, sizeof(buf));
    free(m);
    if (n < 0 || st_ctrlstream_send(&g->ctrl, g->h2.session, buf, (size_t)n) < 0)
        st_h2conn_fail(&g->h2, "cannot queue REGISTER");
    st_h2conn_kick(&g->h2);
}

static void storm_end_check(struct tl_run *r)
{
    if (r->n_registered < r->o.count)
        return;
    uint64_t now = since(r);
    if (!r->all_registered && !r->first_all_ms) {
        r->first_all_ms = now;
        printf("all-registered %u in %llu ms (%.0f/s)\n", r->o.count, (unsigned long long)now,
               now ? r->o.count * 1000.0 / (double)now : 0.0);
        fflush(stdout);
    } else if (r->in_storm) {
        struct tl_storm *s = &r->storms[r->n_storms - 1];
        s->all_ms = now;
        r->in_storm = false;
        printf("storm-end all %u registered again %llu ms after the first loss, %llu ms after "
               "the edge answered again (%llu refusals meanwhile)\n",
               r->o.count, (unsigned long long)(now - s->lost_ms),
               (unsigned long long)(now - s->back_ms), (unsigned long long)s->refusals);
        fflush(stdout);
    }
    r->all_registered = true;
}

void tl_gw_registered(struct tl_gw *g)
{
    struct tl_run *r = g->run;
    if (g->registered)
        return;
    g->registered = g->ever_registered = true;
    g->attempts = g->refusals = 0;
    r->registrations++;
    r->n_registered++;
    storm_end_check(r);
}

void tl_gw_refused(struct tl_gw *g, const char *cause, bool retry, uint64_t retry_after_s)
{
    struct tl_run *r = g->run;
    g->refusals++;
    g->refused_now = true;
    r->refusals++;
    if (r->in_storm)
        r->storms[r->n_storms - 1].refusals++;
    if (retry) {
        r->refusals_retry++;
        g->retry_after_ms = retry_after_s * 1000;
        if (retry_after_s > r->retry_after_max_s)
            r->retry_after_max_s = retry_after_s;
    }
    snprintf(r->last_refusal, sizeof(r->last_refusal), "%s", cause);
    st_h2conn_fail(&g->h2, "registration refused: %s", cause);
}

static int on_ready(struct st_h2conn *h)
{
    struct tl_gw *g = h->owner;
    struct tl_run *r = g->run;
    if (tl_flow_session(g) < 0)
        return -1;
    st_h2conn_bulk_reads(h);
    st_h2conn_heartbeat(h, r->o.hb_ms, r->o.hb_count);
    r->tls_up++;
    r->n_connected++;
    if (r->in_storm && !r->storms[r->n_storms - 1].back_ms)
        r->storms[r->n_storms - 1].back_ms = since(r);
    return 0;
}

static void storm_start(struct tl_run *r)
{
    if (r->in_storm || !r->all_registered || r->n_storms == TL_STORMS_MAX)
        return;
    r->in_storm = true;
    r->all_registered = false;
    struct tl_storm *s = &r->storms[r->n_storms++];
    memset(s, 0, sizeof(*s));
    s->lost_ms = since(r);
    printf("storm %u: registered connections lost at %llu ms\n", r->n_storms,
           (unsigned long long)s->lost_ms);
    fflush(stdout);
}

static void on_closed(struct st_h2conn *h, const char *why)
{
    struct tl_gw *g = h->owner;
    struct tl_run *r = g->run;
    if (h->established && h->session)
        r->n_connected--;
    if (g->registered) {
        r->losses++;
        r->n_registered--;
        storm_start(r);
    } else if (!g->refused_now) {
        r->conn_failures++;
    }
    if (strncmp(why, "no heartbeat", 12) == 0)
        r->hb_timeouts++;
    st_debug("tunnel %u: connection closed: %s", g->idx, why);
    g->registered = false;
    st_h2conn_fini(&g->h2);
    tl_flow_release(g);
    st_ctrlstream_reset(&g->ctrl);
    g->active = false;
    schedule_retry(g);
}

static const struct st_h2conn_ops gw_ops = {.ready = on_ready, .closed = on_closed};

static void dial(struct tl_gw *g)
{
    struct tl_run *r = g->run;
    r->dials++;
    g->dialed_ms = st_loop_now(&r->loop);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r->conn_failures++;
        schedule_retry(g);
        return;
    }
    if (connect(fd, (const struct sockaddr *)&r->edge.ss, r->edge.len) < 0 &&
        errno != EINPROGRESS) {
        close(fd);
        r->conn_failures++;
        schedule_retry(g);
        return;
    }
    SSL *ssl = SSL_new(r->tls);
    if (!ssl) {
        close(fd);
        schedule_retry(g);
        return;
    }
    SSL_set_tlsext_host_name(ssl, r->o.name);
    SSL_set1_host(ssl, r->o.name);
    g->active = true;
    if (st_h2conn_init(&g->h2, &r->loop, fd, ssl, true, true, &gw_ops, g) < 0)
        st_h2conn_fail(&g->h2, "setup failed");
}

static void on_retry(struct st_timer *t)
{
    struct tl_gw *g = t->data;
    if (g->ever_registered || g->attempts > 0)
        dial(g); /* reconnects: only the backoff spaces them, as for real gateways */
    else
        enqueue(g);
}

/* First dials: at most --rate per second. */
static void on_pace(struct st_timer *t)
{
    struct tl_run *r = t->data;
    uint64_t now = st_loop_now(&r->loop);
    r->tokens += (double)(now - r->last_pace_ms) * r->o.rate / 1000.0;
    r->last_pace_ms = now;
    if (r->tokens > r->o.rate / 10 + 1)
        r->tokens = r->o.rate / 10 + 1;
    while (r->q_head && r->tokens >= 1) {
        struct tl_gw *g = r->q_head;
        r->q_head = g->next_q;
        if (!r->q_head)
            r->q_tail = NULL;
        g->queued = false;
        r->tokens -= 1;
        dial(g);
    }
    if (r->q_head)
        st_timer_start(t, 5);
}

static void on_progress(struct st_timer *t)
{
    struct tl_run *r = t->data;
    fprintf(stderr,
            "tunload: %6.1f s registered %u/%u connected %u (+%llu) refusals %llu (retry %llu) "
            "failures %llu losses %llu flows %llu (open %llu)\n",
            (double)since(r) / 1000.0, r->n_registered, r->o.count, r->n_connected,
            (unsigned long long)(r->registrations - r->regs_last_tick),
            (unsigned long long)r->refusals, (unsigned long long)r->refusals_retry,
            (unsigned long long)r->conn_failures, (unsigned long long)r->losses,
            (unsigned long long)r->flows, (unsigned long long)r->flows_open);
    r->regs_last_tick = r->registrations;
    if (r->o.exit_registered_s > 0 && r->first_all_ms &&
        since(r) >= r->first_all_ms + (uint64_t)r->o.exit_registered_s * 1000)
        st_loop_stop(&r->loop);
    st_timer_start(t, (uint64_t)r->o.progress_ms);
}

static void on_stop(struct st_timer *t)
{
    st_loop_stop(&((struct tl_run *)t->data)->loop);
}

static void on_signal(struct st_loop *loop, int signo, void *data)
{
    (void)signo, (void)data;
    st_loop_stop(loop);
}

static void summary(struct tl_run *r)
{
    printf("summary {\"tunnels\":%u,\"registered\":%u,\"connected\":%u,\"registrations\":%llu,"
           "\"first_all_ms\":%llu,\"registrations_per_s\":%.0f,\"dials\":%llu,\"tls_up\":%llu,"
           "\"refusals\":%llu,\"refusals_retry\":%llu,\"retry_after_max_s\":%llu,"
           "\"last_refusal\":\"%s\",\"conn_failures\":%llu,\"losses\":%llu,"
           "\"heartbeat_timeouts\":%llu,\"flows\":%llu,\"echo_bytes\":%llu,\"storms\":[",
           r->o.count, r->n_registered, r->n_connected, (unsigned long long)r->registrations,
           (unsigned long long)r->first_all_ms,
           r->first_all_ms ? r->o.count * 1000.0 / (double)r->first_all_ms : 0.0,
           (unsigned long long)r->dials, (unsigned long long)r->tls_up,
           (unsigned long long)r->refusals, (unsigned long long)r->refusals_retry,
           (unsigned long long)r->retry_after_max_s, r->last_refusal,
           (unsigned long long)r->conn_failures, (unsigned long long)r->losses,
           (unsigned long long)r->hb_timeouts, (unsigned long long)r->flows,
           (unsigned long long)r->echo_bytes);
    for (unsigned i = 0; i < r->n_storms; i++) {
        const struct tl_storm *s = &r->storms[i];
        printf("%s{\"lost_ms\":%llu,\"back_ms\":%llu,\"all_ms\":%llu,\"refusals\":%llu}",
               i ? "," : "", (unsigned long long)s->lost_ms, (unsigned long long)s->back_ms,
               (unsigned long long)s->all_ms, (unsigned long long)s->refusals);
    }
    printf("]}\n");
    fflush(stdout);
}

enum { O_EDGE = 256, O_CA, O_NAME, O_ROUTE_BASE, O_HB, O_HB_COUNT, O_EXIT_REG, O_PROGRESS };

static const struct option run_opts[] = {
    {"edge", required_argument, NULL, O_EDGE},
    {"ca", required_argument, NULL, O_CA},
    {"name", required_argument, NULL, O_NAME},
    {"count", required_argument, NULL, 'n'},
    {"first", required_argument, NULL, 'f'},
    {"seed", required_argument, NULL, 's'},
    {"route-base", required_argument, NULL, O_ROUTE_BASE},
    {"rate", required_argument, NULL, 'r'},
    {"heartbeat", required_argument, NULL, O_HB},
    {"heartbeat-count", required_argument, NULL, O_HB_COUNT},
    {"duration", required_argument, NULL, 'd'},
    {"exit-registered", required_argument, NULL, O_EXIT_REG},
    {"progress", required_argument, NULL, O_PROGRESS},
    {NULL, 0, NULL, 0},
};

static int parse_opts(int argc, char **argv, struct tl_opts *o)
{
    *o = (struct tl_opts){.name = "edge.lab.test",
                          .seed = "tunload",
                          .route_base = "198.19.0.0",
                          .count = 100,
                          .rate = 1000,
                          .hb_ms = 5000,
                          .hb_count = 5,
                          .progress_ms = 1000};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:f:s:r:d:", run_opts, NULL)) != -1) {
        switch (c) {
        case O_EDGE:
            o->edge = optarg;
            break;
        case O_CA:
            o->ca = optarg;
            break;
        case O_NAME:
            o->name = optarg;
            break;
        case 'n':
            o->count = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'f':
            o->first = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->seed = optarg;
            break;
        case O_ROUTE_BASE:
            o->route_base = optarg;
            break;
        case 'r':
            o->rate = strtod(optarg, NULL);
            break;
        case O_HB:
            o->hb_ms = atoi(optarg);
            break;
        case O_HB_COUNT:
            o->hb_count = atoi(optarg);
            break;
        case 'd':
            o->duration_s = atoi(optarg);
            break;
        case O_EXIT_REG:
            o->exit_registered_s = atoi(optarg);
            break;
        case O_PROGRESS:
            o->progress_ms = atoi(optarg);
            break;
        default:
            return -1;
        }
    }
    if (o->count == 0 || o->count > 65536 || o->rate <= 0 || o->hb_ms < 100 || o->hb_count < 1 ||
        o->progress_ms < 100) {
        fprintf(stderr, "st-tunload: bad --count (1..65536), --rate, --heartbeat or --progress\n");
        return -1;
    }
    return 0;
}

static int run_setup(struct tl_run *r, int argc, char **argv)
{
    char err[256];
    if (parse_opts(argc, argv, &r->o) < 0)
        return -1;
    if (!r->o.edge || !r->o.ca || st_sockaddr_parse(r->o.edge, &r->edge) < 0 ||
        tl_ipv4(r->o.route_base, &r->route_base) < 0) {
        fprintf(stderr, "st-tunload run: --edge ADDR:PORT and --ca FILE needed, --route-base "
                        "an IPv4 address\n");
        return -1;
    }
    long long lim = st_sock_raise_nofile();
    if (lim >= 0 && lim < (long long)r->o.count + 64)
        fprintf(stderr, "st-tunload: open files limit %lld is below %u connections\n", lim,
                r->o.count);
    if (!(r->tls = st_tls_client_ctx(r->o.ca, err, sizeof(err)))) {
        fprintf(stderr, "st-tunload: %s\n", err);
        return -1;
    }
    if (st_loop_init(&r->loop) < 0 || !(r->gws = calloc(r->o.count, sizeof(*r->gws))))
        return -1;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static struct tl_run r;
    if (run_setup(&r, argc, argv) < 0)
        return 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    st_loop_signals(&r.loop, &set, on_signal, &r);
    signal(SIGPIPE, SIG_IGN);
    r.start_ms = r.last_pace_ms = st_loop_now(&r.loop);
    st_timer_init(&r.pace, &r.loop, on_pace, &r);
    st_timer_init(&r.progress, &r.loop, on_progress, &r);
    st_timer_init(&r.stop, &r.loop, on_stop, &r);
    for (unsigned i = 0; i < r.o.count; i++) {
        r.gws[i].run = &r;
        r.gws[i].idx = i;
        st_timer_init(&r.gws[i].retry, &r.loop, on_retry, &r.gws[i]);
        enqueue(&r.gws[i]);
    }
    st_timer_start(&r.progress, (uint64_t)r.o.progress_ms);
    if (r.o.duration_s > 0)
        st_timer_start(&r.stop, (uint64_t)r.o.duration_s * 1000);
    st_loop_run(&r.loop);
    summary(&r);
    return r.n_registered == r.o.count ? 0 : 1;
}

int tl_cmd_config(int argc, char **argv)
{
    struct tl_opts o;
    uint32_t base;
    if (parse_opts(argc, argv, &o) < 0 || tl_ipv4(o.route_base, &base) < 0)
        return 2;
    printf("tunnels:\n");
    for (unsigned i = o.first; i < o.first + o.count; i++) {
        char secret[TL_SECRET_HEX + 1], route[32];
        uint8_t h[32];
        tl_secret(o.seed, i, secret);
        st_sha256(secret, strlen(secret), h);
        tl_route(base, i, route, sizeof(route));
        printf("  - id: " TL_ID_FMT "\n    secret-sha256: ", i);
        for (int k = 0; k < 32; k++)
            printf("%02x", h[k]);
        printf("\n    routes: [%s]\n", route);
    }
    return 0;
}

int main(int argc, char **argv)
{
    st_log_set_ident("st-tunload");
    st_log_set_level(ST_LOG_WARN);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "config") == 0)
        return tl_cmd_config(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "probe") == 0)
        return tl_cmd_probe(argc - 1, argv + 1);
    fprintf(stderr, "usage: st-tunload run|config|probe [options] (see tools/tunload.c)\n");
    return 2;
}
