#ifndef SUBTUNNEL_GW_H1_H
#define SUBTUNNEL_GW_H1_H

/* HTTP/1.1 toward ingress origins: the request head built from a tunnel HTTP/2 request
 * (RFC 9113 8.3 pseudo-fields -> request line + Host), and chunk framing for request
 * bodies of unknown length. Pure functions over buffers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_http.h"

struct gw_h1_request {
    const char *method, *path, *authority; /* :method, :path, :authority (NUL-terminated) */
    const struct st_http_field *fields;    /* regular fields as received */
    size_t n_fields;
    int64_t content_length; /* -1: unknown */
    bool has_body;          /* no END_STREAM on the HEADERS frame */
    bool upgrade_websocket; /* extended CONNECT :protocol websocket (RFC 8441) */
    const char *ws_key;     /* with upgrade_websocket: the Sec-WebSocket-Key to send (HTTP/2
                               has none, RFC 8441 5); the caller checks the Accept */
};

/* Writes the request head (request line, fields, CRLF) into out[0..cap). Drops hop-by-hop
 * fields (st_http_hop_by_hop), Host (the authority is sent as Host), Content-Length
 * (re-sent from content_length) and the proxy fields the edge never sets (st_http_proxy_set
 * but X-Forwarded-For and X-Forwarded-Proto, which come from the edge); a body of unknown length is
 * sent chunked. A WebSocket upgrade becomes "GET path" + Connection: Upgrade + Upgrade: websocket +
 * the caller's Sec-WebSocket-Key (a received one is dropped; the version field passes through).
 * Returns the length, -EINVAL for an invalid method, path, authority or field (header injection;
 * answer 400), -ENOSPC if out is too small. */
int gw_h1_request_head(const struct gw_h1_request *r, char *out, size_t cap);
/* Chunk framing: "<hex n>\r\n" into out (>= 20 bytes); returns its length. n == 0 writes
 * the last chunk "0\r\n\r\n". The data of a non-empty chunk is followed by "\r\n". */
int gw_h1_chunk_header(size_t n, char *out);

#endif
