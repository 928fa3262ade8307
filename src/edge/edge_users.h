#ifndef SUBTUNNEL_EDGE_USERS_H
#define SUBTUNNEL_EDGE_USERS_H

/* Who a user is: the `users:` section of the edge config (and the older `access-tokens`,
 * users without groups), the identity a request authenticated as, and the lookups from a
 * credential to a user. Pure: no sockets, the time passed in. See docs/configuration.md. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_cfg;
struct st_cfg_node;

#define EDGE_USER_NAME_MAX 63
#define EDGE_GROUP_NAME_MAX 63
#define EDGE_IDENT_GROUPS 255 /* bytes of an identity's group list (NUL-separated) */

enum edge_auth_method {
    EDGE_AUTH_NONE = 0,
    EDGE_AUTH_TOKEN, /* an access token (Basic password or Bearer) */
    EDGE_AUTH_CERT,  /* a client certificate on a TLS listener */
    EDGE_AUTH_JWT,   /* a signed bearer token (JWT) */
};

struct edge_user {
    char *name;
    char **groups; /* NULL-terminated */
    size_t n_groups;
    uint8_t (*tokens)[32]; /* token-sha256 */
    size_t n_tokens;
    char **cert_names; /* client-cert: names matched against a certificate (NULL-terminated) */
    size_t n_cert_names;
    int64_t expires; /* seconds since the epoch; 0: never */
    bool legacy;     /* from access-tokens: reaches everything when there is no access-policy */
};

struct edge_users {
    struct edge_user *list;
    size_t n;
};

/* What a request authenticated as. Copied into each flow (no pointer into the config, which
 * a reload replaces). cred identifies the credential: a token's SHA-256, the SHA-256 of a
 * client certificate name ("cert:" + name) or of a JWT. */
struct edge_ident {
    char user[EDGE_USER_NAME_MAX + 1];
    char groups[EDGE_IDENT_GROUPS + 1]; /* "a\0b\0": n_groups names */
    uint8_t n_groups;
    uint8_t n_own_groups; /* signed token: its own groups, first in the list (the rest come
                             from a users entry of the same name and may change on reload) */
    uint8_t method;       /* enum edge_auth_method */
    bool legacy;
    uint8_t cred[32];
    int64_t expires; /* 0: never */
};

/* Parses `users:` (n: a sequence, or NULL) and `access-tokens:` (tokens: a sequence, or
 * NULL) into *u (zeroed first). Names are unique across both; a token may belong to one
 * user only. Errors go to c's buffer (-EINVAL) or -ENOMEM. */
int edge_users_parse(struct st_cfg *c, const struct st_cfg_node *n,
                     const struct st_cfg_node *tokens, struct edge_users *u);
/* Frees everything u owns and zeroes it; accepts a zeroed u. */
void edge_users_fini(struct edge_users *u);

/* The user holding the token whose SHA-256 is h, unless expired at now; NULL otherwise. */
const struct edge_user *edge_users_by_token(const struct edge_users *u, const uint8_t h[32],
                                            int64_t now);
/* The user claiming the first of names[0..n) (in that order of preference) that any user's
 * client-cert lists, unless expired; *matched gets that name's index. */
const struct edge_user *edge_users_by_cert(const struct edge_users *u, const char *const *names,
                                           size_t n, int64_t now, size_t *matched);
/* The user called name (any expiry), or NULL. */
const struct edge_user *edge_users_by_name(const struct edge_users *u, const char *name);

/* 1-63 letters, digits or "._@-": user and group names (they travel in logs and records). */
bool edge_users_name_ok(const char *s);
/* Fills id from a configured user. */
void edge_ident_from_user(struct edge_ident *id, const struct edge_user *user, int method,
                          const uint8_t cred[32]);
/* Adds a group to id (skipped when already there); -ENOSPC when the list is full. */
int edge_ident_add_group(struct edge_ident *id, const char *group);
/* Keeps id's first n groups, drops the rest. */
void edge_ident_keep_groups(struct edge_ident *id, unsigned n);
/* True when id is in group. */
bool edge_ident_in_group(const struct edge_ident *id, const char *group);
/* "token", "cert", "jwt" or "none". */
const char *edge_auth_method_name(int method);

#endif
