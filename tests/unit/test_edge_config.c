/* The edge configuration (edge_config.c): users, policy, jwt, listeners, limits, caps. */
#include "config_fixture.h"
#include "edge_fcache.h"

#include <unistd.h>

START_TEST(test_edge_good_defaults)
{
    struct edge_config cfg;
    char buf[64];

    ck_assert_msg(edge_parse(&cfg, "", NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.log_level, ST_LOG_INFO);
    ck_assert_str_eq(cfg.location, "edge");
    st_sockaddr_format(&cfg.tunnel_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0.0.0.0:7844");
    st_sockaddr_format(&cfg.access_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "127.0.0.1:8080"); /* cleartext: loopback only by default */
    ck_assert(cfg.has_access && cfg.has_access_tls);
    st_sockaddr_format(&cfg.access_tls_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0.0.0.0:8443");
    ck_assert(!edge_config_cleartext_exposed(&cfg));
    ck_assert_str_eq(cfg.cert_file, cert);
    ck_assert_str_eq(cfg.key_file, key);
    ck_assert_uint_eq(cfg.n_tunnels, 1);
    ck_assert_str_eq(cfg.tunnels[0].id, "site-1");
    ck_assert_uint_eq(cfg.tunnels[0].n_secrets, 1);
    ck_assert_uint_eq(cfg.tunnels[0].secret_sha256[0][0], 0xba);
    ck_assert_uint_eq(cfg.tunnels[0].n_routes, 2);
    ck_assert_int_eq(cfg.tunnels[0].routes[1].family, AF_INET6);
    ck_assert_uint_eq(cfg.tunnels[0].routes[1].prefix, 48);
    ck_assert_uint_eq(cfg.tunnels[0].n_hostnames, 2);
    ck_assert_str_eq(cfg.tunnels[0].hostnames[0], "app.lab.test");
    ck_assert_uint_eq(cfg.users.n, 1);
    ck_assert_str_eq(cfg.users.list[0].name, "alice");
    ck_assert(cfg.users.list[0].legacy);
    ck_assert_uint_eq(cfg.users.list[0].tokens[0][31], 0xad);
    ck_assert(!cfg.policy.configured);
    edge_config_fini(&cfg);
    edge_config_fini(&cfg);
}
END_TEST

/* Listeners that can be switched off, and addresses that share a port without clashing. */
START_TEST(test_edge_listeners_off)
{
    struct edge_config cfg;
    ck_assert_msg(edge_parse(&cfg,
                             "access-listen: 'off'\naccess-tls-listen: 'off'\n"
                             "http-listen: 198.18.0.1:80\nhttps-listen: 198.18.0.2:80\n",
                             NULL) == 0,
                  "%s", err);
    ck_assert(!cfg.has_access && !cfg.has_access_tls);
    ck_assert(!edge_config_cleartext_exposed(&cfg));
    edge_config_fini(&cfg);
    ck_assert_msg(edge_parse(&cfg, "access-listen: '[::1]:8080'\n", NULL) == 0, "%s", err);
    ck_assert(!edge_config_cleartext_exposed(&cfg));
    edge_config_fini(&cfg);
    ck_assert(!cfg.has_access6);
    /* access-listen6: a second access listener (issue 23: the proxy on an IPv6 address) */
    ck_assert_msg(edge_parse(&cfg, "access-listen6: '[::1]:8080'\n", NULL) == 0, "%s", err);
    ck_assert(cfg.has_access6 && cfg.has_access);
    ck_assert_uint_eq(st_sockaddr_port(&cfg.access_listen6), 8080);
    ck_assert(!edge_config_cleartext_exposed(&cfg));
    edge_config_fini(&cfg);
    ck_assert_msg(edge_parse(&cfg, "access-listen6: '[2001:db8:18::1]:8080'\n", NULL) == 0, "%s",
                  err);
    ck_assert(edge_config_cleartext_exposed(&cfg));
    edge_config_fini(&cfg);
}
END_TEST

/* Listener keys as lists (issue 23: one key, IPv4 and IPv6 addresses); a single string
 * still works; "[::]" is dual stack and so clashes with any IPv4 address of its port. */
START_TEST(test_edge_listener_lists)
{
    struct edge_config cfg;
    char buf[64];
    ck_assert_msg(edge_parse(&cfg,
                             "tunnel-listen: [198.18.0.1:7844, '[2001:db8:2::1]:7844']\n"
                             "access-listen: ['127.0.0.1:8080', '[::1]:8080']\n"
                             "http-listen:\n  - 198.18.0.1:80\n  - '[2001:db8:18::1]:80'\n"
                             "https-listen: ['[::]:443']\n",
                             NULL) == 0,
                  "%s", err);
    st_sockaddr_format(&cfg.tunnel_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "198.18.0.1:7844");
    ck_assert_uint_eq(cfg.tunnel_more.n, 1);
    st_sockaddr_format(&cfg.tunnel_more.a[0], buf, sizeof(buf));
    ck_assert_str_eq(buf, "[2001:db8:2::1]:7844");
    ck_assert_uint_eq(cfg.access_more.n, 1);
    ck_assert(!edge_config_cleartext_exposed(&cfg)); /* both on loopback */
    ck_assert(cfg.has_http && cfg.has_https);
    ck_assert_uint_eq(cfg.http_more.n, 1);
    ck_assert_uint_eq(cfg.https_more.n, 0);
    st_sockaddr_format(&cfg.https_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "[::]:443");
    edge_config_fini(&cfg);
    /* an IPv6 access address beyond loopback in the list is cleartext exposed too */
    ck_assert_msg(
        edge_parse(&cfg, "access-listen: ['127.0.0.1:8080', '[2001:db8:18::1]:8080']\n", NULL) == 0,
        "%s", err);
    ck_assert(edge_config_cleartext_exposed(&cfg));
    edge_config_fini(&cfg);
    /* the string form and a dual-stack tunnel listener */
    ck_assert_msg(edge_parse(&cfg, "tunnel-listen: '[::]:7844'\n", NULL) == 0, "%s", err);
    ck_assert_uint_eq(cfg.tunnel_more.n, 0);
    ck_assert_int_eq(cfg.tunnel_listen.ss.ss_family, AF_INET6);
    edge_config_fini(&cfg);
}
END_TEST

START_TEST(test_edge_listener_lists_bad)
{
    edge_bad("tunnel-listen: ['[::]:7844', '0.0.0.0:7844']\n", NULL,
             "edge.yaml:3: 'tunnel-listen' 0.0.0.0:7844 clashes with 'tunnel-listen' [::]:7844 "
             "(same port; \"[::]\" listens on IPv4 too)");
    edge_bad("http-listen: ['[::]:80']\ntunnel-listen: 198.18.0.1:80\n", NULL,
             "edge.yaml:3: 'http-listen' [::]:80 clashes with 'tunnel-listen' 198.18.0.1:80 (same "
             "port; \"[::]\" listens on IPv4 too)");
    edge_bad("http-listen: []\n", NULL, "edge.yaml:3: 'http-listen' needs at least 1 item");
    edge_bad("http-listen: [198.18.0.1:80, 'off']\n", NULL,
             "edge.yaml:3: 'http-listen[1]': invalid address 'off' (want numeric ip:port or "
             "[ipv6]:port)");
    edge_bad("http-listen: [198.18.0.1:80, '198.18.0.1']\n", NULL,
             "edge.yaml:3: 'http-listen[1]': invalid address '198.18.0.1' (want numeric ip:port "
             "or [ipv6]:port)");
    edge_bad("http-listen: ['198.18.0.1:1', '198.18.0.1:2', '198.18.0.1:3', '198.18.0.1:4', "
             "'198.18.0.1:5']\n",
             NULL, "edge.yaml:3: 'http-listen' lists 5 addresses, at most 4");
    edge_bad("access-listen6: ['[::1]:8081']\n", NULL,
             "edge.yaml:3: 'access-listen6' takes one address, not a list (\"[::]:PORT\" listens "
             "on IPv6 and IPv4)");
    edge_bad("metrics-listen: ['[::1]:9090']\n", NULL,
             "edge.yaml:3: 'metrics-listen' takes one address, not a list (\"[::]:PORT\" listens "
             "on IPv6 and IPv4)");
    edge_bad("https-listen: ['[2001:db8:18::1]:443', '[2001:db8:18::1]:443']\n", NULL,
             "edge.yaml:3: 'https-listen' [2001:db8:18::1]:443 clashes with 'https-listen' "
             "[2001:db8:18::1]:443 (same port)");
}
END_TEST

#define HASH_B "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"

/* Two secrets while rotating; host names that require users. */
START_TEST(test_edge_secrets_and_host_acls)
{
    struct edge_config cfg;
    ck_assert_msg(edge_parse(&cfg, "",
                             "  - id: s\n"
                             "    secret-sha256: [" HASH_A ", " HASH_B "]\n"
                             "    routes: [198.51.100.0/24]\n"
                             "    hostnames: [a.lab.test, {name: b.lab.test, groups: [admins]},\n"
                             "                {name: '*.c.lab.test', users: [bob, carol]}]\n") == 0,
                  "%s", err);
    const struct edge_tunnel_conf *t = &cfg.tunnels[0];
    ck_assert_uint_eq(t->n_secrets, 2);
    ck_assert(edge_tunnel_secret_ok(t, "abc", NULL)); /* sha256("abc") is HASH_A */
    uint8_t used[32];
    ck_assert(!edge_tunnel_secret_ok(t, "abd", used));
    ck_assert_uint_eq(t->n_hostnames, 3);
    ck_assert_str_eq(t->hostnames[1], "b.lab.test");
    ck_assert_uint_eq(t->host_acls[0].n_users + t->host_acls[0].n_groups, 0);
    ck_assert_str_eq(t->host_acls[1].groups[0], "admins");
    ck_assert_uint_eq(t->host_acls[2].n_users, 2);
    struct edge_ident id;
    memset(&id, 0, sizeof(id));
    strcpy(id.user, "carol");
    ck_assert(edge_policy_host_allows(&t->host_acls[2], &id));
    ck_assert(!edge_policy_host_allows(&t->host_acls[1], &id));
    edge_ident_add_group(&id, "admins");
    ck_assert(edge_policy_host_allows(&t->host_acls[1], &id));
    edge_config_fini(&cfg);

    ck_assert_int_eq(edge_parse(&cfg, "",
                                "  - id: s\n"
                                "    secret-sha256: [" HASH_A ", " HASH_B ", " HASH_A "]\n"
                                "    routes: [198.51.100.0/24]\n"),
                     -EINVAL);
    ck_assert_msg(strstr(err, "one or two hashes") != NULL, "%s", err);
    ck_assert_int_eq(edge_parse(&cfg, "",
                                "  - id: s\n"
                                "    secret-sha256: [" HASH_A ", " HASH_A "]\n"
                                "    routes: [198.51.100.0/24]\n"),
                     -EINVAL);
    ck_assert_msg(strstr(err, "same hash twice") != NULL, "%s", err);
    ck_assert_int_eq(edge_parse(&cfg, "",
                                "  - id: s\n"
                                "    secret-sha256: " HASH_A "\n"
                                "    routes: [198.51.100.0/24]\n"
                                "    hostnames: [{name: b.lab.test}]\n"),
                     -EINVAL);
    ck_assert_msg(strstr(err, "needs users or groups") != NULL, "%s", err);
    ck_assert_int_eq(edge_parse(&cfg, "",
                                "  - id: s\n"
                                "    secret-sha256: " HASH_A "\n"
                                "    routes: [198.51.100.0/24]\n"
                                "    hostnames: [{name: 'bad name', users: [x]}]\n"),
                     -EINVAL);
    ck_assert_msg(strstr(err, "invalid hostname") != NULL, "%s", err);
    ck_assert_int_eq(edge_parse(&cfg, "",
                                "  - id: s\n"
                                "    secret-sha256: " HASH_A "\n"
                                "    routes: [198.51.100.0/24]\n"
                                "    hostnames: [a.lab.test, {name: A.lab.test, users: [x]}]\n"),
                     -EINVAL);
    ck_assert_msg(strstr(err, "host name 'a.lab.test' is listed twice") != NULL, "%s", err);
}
END_TEST

/* jwt: the JWK Set is loaded with the configuration; issuer and audience are required. */
START_TEST(test_edge_jwt)
{
    struct edge_config cfg;
    char jwks[160], top[512];
    snprintf(jwks, sizeof(jwks), "%s/jwks.json", tmpdir);
    write_file(jwks, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k\","
                     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}");
    snprintf(top, sizeof(top),
             "jwt: {jwks-file: %s, issuer: 'https://idp.lab.test', audience: subtunnel, "
             "clock-skew: 30}\n",
             jwks);
    ck_assert_msg(edge_parse(&cfg, top, NULL) == 0, "%s", err);
    ck_assert(cfg.has_jwt);
    ck_assert_ptr_nonnull(cfg.jwks);
    ck_assert_int_eq(cfg.jwt.skew_s, 30);
    ck_assert_str_eq(cfg.jwt.audience, "subtunnel");
    edge_config_fini(&cfg);

    snprintf(top, sizeof(top), "jwt: {jwks-file: %s, issuer: x}\n", jwks);
    ck_assert_int_eq(edge_parse(&cfg, top, NULL), -EINVAL);
    ck_assert_msg(strstr(err, "missing required key 'audience'") != NULL, "%s", err);
    snprintf(top, sizeof(top), "jwt: {jwks-file: %s/none.json, issuer: x, audience: y}\n", tmpdir);
    ck_assert_int_eq(edge_parse(&cfg, top, NULL), -EINVAL);
    ck_assert_msg(strstr(err, "cannot read") != NULL, "%s", err);
    write_file(jwks, "{\"keys\": 5}");
    snprintf(top, sizeof(top), "jwt: {jwks-file: %s, issuer: x, audience: y}\n", jwks);
    ck_assert_int_eq(edge_parse(&cfg, top, NULL), -EINVAL);
    ck_assert_msg(strstr(err, "edge.yaml:3: 'jwt.jwks-file': ") == err, "%s", err);
    write_file(jwks, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k\","
                     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}");
    snprintf(top, sizeof(top), "jwt: {jwks-file: %s, issuer: x, audience: y, clock-skew: 601}\n",
             jwks);
    ck_assert_int_eq(edge_parse(&cfg, top, NULL), -EINVAL);
    ck_assert_msg(strstr(err, "clock-skew") != NULL, "%s", err);
    unlink(jwks);
}
END_TEST

START_TEST(test_edge_good_full)
{
    struct edge_config cfg;
    char buf[64];

    char top[1024];
    snprintf(top, sizeof(top),
             "log-level: debug\nlocation: edge-ams\n"
             "tunnel-listen: 192.0.2.1:7844\naccess-listen: \"[2001:db8::1]:8080\"\n"
             "access-tls-listen: '*:8443'\n"
             "http-listen: 198.18.0.1:80\nhttps-listen: 198.18.0.1:443\n"
             "https-certs:\n  - {cert: %s, key: %s}\n",
             cert, key);
    ck_assert_msg(
        edge_parse(&cfg, top,
                   "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.0/25]\n"
                   "  - id: b\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.128/25]\n") == 0,
        "%s", err);
    ck_assert_int_eq(cfg.log_level, ST_LOG_DEBUG);
    ck_assert_str_eq(cfg.location, "edge-ams");
    st_sockaddr_format(&cfg.tunnel_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "192.0.2.1:7844");
    st_sockaddr_format(&cfg.access_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "[2001:db8::1]:8080");
    ck_assert(edge_config_cleartext_exposed(&cfg));
    ck_assert(cfg.has_access_tls);
    st_sockaddr_format(&cfg.access_tls_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0.0.0.0:8443");
    ck_assert_uint_eq(cfg.n_tunnels, 2);
    ck_assert_uint_eq(cfg.tunnels[1].n_hostnames, 0);
    ck_assert(cfg.has_http && cfg.has_https);
    st_sockaddr_format(&cfg.https_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "198.18.0.1:443");
    ck_assert_uint_eq(cfg.n_https_certs, 1);
    ck_assert_str_eq(cfg.https_certs[0].cert_file, cert);
    ck_assert_str_eq(cfg.https_certs[0].key_file, key);
    edge_config_fini(&cfg);
}
END_TEST

START_TEST(test_edge_errors)
{
    static const char t1[] = "  - id: site-1\n    secret-sha256: " HASH_A "\n";
    char want[256];

    edge_bad("foo: 1\n", NULL, "edge.yaml:3: unknown key 'foo'");
    edge_bad("https-certs:\n  - {cert: /nonexistent/c.pem}\n", NULL,
             "edge.yaml:4: 'https-certs[0].cert': cannot read '/nonexistent/c.pem': No such file "
             "or directory");
    edge_bad("http-listen: 80\n", NULL,
             "edge.yaml:3: 'http-listen': invalid address '80' (want numeric ip:port or "
             "[ipv6]:port)");
    edge_bad("log-level: loud\n", NULL,
             "edge.yaml:3: 'log-level' is 'loud': must be one of error, warn, info, debug");
    edge_bad("tunnel-listen: 192.0.2.1\n", NULL,
             "edge.yaml:3: 'tunnel-listen': invalid address '192.0.2.1' (want numeric ip:port "
             "or [ipv6]:port)");
    edge_bad("location: [a]\n", NULL, "edge.yaml:3: 'location' must be a non-empty string");
    edge_bad("", "  - id: site-1\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.1/24]\n",
             "edge.yaml:6: 'tunnels[0].routes[0]': invalid CIDR '198.51.100.1/24': host bits set "
             "(the address must be the network address)");
    edge_bad("", "  - id: site-1\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.0/40]\n",
             "edge.yaml:6: 'tunnels[0].routes[0]': invalid CIDR '198.51.100.0/40': bad prefix "
             "length");
    edge_bad("", t1, "edge.yaml:4: missing required key 'routes' in 'tunnels[0]'");
    edge_bad("", "  - id: site-1\n    secret-sha256: abc\n    routes: [192.0.2.0/24]\n",
             "edge.yaml:5: 'tunnels[0].secret-sha256' must be 64 hex digits (a SHA-256)");
    edge_bad("", "  - id: a b\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.0/24]\n",
             "edge.yaml:4: 'tunnels[0].id': tunnel id 'a b' must be 1-63 of [A-Za-z0-9_.-]");
    edge_bad("", "  - id: a\n    secret-sha256: " HASH_A "\n    routes: []\n",
             "edge.yaml:6: 'tunnels[0].routes' needs at least 1 item");
    edge_bad("",
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.0/24]\n"
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [203.0.113.0/24]\n",
             "edge.yaml:7: duplicate tunnel id 'a'");
    edge_bad("",
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.0/24]\n"
             "  - id: b\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.0/24]\n",
             "edge.yaml:9: route '192.0.2.0/24' already belongs to tunnel 'a'");
    /* nested prefixes across tenants: either order, and a bare address inside a route */
    edge_bad("",
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.0/24]\n"
             "  - id: b\n    secret-sha256: " HASH_A "\n    routes: [203.0.113.0/24, "
             "198.51.100.128/25]\n",
             "edge.yaml:9: route '198.51.100.128/25' overlaps route '198.51.100.0/24' of tunnel "
             "'a'");
    edge_bad("",
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.128/25]\n"
             "  - id: b\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.0/24]\n",
             "edge.yaml:9: route '198.51.100.0/24' overlaps route '198.51.100.128/25' of tunnel "
             "'a'");
    edge_bad("",
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.10]\n"
             "  - id: b\n    secret-sha256: " HASH_A "\n    routes: [198.51.100.10/32]\n",
             "edge.yaml:9: route '198.51.100.10/32' already belongs to tunnel 'a'");
    edge_bad("",
             "  - id: a\n    secret-sha256: " HASH_A "\n    routes: [192.0.2.0/24]\n"
             "    hostnames: [bad_host.test]\n",
             "edge.yaml:7: 'tunnels[0].hostnames[0]': invalid hostname 'bad_host.test'");
    edge_bad("access-listen: 198.18.0.1:8443\n", NULL,
             "edge.yaml:3: 'access-listen' 198.18.0.1:8443 clashes with 'access-tls-listen' "
             "0.0.0.0:8443 (same port)");
    edge_bad("http-listen: 198.18.0.1:80\nhttps-listen: '[::]:80'\n", NULL,
             "edge.yaml:4: 'https-listen' [::]:80 clashes with 'http-listen' 198.18.0.1:80 (same "
             "port; \"[::]\" listens on IPv4 too)");
    edge_bad(
        "tunnel-listen: 192.0.2.1:7844\nhttp-listen: 192.0.2.1:7844\n", NULL,
        "edge.yaml:4: 'http-listen' 192.0.2.1:7844 clashes with 'tunnel-listen' 192.0.2.1:7844 "
        "(same port)");
    edge_bad("access-listen6: '[::]:8080'\n", NULL,
             "edge.yaml:3: 'access-listen6' [::]:8080 clashes with 'access-listen' 127.0.0.1:8080 "
             "(same port; \"[::]\" listens on IPv4 too)");
    edge_bad("access-listen6: 2001:db8:18::1:8080\n", NULL,
             "edge.yaml:3: 'access-listen6': invalid address '2001:db8:18::1:8080' (want numeric "
             "ip:port or [ipv6]:port)");
    edge_bad("access-listen: on\n", NULL,
             "edge.yaml:3: 'access-listen': invalid address 'on' (want numeric ip:port or "
             "[ipv6]:port)");
    edge_bad("", "  - id: a\n    extra: 1\n", "edge.yaml:5: unknown key 'extra' in 'tunnels[0]'");
    edge_bad("", "  {}\n", "edge.yaml:4: 'tunnels' must be a list");

    snprintf(text, sizeof(text), "cert: /nonexistent/x.crt\n");
    struct edge_config cfg;
    ck_assert_int_lt(edge_config_parse(text, strlen(text), "e.yaml", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "e.yaml:1: 'cert': cannot read '/nonexistent/x.crt': No such file or "
                          "directory");
    snprintf(text, sizeof(text), "cert: %s\n", tmpdir);
    ck_assert_int_lt(edge_config_parse(text, strlen(text), "e.yaml", &cfg, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "e.yaml:1: 'cert': '%s' is not a regular file", tmpdir);
    ck_assert_str_eq(err, want);
    snprintf(text, sizeof(text), "cert: %s\nkey: %s\n", cert, key);
    ck_assert_int_lt(edge_config_parse(text, strlen(text), "e.yaml", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "e.yaml:1: missing required key 'tunnels'");
    ck_assert_int_lt(edge_config_parse("", 0, "e.yaml", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "e.yaml:1: empty configuration");
    ck_assert_int_lt(edge_config_parse("- a\n", 4, "e.yaml", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "e.yaml:1: 'configuration' must be a mapping");
}
END_TEST

START_TEST(test_edge_load)
{
    struct edge_config cfg;
    char path[160];

    ck_assert_int_eq(edge_parse(&cfg, "", NULL), 0);
    edge_config_fini(&cfg);
    snprintf(path, sizeof(path), "%s/edge.yaml", tmpdir);
    write_file(path, text);
    ck_assert_msg(edge_config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.tunnels[0].id, "site-1");
    edge_config_fini(&cfg);
    unlink(path);
    ck_assert_int_eq(edge_config_load(path, &cfg, err, sizeof(err)), -ENOENT);
    ck_assert_msg(strstr(err, "cannot read: No such file or directory") != NULL, "%s", err);
}
END_TEST

START_TEST(test_edge_timers)
{
    struct edge_config cfg;

    ck_assert_msg(edge_parse(&cfg, "", NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.grace_period_ms, 30000);
    ck_assert_int_eq(cfg.heartbeat_interval_ms, 5000);
    ck_assert_int_eq(cfg.heartbeat_count, 5);
    edge_config_fini(&cfg);
    ck_assert_msg(
        edge_parse(&cfg, "grace-period: 0\nheartbeat-interval: 2\nheartbeat-count: 3\n", NULL) == 0,
        "%s", err);
    ck_assert_int_eq(cfg.grace_period_ms, 0);
    ck_assert_int_eq(cfg.heartbeat_interval_ms, 2000);
    ck_assert_int_eq(cfg.heartbeat_count, 3);
    edge_config_fini(&cfg);
    edge_bad("grace-period: 3601\n", NULL,
             "edge.yaml:3: 'grace-period' is 3601, must be between 0 and 3600");
    edge_bad("heartbeat-interval: 0\n", NULL,
             "edge.yaml:3: 'heartbeat-interval' is 0, must be between 1 and 300");
    edge_bad("heartbeat-count: many\n", NULL,
             "edge.yaml:3: 'heartbeat-count' must be an integer, not 'many'");
}
END_TEST

START_TEST(test_edge_limits)
{
    struct edge_config cfg;

    ck_assert_msg(edge_parse(&cfg, "", NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.idle_timeout_ms, 60000);
    ck_assert_int_eq(cfg.request_timeout_ms, 10000);
    ck_assert_int_eq(cfg.visitor_max_streams, 100);
    ck_assert_int_eq(cfg.tunnel_max_requests, 1000);
    ck_assert_int_eq(cfg.log_refusals, 10);
    edge_config_fini(&cfg);
    ck_assert_msg(edge_parse(&cfg,
                             "idle-timeout: 3\nrequest-timeout: 2\nvisitor-max-streams: 5\n"
                             "tunnel-max-requests: 7\nlog-refusals: 1\n",
                             NULL) == 0,
                  "%s", err);
    ck_assert_int_eq(cfg.idle_timeout_ms, 3000);
    ck_assert_int_eq(cfg.request_timeout_ms, 2000);
    ck_assert_int_eq(cfg.visitor_max_streams, 5);
    ck_assert_int_eq(cfg.tunnel_max_requests, 7);
    ck_assert_int_eq(cfg.log_refusals, 1);
    edge_config_fini(&cfg);
    edge_bad("idle-timeout: 0\n", NULL,
             "edge.yaml:3: 'idle-timeout' is 0, must be between 1 and 3600");
    edge_bad("request-timeout: 301\n", NULL,
             "edge.yaml:3: 'request-timeout' is 301, must be between 1 and 300");
    edge_bad("visitor-max-streams: 1001\n", NULL,
             "edge.yaml:3: 'visitor-max-streams' is 1001, must be between 1 and 1000");
    edge_bad("tunnel-max-requests: 0\n", NULL,
             "edge.yaml:3: 'tunnel-max-requests' is 0, must be between 1 and 100000");
    edge_bad("log-refusals: lots\n", NULL,
             "edge.yaml:3: 'log-refusals' must be an integer, not 'lots'");
}
END_TEST

START_TEST(test_edge_caps)
{
    struct edge_config cfg;

    ck_assert_msg(edge_parse(&cfg, "", NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.max_connections, 10000);
    ck_assert_int_eq(cfg.listener_max_connections, 8000);
    ck_assert_int_eq(cfg.max_connections_per_client, 256);
    ck_assert_int_eq(cfg.max_unauthenticated, 1024);
    ck_assert_int_eq(cfg.tunnel_max_flows, 32768);
    ck_assert_int_eq(cfg.user_max_flows, 4096);
    edge_config_fini(&cfg);
    ck_assert_msg(edge_parse(&cfg,
                             "max-connections: 30\nlistener-max-connections: 30\n"
                             "max-connections-per-client: 3\nmax-unauthenticated: 4\n"
                             "tunnel-max-flows: 5\nuser-max-flows: 6\n",
                             NULL) == 0,
                  "%s", err);
    ck_assert_int_eq(cfg.max_connections, 30);
    ck_assert_int_eq(cfg.listener_max_connections, 30);
    ck_assert_int_eq(cfg.max_connections_per_client, 3);
    ck_assert_int_eq(cfg.max_unauthenticated, 4);
    ck_assert_int_eq(cfg.tunnel_max_flows, 5);
    ck_assert_int_eq(cfg.user_max_flows, 6);
    edge_config_fini(&cfg);
    /* without listener-max-connections: four fifths of max-connections (all below 5) */
    ck_assert_msg(edge_parse(&cfg, "max-connections: 1003\n", NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.listener_max_connections, 800);
    edge_config_fini(&cfg);
    ck_assert_msg(edge_parse(&cfg, "max-connections: 4\n", NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.listener_max_connections, 4);
    edge_config_fini(&cfg);
    edge_bad("max-connections: 0\n", NULL,
             "edge.yaml:3: 'max-connections' is 0, must be between 1 and 1000000");
    edge_bad("max-connections: 10\nlistener-max-connections: 11\n", NULL,
             "edge.yaml:4: 'listener-max-connections' is 11, above 'max-connections' (10)");
    edge_bad("listener-max-connections: 10001\n", NULL,
             "edge.yaml:3: 'listener-max-connections' is 10001, above 'max-connections' (10000)");
    edge_bad("max-connections-per-client: 1000001\n", NULL,
             "edge.yaml:3: 'max-connections-per-client' is 1000001, must be between 1 and "
             "1000000");
    edge_bad("max-unauthenticated: -1\n", NULL,
             "edge.yaml:3: 'max-unauthenticated' is -1, must be between 1 and 1000000");
    edge_bad("tunnel-max-flows: none\n", NULL,
             "edge.yaml:3: 'tunnel-max-flows' must be an integer, not 'none'");
    edge_bad("user-max-flows: 0\n", NULL,
             "edge.yaml:3: 'user-max-flows' is 0, must be between 1 and 1000000");
    edge_bad("max-connection: 10\n", NULL, "edge.yaml:3: unknown key 'max-connection'");
}
END_TEST

/* client-ca: optional; a readable file holding PEM certificates. */
START_TEST(test_edge_client_ca)
{
    struct edge_config cfg;
    char top[400], want[400], pem[160], pem_key[160];

    ck_assert_msg(edge_parse(&cfg, "", NULL) == 0, "%s", err);
    ck_assert_ptr_null(cfg.client_ca);
    edge_config_fini(&cfg);

    snprintf(pem, sizeof(pem), "%s/client-ca.pem", tmpdir);
    snprintf(pem_key, sizeof(pem_key), "%s/client-ca.key", tmpdir);
    write_pem(pem, pem_key, "client test CA", "DNS:ca.example.test");
    snprintf(top, sizeof(top), "client-ca: %s\n", pem);
    ck_assert_msg(edge_parse(&cfg, top, NULL) == 0, "%s", err);
    ck_assert_str_eq(cfg.client_ca, pem);
    edge_config_fini(&cfg);
    ck_assert_ptr_null(cfg.client_ca);

    edge_bad("client-ca: /nonexistent/ca.pem\n", NULL,
             "edge.yaml:3: 'client-ca': cannot read '/nonexistent/ca.pem': No such file or "
             "directory");
    snprintf(top, sizeof(top), "client-ca: %s\n", ca); /* "ca\n": not PEM */
    snprintf(want, sizeof(want), "edge.yaml:3: 'client-ca': '%s' holds no PEM certificate", ca);
    edge_bad(top, NULL, want);
    snprintf(top, sizeof(top), "client-ca: %s\n", pem_key); /* PEM, but a key only */
    snprintf(want, sizeof(want), "edge.yaml:3: 'client-ca': '%s' holds no PEM certificate",
             pem_key);
    edge_bad(top, NULL, want);
    snprintf(top, sizeof(top), "client-ca: %s\n", tmpdir);
    snprintf(want, sizeof(want), "edge.yaml:3: 'client-ca': '%s' is not a regular file", tmpdir);
    edge_bad(top, NULL, want);
    edge_bad("client-ca: [a, b]\n", NULL, "edge.yaml:3: 'client-ca' must be a non-empty string");
    unlink(pem);
    unlink(pem_key);
}
END_TEST

/* registry, edge-id, relay-listen: the fleet (docs/fleet.md). */
static void registry_bad(const char *top, const char *want)
{
    struct edge_config cfg;
    ck_assert_int_lt(edge_parse(&cfg, top, NULL), 0);
    ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err, want);
    ck_assert(!strstr(err, "hunter2"));
}

START_TEST(test_edge_registry)
{
    struct edge_config cfg;
    char host[256] = "", top[512];

    ck_assert_msg(edge_parse(&cfg, "", NULL) == 0, "%s", err);
    ck_assert(!cfg.has_registry && !cfg.has_relay);
    ck_assert_ptr_null(cfg.edge_id);
    edge_config_fini(&cfg);
    ck_assert_msg(edge_parse(&cfg,
                             "registry:\n  url: redis://edge:hunter2@192.0.2.50:6379/2\n"
                             "edge-id: edge-1\n",
                             NULL) == 0,
                  "%s", err);
    ck_assert(cfg.has_registry && !cfg.has_relay); /* relay-listen: test_edge_relay_tls */
    ck_assert_str_eq(cfg.registry_url, "redis://edge:hunter2@192.0.2.50:6379/2");
    ck_assert_str_eq(cfg.edge_id, "edge-1");
    edge_config_fini(&cfg);
    snprintf(top, sizeof(top),
             "registry:\n  url: rediss://:pw@[2001:db8::50]\n  ca: %s\n"
             "  server-name: registry.example\n",
             ca);
    ck_assert_msg(edge_parse(&cfg, top, NULL) == 0, "%s", err);
    ck_assert_str_eq(cfg.registry_ca, ca);
    ck_assert_str_eq(cfg.registry_name, "registry.example");
    gethostname(host, sizeof(host) - 1);
    if (edge_fleet_id_valid(host)) /* default: the host name */
        ck_assert_str_eq(cfg.edge_id, host);
    edge_config_fini(&cfg);

    registry_bad("registry:\n  url: http://192.0.2.50\n",
                 "edge.yaml:4: 'registry.url': registry URL: must start with redis://");
    registry_bad("registry:\n  url: redis://:hunter2@registry_1.example\n",
                 "edge.yaml:4: 'registry.url': registry URL: host must be an IPv4 address, an "
                 "IPv6 address in brackets or a host name (letters, digits, '-', dots)");
    registry_bad("registry:\n  ca: /etc/passwd\n", "missing required key 'url'");
    registry_bad("registry: redis://192.0.2.50\n", "'registry' must be a mapping");
    registry_bad("registry:\n  url: redis://192.0.2.50\n  password: x\n", "unknown key 'password'");
    registry_bad("registry:\n  url: redis://192.0.2.50\n  server-name: r.example\n",
                 "edge.yaml:4: 'registry.ca' and 'registry.server-name' need a rediss:// URL");
    registry_bad("registry:\n  url: rediss://192.0.2.50\n  ca: /nonexistent.pem\n",
                 "cannot read '/nonexistent.pem'");
    registry_bad("edge-id: \"edge 1\"\n", "edge.yaml:3: 'edge-id' must be 1..63 letters");
    registry_bad("relay-listen: 0.0.0.0:7844\n", "'relay-listen' 0.0.0.0:7844 clashes with "
                                                 "'tunnel-listen' 0.0.0.0:7844 (same port)");
}
END_TEST

/* registry: {url, password-file: file} (password-file on line 5), parsed into cfg */
static int parse_pw(struct edge_config *cfg, const char *url, const char *file)
{
    char top[512];
    snprintf(top, sizeof(top), "registry:\n  url: %s\n  password-file: %s\nedge-id: e1\n", url,
             file);
    return edge_parse(cfg, top, NULL);
}

static void pw_ok(const char *url, const char *file, const char *want)
{
    struct edge_config cfg;
    ck_assert_msg(parse_pw(&cfg, url, file) == 0, "%s", err);
    ck_assert_str_eq(cfg.registry_password, want);
    ck_assert_str_eq(cfg.registry_url, url);
    edge_config_fini(&cfg);
    ck_assert_ptr_null(cfg.registry_password);
}

static void pw_bad(const char *url, const char *file, const char *want)
{
    struct edge_config cfg;
    ck_assert_int_lt(parse_pw(&cfg, url, file), 0);
    ck_assert_str_eq(err, want);
}

/* registry.password-file: the password out of the URL (and of the configuration file). */
START_TEST(test_edge_registry_password)
{
    char pw[160], want[400];

    snprintf(pw, sizeof(pw), "%s/registry.secret", tmpdir);
    write_file(pw, "\n  hunter2 with spaces\t\n");
    pw_ok("redis://registry.lab.test:6380", pw, "hunter2 with spaces");
    pw_ok("rediss://edge:@[2001:db8::50]", pw,
          "hunter2 with spaces"); /* user: URL, password: file */

    pw_bad("redis://:hunter2@192.0.2.50", pw,
           "edge.yaml:5: 'registry.password-file' and a password in 'registry.url' are mutually "
           "exclusive");
    registry_bad("registry:\n  url: redis://edge:@192.0.2.50\n",
                 "edge.yaml:4: 'registry.url' names the user 'edge' but no password: add it or "
                 "set 'registry.password-file'");
    pw_bad("redis://192.0.2.50", "/nonexistent.secret",
           "edge.yaml:5: 'registry.password-file': cannot read '/nonexistent.secret': No such "
           "file or directory");
    snprintf(want, sizeof(want),
             "edge.yaml:5: 'registry.password-file': '%s' is not a regular file", tmpdir);
    pw_bad("redis://192.0.2.50", tmpdir, want);
    snprintf(want, sizeof(want),
             "edge.yaml:5: 'registry.password-file': file '%s' must hold the password (1..511 "
             "bytes, no NUL; surrounding whitespace is ignored)",
             pw);
    static const char *const empty[] = {"", " \n\t\n", NULL};
    for (size_t i = 0; i < 3; i++) {
        if (empty[i])
            write_file(pw, empty[i]);
        else { /* a NUL byte inside */
            FILE *f = fopen(pw, "w");
            ck_assert_ptr_nonnull(f);
            fwrite("hun\0ter2", 1, 8, f);
            fclose(f);
        }
        pw_bad("redis://192.0.2.50", pw, want);
    }
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    write_file(pw, big);
    pw_bad("redis://192.0.2.50", pw, want);
    unlink(pw);
}
END_TEST

/* relay-ca, relay-cert, relay-key: all or none, with the registry; relay-listen needs them. */
START_TEST(test_edge_relay_tls)
{
    struct edge_config cfg;
    char top[800], pem[160], pem_key[160], buf[64];
    static const char reg[] = "registry:\n  url: redis://192.0.2.50\nedge-id: e1\n";

    snprintf(pem, sizeof(pem), "%s/fleet-ca.pem", tmpdir);
    snprintf(pem_key, sizeof(pem_key), "%s/fleet-ca.key", tmpdir);
    write_pem(pem, pem_key, "fleet test CA", "DNS:ca.example.test");
    snprintf(top, sizeof(top),
             "%srelay-listen: 192.0.2.1:7845\nrelay-ca: %s\nrelay-cert: %s\n"
             "relay-key: %s\n",
             reg, pem, cert, key);
    ck_assert_msg(edge_parse(&cfg, top, NULL) == 0, "%s", err);
    ck_assert(cfg.has_relay);
    st_sockaddr_format(&cfg.relay_listen, buf, sizeof(buf));
    ck_assert_str_eq(buf, "192.0.2.1:7845");
    ck_assert_str_eq(cfg.relay_ca, pem);
    ck_assert_str_eq(cfg.relay_cert, cert);
    ck_assert_str_eq(cfg.relay_key, key);
    ck_assert_int_eq(cfg.relay_idle_timeout_ms, 60000); /* the default */
    edge_config_fini(&cfg);
    ck_assert_ptr_null(cfg.relay_ca);
    /* a relaying edge that accepts no relayed flow */
    snprintf(top, sizeof(top), "%srelay-ca: %s\nrelay-cert: %s\nrelay-key: %s\n", reg, pem, cert,
             key);
    ck_assert_msg(edge_parse(&cfg, top, NULL) == 0, "%s", err);
    ck_assert(!cfg.has_relay && cfg.relay_cert);
    edge_config_fini(&cfg);
    snprintf(top, sizeof(top), "%srelay-idle-timeout: 5\n", reg);
    ck_assert_msg(edge_parse(&cfg, top, NULL) == 0, "%s", err);
    ck_assert_int_eq(cfg.relay_idle_timeout_ms, 5000);
    edge_config_fini(&cfg);
    snprintf(top, sizeof(top), "%srelay-idle-timeout: 0\n", reg);
    registry_bad(top, "edge.yaml:6: 'relay-idle-timeout'");

    registry_bad(
        "registry:\n  url: redis://192.0.2.50\nedge-id: e1\nrelay-listen: 192.0.2.1:7845\n",
        "edge.yaml:6: 'relay-listen' needs 'relay-ca', 'relay-cert' and 'relay-key'");
    snprintf(top, sizeof(top), "%srelay-ca: %s\nrelay-key: %s\n", reg, pem, key);
    registry_bad(top, "edge.yaml:6: 'relay-ca', 'relay-cert' and 'relay-key' go together "
                      "('relay-cert' missing)");
    snprintf(top, sizeof(top), "relay-ca: %s\nrelay-cert: %s\nrelay-key: %s\n", pem, cert, key);
    registry_bad(top, "edge.yaml:3: 'relay-ca' needs 'registry'");
    snprintf(top, sizeof(top), "%srelay-ca: %s\nrelay-cert: %s\nrelay-key: %s\n", reg, ca, cert,
             key);
    registry_bad(top, "holds no PEM certificate");
    snprintf(top, sizeof(top), "%srelay-ca: %s\nrelay-cert: /nonexistent.crt\nrelay-key: %s\n", reg,
             pem, key);
    registry_bad(top, "edge.yaml:7: 'relay-cert': cannot read '/nonexistent.crt'");
    unlink(pem);
    unlink(pem_key);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_config");
    TCase *tc = tcase_create("edge");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_edge_good_defaults);
    tcase_add_test(tc, test_edge_good_full);
    tcase_add_test(tc, test_edge_jwt);
    tcase_add_test(tc, test_edge_secrets_and_host_acls);
    tcase_add_test(tc, test_edge_listeners_off);
    tcase_add_test(tc, test_edge_listener_lists);
    tcase_add_test(tc, test_edge_listener_lists_bad);
    tcase_add_test(tc, test_edge_errors);
    tcase_add_test(tc, test_edge_load);
    tcase_add_test(tc, test_edge_timers);
    tcase_add_test(tc, test_edge_limits);
    tcase_add_test(tc, test_edge_caps);
    tcase_add_test(tc, test_edge_client_ca);
    tcase_add_test(tc, test_edge_registry);
    tcase_add_test(tc, test_edge_registry_password);
    tcase_add_test(tc, test_edge_relay_tls);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
