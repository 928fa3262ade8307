#include "gw_h1.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "st_http.h"

static bool has_name(const struct st_http_field *f, const char *name)
{
    return f->nlen == strlen(name) && memcmp(f->name, name, f->nlen) == 0;
}

/* The Connection field of the request, if any (its tokens are hop-by-hop too). */
static const struct st_http_field *connection_of(const struct gw_h1_request *r)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (has_name(&r->fields[i], "connection"))
            return &r->fields[i];
    return NULL;
}

/* Proxy fields the edge does not set: a visitor's that an older edge let through. */
static bool edge_never_sets(const struct st_http_field *f)
{
    return st_http_proxy_set(f->name, f->nlen) && !has_name(f, "x-forwarded-for") &&
           !has_name(f, "x-forwarded-proto");
}

static bool visible(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static bool line_ok(const struct gw_h1_request *r)
{
    size_t ml = r->method ? strlen(r->method) : 0;
    return ml && st_http_name_valid(r->method, ml, false) && r->path && r->path[0] == '/' &&
           visible(r->path) && r->authority && r->authority[0] && visible(r->authority) &&
           !strpbrk(r->authority, "/?#@");
}

int gw_h1_request_head(const struct gw_h1_request *r, char *out, size_t cap)
{
    struct st_http_buf o = {out, cap, 0, false};
    const struct st_http_field *conn = connection_of(r);

    if (!line_ok(r))
        return -EINVAL;
    st_http_put(&o, "%s %s HTTP/1.1\r\nHost: %s\r\n", r->upgrade_websocket ? "GET" : r->method,
                r->path, r->authority);
    for (size_t i = 0; i < r->n_fields; i++) {
        const struct st_http_field *f = &r->fields[i];
        if (!st_http_name_valid(f->name, f->nlen, true) || !st_http_value_valid(f->value, f->vlen))
            return -EINVAL;
        if (st_http_hop_by_hop(f->name, f->nlen, conn ? conn->value : NULL,
                               conn ? conn->vlen : 0) ||
            has_name(f, "host") || has_name(f, "content-length") ||
            has_name(f, "sec-websocket-key") || edge_never_sets(f))
            continue;
        st_http_put(&o, "%.*s: %.*s\r\n", (int)f->nlen, f->name, (int)f->vlen, f->value);
    }
    if (r->upgrade_websocket && (!r->ws_key || !visible(r->ws_key)))
        return -EINVAL;
    if (r->upgrade_websocket)
        st_http_put(&o, "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: %s\r\n",
                    r->ws_key);
    else if (r->content_length >= 0)
        st_http_put(&o, "Content-Length: %" PRId64 "\r\n", r->content_length);
    else if (r->has_body)
        st_http_put(&o, "Transfer-Encoding: chunked\r\n");
    st_http_put(&o, "\r\n");
    return o.full ? -ENOSPC : (int)o.len;
}

int gw_h1_chunk_header(size_t n, char *out)
{
    return n ? snprintf(out, 20, "%zx\r\n", n) : snprintf(out, 20, "0\r\n\r\n");
}
