#include "edge_ahead.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

void edge_ahead_init(struct edge_ahead *h)
{
    memset(h, 0, sizeof(*h));
}

int edge_ahead_url(struct edge_ahead *h, const char *at, size_t len)
{
    if (h->tlen + len >= sizeof(h->target))
        return -E2BIG;
    memcpy(h->target + h->tlen, at, len);
    h->tlen += len;
    h->target[h->tlen] = 0;
    return 0;
}

int edge_ahead_field(struct edge_ahead *h, const char *at, size_t len)
{
    if (h->in_value) { /* a new header starts */
        h->in_value = false;
        h->in_auth = false;
        h->in_upgrade = false;
        h->field_len = 0;
    }
    if (h->field_len + len >= sizeof(h->field)) {
        h->field_len = sizeof(h->field); /* too long to be a header we care for */
        return 0;
    }
    memcpy(h->field + h->field_len, at, len);
    h->field_len += len;
    return 0;
}

static void keep_upgrade(struct edge_ahead *h, const char *at, size_t len)
{
    size_t room = sizeof(h->upgrade) - 1 - h->upgrade_len, take = len < room ? len : room;
    memcpy(h->upgrade + h->upgrade_len, at, take);
    h->upgrade_len += take;
    h->upgrade[h->upgrade_len] = 0;
}

int edge_ahead_value(struct edge_ahead *h, const char *at, size_t len)
{
    if (!h->in_value) {
        h->in_value = true;
        h->in_auth = h->field_len == 19 && strncasecmp(h->field, "proxy-authorization", 19) == 0;
        h->in_upgrade = h->field_len == 7 && strncasecmp(h->field, "upgrade", 7) == 0;
        if (h->in_auth)
            h->auth_len = 0;
        if (h->in_upgrade) {
            h->upgrade_len = 0;
            h->upgrade[0] = 0;
        }
    }
    if (h->in_upgrade)
        keep_upgrade(h, at, len);
    if (h->in_auth) {
        if (h->auth_len + len >= sizeof(h->auth))
            return -E2BIG;
        memcpy(h->auth + h->auth_len, at, len);
        h->auth_len += len;
    }
    return 0;
}

int edge_ahead_preface(const uint8_t *buf, size_t len)
{
    size_t n = len < 3 ? len : 3;
    if (memcmp(buf, "PRI", n) != 0)
        return 0;
    return len < 3 ? -EAGAIN : 1;
}
