#include "st_http.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

bool st_http_name_valid(const char *n, size_t len, bool lower_only)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)n[i];
        if (!tchar(ch) || (lower_only && ch >= 'A' && ch <= 'Z'))
            return false;
    }
    return true;
}

bool st_http_value_valid(const char *v, size_t len)
{
    if (len && (v[0] == ' ' || v[0] == '\t' || v[len - 1] == ' ' || v[len - 1] == '\t'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n')
            return false;
    return true;
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Calls match on each trimmed element of a comma-separated list until it returns true. */
static bool list_any(const char *v, size_t len, const char *name, size_t nlen)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (start < end && ows(v[start]))
            start++;
        while (end > start && ows(v[end - 1]))
            end--;
        if (end - start == nlen && strncasecmp(v + start, name, nlen) == 0)
            return true;
        i++; /* skip ',' */
    }
    return false;
}

bool st_http_list_has(const char *v, size_t len, const char *token)
{
    return list_any(v, len, token, strlen(token));
}

bool st_http_hop_by_hop(const char *name, size_t len, const char *conn, size_t clen)
{
    static const char *const fixed[] = {"connection", "keep-alive",          "proxy-connection",
                                        "te",         "transfer-encoding",   "upgrade",
                                        "trailer",    "proxy-authorization", "proxy-authenticate",
                                        NULL};
    for (size_t i = 0; fixed[i]; i++)
        if (strlen(fixed[i]) == len && strncasecmp(fixed[i], name, len) == 0)
            return true;
    return conn && list_any(conn, clen, name, len);
}

bool st_http_proxy_set(const char *name, size_t len)
{
    static const char *const fixed[] = {"forwarded",   "x-real-ip",      "true-client-ip",
                                        "x-client-ip", "x-original-url", "x-rewrite-url",
                                        NULL};
    static const char xf[] = "x-forwarded-";
    if (len > sizeof(xf) - 1 && strncasecmp(name, xf, sizeof(xf) - 1) == 0)
        return true;
    for (size_t i = 0; fixed[i]; i++)
        if (strlen(fixed[i]) == len && strncasecmp(fixed[i], name, len) == 0)
            return true;
    return false;
}

int st_http_xff(char *out, size_t cap, const char *prev, size_t plen, const char *client)
{
    int n = plen ? snprintf(out, cap, "%.*s, %s", (int)plen, prev, client)
                 : snprintf(out, cap, "%s", client);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

void st_http_put(struct st_http_buf *o, const char *fmt, ...)
{
    va_list ap;
    if (o->full)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)n;
}

void st_http_ws_accept(const char *key, size_t klen, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    out[0] = '\0';
    if (c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) && EVP_DigestUpdate(c, key, klen) &&
        EVP_DigestUpdate(c, guid, sizeof(guid) - 1) && EVP_DigestFinal_ex(c, md, &mdlen) &&
        mdlen == 20)
        EVP_EncodeBlock((unsigned char *)out, md, 20);
    EVP_MD_CTX_free(c);
}

int st_http_status(const char *v, size_t len)
{
    int code = 0;

    if (!v || len != 3)
        return -EINVAL;
    for (size_t i = 0; i < 3; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -EINVAL;
        code = code * 10 + (v[i] - '0');
    }
    return code >= 100 && code <= 599 ? code : -EINVAL;
}

const char *st_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 414:
        return "URI Too Long";
    case 418:
        return "I'm a teapot";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "Status";
    }
}

char *st_http_keep(char *arena, size_t cap, size_t *used, bool *full, const void *s, size_t n)
{
    if (n + 1 > cap - *used) {
        *full = true;
        return NULL;
    }
    char *p = arena + *used;
    memcpy(p, s, n);
    p[n] = 0;
    *used += n + 1;
    return p;
}
