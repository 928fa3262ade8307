#include "edge_users.h"

#include "st_config.h"
#include "st_token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const user_keys[] = {"name",        "groups",  "token-sha256",
                                        "client-cert", "expires", NULL};
static const char *const token_keys[] = {"name", "sha256", NULL};

/* Letters, digits and "._@-", as names travel in logs and audit records. */
bool edge_users_name_ok(const char *s)
{
    if (!*s || strlen(s) > EDGE_USER_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("._@-", *s)))
            return false;
    return true;
}

static int get_name(struct st_cfg *c, const struct st_cfg_node *map, const struct edge_users *u,
                    char **out)
{
    const struct st_cfg_node *v;
    int rc;
    if ((rc = st_cfg_require(c, map, "name", &v)) < 0 || (rc = st_cfg_strdup(c, v, out)) < 0)
        return rc;
    if (!edge_users_name_ok(*out))
        rc =
            st_cfg_fail(c, v->line, "'%s': a user name is 1-%d letters, digits or '._@-', not '%s'",
                        v->path, EDGE_USER_NAME_MAX, *out);
    else if (edge_users_by_name(u, *out))
        rc = st_cfg_fail(c, v->line, "'%s': user '%s' is defined twice", v->path, *out);
    if (rc < 0) { /* not counted in u yet: nobody else frees it */
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* A token SHA-256 not held by any user before this one. */
static int get_token(struct st_cfg *c, const struct st_cfg_node *v, const struct edge_users *u,
                     uint8_t out[32])
{
    const char *s = NULL;
    int rc = st_cfg_string(c, v, &s);
    if (rc < 0)
        return rc;
    if (st_hex_decode32(s, out) < 0)
        return st_cfg_fail(c, v->line, "'%s' must be 64 hex digits (a SHA-256)", v->path);
    for (size_t i = 0; i < u->n; i++)
        for (size_t k = 0; k < u->list[i].n_tokens; k++)
            if (st_hash_equal(u->list[i].tokens[k], out))
                return st_cfg_fail(c, v->line, "'%s': user '%s' has this token already", v->path,
                                   u->list[i].name);
    return 0;
}

static int get_tokens(struct st_cfg *c, const struct st_cfg_node *v, const struct edge_users *u,
                      struct edge_user *user)
{
    size_t n = st_cfg_items(v);
    if (!(user->tokens = calloc(n ? n : 1, sizeof(*user->tokens))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = get_token(c, st_cfg_item(v, i), u, user->tokens[i]);
        if (rc < 0)
            return rc;
        user->n_tokens++;
    }
    return 0;
}

/* client-cert: names no other user claims (one certificate name, one user). */
static int get_cert_names(struct st_cfg *c, const struct st_cfg_node *v, const struct edge_users *u,
                          struct edge_user *user)
{
    int rc = st_cfg_strlist(c, v, 255, &user->cert_names, &user->n_cert_names);
    for (size_t k = 0; rc == 0 && k < user->n_cert_names; k++)
        for (size_t i = 0; rc == 0 && i + 1 < u->n; i++)
            for (size_t j = 0; rc == 0 && j < u->list[i].n_cert_names; j++)
                if (strcmp(u->list[i].cert_names[j], user->cert_names[k]) == 0)
                    rc = st_cfg_fail(c, v->line, "'%s': user '%s' has client-cert '%s' already",
                                     v->path, u->list[i].name, user->cert_names[k]);
    return rc;
}

static int get_groups(struct st_cfg *c, const struct st_cfg_node *v, struct edge_user *user)
{
    int rc = st_cfg_strlist(c, v, EDGE_GROUP_NAME_MAX, &user->groups, &user->n_groups);
    for (size_t i = 0; rc == 0 && i < user->n_groups; i++)
        if (!edge_users_name_ok(user->groups[i]))
            rc =
                st_cfg_fail(c, v->line, "'%s': a group name is letters, digits or '._@-', not '%s'",
                            v->path, user->groups[i]);
    return rc;
}

static int get_user(struct st_cfg *c, const struct st_cfg_node *n, struct edge_users *u)
{
    struct edge_user *user = &u->list[u->n];
    const struct st_cfg_node *v;
    int rc;
    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, user_keys)) < 0 ||
        (rc = get_name(c, n, u, &user->name)) < 0)
        return rc;
    u->n++; /* owned from here on: edge_users_fini frees it */
    if ((v = st_cfg_get(n, "groups")) && (rc = get_groups(c, v, user)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "token-sha256")) && (rc = get_tokens(c, v, u, user)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "client-cert")) && (rc = get_cert_names(c, v, u, user)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "expires")) && (rc = st_cfg_time(c, v, &user->expires)) < 0)
        return rc;
    if (!user->n_tokens && !user->n_cert_names)
        return st_cfg_fail(c, n->line,
                           "'%s': user '%s' has no credential (token-sha256 or client-cert); "
                           "a user known only from signed tokens (jwt) needs no entry",
                           n->path, user->name);
    return 0;
}

/* access-tokens: {name, sha256}: a user without groups (legacy). */
static int get_legacy(struct st_cfg *c, const struct st_cfg_node *n, struct edge_users *u)
{
    struct edge_user *user = &u->list[u->n];
    const struct st_cfg_node *v;
    int rc;
    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, token_keys)) < 0 ||
        (rc = get_name(c, n, u, &user->name)) < 0)
        return rc;
    u->n++;
    user->legacy = true;
    if (!(user->tokens = calloc(1, sizeof(*user->tokens))))
        return -ENOMEM;
    if ((rc = st_cfg_require(c, n, "sha256", &v)) < 0 ||
        (rc = get_token(c, v, u, user->tokens[0])) < 0)
        return rc;
    user->n_tokens = 1;
    return 0;
}

int edge_users_parse(struct st_cfg *c, const struct st_cfg_node *n,
                     const struct st_cfg_node *tokens, struct edge_users *u)
{
    int rc = 0;
    memset(u, 0, sizeof(*u));
    if ((n && (rc = st_cfg_seq(c, n, 0)) < 0) || (tokens && (rc = st_cfg_seq(c, tokens, 0)) < 0))
        return rc;
    size_t total = (n ? n->n_children : 0) + (tokens ? tokens->n_children : 0);
    if (!(u->list = calloc(total + 1, sizeof(*u->list))))
        return -ENOMEM;
    for (size_t i = 0; tokens && rc == 0 && i < tokens->n_children; i++)
        rc = get_legacy(c, tokens->children[i], u);
    for (size_t i = 0; n && rc == 0 && i < n->n_children; i++)
        rc = get_user(c, n->children[i], u);
    return rc;
}

void edge_users_fini(struct edge_users *u)
{
    for (size_t i = 0; u && i < u->n; i++) {
        struct edge_user *user = &u->list[i];
        free(user->name);
        st_cfg_strlist_free(user->groups);
        free(user->tokens);
        st_cfg_strlist_free(user->cert_names);
    }
    if (u) {
        free(u->list);
        memset(u, 0, sizeof(*u));
    }
}

static bool expired(const struct edge_user *user, int64_t now)
{
    return user->expires && now >= user->expires;
}

const struct edge_user *edge_users_by_token(const struct edge_users *u, const uint8_t h[32],
                                            int64_t now)
{
    const struct edge_user *found = NULL;
    /* Every token is compared (constant time per token), whichever matches. */
    for (size_t i = 0; i < u->n; i++)
        for (size_t k = 0; k < u->list[i].n_tokens; k++)
            if (st_hash_equal(u->list[i].tokens[k], h))
                found = &u->list[i];
    return found && !expired(found, now) ? found : NULL;
}

const struct edge_user *edge_users_by_cert(const struct edge_users *u, const char *const *names,
                                           size_t n, int64_t now, size_t *matched)
{
    for (size_t j = 0; j < n; j++) /* the certificate's names in their order of preference */
        for (size_t i = 0; i < u->n; i++) {
            const struct edge_user *user = &u->list[i];
            for (size_t k = 0; k < user->n_cert_names; k++)
                if (strcmp(user->cert_names[k], names[j]) == 0) {
                    if (matched)
                        *matched = j;
                    return expired(user, now) ? NULL : user;
                }
        }
    return NULL;
}

const struct edge_user *edge_users_by_name(const struct edge_users *u, const char *name)
{
    for (size_t i = 0; u && i < u->n; i++)
        if (u->list[i].name && strcmp(u->list[i].name, name) == 0)
            return &u->list[i];
    return NULL;
}

void edge_ident_from_user(struct edge_ident *id, const struct edge_user *user, int method,
                          const uint8_t cred[32])
{
    memset(id, 0, sizeof(*id));
    strncpy(id->user, user->name, sizeof(id->user) - 1);
    for (size_t i = 0; i < user->n_groups; i++)
        edge_ident_add_group(id, user->groups[i]);
    id->method = (uint8_t)method;
    id->legacy = user->legacy;
    memcpy(id->cred, cred, sizeof(id->cred));
    id->expires = user->expires;
}

void edge_ident_keep_groups(struct edge_ident *id, unsigned n)
{
    size_t used = 0;
    for (unsigned i = 0; i < n && i < id->n_groups; i++)
        used += strlen(id->groups + used) + 1;
    memset(id->groups + used, 0, sizeof(id->groups) - used);
    if (n < id->n_groups)
        id->n_groups = (uint8_t)n;
}

bool edge_ident_in_group(const struct edge_ident *id, const char *group)
{
    const char *p = id->groups;
    for (unsigned i = 0; i < id->n_groups; i++, p += strlen(p) + 1)
        if (strcmp(p, group) == 0)
            return true;
    return false;
}

int edge_ident_add_group(struct edge_ident *id, const char *group)
{
    if (edge_ident_in_group(id, group))
        return 0;
    size_t used = 0, len = strlen(group);
    for (unsigned i = 0; i < id->n_groups; i++)
        used += strlen(id->groups + used) + 1;
    if (!len || used + len + 1 > EDGE_IDENT_GROUPS || id->n_groups == UINT8_MAX)
        return -ENOSPC;
    memcpy(id->groups + used, group, len + 1);
    id->n_groups++;
    return 0;
}

const char *edge_auth_method_name(int method)
{
    switch (method) {
    case EDGE_AUTH_TOKEN:
        return "token";
    case EDGE_AUTH_CERT:
        return "cert";
    case EDGE_AUTH_JWT:
        return "jwt";
    default:
        return "none";
    }
}
