#include "edge_vhead.h"

#include <string.h>

void edge_vhead_reset(struct edge_vhead *h)
{
    h->tlen = h->n_fields = h->used = 0;
    h->target[0] = 0;
    h->in_value = h->overflow = h->bad_target = false;
}

void edge_vhead_url(struct edge_vhead *h, const char *at, size_t len)
{
    if (h->bad_target || h->tlen + len >= sizeof(h->target)) {
        h->bad_target = true;
        return;
    }
    memcpy(h->target + h->tlen, at, len);
    h->tlen += len;
    h->target[h->tlen] = 0;
}

static char *keep(struct edge_vhead *h, const char *s, size_t n)
{
    return st_http_keep(h->arena, sizeof(h->arena), &h->used, &h->overflow, s, n);
}

/* Appends to the last field's name or value (http-parser may split them). */
static void extend(struct edge_vhead *h, const char *at, size_t len, bool value)
{
    struct st_http_field *f = &h->fields[h->n_fields - 1];
    const char *old = value ? f->value : f->name;
    size_t olen = value ? f->vlen : f->nlen;
    if (old + olen + 1 != h->arena + h->used || len > sizeof(h->arena) - h->used) {
        h->overflow = true; /* only the last string can grow in place */
        return;
    }
    memcpy(h->arena + h->used - 1, at, len);
    h->used += len;
    h->arena[h->used - 1] = 0;
    if (value)
        f->vlen += len;
    else
        f->nlen += len;
}

void edge_vhead_field(struct edge_vhead *h, const char *at, size_t len)
{
    if (h->overflow)
        return;
    if (h->n_fields && !h->in_value) {
        extend(h, at, len, false);
        return;
    }
    h->in_value = false;
    if (h->n_fields == EDGE_WEB_MAX_FIELDS) {
        h->overflow = true;
        return;
    }
    /* The value is kept when it comes: until then the name is the arena's last string and
     * can grow in place when http-parser hands it over in pieces (a read split it). */
    char *n = keep(h, at, len);
    if (n)
        h->fields[h->n_fields++] = (struct st_http_field){n, len, NULL, 0};
}

void edge_vhead_value(struct edge_vhead *h, const char *at, size_t len)
{
    if (h->overflow || !h->n_fields)
        return;
    h->in_value = true;
    struct st_http_field *f = &h->fields[h->n_fields - 1];
    if (!f->value) {
        f->value = keep(h, at, len);
        f->vlen = f->value ? len : 0;
    } else {
        extend(h, at, len, true);
    }
}

int edge_vhead_finish(struct edge_vhead *h)
{
    if (h->overflow || h->bad_target)
        return h->bad_target ? 414 : 431;
    for (size_t i = 0; i < h->n_fields; i++)
        if (!h->fields[i].value) /* "Name:" with no value: http-parser gave none */
            h->fields[i].value = "";
    return 0;
}
