#include "config_fixture.h"

/* ---- generic tree ---- */

static int cfg_parse(struct st_cfg *c, const char *yaml)
{
    return st_cfg_parse(c, yaml, strlen(yaml), "t.yaml", err, sizeof(err));
}

START_TEST(test_tree)
{
    struct st_cfg c;
    const struct st_cfg_node *v, *list;
    static const char *const allowed[] = {"a", "list", "m", NULL};
    long n;

    ck_assert_int_eq(cfg_parse(&c, "a: 5\nlist:\n  - x\n  - 'y'\nm:\n  k: true\n"), 0);
    ck_assert_int_eq(c.root->kind, ST_CFG_MAP);
    ck_assert_int_eq(st_cfg_check_keys(&c, c.root, allowed), 0);
    v = st_cfg_get(c.root, "a");
    ck_assert_int_eq(v->line, 1);
    ck_assert_int_eq(st_cfg_int(&c, v, 1, 10, &n), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(st_cfg_int(&c, v, 6, 10, &n), -EINVAL);
    ck_assert_str_eq(err, "t.yaml:1: 'a' is 5, must be between 6 and 10");
    list = st_cfg_get(c.root, "list");
    ck_assert_int_eq(list->kind, ST_CFG_SEQ);
    ck_assert_uint_eq(list->n_children, 2);
    ck_assert_str_eq(list->children[1]->scalar, "y");
    ck_assert(!list->children[1]->plain);
    ck_assert_int_eq(list->children[1]->line, 4);
    ck_assert_str_eq(list->children[1]->path, "list[1]");
    ck_assert_str_eq(st_cfg_get(st_cfg_get(c.root, "m"), "k")->path, "m.k");
    ck_assert_ptr_null(st_cfg_get(c.root, "zzz"));
    ck_assert_int_eq(st_cfg_int(&c, list, 0, 1, &n), -EINVAL);
    ck_assert_str_eq(err, "t.yaml:3: 'list' must be an integer");
    st_cfg_fini(&c);
}
END_TEST

START_TEST(test_tree_errors)
{
    struct st_cfg c;
    static const char *const allowed[] = {"a", NULL};

    ck_assert_int_eq(cfg_parse(&c, "a: 1\nb: [1, 2\nc: 3\n"), -EINVAL);
    ck_assert_msg(strncmp(err, "t.yaml:3: YAML syntax error: ", 29) == 0, "%s", err);
    ck_assert_int_eq(cfg_parse(&c, "a: 1\n  b: 2\n"), -EINVAL);
    ck_assert_msg(strncmp(err, "t.yaml:2: YAML syntax error: ", 29) == 0, "%s", err);

    ck_assert_int_eq(cfg_parse(&c, "a: 1\nx:\n  y: 2\na: 3\n"), -EINVAL);
    ck_assert_str_eq(err, "t.yaml:4: duplicate key 'a' (first at line 1)");
    ck_assert_int_eq(cfg_parse(&c, "a: &x 1\nb: *x\n"), -EINVAL);
    ck_assert_msg(strstr(err, "t.yaml:1: YAML anchor 'x' not supported") == err, "%s", err);
    ck_assert_int_eq(cfg_parse(&c, "a: 1\nb: *x\n"), -EINVAL); /* undefined alias */
    ck_assert_msg(strncmp(err, "t.yaml:2: ", 10) == 0, "%s", err);
    ck_assert_int_eq(cfg_parse(&c, "a: 1\n---\nb: 2\n"), -EINVAL);
    ck_assert_str_eq(err, "t.yaml:2: multiple YAML documents are not supported");
    ck_assert_int_eq(cfg_parse(&c, "? [a]\n: 1\n"), -EINVAL);
    ck_assert_str_eq(err, "t.yaml:1: mapping keys must be scalars");

    ck_assert_int_eq(cfg_parse(&c, "a: 1\n\nfoo: 2\n"), 0);
    ck_assert_int_eq(st_cfg_check_keys(&c, c.root, allowed), -EINVAL);
    ck_assert_str_eq(err, "t.yaml:3: unknown key 'foo'");
    st_cfg_fini(&c);

    ck_assert_int_eq(cfg_parse(&c, ""), 0);
    ck_assert_ptr_null(c.root);
    st_cfg_fini(&c);
}
END_TEST

/* ---- gateway ---- */

static int gw_parse(struct gw_config *cfg, const char *extra)
{
    snprintf(text, sizeof(text),
             "edges: [192.0.2.1:7844, \"[2001:db8::2]:7844\"]\n"
             "edge-name: edge.lab.test\n"
             "ca-file: %s\n"
             "%s",
             ca, extra);
    return gw_config_parse(text, strlen(text), "gw.yaml", cfg, err, sizeof(err));
}

START_TEST(test_gw_good_defaults)
{
    struct gw_config cfg;
    char buf[64];

    ck_assert_msg(gw_parse(&cfg, "token: site-1:0123456789abcdef\n") == 0, "%s", err);
    ck_assert_int_eq(cfg.log_level, ST_LOG_INFO);
    ck_assert_uint_eq(cfg.n_edges, 2);
    st_sockaddr_format(&cfg.edges[1], buf, sizeof(buf));
    ck_assert_str_eq(buf, "[2001:db8::2]:7844");
    ck_assert_str_eq(cfg.edge_name, "edge.lab.test");
    ck_assert_str_eq(cfg.ca_file, ca);
    ck_assert_str_eq(cfg.tunnel_id, "site-1");
    ck_assert_str_eq(cfg.secret, "0123456789abcdef");
    ck_assert_int_eq(cfg.ha_connections, 4);
    ck_assert_int_eq(cfg.heartbeat_interval_ms, 5000);
    ck_assert_int_eq(cfg.heartbeat_count, 5);
    ck_assert(!cfg.expose);
    ck_assert_uint_eq(cfg.n_routes, 0);
    ck_assert_int_eq(cfg.connect_timeout_ms, 10000);
    ck_assert(!cfg.allow_link_local);
    ck_assert_str_eq(cfg.tun_name, "st0");
    ck_assert_int_eq(cfg.tun_mtu, 1500);
    ck_assert(cfg.tun_offload);
    ck_assert(cfg.tun_batch);
    st_cidr_format(&cfg.virtual_pool, buf, sizeof(buf));
    ck_assert_str_eq(buf, "100.64.0.0/10");
    st_cidr_format(&cfg.virtual_pool6, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2001:db8:64::/96");
    ck_assert_int_eq(cfg.udp_idle_timeout_ms, 210000);
    ck_assert_int_eq(cfg.dns_idle_timeout_ms, 15000);
    ck_assert_int_eq(cfg.icmp_idle_timeout_ms, 30000);
    ck_assert(!cfg.reach);
    ck_assert_int_eq(cfg.reach_connections, 2);
    ck_assert_int_eq(cfg.reach_route_metric, 200);
    gw_config_fini(&cfg);
    ck_assert_ptr_null(cfg.edges);
    ck_assert_str_eq(cfg.secret, "");
}
END_TEST

START_TEST(test_gw_good_full)
{
    struct gw_config cfg;
    char buf[64], extra[768];

    snprintf(extra, sizeof(extra),
             "log-level: warn\n"
             "token-file: %s\n"
             "ha-connections: 16\n"
             "heartbeat-interval: 2\n"
             "heartbeat-count: 100\n"
             "expose:\n"
             "  routes:\n"
             "    - 198.51.100.0/24\n"
             "    - 2001:db8:1::/48\n"
             "  connect-timeout: 3\n"
             "  allow-link-local: true\n"
             "tun:\n"
             "  name: st-site1\n"
             "  mtu: 9000\n"
             "  batch-reads: false\n"
             "virtual-pool: 100.64.8.0/29\n"
             "virtual-pool6: fd00:64::/104\n"
             "udp-idle-timeout: 86400\n"
             "dns-idle-timeout: 2\n"
             "icmp-idle-timeout: 1\n"
             "reach:\n"
             "  connections: 3\n"
             "  route-metric: 0\n",
             tokfile);
    ck_assert_msg(gw_parse(&cfg, extra) == 0, "%s", err);
    ck_assert_int_eq(cfg.log_level, ST_LOG_WARN);
    ck_assert_str_eq(cfg.tunnel_id, "site-1");
    ck_assert_str_eq(cfg.secret, "0123456789abcdefghij");
    ck_assert_int_eq(cfg.ha_connections, 16);
    ck_assert_int_eq(cfg.heartbeat_interval_ms, 2000);
    ck_assert_int_eq(cfg.heartbeat_count, 100);
    ck_assert(cfg.expose);
    ck_assert_uint_eq(cfg.n_routes, 2);
    ck_assert_int_eq(cfg.routes[1].family, AF_INET6);
    ck_assert_int_eq(cfg.connect_timeout_ms, 3000);
    ck_assert(cfg.allow_link_local);
    ck_assert_str_eq(cfg.tun_name, "st-site1");
    ck_assert_int_eq(cfg.tun_mtu, 9000);
    ck_assert(!cfg.tun_batch);
    st_cidr_format(&cfg.virtual_pool, buf, sizeof(buf));
    ck_assert_str_eq(buf, "100.64.8.0/29");
    st_cidr_format(&cfg.virtual_pool6, buf, sizeof(buf));
    ck_assert_str_eq(buf, "fd00:64::/104");
    ck_assert_int_eq(cfg.udp_idle_timeout_ms, 86400000);
    ck_assert_int_eq(cfg.dns_idle_timeout_ms, 2000);
    ck_assert_int_eq(cfg.icmp_idle_timeout_ms, 1000);
    ck_assert(cfg.reach);
    ck_assert_int_eq(cfg.reach_connections, 3);
    ck_assert_int_eq(cfg.reach_route_metric, 0);
    gw_config_fini(&cfg);
}
END_TEST

static void gw_bad(const char *extra, const char *want)
{
    struct gw_config cfg;

    ck_assert_int_lt(gw_parse(&cfg, extra), 0);
    ck_assert_msg(strcmp(err, want) == 0, "got '%s', want '%s'", err, want);
    ck_assert_ptr_null(cfg.edges);
}

START_TEST(test_gw_errors)
{
    static const char tok[] = "token: site-1:0123456789abcdef\n";
    char buf[512];

    gw_bad("", "gw.yaml:1: missing required key 'token' (or 'token-file')");
    gw_bad("token: site-1:short\n",
           "gw.yaml:4: 'token' must be '<tunnel-id>:<secret>' (id: 1-63 of [A-Za-z0-9_.-]; "
           "secret: at least 16 printable characters without spaces)");
    snprintf(buf, sizeof(buf), "%stoken-file: %s\n", tok, tokfile);
    gw_bad(buf, "gw.yaml:5: 'token' and 'token-file' are mutually exclusive");
#define WITH_TOKEN(x) "token: site-1:0123456789abcdef\n" x
    gw_bad(WITH_TOKEN("ha-connections: 17\n"),
           "gw.yaml:5: 'ha-connections' is 17, must be between 1 and 16");
    gw_bad(WITH_TOKEN("ha-connections: 0\n"),
           "gw.yaml:5: 'ha-connections' is 0, must be between 1 and 16");
    gw_bad(WITH_TOKEN("heartbeat-interval: 301\n"),
           "gw.yaml:5: 'heartbeat-interval' is 301, must be between 1 and 300");
    gw_bad(WITH_TOKEN("heartbeat-count: five\n"),
           "gw.yaml:5: 'heartbeat-count' must be an integer, not 'five'");
    gw_bad(WITH_TOKEN("expose:\n  connect-timeout: 5\n"),
           "gw.yaml:6: missing required key 'routes' in 'expose'");
    gw_bad(WITH_TOKEN("expose:\n"), "gw.yaml:5: 'expose' must be a mapping");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  connect-timeout: 0\n"),
           "gw.yaml:7: 'expose.connect-timeout' is 0, must be between 1 and 300");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  allow-link-local: yes\n"),
           "gw.yaml:7: 'expose.allow-link-local' must be true or false");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  snat: true\n"),
           "gw.yaml:7: unknown key 'snat' in 'expose'");
    gw_bad(WITH_TOKEN("expose:\n  routes: [nonsense]\n"),
           "gw.yaml:6: 'expose.routes[0]': invalid CIDR 'nonsense': not an IP address or CIDR");
    gw_bad(WITH_TOKEN("tun:\n  batch-reads: 16\n"),
           "gw.yaml:6: 'tun.batch-reads' must be true or false");
    gw_bad(WITH_TOKEN("tun:\n  mtu: 575\n"),
           "gw.yaml:6: 'tun.mtu' is 575, must be between 576 and 9000");
    gw_bad(WITH_TOKEN("tun:\n  name: a-very-long-name\n"),
           "gw.yaml:6: 'tun.name': 'a-very-long-name' is not a valid interface name (1-15 "
           "characters, no '/', ':' or spaces)");
    gw_bad(WITH_TOKEN("virtual-pool: 100.64.0.0/30\n"),
           "gw.yaml:5: 'virtual-pool' must be an IPv4 CIDR with a prefix of at most /29");
    gw_bad(WITH_TOKEN("virtual-pool: 2001:db8::/64\n"),
           "gw.yaml:5: 'virtual-pool' must be an IPv4 CIDR with a prefix of at most /29");
    gw_bad(WITH_TOKEN("virtual-pool6: 2001:db8:64::/64\n"),
           "gw.yaml:5: 'virtual-pool6' must be an IPv6 CIDR with a prefix of /96 to /120");
    gw_bad(WITH_TOKEN("virtual-pool6: 2001:db8:64::/121\n"),
           "gw.yaml:5: 'virtual-pool6' must be an IPv6 CIDR with a prefix of /96 to /120");
    gw_bad(WITH_TOKEN("virtual-pool6: 100.64.0.0/10\n"),
           "gw.yaml:5: 'virtual-pool6' must be an IPv6 CIDR with a prefix of /96 to /120");
    gw_bad(WITH_TOKEN("virtual-pool6: 2001:db8:64::1/96\n"),
           "gw.yaml:5: 'virtual-pool6': invalid CIDR '2001:db8:64::1/96': host bits set (the "
           "address must be the network address)");
    gw_bad(WITH_TOKEN("tunnel-id: x\n"), "gw.yaml:5: unknown key 'tunnel-id'");
    gw_bad(WITH_TOKEN("udp-idle-timeout: 0\n"),
           "gw.yaml:5: 'udp-idle-timeout' is 0, must be between 1 and 86400");
    gw_bad(WITH_TOKEN("icmp-idle-timeout: 3601\n"),
           "gw.yaml:5: 'icmp-idle-timeout' is 3601, must be between 1 and 3600");
    gw_bad(WITH_TOKEN("dns-idle-timeout: soon\n"),
           "gw.yaml:5: 'dns-idle-timeout' must be an integer, not 'soon'");
    gw_bad(WITH_TOKEN("reach:\n  route-metric: -1\n"),
           "gw.yaml:6: 'reach.route-metric' is -1, must be between 0 and 2147483647");
    gw_bad(WITH_TOKEN("reach:\n  route-metric: 2147483648\n"),
           "gw.yaml:6: 'reach.route-metric' is 2147483648, must be between 0 and 2147483647");
    gw_bad(WITH_TOKEN("reach:\n  metric: 5\n"), "gw.yaml:6: unknown key 'metric' in 'reach'");
    gw_bad(WITH_TOKEN("log-level: info\nlog-level: debug\n"),
           "gw.yaml:6: duplicate key 'log-level' (first at line 5)");

    write_file(tokfile, "site-1:short\n");
    snprintf(buf, sizeof(buf), "token-file: %s\n", tokfile);
    ck_assert_int_lt(gw_parse(&(struct gw_config){0}, buf), 0);
    ck_assert_msg(strstr(err, "gw.yaml:4: 'token-file': file '") == err, "%s", err);

    snprintf(text, sizeof(text), "edges: ['*:7844']\nedge-name: e\nca-file: %s\n%s", ca, tok);
    struct gw_config cfg;
    ck_assert_int_lt(gw_config_parse(text, strlen(text), "g", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "g:1: 'edges[0]': '*:7844' needs a concrete address and a port");
    snprintf(text, sizeof(text), "edges: []\n");
    ck_assert_int_lt(gw_config_parse(text, strlen(text), "g", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "g:1: 'edges' needs at least 1 item");
    snprintf(text, sizeof(text), "edges: [192.0.2.1:7844]\nedge-name: e\n%s", tok);
    ck_assert_int_lt(gw_config_parse(text, strlen(text), "g", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "g:1: missing required key 'ca-file'");
}
END_TEST

/* expose.allow-local: the guard's exceptions (IPv4 and IPv6 CIDRs, possibly none). */
START_TEST(test_gw_allow_local)
{
    struct gw_config cfg;
    char buf[64];

    ck_assert_msg(gw_parse(&cfg, "token: site-1:0123456789abcdef\n") == 0, "%s", err);
    ck_assert_uint_eq(cfg.n_allow_local, 0);
    ck_assert_ptr_null(cfg.allow_local);
    gw_config_fini(&cfg);
    ck_assert_msg(gw_parse(&cfg, WITH_TOKEN("expose:\n"
                                            "  routes: [198.51.100.0/24, 169.254.169.254/32]\n"
                                            "  allow-local: [169.254.169.254/32, 198.51.100.1]\n"
                                            "  allow-link-local: false\n")) == 0,
                  "%s", err);
    ck_assert_uint_eq(cfg.n_allow_local, 2);
    st_cidr_format(&cfg.allow_local[0], buf, sizeof(buf));
    ck_assert_str_eq(buf, "169.254.169.254/32");
    st_cidr_format(&cfg.allow_local[1], buf, sizeof(buf));
    ck_assert_str_eq(buf, "198.51.100.1/32");
    ck_assert(!cfg.allow_link_local);
    gw_config_fini(&cfg);
    ck_assert_ptr_null(cfg.allow_local);
    ck_assert_msg(gw_parse(&cfg, WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n"
                                            "  allow-local: []\n  allow-link-local: true\n")) == 0,
                  "%s", err);
    ck_assert_uint_eq(cfg.n_allow_local, 0);
    ck_assert(cfg.allow_link_local);
    gw_config_fini(&cfg);
    ck_assert_msg(gw_parse(&cfg, WITH_TOKEN("expose:\n  routes: ['2001:db8:51::/64']\n"
                                            "  allow-local: ['2001:db8:51::1']\n")) == 0,
                  "%s", err);
    ck_assert_uint_eq(cfg.n_allow_local, 1);
    st_cidr_format(&cfg.allow_local[0], buf, sizeof(buf));
    ck_assert_str_eq(buf, "2001:db8:51::1/128");
    gw_config_fini(&cfg);

    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  allow-local: [198.51.100.1/24]\n"),
           "gw.yaml:7: 'expose.allow-local[0]': invalid CIDR '198.51.100.1/24': host bits set (the "
           "address "
           "must be the network address)");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  allow-local: [127.0.0.0/8, "
                      "nonsense]\n"),
           "gw.yaml:7: 'expose.allow-local[1]': invalid CIDR 'nonsense': not an IP address or "
           "CIDR");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  allow-local: [192.0.2.0/33]\n"),
           "gw.yaml:7: 'expose.allow-local[0]': invalid CIDR '192.0.2.0/33': bad prefix length");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  allow-local: 127.0.0.1/32\n"),
           "gw.yaml:7: 'expose.allow-local' must be a list");
    gw_bad(WITH_TOKEN("expose:\n  routes: [198.51.100.0/24]\n  allow-local: [{a: b}]\n"),
           "gw.yaml:7: 'expose.allow-local[0]' must be a CIDR string");
}
END_TEST

static int gw_parse_top(struct gw_config *cfg, const char *top)
{
    snprintf(text, sizeof(text),
             "%sedge-name: edge.lab.test\nca-file: %s\ntoken: site-1:0123456789abcdef\n", top, ca);
    return gw_config_parse(text, strlen(text), "gw.yaml", cfg, err, sizeof(err));
}

static void gw_bad_top(const char *top, const char *want)
{
    struct gw_config cfg;

    ck_assert_int_lt(gw_parse_top(&cfg, top), 0);
    ck_assert_msg(strcmp(err, want) == 0, "got '%s', want '%s'", err, want);
    ck_assert_ptr_null(cfg.edge_srv);
}

START_TEST(test_gw_srv)
{
    struct gw_config cfg;
    char buf[64];

    ck_assert_msg(gw_parse_top(&cfg, "edge-srv: lab.test\nresolvers: [192.0.2.1:53]\n"
                                     "grace-period: 5\n") == 0,
                  "%s", err);
    ck_assert_str_eq(cfg.edge_srv, "lab.test");
    ck_assert_uint_eq(cfg.n_edges, 0);
    ck_assert_uint_eq(cfg.n_resolvers, 1);
    st_sockaddr_format(&cfg.resolvers[0], buf, sizeof(buf));
    ck_assert_str_eq(buf, "192.0.2.1:53");
    ck_assert_int_eq(cfg.grace_period_ms, 5000);
    gw_config_fini(&cfg);
    ck_assert_msg(gw_parse_top(&cfg, "edge-srv: example.net\n") == 0, "%s", err);
    ck_assert_uint_eq(cfg.n_resolvers, 0);
    ck_assert_int_eq(cfg.grace_period_ms, 30000);
    gw_config_fini(&cfg);

    gw_bad_top("", "gw.yaml:1: missing required key 'edges' (or 'edge-srv')");
    gw_bad_top("edges: [192.0.2.1:7844]\nedge-srv: lab.test\n",
               "gw.yaml:2: 'edges' and 'edge-srv' are mutually exclusive");
    gw_bad_top("edge-srv: 'lab test'\n",
               "gw.yaml:1: 'edge-srv': 'lab test' is not a DNS domain (letters, digits, '-', "
               "'_', dots)");
    gw_bad_top("edge-srv: a..b\n", "gw.yaml:1: 'edge-srv': 'a..b' is not a DNS domain (letters, "
                                   "digits, '-', '_', dots)");
    gw_bad_top("edges: [192.0.2.1:7844]\nresolvers: [192.0.2.1:53]\n",
               "gw.yaml:2: 'resolvers' is only used with 'edge-srv'");
    gw_bad_top("edge-srv: lab.test\nresolvers: [192.0.2.1]\n",
               "gw.yaml:2: 'resolvers[0]': invalid address '192.0.2.1' (want numeric ip:port or "
               "[ipv6]:port)");
    gw_bad_top("edges: [192.0.2.1:7844]\ngrace-period: -1\n",
               "gw.yaml:2: 'grace-period' is -1, must be between 0 and 3600");
}
END_TEST

/* metrics-listen (off by default, never another listener's port) and log-format. */
START_TEST(test_metrics_and_log_format)
{
    struct edge_config e;
    struct gw_config g;
    char buf[160];
    ck_assert_msg(edge_parse(&e, "", NULL) == 0, "%s", err);
    ck_assert(!e.has_metrics);
    ck_assert_int_eq(e.log_format, ST_LOG_TEXT);
    edge_config_fini(&e);
    ck_assert_msg(edge_parse(&e, "metrics-listen: 192.0.2.1:9100\nlog-format: json\n", NULL) == 0,
                  "%s", err);
    ck_assert(e.has_metrics);
    st_sockaddr_format(&e.metrics_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "192.0.2.1:9100");
    ck_assert_int_eq(e.log_format, ST_LOG_JSON);
    edge_config_fini(&e);
    ck_assert_msg(edge_parse(&e, "metrics-listen: 'off'\n", NULL) == 0, "%s", err);
    ck_assert(!e.has_metrics);
    edge_config_fini(&e);
    edge_bad("metrics-listen: 127.0.0.1:8080\n", NULL,
             "edge.yaml:3: 'metrics-listen' 127.0.0.1:8080 clashes with 'access-listen' "
             "127.0.0.1:8080 (same port)");
    edge_bad("metrics-listen: '[::]:7844'\n", NULL,
             "edge.yaml:3: 'metrics-listen' [::]:7844 clashes with 'tunnel-listen' 0.0.0.0:7844 "
             "(same port; \"[::]\" listens on IPv4 too)");
    edge_bad("metrics-listen: 192.0.2.1:0\n", NULL, "edge.yaml:3: 'metrics-listen' needs a port");
    edge_bad("log-format: yaml\n", NULL,
             "edge.yaml:3: 'log-format' is 'yaml': must be text or json");
    /* metrics-listen 'off' does not clash with anything */
    ck_assert_msg(edge_parse(&e, "access-listen: 'off'\nmetrics-listen: 'off'\n", NULL) == 0, "%s",
                  err);
    edge_config_fini(&e);

    static const char tok[] = "token: site-1:0123456789abcdef\n";
    ck_assert_msg(gw_parse(&g, tok) == 0, "%s", err);
    ck_assert(!g.has_metrics);
    ck_assert_int_eq(g.log_format, ST_LOG_TEXT);
    gw_config_fini(&g);
    snprintf(buf, sizeof(buf), "%smetrics-listen: 192.0.2.10:9100\nlog-format: json\n", tok);
    ck_assert_msg(gw_parse(&g, buf) == 0, "%s", err);
    ck_assert(g.has_metrics);
    ck_assert_int_eq(g.log_format, ST_LOG_JSON);
    gw_config_fini(&g);
    snprintf(buf, sizeof(buf), "%smetrics-listen: on\n", tok);
    gw_bad(buf, "gw.yaml:5: 'metrics-listen': invalid address 'on' (want numeric ip:port or "
                "[ipv6]:port)");
}
END_TEST

/* user: and group: (names or decimal ids, resolved at start-up); group only with user. */
START_TEST(test_user_group)
{
    struct edge_config e;
    struct gw_config g;
    char buf[160];
    ck_assert_msg(edge_parse(&e, "", NULL) == 0, "%s", err);
    ck_assert_ptr_null(e.user);
    ck_assert_ptr_null(e.group);
    edge_config_fini(&e);
    ck_assert_msg(edge_parse(&e, "user: subtunnel\ngroup: 65534\n", NULL) == 0, "%s", err);
    ck_assert_str_eq(e.user, "subtunnel");
    ck_assert_str_eq(e.group, "65534");
    edge_config_fini(&e);
    ck_assert_ptr_null(e.user);
    ck_assert_msg(edge_parse(&e, "user: 65534\n", NULL) == 0, "%s", err);
    ck_assert_str_eq(e.user, "65534");
    ck_assert_ptr_null(e.group);
    edge_config_fini(&e);
    edge_bad("group: nogroup\n", NULL, "edge.yaml:3: 'group' needs 'user'");
    edge_bad("user: ''\n", NULL, "edge.yaml:3: 'user' must be a non-empty string");
    edge_bad("user: [a]\n", NULL, "edge.yaml:3: 'user' must be a non-empty string");
    edge_bad("user: no body\n", NULL, "edge.yaml:3: 'user' is 'no body': not a user or group name");
    edge_bad("user: a\ngroup: -g\n", NULL,
             "edge.yaml:4: 'group' is '-g': not a user or group name");
    edge_bad("user: a:b\n", NULL, "edge.yaml:3: 'user' is 'a:b': not a user or group name");
    edge_bad("user: a$b\n", NULL, "edge.yaml:3: 'user' is 'a$b': not a user or group name");
    edge_bad("user: "
             "a234567890123456789012345678901234567890123456789012345678901234\n",
             NULL,
             "edge.yaml:3: 'user' is "
             "'a234567890123456789012345678901234567890123456789012345678901234': not a user or "
             "group name");

    static const char tok[] = "token: site-1:0123456789abcdef\n";
    snprintf(buf, sizeof(buf), "%suser: host$\ngroup: no_group.x-1\n", tok);
    ck_assert_msg(gw_parse(&g, buf) == 0, "%s", err);
    ck_assert_str_eq(g.user, "host$");
    ck_assert_str_eq(g.group, "no_group.x-1");
    gw_config_fini(&g);
    ck_assert_ptr_null(g.user);
    snprintf(buf, sizeof(buf), "%sgroup: nogroup\n", tok);
    gw_bad(buf, "gw.yaml:5: 'group' needs 'user'");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tree);
    tcase_add_test(tc, test_tree_errors);
    tcase_add_test(tc, test_gw_good_defaults);
    tcase_add_test(tc, test_gw_good_full);
    tcase_add_test(tc, test_gw_errors);
    tcase_add_test(tc, test_gw_allow_local);
    tcase_add_test(tc, test_gw_srv);
    tcase_add_test(tc, test_metrics_and_log_format);
    tcase_add_test(tc, test_user_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(config_suite());
}
