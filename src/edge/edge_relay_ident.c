#include "edge_relay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_auth.h"
#include "edge_users.h"
#include "st_token.h"

/* A relayed flow's identity: "user method cred-hex expires own legacy groups", the groups
 * comma-separated ("-" none). Names are edge_users_name_ok: no space, no comma. */

static const char *const methods[] = {"none", "token", "cert", "jwt"};

int edge_relay_ident_encode(const struct edge_ident *id, char *buf, size_t len)
{
    char cred[65], groups[EDGE_IDENT_GROUPS + 2] = "";
    size_t off = 0;
    for (int i = 0; i < 32; i++)
        snprintf(cred + 2 * i, 3, "%02x", id->cred[i]);
    const char *g = id->groups;
    for (unsigned i = 0; i < id->n_groups; i++) {
        off += (size_t)snprintf(groups + off, sizeof(groups) - off, "%s%s", i ? "," : "", g);
        g += strlen(g) + 1;
    }
    int n = snprintf(buf, len, "%s %s %s %" PRId64 " %u %d %s", id->user,
                     id->method < 4 ? methods[id->method] : "none", cred, id->expires,
                     id->n_own_groups, id->legacy ? 1 : 0, groups[0] ? groups : "-");
    return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int decode_groups(char *s, struct edge_ident *id)
{
    if (strcmp(s, "-") == 0)
        return 0;
    for (char *save = NULL, *g = strtok_r(s, ",", &save); g; g = strtok_r(NULL, ",", &save))
        if (!edge_users_name_ok(g) || edge_ident_add_group(id, g) < 0)
            return -EBADMSG;
    return 0;
}

int edge_relay_ident_decode(const char *s, size_t len, struct edge_ident *id)
{
    char copy[EDGE_RELAY_IDENT_MAX], user[EDGE_USER_NAME_MAX + 2], method[8], cred[66],
        groups[EDGE_IDENT_GROUPS + 2];
    int64_t expires;
    unsigned own, legacy;
    memset(id, 0, sizeof(*id));
    if (len >= sizeof(copy) || memchr(s, '\0', len))
        return -EBADMSG;
    memcpy(copy, s, len);
    copy[len] = '\0';
    int end = 0;
    if (sscanf(copy, "%64s %7s %65s %" SCNd64 " %u %u %256s%n", user, method, cred, &expires, &own,
               &legacy, groups, &end) != 7 ||
        (size_t)end != len || !edge_users_name_ok(user) || strlen(cred) != 64 || legacy > 1 ||
        expires < 0)
        return -EBADMSG;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(cred[2 * i]), lo = hexval(cred[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EBADMSG;
        id->cred[i] = (uint8_t)(hi << 4 | lo);
    }
    id->method = EDGE_AUTH_NONE;
    for (uint8_t m = EDGE_AUTH_TOKEN; m <= EDGE_AUTH_JWT; m++)
        if (strcmp(method, methods[m]) == 0)
            id->method = m;
    if (id->method == EDGE_AUTH_NONE || decode_groups(groups, id) < 0 || own > id->n_groups) {
        memset(id, 0, sizeof(*id));
        return -EBADMSG;
    }
    memcpy(id->user, user, strlen(user) + 1); /* edge_users_name_ok: at most 63 bytes */
    id->expires = expires;
    id->n_own_groups = (uint8_t)own;
    id->legacy = legacy;
    return 0;
}

bool edge_relay_is_visit(const char *method, const char *protocol)
{
    if (!method || !method[0])
        return false; /* not a request: the flow code answers it */
    if (strcmp(method, "CONNECT") != 0)
        return true;
    return protocol && strcmp(protocol, "websocket") == 0;
}

bool edge_relay_ident_accept(const struct edge_config *cfg, const char *s, size_t len, int64_t now,
                             struct edge_ident *id, const char **why)
{
    *why = NULL;
    if (edge_relay_ident_decode(s, len, id) == 0 && edge_auth_recheck(cfg, id, now, why) == 0)
        return true;
    if (!*why)
        *why = "bad relayed identity";
    return false;
}

int edge_relay_tunnel_decode(const char *s, size_t len, char *id, size_t cap)
{
    if (!cap)
        return -EBADMSG;
    id[0] = '\0';
    if (len == 0 || len >= cap || memchr(s, '\0', len))
        return -EBADMSG;
    memcpy(id, s, len);
    id[len] = '\0';
    if (!st_token_id_valid(id)) {
        id[0] = '\0';
        return -EBADMSG;
    }
    return 0;
}
