#ifndef SUBTUNNEL_GW_INGRESS_H
#define SUBTUNNEL_GW_INGRESS_H

/* Hostname ingress rules (cloudflared-like), from the gateway's `ingress:` list: an
 * ordered list of {hostname, path | path-regex, service, origin options}; the first rule
 * that matches a request's host and path picks its origin. The last rule must match
 * everything (no hostname, no path). Pure: parsing from the config tree and matching. */

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

/* The longest normalised request path (query excluded) that is matched; longer ones are
 * refused (414), never taken as matching no rule. The edge's HTTP/1.1 visitor listener
 * refuses request targets longer than this already. */
#define GW_INGRESS_PATH_MAX 8192

/* Origin admission defaults (see gw_origin.h). Connections being opened to one origin at
 * once: under the smallest listen backlog in common use (5, Python's socketserver), since a
 * listener drops the connections that overflow its queue and lwIP tries again only after
 * seconds. Requests waiting for a connection to one origin: about what the edge lets a
 * tunnel have open (tunnel-max-requests, 1000). */
#define GW_INGRESS_MAX_CONNECTING 4
#define GW_INGRESS_MAX_QUEUED 1024
#define GW_INGRESS_QUEUE_MAX 100000

struct st_cfg;
struct st_cfg_node;

enum gw_ingress_kind {
    GW_INGRESS_HTTP,   /* service: http://ip:port */
    GW_INGRESS_HTTPS,  /* service: https://ip:port */
    GW_INGRESS_STATUS, /* service: http_status:NNN (answered by the gateway) */
};

struct gw_ingress_rule {
    char *hostname;    /* lower-case; "*.example.net" matches any name below it; NULL: any */
    char *path_prefix; /* path: normalised request path starts with it (itself normalised,
                          st_uri_normalize); NULL: any */
    bool has_regex;    /* path-regex: POSIX extended regex, searched in the normalised path */
    regex_t path_regex;
    enum gw_ingress_kind kind;
    struct st_sockaddr origin; /* HTTP/HTTPS */
    int status;                /* STATUS */
    char *service;             /* as written, for logs */
    bool no_tls_verify;        /* origin.no-tls-verify (https) */
    char *ca_file;             /* origin.ca-file (https; default: system CAs) */
    char *server_name;         /* origin.server-name (https SNI / verification; default none) */
    int connect_timeout_ms;    /* origin.connect-timeout, default 10 s */
    int keep_alive_conns;      /* origin.keep-alive-connections, default 100, 0..1024 */
    int keep_alive_timeout_ms; /* origin.keep-alive-timeout, default 90 s */
    int response_timeout_ms;   /* origin.response-timeout: request sent -> response head, 100 s */
    int max_connecting;        /* origin.max-connecting: being opened at once, default 4 */
    int max_queued;            /* origin.max-queued: waiting for a connection, default 1024 */
    int line;                  /* config line of the rule (for logs) */
};

struct gw_ingress {
    struct gw_ingress_rule *rules;
    size_t n_rules;
};

/* Parses the `ingress` list node into in (zeroed first). 0 or the st_cfg error (message
 * "FILE:LINE: reason" written through c). On error in holds what was parsed: call
 * gw_ingress_fini either way. */
int gw_ingress_parse(struct st_cfg *c, const struct st_cfg_node *n, struct gw_ingress *in);
void gw_ingress_fini(struct gw_ingress *in);
/* Normalises the request target (st_uri_normalize) into norm[0..cap) (cap > strlen(target)
 * always suffices) and picks the first rule matching host (any case, an optional ":port"
 * ignored) and the normalised path (up to '?'): the same text the origin is sent. 0 with
 * *rule set (NULL only for an empty rule list); -EINVAL for a target that cannot be
 * normalised (answer 400); -ENAMETOOLONG when the normalised path is longer than
 * GW_INGRESS_PATH_MAX (answer 414); -ENOSPC when norm is too small. */
int gw_ingress_match(const struct gw_ingress *in, const char *host, const char *target, char *norm,
                     size_t cap, const struct gw_ingress_rule **rule);

#endif
