/* The pure half of st_redis.h: URLs and the RESP reply parser (hiredis' redisReader with our
 * own reply objects, so that the limits are checked before anything is allocated). */
#include "st_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <read.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- URL ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL with *bad set on a bad escape or a NUL. */
static char *pct_dup(const char *s, size_t n, bool *bad)
{
    char *o = malloc(n + 1), *p = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n && hi >= 0 ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0) {
                free(o);
                *bad = true;
                return NULL;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        *p++ = (char)c;
    }
    *p = 0;
    return o;
}

static int url_fail(struct st_redis_url *u, char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "registry URL: %s", why);
    st_redis_url_fini(u);
    return -EINVAL;
}

/* userinfo "[user]:password", "password" (no colon: taken as the password) or "user:" (a user
 * whose password comes from elsewhere: registry.password-file). */
static int parse_userinfo(const char *s, size_t n, struct st_redis_url *u, char *err, size_t el)
{
    const char *colon = memchr(s, ':', n);
    bool bad = false;
    if (colon && colon > s && !(u->user = pct_dup(s, (size_t)(colon - s), &bad)))
        return bad ? url_fail(u, err, el, "bad percent-encoding in the user name") : -ENOMEM;
    if (colon) {
        n -= (size_t)(colon + 1 - s);
        s = colon + 1;
    }
    if (n == 0)
        return u->user ? 0 : url_fail(u, err, el, "empty password before '@'");
    if (!(u->password = pct_dup(s, n, &bad)))
        return bad ? url_fail(u, err, el, "bad percent-encoding in the password") : -ENOMEM;
    return 0;
}

/* A host that is no address: a DNS name (no label starts or ends with '-'), but not one that
 * looks like a mistyped IPv4 address (only digits and dots). */
static bool host_name_ok(const char *h)
{
    size_t n = strlen(h);
    return st_hostname_valid(h, false) && h[strspn(h, "0123456789.")] != 0 && h[0] != '-' &&
           h[n - 1] != '-' && !strstr(h, ".-") && !strstr(h, "-.");
}

static int parse_port(const char *port, const char *end, struct st_redis_url *u, char *err,
                      size_t el)
{
    char text[8], *e;
    if (!port) {
        u->port = 6379;
        return 0;
    }
    if (port == end || (size_t)(end - port) > 5)
        return url_fail(u, err, el, "port must be 1..65535");
    memcpy(text, port, (size_t)(end - port));
    text[end - port] = 0;
    long p = strtol(text, &e, 10);
    if (*e || text[0] < '0' || text[0] > '9' || p < 1 || p > 65535)
        return url_fail(u, err, el, "port must be 1..65535");
    u->port = (uint16_t)p;
    return 0;
}

static int parse_hostport(const char *s, size_t n, struct st_redis_url *u, char *err, size_t el)
{
    char text[sizeof(u->host) + 8];
    const char *end = s + n;
    const char *port = NULL;
    int rc;

    if (n == 0)
        return url_fail(u, err, el, "no host");
    if (s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return url_fail(u, err, el, "'[' without ']' around an IPv6 address");
        if (rb + 1 < end && rb[1] != ':')
            return url_fail(u, err, el, "junk after ']'");
        port = rb + 1 < end ? rb + 2 : NULL;
        n = (size_t)(rb - s + 1);
    } else {
        const char *c = memchr(s, ':', n);
        port = c ? c + 1 : NULL;
        n = c ? (size_t)(c - s) : n;
    }
    if (n == 0 || n >= sizeof(u->host))
        return url_fail(u, err, el, n ? "host too long" : "no host");
    memcpy(u->host, s, n);
    u->host[n] = 0;
    if ((rc = parse_port(port, end, u, err, el)) < 0)
        return rc;
    snprintf(text, sizeof(text), "%s:%u", u->host, u->port);
    if (strchr(u->host, '*') == NULL && st_sockaddr_parse(text, &u->addr) == 0)
        return 0;
    if (u->host[0] == '[')
        return url_fail(u, err, el, "'[...]' must hold an IPv6 address");
    if (!host_name_ok(u->host))
        return url_fail(u, err, el,
                        "host must be an IPv4 address, an IPv6 address in brackets or a host "
                        "name (letters, digits, '-', dots)");
    u->named = true;
    return 0;
}

static int parse_db(const char *s, size_t n, struct st_redis_url *u, char *err, size_t el)
{
    long db = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || db > 100000)
            return url_fail(u, err, el, "the path must be a database number (/0, /1, ...)");
        db = db * 10 + (s[i] - '0');
    }
    if (db > 100000)
        return url_fail(u, err, el, "database number too large");
    u->db = (int)db;
    return 0;
}

int st_redis_url_parse(const char *url, struct st_redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!url)
        return url_fail(out, err, errlen, "missing");
    const char *s = url;
    if (strncmp(s, "redis://", 8) == 0)
        s += 8;
    else if (strncmp(s, "rediss://", 9) == 0)
        s += 9, out->tls = true;
    else
        return url_fail(out, err, errlen, "must start with redis:// or rediss://");
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return url_fail(out, err, errlen, "spaces or control characters");
    const char *path = strchr(s, '/');
    const char *auth_end = memrchr(s, '@', path ? (size_t)(path - s) : strlen(s));
    const char *host = auth_end ? auth_end + 1 : s;
    size_t hostlen = path ? (size_t)(path - host) : strlen(host);
    int rc = 0;
    if (auth_end && (rc = parse_userinfo(s, (size_t)(auth_end - s), out, err, errlen)) < 0)
        return rc;
    if ((rc = parse_hostport(host, hostlen, out, err, errlen)) < 0)
        return rc;
    if (path && strchr(path, '?'))
        return url_fail(out, err, errlen, "query parameters are not supported");
    if (path && (rc = parse_db(path + 1, strlen(path + 1), out, err, errlen)) < 0)
        return rc;
    return 0;
}

void st_redis_url_fini(struct st_redis_url *u)
{
    if (!u)
        return;
    free(u->user);
    if (u->password)
        explicit_bzero(u->password, strlen(u->password));
    free(u->password);
    u->user = u->password = NULL;
}

/* ---- replies ---- */

struct st_redis_parser {
    redisReader *rd;
    char limit[96]; /* set by a create function that refused an object */
};

static struct st_redis_reply *new_obj(const redisReadTask *task, enum st_redis_type type)
{
    struct st_redis_reply *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->type = type;
    if (task->parent) {
        struct st_redis_reply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    struct st_redis_parser *p = task->privdata;
    if (len > ST_REDIS_MAX_STRING) {
        snprintf(p->limit, sizeof(p->limit), "a string of %zu bytes (at most %u)", len,
                 ST_REDIS_MAX_STRING);
        return NULL;
    }
    enum st_redis_type t = task->type == REDIS_REPLY_ERROR    ? ST_REDIS_ERROR
                           : task->type == REDIS_REPLY_STATUS ? ST_REDIS_STATUS
                                                              : ST_REDIS_STRING;
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    struct st_redis_reply *r = new_obj(task, t);
    if (!r) {
        free(copy);
        return NULL;
    }
    memcpy(copy, str, len);
    copy[len] = 0;
    r->str = copy;
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
    struct st_redis_parser *p = task->privdata;
    if (elements < 0 || elements > ST_REDIS_MAX_ELEMENTS) {
        snprintf(p->limit, sizeof(p->limit), "an array of %d elements (at most %d)", elements,
                 ST_REDIS_MAX_ELEMENTS);
        return NULL;
    }
    struct st_redis_reply **el = elements ? calloc((size_t)elements, sizeof(*el)) : NULL;
    if (elements && !el)
        return NULL;
    struct st_redis_reply *r = new_obj(task, ST_REDIS_ARRAY);
    if (!r) {
        free(el);
        return NULL;
    }
    r->element = el;
    r->elements = (size_t)elements;
    return r;
}

static void *create_integer(const redisReadTask *task, long long v)
{
    struct st_redis_reply *r = new_obj(task, ST_REDIS_INTEGER);
    if (r)
        r->integer = v;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    return new_obj(task, ST_REDIS_NIL);
}

void st_redis_reply_free(struct st_redis_reply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->elements; i++)
        st_redis_reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static void free_obj(void *r)
{
    st_redis_reply_free(r);
}

static redisReplyObjectFunctions reply_fns = {create_string, create_array, create_integer,
                                              create_nil, free_obj};

struct st_redis_parser *st_redis_parser_new(void)
{
    struct st_redis_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->rd = redisReaderCreateWithFunctions(&reply_fns);
    if (!p->rd) {
        free(p);
        return NULL;
    }
    p->rd->privdata = p;
    return p;
}

void st_redis_parser_free(struct st_redis_parser *p)
{
    if (!p)
        return;
    redisReaderFree(p->rd);
    free(p);
}

int st_redis_parser_feed(struct st_redis_parser *p, const void *buf, size_t len)
{
    if (p->rd->err || p->rd->len - p->rd->pos + len > ST_REDIS_MAX_PENDING)
        return -EPROTO;
    return redisReaderFeed(p->rd, buf, len) == REDIS_OK ? 0 : -EPROTO;
}

int st_redis_parser_next(struct st_redis_parser *p, struct st_redis_reply **out, char *why,
                         size_t whylen)
{
    void *reply = NULL;
    *out = NULL;
    if (redisReaderGetReply(p->rd, &reply) != REDIS_OK) {
        if (p->limit[0])
            snprintf(why, whylen, "bad reply: %s", p->limit);
        else
            snprintf(why, whylen, "bad reply: %s", p->rd->errstr);
        return -EPROTO;
    }
    *out = reply;
    return reply ? 1 : 0;
}

const char *st_redis_elem_str(const struct st_redis_reply *r, size_t i, size_t *len)
{
    if (!r || r->type != ST_REDIS_ARRAY || i >= r->elements)
        return NULL;
    const struct st_redis_reply *e = r->element[i];
    if (!e || (e->type != ST_REDIS_STRING && e->type != ST_REDIS_STATUS))
        return NULL;
    if (len)
        *len = e->len;
    return e->str;
}
