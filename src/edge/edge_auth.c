#include "edge_auth.h"

#include "edge_config.h"
#include "edge_users.h"
#include "st_tls.h"
#include "st_token.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTH_MAX 8192 /* longest header value looked at (a JWT fits) */

static int fail(const char **why, const char *text)
{
    *why = text;
    return -EACCES;
}

/* A signed token's user: its claims, plus the groups of a `users` entry of the same name
 * (which must not have expired). Names policy rules could not name are refused rather than
 * cut: a cut name or a dropped group could slip past a deny rule. */
static int jwt_ident(const struct edge_config *cfg, const struct edge_jwt_claims *cl,
                     const uint8_t h[32], int64_t now, struct edge_ident *id, const char **why)
{
    memset(id, 0, sizeof(*id));
    if (!edge_users_name_ok(cl->user))
        return fail(why, "signed token: the user claim is not a user name (1-63 letters, "
                         "digits or ._@-)");
    memcpy(id->user, cl->user, strlen(cl->user) + 1);
    const struct edge_user *u = edge_users_by_name(&cfg->users, cl->user);
    if (u && u->expires && now >= u->expires)
        return fail(why, "signed token: user expired");
    for (size_t i = 0; i < cl->n_groups; i++)
        if (edge_ident_add_group(id, cl->groups[i]) < 0)
            return fail(why, "signed token: too many groups");
    id->n_own_groups = id->n_groups;
    for (size_t i = 0; u && i < u->n_groups; i++)
        if (edge_ident_add_group(id, u->groups[i]) < 0)
            return fail(why, "signed token: too many groups");
    id->method = EDGE_AUTH_JWT;
    memcpy(id->cred, h, 32);
    id->expires = cl->exp;
    return 0;
}

/* Why a signed token was refused, for logs and audit records (edge_jwt_reason's words). */
static const char *jwt_why(int rv)
{
    static const char *const texts[EDGE_JWT_NCODES] = {
        [-EDGE_JWT_ETOOLONG] = "signed token: too long",
        [-EDGE_JWT_EMALFORMED] = "signed token: malformed",
        [-EDGE_JWT_EALG] = "signed token: alg not allowed",
        [-EDGE_JWT_EKID] = "signed token: unknown kid",
        [-EDGE_JWT_ESIG] = "signed token: bad signature",
        [-EDGE_JWT_ENOEXP] = "signed token: no exp",
        [-EDGE_JWT_EEXPIRED] = "signed token: expired",
        [-EDGE_JWT_ENOTYET] = "signed token: not yet valid",
        [-EDGE_JWT_EISSUER] = "signed token: wrong issuer",
        [-EDGE_JWT_EAUDIENCE] = "signed token: wrong audience",
        [-EDGE_JWT_EUSER] = "signed token: bad user claim",
        [-EDGE_JWT_EGROUPS] = "signed token: bad groups claim",
        [-EDGE_JWT_ENOMEM] = "signed token: out of memory",
    };
    return rv < 0 && rv > -EDGE_JWT_NCODES && texts[-rv] ? texts[-rv] : "signed token: refused";
}

static bool looks_like_jwt(const char *tok, size_t len)
{
    const char *dot = memchr(tok, '.', len);
    return dot && memchr(dot + 1, '.', len - (size_t)(dot + 1 - tok));
}

static int by_token(const struct edge_config *cfg, const char *tok, size_t len, int64_t now,
                    struct edge_ident *id, const char **why)
{
    uint8_t h[32];
    st_sha256(tok, len, h);
    const struct edge_user *u = edge_users_by_token(&cfg->users, h, now);
    if (u) {
        edge_ident_from_user(id, u, EDGE_AUTH_TOKEN, h);
        return 0;
    }
    if (!cfg->has_jwt || !cfg->jwks || !looks_like_jwt(tok, len))
        return fail(why, "unknown or expired access token");
    struct edge_jwt_claims cl;
    char reason[128];
    int rv = edge_jwt_verify(cfg->jwks, &cfg->jwt, tok, len, now, &cl, reason, sizeof(reason));
    if (rv < 0)
        return fail(why, jwt_why(rv));
    return jwt_ident(cfg, &cl, h, now, id, why);
}

/* Basic: base64("user:token"); the user part is ignored (the token names its user). */
static int basic(const struct edge_config *cfg, const char *v, size_t len, int64_t now,
                 struct edge_ident *id, const char **why)
{
    unsigned char dec[AUTH_MAX];
    if (len > (sizeof(dec) / 3) * 4)
        return fail(why, "credential too long");
    int n = EVP_DecodeBlock(dec, (const unsigned char *)v, (int)len);
    /* EVP_DecodeBlock counts '=' padding as zero bytes: trim them. */
    for (size_t i = len; n > 0 && i > 0 && v[i - 1] == '='; i--)
        n--;
    if (n < 0)
        return fail(why, "malformed Basic credential");
    unsigned char *colon = memchr(dec, ':', (size_t)n);
    if (!colon)
        return fail(why, "malformed Basic credential");
    return by_token(cfg, (const char *)colon + 1, (size_t)(dec + n - colon - 1), now, id, why);
}

int edge_auth_header(const struct edge_config *cfg, const char *v, size_t len, int64_t now,
                     struct edge_ident *id, const char **why)
{
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (!len)
        return -ENOENT;
    if (len > AUTH_MAX)
        return fail(why, "credential too long");
    if (len > 7 && strncasecmp(v, "Bearer ", 7) == 0)
        return by_token(cfg, v + 7, len - 7, now, id, why);
    if (len > 6 && strncasecmp(v, "Basic ", 6) == 0)
        return basic(cfg, v + 6, len - 6, now, id, why);
    return fail(why, "unsupported authorization scheme (Basic or Bearer)");
}

static void cert_cred(const char *name, uint8_t h[32])
{
    char buf[300];
    int n = snprintf(buf, sizeof(buf), "cert:%s", name);
    st_sha256(buf, n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : 0, h);
}

int edge_auth_cert(const struct edge_config *cfg, const char *const *names, size_t n, int64_t now,
                   struct edge_ident *id)
{
    size_t k = 0;
    const struct edge_user *u = edge_users_by_cert(&cfg->users, names, n, now, &k);
    if (!u)
        return -EACCES;
    uint8_t h[32];
    cert_cred(names[k], h);
    edge_ident_from_user(id, u, EDGE_AUTH_CERT, h);
    return 0;
}

int edge_auth_tls(const struct edge_config *cfg, const struct st_tls_names *names, int64_t now,
                  struct edge_ident *id)
{
    const char *list[2 * ST_TLS_NAMES_MAX + 1];
    size_t n = 0;
    if (!names)
        return -ENOENT;
    for (size_t i = 0; i < names->n_emails; i++)
        list[n++] = names->emails[i];
    for (size_t i = 0; i < names->n_uris; i++)
        list[n++] = names->uris[i];
    if (names->cn[0] && n == 0) /* the subject CN only for a certificate without such SANs */
        list[n++] = names->cn;
    return edge_auth_cert(cfg, list, n, now, id);
}

int edge_auth_request(const struct edge_config *cfg, const char *value, size_t len,
                      const struct st_tls_names *names, int64_t now, struct edge_ident *id,
                      const char **why)
{
    int rc = edge_auth_header(cfg, value, len, now, id, why);
    if (rc != -ENOENT)
        return rc;
    *why = "missing";
    if (!names)
        return rc;
    rc = edge_auth_tls(cfg, names, now, id);
    if (rc < 0)
        *why = "client certificate: no user has its names (or that user expired)";
    return rc;
}

/* The user that holds id's credential in cfg (any expiry), or NULL. */
static const struct edge_user *holder(const struct edge_config *cfg, const struct edge_ident *id)
{
    const struct edge_users *us = &cfg->users;
    for (size_t i = 0; i < us->n; i++) {
        const struct edge_user *u = &us->list[i];
        for (size_t k = 0; id->method == EDGE_AUTH_TOKEN && k < u->n_tokens; k++)
            if (st_hash_equal(u->tokens[k], id->cred))
                return u;
        for (size_t k = 0; id->method == EDGE_AUTH_CERT && k < u->n_cert_names; k++) {
            uint8_t h[32];
            cert_cred(u->cert_names[k], h);
            if (st_hash_equal(h, id->cred))
                return u;
        }
    }
    return NULL;
}

int edge_auth_recheck(const struct edge_config *cfg, struct edge_ident *id, int64_t now,
                      const char **why)
{
    if (id->method == EDGE_AUTH_JWT) {
        const struct edge_user *u = edge_users_by_name(&cfg->users, id->user);
        if (!cfg->has_jwt)
            return fail(why, "signed tokens no longer accepted");
        if (u && u->expires && now >= u->expires)
            return fail(why, "user expired");
        edge_ident_keep_groups(id, id->n_own_groups); /* the entry's groups as they are now */
        for (size_t i = 0; u && i < u->n_groups; i++)
            edge_ident_add_group(id, u->groups[i]);
    }
    if (id->method != EDGE_AUTH_TOKEN && id->method != EDGE_AUTH_CERT)
        return id->expires && now >= id->expires ? fail(why, "credential expired") : 0;
    const struct edge_user *u = holder(cfg, id);
    if (!u)
        return fail(why, "credential removed");
    if (u->expires && now >= u->expires)
        return fail(why, "user expired");
    uint8_t cred[32];
    memcpy(cred, id->cred, sizeof(cred));
    edge_ident_from_user(id, u, id->method, cred);
    return 0;
}
