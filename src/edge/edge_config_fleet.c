#include "edge_config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_fcache.h"
#include "st_redis.h"
#include "st_tls.h"

static const char *const registry_keys[] = {"url", "password-file", "ca", "server-name", NULL};

#define REGISTRY_PASSWORD_MAX 512

/* edge-id: a fleet id; absent: the host name (which must then be one). */
static int get_edge_id(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    const struct st_cfg_node *v = st_cfg_get(root, "edge-id");
    char host[256] = "";
    int rc = v ? st_cfg_strdup(c, v, &cfg->edge_id) : 0;
    if (rc < 0)
        return rc;
    if (v && !edge_fleet_id_valid(cfg->edge_id))
        return st_cfg_fail(c, v->line, "'edge-id' must be 1..63 letters, digits, '.', '_' or '-'");
    if (v || !cfg->has_registry)
        return 0;
    gethostname(host, sizeof(host) - 1);
    if (!edge_fleet_id_valid(host))
        return st_cfg_fail(c, 1,
                           "the host name '%.64s' is no fleet id (1..63 letters, digits, '.', "
                           "'_', '-'): set 'edge-id'",
                           host);
    cfg->edge_id = strdup(host);
    return cfg->edge_id ? 0 : -ENOMEM;
}

/* registry.password-file, or the password of the URL (one of them at most); a user in the
 * URL needs a password. */
static int get_password(struct st_cfg *c, const struct st_cfg_node *r, const struct st_redis_url *u,
                        struct edge_config *cfg)
{
    const struct st_cfg_node *f = st_cfg_get(r, "password-file");
    char buf[REGISTRY_PASSWORD_MAX];
    const char *path;
    int rc;
    if (!f) {
        if (u->user && !u->password)
            return st_cfg_fail(c, st_cfg_get(r, "url")->line,
                               "'registry.url' names the user '%s' but no password: add it or "
                               "set 'registry.password-file'",
                               u->user);
        return 0;
    }
    if (u->password)
        return st_cfg_fail(c, f->line,
                           "'registry.password-file' and a password in 'registry.url' are "
                           "mutually exclusive");
    if ((rc = st_cfg_secret_file(c, f, buf, sizeof(buf), &path)) < 0)
        return rc;
    if (buf[0] && !(cfg->registry_password = strdup(buf)))
        rc = -ENOMEM;
    explicit_bzero(buf, sizeof(buf));
    if (rc == 0 && !cfg->registry_password)
        return st_cfg_fail(c, f->line,
                           "'registry.password-file': file '%s' must hold the password (1..%d "
                           "bytes, no NUL; surrounding whitespace is ignored)",
                           path, REGISTRY_PASSWORD_MAX - 1);
    return rc;
}

/* registry: {url, password-file, ca, server-name}: the fleet's Redis (docs/fleet.md). */
static int get_registry(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    const struct st_cfg_node *r = st_cfg_get(root, "registry"), *v;
    struct st_redis_url u;
    char err[200];
    int rc;
    if (r) {
        cfg->has_registry = true;
        if ((rc = st_cfg_map(c, r)) < 0 || (rc = st_cfg_check_keys(c, r, registry_keys)) < 0 ||
            (rc = st_cfg_require(c, r, "url", &v)) < 0 ||
            (rc = st_cfg_strdup(c, v, &cfg->registry_url)) < 0)
            return rc;
        if ((rc = st_redis_url_parse(cfg->registry_url, &u, err, sizeof(err))) < 0)
            return rc == -ENOMEM ? rc : st_cfg_fail(c, v->line, "'registry.url': %s", err);
        bool tls = u.tls;
        rc = get_password(c, r, &u, cfg);
        st_redis_url_fini(&u);
        if (rc < 0)
            return rc;
        const char *path;
        if ((v = st_cfg_get(r, "ca")) && ((rc = st_cfg_readable_file(c, v, &path)) < 0 ||
                                          (rc = st_cfg_strdup(c, v, &cfg->registry_ca)) < 0))
            return rc;
        if ((v = st_cfg_get(r, "server-name")) &&
            (rc = st_cfg_strdup(c, v, &cfg->registry_name)) < 0)
            return rc;
        if (!tls && (cfg->registry_ca || cfg->registry_name))
            return st_cfg_fail(c, r->line,
                               "'registry.ca' and 'registry.server-name' need a rediss:// URL");
    }
    return get_edge_id(c, root, cfg);
}

/* relay-ca, relay-cert, relay-key: the fleet's mutual TLS between edges, all three or none;
 * relay-listen needs them, and they need the registry (holders come from its cache). */
static int get_relay(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    const struct st_cfg_node *ca = st_cfg_get(root, "relay-ca");
    const struct st_cfg_node *crt = st_cfg_get(root, "relay-cert");
    const struct st_cfg_node *k = st_cfg_get(root, "relay-key");
    const char *path = NULL;
    char why[400];
    int rc;
    if (!ca && !crt && !k) {
        if (cfg->has_relay)
            return st_cfg_fail(c, st_cfg_get(root, "relay-listen")->line,
                               "'relay-listen' needs 'relay-ca', 'relay-cert' and 'relay-key'");
        return 0;
    }
    if (!ca || !crt || !k)
        return st_cfg_fail(c,
                           (ca    ? ca
                            : crt ? crt
                                  : k)
                               ->line,
                           "'relay-ca', 'relay-cert' and 'relay-key' go together (%s missing)",
                           !ca    ? "'relay-ca'"
                           : !crt ? "'relay-cert'"
                                  : "'relay-key'");
    if (!cfg->has_registry)
        return st_cfg_fail(c, ca->line,
                           "'relay-ca' needs 'registry' (the relay asks it who holds "
                           "a tunnel)");
    if ((rc = st_cfg_readable_file(c, ca, &path)) < 0)
        return rc;
    if (st_tls_ca_check(path, why, sizeof(why)) < 0)
        return st_cfg_fail(c, ca->line, "'relay-ca': %s", why);
    if ((rc = st_cfg_strdup(c, ca, &cfg->relay_ca)) < 0 ||
        (rc = edge_config_file_of(c, root, "relay-cert", &cfg->relay_cert)) < 0)
        return rc;
    return edge_config_file_of(c, root, "relay-key", &cfg->relay_key);
}

int edge_config_fleet(struct st_cfg *c, const struct st_cfg_node *root, struct edge_config *cfg)
{
    int rc = get_registry(c, root, cfg);
    if (rc == 0)
        rc = st_cfg_opt_int(c, root, "relay-idle-timeout", 1, 86400, 1000,
                            &cfg->relay_idle_timeout_ms);
    return rc < 0 ? rc : get_relay(c, root, cfg);
}
