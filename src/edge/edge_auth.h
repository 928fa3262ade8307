#ifndef SUBTUNNEL_EDGE_AUTH_H
#define SUBTUNNEL_EDGE_AUTH_H

/* From a credential to an identity (edge_users.h): access tokens in Proxy-Authorization or
 * Authorization (Basic with the token as the password, or Bearer), client certificates.
 * Pure apart from the configuration passed in. Reasons never hold the credential. */

#include <stddef.h>
#include <stdint.h>

struct edge_config;
struct edge_ident;
struct st_tls_names;

/* Authenticates a header value: 0 with *id filled; -ENOENT when the value is empty;
 * -EACCES for an unknown, expired or malformed credential (*why: a static text saying which). */
int edge_auth_header(const struct edge_config *cfg, const char *value, size_t len, int64_t now,
                     struct edge_ident *id, const char **why);
/* Authenticates a verified client certificate by its names (CN, email and URI SANs): 0 with
 * *id filled, -EACCES when no user claims any of them (or that user expired). */
int edge_auth_cert(const struct edge_config *cfg, const char *const *names, size_t n, int64_t now,
                   struct edge_ident *id);
/* The same for a verified TLS client certificate's names (st_tls_peer_names): its email
 * SANs, then URI SANs, in that order; the subject CN only when it has neither. NULL names:
 * -ENOENT. */
int edge_auth_tls(const struct edge_config *cfg, const struct st_tls_names *names, int64_t now,
                  struct edge_ident *id);
/* A request's credential: the header value when there is one (len > 0), else the client
 * certificate's names (names may be NULL). 0 with *id; else -EACCES / -ENOENT with *why. */
int edge_auth_request(const struct edge_config *cfg, const char *value, size_t len,
                      const struct st_tls_names *names, int64_t now, struct edge_ident *id,
                      const char **why);
/* After a reload, or as time passes: 0 when id's credential still belongs to a user that has
 * not expired (id refreshed from the new configuration: groups), else -EACCES with *why. */
int edge_auth_recheck(const struct edge_config *cfg, struct edge_ident *id, int64_t now,
                      const char **why);

#endif
