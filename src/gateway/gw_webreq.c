/* The request of a visitor stream as the gateway keeps it (pseudo-headers, fields in an
 * arena) and the HTTP/1.1 head it becomes for the origin. */
#include <errno.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gw_flow.h"
#include "gw_h1.h"
#include "gw_web.h"
#include "gw_web_int.h"
#include "st_http.h"

#define HEAD_MAX (GW_WEB_ARENA + 1024)

static char *keep(struct gw_web *w, const uint8_t *s, size_t n)
{
    return st_http_keep(w->arena, sizeof(w->arena), &w->used, &w->overflow, s, n);
}

void gw_web_header(struct gw_flow *f, const uint8_t *name, size_t nlen, const uint8_t *value,
                   size_t vlen)
{
    bool is_path = nlen == 5 && memcmp(name, ":path", 5) == 0;
    if (!f->web && is_path) {
        if (!(f->web = malloc(sizeof(*f->web))))
            return;
        memset(f->web, 0, offsetof(struct gw_web, arena)); /* the arena needs no zeroing */
        f->web->f = f;
        f->web->gw = f->gw;
    }
    struct gw_web *w = f->web;
    if (!w)
        return;
    if (is_path) {
        w->path = keep(w, value, vlen);
        return;
    }
    if (nlen && name[0] == ':')
        return; /* :method, :authority, :protocol are kept by the flow; :scheme unused */
    if (nlen == 6 && memcmp(name, "cookie", 6) == 0) { /* RFC 9113 8.2.3: one line for HTTP/1.1 */
        for (size_t i = 0; i < w->n_fields; i++) {
            struct st_http_field *c = &w->fields[i];
            if (c->nlen != 6 || memcmp(c->name, "cookie", 6) != 0)
                continue;
            /* grows in place when it is the arena's last string (linear in the pieces) */
            bool last = c->value + c->vlen + 1 == w->arena + w->used;
            size_t len = c->vlen + 2 + vlen, need = last ? 2 + vlen : len + 1;
            if (need > sizeof(w->arena) - w->used) {
                w->overflow = true;
                return;
            }
            char *j = last ? (char *)c->value : w->arena + w->used;
            if (!last)
                memcpy(j, c->value, c->vlen);
            memcpy(j + c->vlen, "; ", 2);
            memcpy(j + c->vlen + 2, value, vlen);
            j[len] = 0;
            w->used += need;
            c->value = j;
            c->vlen = len;
            return;
        }
    }
    if (w->n_fields == GW_WEB_MAX_FIELDS) {
        w->overflow = true;
        return;
    }
    char *n = keep(w, name, nlen), *v = keep(w, value, vlen);
    if (n && v)
        w->fields[w->n_fields++] = (struct st_http_field){n, nlen, v, vlen};
}

const char *gw_web_path(const struct gw_web *w)
{
    return w ? w->path : NULL;
}

bool gw_web_wanted(const struct gw_flow *f)
{
    if (!f->web || strcmp(f->protocol, "subtunnel-control") == 0)
        return false;
    return strcmp(f->method, "CONNECT") != 0 || strcmp(f->protocol, "websocket") == 0;
}

const struct st_http_field *gw_web_field(const struct gw_web *w, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < w->n_fields; i++)
        if (w->fields[i].nlen == n && memcmp(w->fields[i].name, name, n) == 0)
            return &w->fields[i];
    return NULL;
}

static int content_length(const struct gw_web *w, int64_t *out)
{
    const struct st_http_field *cl = gw_web_field(w, "content-length");
    *out = -1;
    if (!cl)
        return 0;
    if (!cl->vlen || cl->vlen > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < cl->vlen; i++) {
        if (cl->value[i] < '0' || cl->value[i] > '9')
            return -1;
        v = v * 10 + (cl->value[i] - '0');
    }
    *out = v;
    return 0;
}

int gw_web_build_head(struct gw_web *w, bool end_stream)
{
    char key[25] = "";
    if (w->websocket) {
        uint8_t raw[16];
        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
            return -EIO;
        EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
        st_http_ws_accept(key, strlen(key), w->ws_accept);
    }
    int64_t cl;
    if (content_length(w, &cl) < 0)
        return -EINVAL;
    struct gw_h1_request r = {.method = w->f->method,
                              .path = w->path,
                              .authority = w->f->authority,
                              .fields = w->fields,
                              .n_fields = w->n_fields,
                              .content_length = cl,
                              .has_body = !end_stream,
                              .upgrade_websocket = w->websocket,
                              .ws_key = key};
    w->chunked = !w->websocket && cl < 0 && !end_stream;
    static char buf[HEAD_MAX]; /* built here, kept at its own size */
    int n = gw_h1_request_head(&r, buf, sizeof(buf));
    if (n < 0)
        return n;
    if (!(w->head = malloc((size_t)n)))
        return -ENOMEM;
    memcpy(w->head, buf, (size_t)n);
    w->head_len = (size_t)n;
    return 0;
}
