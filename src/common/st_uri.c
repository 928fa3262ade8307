#include "st_uri.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "st_token.h"

static bool unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* The byte a "%XY" at in[i] stands for (1..255); -EINVAL when malformed or NUL. */
static int pct_value(const char *in, size_t len, size_t i)
{
    int hi = i + 2 < len ? st_hex_digit(in[i + 1]) : -1,
        lo = i + 2 < len ? st_hex_digit(in[i + 2]) : -1;
    if (hi < 0 || lo < 0 || hi + lo == 0)
        return -EINVAL;
    return hi * 16 + lo;
}

/* The path in[0..len) into out with percent-encodings normalised and '/' runs merged;
 * the length written, or -EINVAL / -ENOSPC. */
static int decode_path(const char *in, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char piece[3] = {in[i]};
        size_t n = 1;
        if (in[i] == '\0' || in[i] == '#')
            return -EINVAL;
        if (in[i] == '%') {
            int v = pct_value(in, len, i);
            if (v < 0)
                return v;
            i += 2;
            if (unreserved(v))
                piece[0] = (char)v;
            else
                piece[1] = digits[v >> 4], piece[2] = digits[v & 15], n = 3;
        }
        if (n == 1 && piece[0] == '/' && o && out[o - 1] == '/')
            continue;
        if (o + n > cap)
            return -ENOSPC;
        memcpy(out + o, piece, n);
        o += n;
    }
    return (int)o;
}

static bool is_dots(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* RFC 3986 5.2.4 in place on p[0..len) (starts with '/', no "//"); the new length. */
static size_t remove_dots(char *p, size_t len)
{
    size_t r = 0, w = 0;

    while (r < len) {
        size_t s = r + 1, e = s;
        while (e < len && p[e] != '/')
            e++;
        bool last = e == len;
        if (is_dots(p + s, e - s)) {
            if (e - s == 2) { /* "..": drop the output's last segment */
                while (w > 0 && p[w - 1] != '/')
                    w--;
                w -= w > 0;
            }
            if (last)
                p[w++] = '/';
        } else {
            memmove(p + w, p + r, e - r);
            w += e - r;
        }
        r = e;
    }
    if (w == 0)
        p[w++] = '/';
    return w;
}

/* True when p[0..len) has a "." or ".." piece bounded by '/' or "%2F" on both sides, one
 * of them "%2F" (left after remove_dots only next to an encoded slash). */
static bool dots_by_encoded_slash(const char *p, size_t len)
{
    size_t start = 0;
    bool enc_before = false;

    for (size_t i = 0; i <= len; i++) {
        bool slash = i < len && p[i] == '/';
        bool enc = i + 2 < len && p[i] == '%' && p[i + 1] == '2' && p[i + 2] == 'F';
        if (!slash && !enc && i < len)
            continue;
        if ((enc || enc_before) && is_dots(p + start, i - start))
            return true;
        enc_before = enc;
        if (enc)
            i += 2;
        start = i + 1;
    }
    return false;
}

int st_uri_normalize(const char *in, size_t len, char *out, size_t cap, size_t *path_len)
{
    const char *q = memchr(in, '?', len);
    size_t plen = q ? (size_t)(q - in) : len, qlen = len - plen;
    int n;

    if (plen == 0 || in[0] != '/' || memchr(in + plen, '\0', qlen))
        return -EINVAL;
    if ((n = decode_path(in, plen, out, cap)) < 0)
        return n;
    size_t w = remove_dots(out, (size_t)n);
    if (dots_by_encoded_slash(out, w))
        return -EINVAL;
    if (w + qlen + 1 > cap)
        return -ENOSPC;
    memcpy(out + w, in + plen, qlen);
    out[w + qlen] = '\0';
    *path_len = w;
    return (int)(w + qlen);
}

/* The port p[0..n): 1..65535, else -1. */
static long port_value(const char *p, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n && i < 6; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return n > 0 && n < 6 && v >= 1 && v <= 65535 ? v : -1;
}

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return -EINVAL;
}

/* The host part of an origin authority: *host_len, and where the port text starts (NULL: no
 * port). -EINVAL with *why. */
static int split_origin(const char *s, size_t len, size_t *host_len, const char **port,
                        const char **why)
{
    const char *colon;

    *port = NULL;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return refuse(why, "'[' without ']'");
        if (memchr(s, '%', (size_t)(close - s)))
            return refuse(why, "IPv6 zone ids ('%') are not supported");
        *host_len = (size_t)(close - s) + 1;
        if (*host_len < len && s[*host_len] != ':')
            return refuse(why, "text after ']' that is not ':PORT'");
        if (*host_len < len)
            *port = s + *host_len + 1;
        return 0;
    }
    colon = memchr(s, ':', len);
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
        return refuse(why, "an IPv6 address needs brackets, e.g. http://[2001:db8::10]:8000");
    *host_len = colon ? (size_t)(colon - s) : len;
    if (colon)
        *port = colon + 1;
    return 0;
}

int st_uri_origin_parse(const char *s, size_t len, uint16_t default_port, struct st_sockaddr *out,
                        const char **why)
{
    char buf[80];
    const char *port;
    size_t hlen, plen;

    if (len == 0)
        return refuse(why, "no address");
    if (memchr(s, '\0', len) || len >= sizeof(buf) - 8)
        return refuse(why, "not an address");
    if (split_origin(s, len, &hlen, &port, why) < 0)
        return -EINVAL;
    plen = port ? len - (size_t)(port - s) : 0;
    if (port && port_value(port, plen) < 0)
        return refuse(why, "the port must be a number 1..65535");
    if (hlen == 0 || (s[0] != '[' && !memchr("0123456789", s[0], 10)))
        return refuse(why, "the origin must be a numeric IP address (no host names)");
    if (port)
        snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
    else
        snprintf(buf, sizeof(buf), "%.*s:%u", (int)len, s, (unsigned)default_port);
    if (st_sockaddr_parse(buf, out) < 0)
        return refuse(why, s[0] == '[' ? "not an IPv6 address in the brackets"
                                       : "not a numeric IP address");
    return 0;
}
