#include "edge_visit.h"

#include <ctype.h>
#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int bad(const char **why, const char *text)
{
    *why = text;
    return -EINVAL;
}

/* Copies len bytes (lower-cased if asked) into the arena; NULL when full. */
static char *keep(struct edge_visit_h2 *o, const char *s, size_t len, bool lower)
{
    if (len + 1 > sizeof(o->arena) - o->used)
        return NULL;
    char *p = o->arena + o->used;
    for (size_t i = 0; i < len; i++)
        p[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
    p[len] = '\0';
    o->used += len + 1;
    return p;
}

static int add(struct edge_visit_h2 *o, const char *name, size_t nlen, const char *value,
               size_t vlen, bool lower_name)
{
    char *n = keep(o, name, nlen, lower_name), *v = n ? keep(o, value, vlen, false) : NULL;
    if (!v || o->n_nv == EDGE_VISIT_MAX_NV)
        return -E2BIG;
    o->nv[o->n_nv++] = (nghttp2_nv){(uint8_t *)n, (uint8_t *)v, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
    return 0;
}

static int addz(struct edge_visit_h2 *o, const char *name, const char *value)
{
    return add(o, name, strlen(name), value, strlen(value), false);
}

static bool is(const struct st_http_field *f, const char *name)
{
    return f->nlen == strlen(name) && strncasecmp(f->name, name, f->nlen) == 0;
}

/* subtunnel-*: the fleet's relay fields (subtunnel-identity, subtunnel-client...), set by
 * an edge, never taken from a visitor. */
static bool relay_own(const struct st_http_field *f)
{
    return f->nlen >= 10 && strncasecmp(f->name, "subtunnel-", 10) == 0;
}

static bool authority_ok(const char *a, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)a[i] <= ' ' || (unsigned char)a[i] >= 0x7f || strchr("/?#@\\", a[i]))
            return false;
    return true;
}

/* host part of an authority, lower case, without port or IPv6 brackets */
static void host_of(const char *a, size_t len, char *out, size_t cap)
{
    const char *end = a + len;
    if (a[0] == '[') {
        a++;
        const char *rb = memchr(a, ']', (size_t)(end - a));
        end = rb ? rb : end;
    } else {
        const char *colon = memchr(a, ':', len);
        end = colon ? colon : end;
    }
    size_t n = (size_t)(end - a) < cap - 1 ? (size_t)(end - a) : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)a[i]);
    out[n] = '\0';
}

/* The value of the request's single Host field; -EINVAL when none or several. */
static int find_host(const struct edge_visit_req *r, const struct st_http_field **host)
{
    *host = NULL;
    for (size_t i = 0; i < r->n_fields; i++) {
        if (!is(&r->fields[i], "host"))
            continue;
        if (*host)
            return -EINVAL;
        *host = &r->fields[i];
    }
    return *host ? 0 : -EINVAL;
}

/* :authority and :path from the target (origin-form + Host, absolute-form, asterisk). */
static int target(const struct edge_visit_req *r, const char **auth, size_t *alen,
                  const char **path, const char **why)
{
    const struct st_http_field *host;
    const char *t = r->target;
    int hrc = find_host(r, &host);

    if (strcmp(r->method, "CONNECT") == 0)
        return bad(why, "CONNECT is not served on this listener");
    if (hrc < 0)
        return bad(why, host ? "several Host fields" : "missing Host field");
    if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
        const char *a = strstr(t, "//") + 2;
        size_t n = strcspn(a, "/?#");
        *auth = a;
        *alen = n;
        *path = a[n] == '/' ? a + n : "/";
        if (a[n] == '?' || a[n] == '#')
            return bad(why, "absolute target without a path");
    } else if (strcmp(t, "*") == 0 && strcmp(r->method, "OPTIONS") == 0) {
        *auth = host->value;
        *alen = host->vlen;
        *path = "*";
    } else if (t[0] == '/') {
        *auth = host->value;
        *alen = host->vlen;
        *path = t;
    } else {
        return bad(why, "bad request target");
    }
    for (const char *p = *path; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f)
            return bad(why, "bad request target");
    return authority_ok(*auth, *alen) ? 0 : bad(why, "bad Host");
}

static bool websocket_upgrade(const struct edge_visit_req *r, const struct st_http_field *conn)
{
    if (strcmp(r->method, "GET") != 0 || !conn ||
        !st_http_list_has(conn->value, conn->vlen, "upgrade"))
        return false;
    bool upgrade = false, key = false;
    for (size_t i = 0; i < r->n_fields; i++) {
        upgrade |= is(&r->fields[i], "upgrade") &&
                   st_http_list_has(r->fields[i].value, r->fields[i].vlen, "websocket");
        /* without a key the edge could not answer the handshake: an ordinary request */
        key |= is(&r->fields[i], "sec-websocket-key") && r->fields[i].vlen > 0;
    }
    return upgrade && key;
}

/* Joins the values of every field named `name` and `extra` with ", " into the arena. */
static int joined(struct edge_visit_h2 *o, const struct edge_visit_req *r, const char *name,
                  const char *extra)
{
    char buf[4096];
    size_t len = 0;
    for (size_t i = 0; i < r->n_fields; i++) {
        const struct st_http_field *f = &r->fields[i];
        if (!is(f, name))
            continue;
        int n = snprintf(buf + len, sizeof(buf) - len, "%s%.*s", len ? ", " : "", (int)f->vlen,
                         f->value);
        if (n < 0 || (size_t)n >= sizeof(buf) - len)
            return -E2BIG;
        len += (size_t)n;
    }
    int n = snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ", " : "", extra);
    if (n < 0 || (size_t)n >= sizeof(buf) - len)
        return -E2BIG;
    return add(o, name, strlen(name), buf, len + (size_t)n, false);
}

int edge_visit_to_h2(const struct edge_visit_req *r, struct edge_visit_h2 *o, const char **why)
{
    const struct st_http_field *conn = NULL;
    const char *auth, *path;
    size_t alen;
    char via[128];
    int rc;

    o->n_nv = o->used = 0;
    if (!r->method || !st_http_name_valid(r->method, strlen(r->method), false))
        return bad(why, "bad method");
    if ((rc = target(r, &auth, &alen, &path, why)) < 0)
        return rc;
    for (size_t i = 0; i < r->n_fields; i++) {
        const struct st_http_field *f = &r->fields[i];
        if (!st_http_name_valid(f->name, f->nlen, false) || !st_http_value_valid(f->value, f->vlen))
            return bad(why, "invalid header field");
        if (is(f, "connection"))
            conn = f;
    }
    host_of(auth, alen, o->host, sizeof(o->host));
    o->websocket = websocket_upgrade(r, conn);
    if ((rc = addz(o, ":method", o->websocket ? "CONNECT" : r->method)) < 0 ||
        (o->websocket && (rc = addz(o, ":protocol", "websocket")) < 0) ||
        (rc = addz(o, ":scheme", r->tls ? "https" : "http")) < 0 ||
        (rc = add(o, ":authority", 10, auth, alen, false)) < 0 || (rc = addz(o, ":path", path)) < 0)
        return rc;
    for (size_t i = 0; i < r->n_fields; i++) {
        const struct st_http_field *f = &r->fields[i];
        if (st_http_hop_by_hop(f->name, f->nlen, conn ? conn->value : NULL,
                               conn ? conn->vlen : 0) ||
            is(f, "host") || st_http_proxy_set(f->name, f->nlen) || is(f, "via") ||
            is(f, "expect") || (o->websocket && is(f, "sec-websocket-key")) || relay_own(f))
            continue;
        if ((rc = add(o, f->name, f->nlen, f->value, f->vlen, true)) < 0)
            return rc;
    }
    snprintf(via, sizeof(via), "1.1 %s", r->via ? r->via : "subtunnel");
    /* the visitor's own X-Forwarded-For is not kept: nothing vouches for it */
    if ((rc = addz(o, "x-forwarded-for", r->client_ip)) < 0 ||
        (rc = addz(o, "x-forwarded-proto", r->tls ? "https" : "http")) < 0 ||
        (rc = joined(o, r, "via", via)) < 0)
        return rc;
    return 0;
}

/* A relayed request's pseudo-fields: *websocket set. */
static int relayed_pseudo(const struct edge_visit_relayed *r, bool *websocket, const char **why)
{
    *websocket = r->protocol && strcmp(r->protocol, "websocket") == 0;
    if (!r->method || !st_http_name_valid(r->method, strlen(r->method), false))
        return bad(why, "bad method");
    if ((strcmp(r->method, "CONNECT") == 0) != *websocket || (r->protocol && !*websocket))
        return bad(why, "CONNECT is not served on this listener");
    if (!r->scheme || (strcmp(r->scheme, "https") != 0 && strcmp(r->scheme, "http") != 0))
        return bad(why, "bad scheme");
    if (!r->authority || !authority_ok(r->authority, strlen(r->authority)))
        return bad(why, "bad Host");
    if (!r->path || !r->path[0])
        return bad(why, "bad request target");
    for (const char *p = r->path; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f)
            return bad(why, "bad request target");
    return 0;
}

int edge_visit_relayed_h2(const struct edge_visit_relayed *r, struct edge_visit_h2 *o,
                          const char **why)
{
    int rc;
    o->n_nv = o->used = 0;
    if ((rc = relayed_pseudo(r, &o->websocket, why)) < 0)
        return rc;
    host_of(r->authority, strlen(r->authority), o->host, sizeof(o->host));
    if ((rc = addz(o, ":method", r->method)) < 0 ||
        (o->websocket && (rc = addz(o, ":protocol", "websocket")) < 0) ||
        (rc = addz(o, ":scheme", r->scheme)) < 0 ||
        (rc = addz(o, ":authority", r->authority)) < 0 || (rc = addz(o, ":path", r->path)) < 0)
        return rc;
    for (size_t i = 0; i < r->n_fields; i++) {
        const struct st_http_field *f = &r->fields[i];
        if (!st_http_name_valid(f->name, f->nlen, true) || !st_http_value_valid(f->value, f->vlen))
            return bad(why, "invalid header field");
        if (is(f, "host") || relay_own(f))
            continue;
        if ((rc = add(o, f->name, f->nlen, f->value, f->vlen, false)) < 0)
            return rc;
    }
    return 0;
}

static bool digits(const char *v, size_t len)
{
    if (len == 0 || len > 18)
        return false;
    for (size_t i = 0; i < len; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

int edge_visit_response_head(int status, const struct st_http_field *f, size_t n, bool head_request,
                             bool keep_alive, const char *ws_accept, char *out, size_t cap,
                             bool *chunked)
{
    struct st_http_buf o = {out, cap, 0, false};
    const struct st_http_field *conn = NULL, *length = NULL;
    bool bodiless = head_request || status < 200 || status == 204 || status == 304;

    *chunked = false;
    if (status < 200 || status > 599)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!st_http_name_valid(f[i].name, f[i].nlen, true) ||
            !st_http_value_valid(f[i].value, f[i].vlen))
            return -EINVAL;
        if (is(&f[i], "connection"))
            conn = &f[i];
        if (is(&f[i], "content-length")) {
            if (length || !digits(f[i].value, f[i].vlen))
                return -EINVAL;
            length = &f[i];
        }
    }
    if (ws_accept) {
        st_http_put(
            &o,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n",
            ws_accept);
    } else {
        st_http_put(&o, "HTTP/1.1 %d %s\r\n", status, http_status_str((enum http_status)status));
    }
    for (size_t i = 0; i < n; i++) {
        if (st_http_hop_by_hop(f[i].name, f[i].nlen, conn ? conn->value : NULL,
                               conn ? conn->vlen : 0) ||
            is(&f[i], "content-length") || (ws_accept && is(&f[i], "sec-websocket-accept")))
            continue;
        st_http_put(&o, "%.*s: %.*s\r\n", (int)f[i].nlen, f[i].name, (int)f[i].vlen, f[i].value);
    }
    if (!ws_accept) {
        if (length)
            st_http_put(&o, "Content-Length: %.*s\r\n", (int)length->vlen, length->value);
        else if (!bodiless && (*chunked = true))
            st_http_put(&o, "Transfer-Encoding: chunked\r\n");
        st_http_put(&o, "Connection: %s\r\n", keep_alive ? "keep-alive" : "close");
    }
    st_http_put(&o, "\r\n");
    return o.full ? -ENOSPC : (int)o.len;
}
