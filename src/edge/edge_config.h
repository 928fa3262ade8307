#ifndef SUBTUNNEL_EDGE_CONFIG_H
#define SUBTUNNEL_EDGE_CONFIG_H

/* subtunnel-edge configuration file (YAML); see docs/configuration.md. */

#include "edge_jwt.h"
#include "edge_policy.h"
#include "edge_users.h"
#include "st_addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDGE_TUNNEL_SECRETS 2

/* Addresses one listener key may list (tunnel-listen, access-listen, access-tls-listen,
 * http-listen, https-listen: a string or a YAML list of them). */
#define EDGE_LISTEN_ADDRS 4

/* A listener key's addresses after its first (the key's own field holds the first). */
struct edge_listen_more {
    struct st_sockaddr a[EDGE_LISTEN_ADDRS - 1];
    size_t n;
};

/* A host name that requires users: visitors must authenticate as one of `users` or a
 * member of one of `groups`. Both NULL: public (the default). */
struct edge_host_acl {
    char **users, **groups; /* NULL-terminated */
    size_t n_users, n_groups;
};

struct edge_tunnel_conf {
    char *id;
    uint8_t secret_sha256[EDGE_TUNNEL_SECRETS][32]; /* secret-sha256: one, or two while rotating */
    size_t n_secrets;
    struct st_cidr *routes;
    size_t n_routes;
    char **hostnames; /* lower-cased */
    size_t n_hostnames;
    struct edge_host_acl *host_acls; /* one per host name */
    char **may_reach_ids; /* may-reach: tunnels whose routes this tunnel's sites may reach */
    size_t n_may_reach_ids;
    struct st_cidr *may_reach_cidrs; /* may-reach: CIDRs (within any tunnel) it may reach */
    size_t n_may_reach_cidrs;
};

struct edge_cert {
    char *cert_file, *key_file;
};

struct edge_config {
    int log_level;                    /* log-level: error|warn|info|debug (default info) */
    char *location;                   /* location: default "edge" */
    struct st_sockaddr tunnel_listen; /* tunnel-listen: default 0.0.0.0:7844 */
    /* the other addresses of the listener keys given as lists */
    struct edge_listen_more tunnel_more, access_more, access_tls_more, http_more, https_more;
    bool has_access, has_access_tls;      /* false: "off" */
    struct st_sockaddr access_listen;     /* access-listen: default 127.0.0.1:8080 (CONNECT, h2c) */
    bool has_access6;                     /* access-listen6 given (default: none) */
    struct st_sockaddr access_listen6;    /* a second access listener, e.g. [2001:db8::1]:8080 */
    struct st_sockaddr access_tls_listen; /* access-tls-listen: default 0.0.0.0:8443 */
    char *cert_file, *key_file;           /* cert:, key: required, must be readable files */
    bool has_http, has_https;             /* hostname ingress (visitors) */
    struct st_sockaddr http_listen;       /* http-listen: optional, HTTP/1.1 */
    struct st_sockaddr https_listen;      /* https-listen: optional, TLS (ALPN h2, http/1.1) */
    struct edge_cert *https_certs;        /* https-certs: by SNI; none: cert/key */
    size_t n_https_certs;
    /* client-ca: optional PEM CA bundle; when set the access TLS and visitor HTTPS listeners
     * ask for client certificates and verify them against it. NULL: none asked. */
    char *client_ca;
    struct edge_tunnel_conf *tunnels; /* tunnels: list, >=1, ids unique */
    size_t n_tunnels;
    struct edge_users users;   /* users: and access-tokens: (users without groups) */
    struct edge_policy policy; /* access-policy: rules, first match wins, default deny */
    bool has_jwt;              /* jwt: signed bearer tokens from an identity provider */
    struct edge_jwt_conf jwt;
    struct edge_jwks *jwks;    /* jwt.jwks-file, loaded with the configuration */
    int grace_period_ms;       /* grace-period: seconds, default 30, 0..3600 */
    int heartbeat_interval_ms; /* heartbeat-interval: seconds, default 5, 1..300 */
    int heartbeat_count;       /* heartbeat-count: default 5, 1..100 */
    int send_timeout_ms;       /* send-timeout: seconds, default 60, 1..3600 */
    int flow_idle_timeout_ms;  /* flow-idle-timeout: seconds, default 3600, 0 (never)..86400 */
    /* Limits for peers that have not authenticated (users, visitors); see configuration.md */
    int idle_timeout_ms;     /* idle-timeout: seconds, default 60, 1..3600 */
    int request_timeout_ms;  /* request-timeout: seconds, default 10, 1..300 */
    int visitor_max_streams; /* visitor-max-streams: default 100, 1..1000 */
    int tunnel_max_requests; /* tunnel-max-requests: default 1000, 1..100000 */
    int log_refusals;        /* log-refusals: lines per second per kind, default 10, 1..10000 */
    int log_format;          /* log-format: text|json (default text) */
    bool has_metrics;        /* metrics-listen: default off */
    struct st_sockaddr metrics_listen; /* Prometheus text, /healthz, /ready (plain HTTP/1.1) */
    char *audit_log;                   /* audit-log: a file path or "stdout"; NULL: off */
    char *user, *group; /* user:, group: switch to them once the listeners are open; NULL: stay */
    /* Caps on connections and flows; see configuration.md */
    int max_connections;            /* max-connections: all listeners, default 10000 */
    int listener_max_connections;   /* listener-max-connections: default 4/5 of the above */
    int max_connections_per_client; /* max-connections-per-client: default 256 */
    int max_unauthenticated;        /* max-unauthenticated: default 1024 */
    int tunnel_max_flows;           /* tunnel-max-flows: default 32768 */
    int user_max_flows;             /* user-max-flows: per access token, default 4096 */
    /* The fleet registry (docs/fleet.md); off without `registry:` */
    bool has_registry;
    char *registry_url; /* registry.url: redis:// or rediss:// (checked with st_redis_url_parse) */
    char *registry_password; /* registry.password-file's content; NULL: none (wiped when freed) */
    char *registry_ca;       /* registry.ca: PEM CA bundle for rediss; NULL: the system's CAs */
    char *registry_name;     /* registry.server-name: rediss name to verify; NULL: the address */
    char *edge_id;           /* edge-id: default the host name (set when the registry is on) */
    bool has_relay;          /* relay-listen: the relay listener, advertised to the fleet */
    struct st_sockaddr relay_listen;
    /* relay-ca, relay-cert, relay-key: mutual TLS between edges (all or none; NULL: this
     * edge relays nothing and accepts no relayed flow) */
    char *relay_ca, *relay_cert, *relay_key;
    int relay_idle_timeout_ms; /* relay-idle-timeout: a relay connection without streams this
                                * long gets GOAWAY (default 60 s) */
};

/* True when secret's SHA-256 is one of t's secrets; that hash goes into used (when not NULL). */
bool edge_tunnel_secret_ok(const struct edge_tunnel_conf *t, const char *secret, uint8_t used[32]);
/* True when t lists the secret whose SHA-256 is h. */
bool edge_tunnel_has_secret(const struct edge_tunnel_conf *t, const uint8_t h[32]);

/* The edge's own descriptors beyond its accepted connections (listeners, epoll, timers,
 * signals, a config or certificate file being read on reload): RLIMIT_NOFILE should be at
 * least max-connections plus this. */
#define EDGE_FD_RESERVE 64

/* True when the cleartext access listener is on and bound beyond loopback (tokens would
 * cross the network unencrypted: worth a warning at start). */
bool edge_config_cleartext_exposed(const struct edge_config *cfg);
/* Loads and validates path into *cfg (overwritten; release with edge_config_fini). On failure
 * returns a negative errno, leaves *cfg zeroed and writes "FILE:LINE: reason" into err. */
int edge_config_load(const char *path, struct edge_config *cfg, char *err, size_t errlen);
/* Same from text[0..len); name is used in messages. */
int edge_config_parse(const char *text, size_t len, const char *name, struct edge_config *cfg,
                      char *err, size_t errlen);
/* Frees everything cfg owns and zeroes it; accepts a zeroed cfg. */
void edge_config_fini(struct edge_config *cfg);

#endif
