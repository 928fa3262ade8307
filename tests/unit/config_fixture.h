/* Shared by the configuration suites: temporary cert/key/CA/token files and the
 * edge config wrapper (test_config.c, test_edge_config.c). */
#ifndef SUBTUNNEL_CONFIG_FIXTURE_H
#define SUBTUNNEL_CONFIG_FIXTURE_H

#include "edge_config.h"
#include "gw_config.h"
#include "st_config.h"
#include "st_log.h"

#include "st_check.h"
#include "tls_fixture.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char tmpdir[64], cert[128], key[128], ca[128], tokfile[128];
static char err[512];
static char text[8192];

static inline void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
}

static inline void setup(void)
{
    strcpy(tmpdir, "/tmp/st_test_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(cert, sizeof(cert), "%s/edge.crt", tmpdir);
    snprintf(key, sizeof(key), "%s/edge.key", tmpdir);
    snprintf(ca, sizeof(ca), "%s/ca.crt", tmpdir);
    snprintf(tokfile, sizeof(tokfile), "%s/token", tmpdir);
    write_file(cert, "cert\n");
    write_file(key, "key\n");
    write_file(ca, "ca\n");
    write_file(tokfile, "\n  site-1:0123456789abcdefghij  \n");
}

static inline void teardown(void)
{
    unlink(cert);
    unlink(key);
    unlink(ca);
    unlink(tokfile);
    rmdir(tmpdir);
}

/* An edge config with extra_top lines, tunnels (NULL: one default) and one access token. */
static inline int edge_parse(struct edge_config *cfg, const char *extra_top, const char *tunnels)
{
    snprintf(text, sizeof(text),
             "cert: %s\n"
             "key: %s\n"
             "%s"
             "tunnels:\n%s"
             "access-tokens:\n"
             "  - name: alice\n"
             "    sha256: " HASH_A "\n",
             cert, key, extra_top,
             tunnels ? tunnels
                     : "  - id: site-1\n"
                       "    secret-sha256: " HASH_A "\n"
                       "    routes: [198.51.100.0/24, \"2001:db8:1::/48\"]\n"
                       "    hostnames: [App.Lab.Test, ws.lab.test]\n");
    return edge_config_parse(text, strlen(text), "edge.yaml", cfg, err, sizeof(err));
}

/* The edge config must fail with an error containing want. */
static inline void edge_bad(const char *top, const char *tunnels, const char *want)
{
    struct edge_config cfg;

    ck_assert_int_lt(edge_parse(&cfg, top, tunnels), 0);
    ck_assert_msg(strcmp(err, want) == 0, "got '%s', want '%s'", err, want);
    ck_assert_ptr_null(cfg.tunnels);
    ck_assert_ptr_null(cfg.location);
}

#endif
