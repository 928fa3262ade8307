#ifndef SUBTUNNEL_ST_HTTP_H
#define SUBTUNNEL_ST_HTTP_H

/* HTTP field rules shared by the edge (visitor HTTP/1.1 -> tunnel HTTP/2) and the gateway
 * (tunnel HTTP/2 -> origin HTTP/1.1): validity of names and values (RFC 9110 5.1, 5.5,
 * RFC 9113 8.2.1), hop-by-hop fields a proxy must not forward (RFC 9110 7.6.1) and the
 * X-Forwarded-For chain. Pure functions over buffers (not NUL-terminated). */

#include <stdbool.h>
#include <stddef.h>

struct st_http_field {
    const char *name; /* not NUL-terminated */
    size_t nlen;
    const char *value;
    size_t vlen;
};

/* A token (tchar+); with lower_only, upper-case letters are refused (HTTP/2 names). */
bool st_http_name_valid(const char *n, size_t len, bool lower_only);
/* No NUL, CR or LF (request smuggling / header injection), no leading or trailing
 * space or tab (RFC 9113 8.2.1); other bytes, obs-text included, are allowed. */
bool st_http_value_valid(const char *v, size_t len);
/* True for fields that end at this hop: Connection, Keep-Alive, Proxy-Connection, TE,
 * Transfer-Encoding, Upgrade, Trailer, Proxy-Authorization and Proxy-Authenticate, and
 * every field named in the Connection value conn[0..clen) (comma-separated, any case). */
bool st_http_hop_by_hop(const char *name, size_t len, const char *conn, size_t clen);
/* True when the comma-separated list v[0..len) holds token (any case), e.g.
 * "keep-alive, Upgrade" has "upgrade". */
bool st_http_list_has(const char *v, size_t len, const char *token);
/* True for fields that tell an origin who the client is or which URL it asked for, and
 * that only a proxy may set: Forwarded (RFC 7239), X-Real-IP, True-Client-IP, X-Client-IP,
 * every X-Forwarded-* field, X-Original-URL and X-Rewrite-URL (any case). A visitor's own
 * are dropped; the edge sets X-Forwarded-For and X-Forwarded-Proto from what it knows. */
bool st_http_proxy_set(const char *name, size_t len);
/* Writes "<prev>, <client>" (or just client when prev is empty) into out; 0, or -ENOSPC
 * when it does not fit (the caller then forwards client alone or refuses). */
int st_http_xff(char *out, size_t cap, const char *prev, size_t plen, const char *client);

/* Bounded text output for message heads: st_http_put appends printf-style; once
 * something does not fit, `full` is set and later calls do nothing. */
struct st_http_buf {
    char *p;
    size_t cap, len;
    bool full;
};
void st_http_put(struct st_http_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies s[0..n) and a NUL into arena[*used..cap) and returns the copy; NULL (and *full
 * set) when it does not fit. For request heads kept in one bounded buffer. */
char *st_http_keep(char *arena, size_t cap, size_t *used, bool *full, const void *s, size_t n);

/* The value of a response's :status (or a status line's code): exactly three ASCII digits
 * forming 100..599. Returns the code, or -EINVAL for anything else ("20", "2000", "1:0",
 * " 200", "099", "600"): callers refuse the response (502, stream reset), never use it. */
int st_http_status(const char *v, size_t len);
/* proxy-status (RFC 9209) of the 502 the edge answers for a malformed :status. */
#define ST_HTTP_PS_BAD_STATUS "subtunnel; error=http_protocol_error; details=\"malformed :status\""
/* Reason phrase for a status line ("Not Found"; a generic one for codes not listed). */
const char *st_http_reason(int status);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2): base64 of the SHA-1 of
 * key + the RFC's GUID, 28 characters + NUL into out ("" if the digest fails). */
void st_http_ws_accept(const char *key, size_t klen, char out[29]);

#endif
