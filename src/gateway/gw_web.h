#ifndef SUBTUNNEL_GW_WEB_H
#define SUBTUNNEL_GW_WEB_H

/* Hostname ingress at the gateway: an HTTP/2 request stream from the edge (any method but
 * CONNECT, or an RFC 8441 WebSocket CONNECT) matched against the `ingress` rules and proxied
 * to its origin as HTTP/1.1 over an lwIP TCP connection (gw_origin, kept alive between
 * requests). The request body streams to the origin as the HTTP/2 window allows; the
 * response is parsed as it arrives (gw_h1resp) and streamed back: nothing is buffered whole.
 * Origin failures become 502/504 with a proxy-status field (RFC 9209). A gw_web belongs to
 * its stream's gw_flow, which frees it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GW_WEB_MAX_FIELDS 100
#define GW_WEB_ARENA 16384

struct gw_flow;
struct gw_web;

/* A request header of f's stream (pseudo or regular) before the request starts. Requests
 * with a :path get a gw_web (f->web) that keeps the fields; others are ignored here. */
void gw_web_header(struct gw_flow *f, const uint8_t *name, size_t nlen, const uint8_t *value,
                   size_t vlen);
/* The request's :path (NUL-terminated, owned by w), or NULL. */
const char *gw_web_path(const struct gw_web *w);
/* True when f's request is for the ingress (not a CONNECT to an address, not control). */
bool gw_web_wanted(const struct gw_flow *f);
/* The request head is complete (end_stream: no body follows): answer or start proxying. */
void gw_web_start(struct gw_flow *f, bool end_stream);
/* Request body bytes; 0, or <0 to reset the stream. */
int gw_web_on_data(struct gw_web *w, const uint8_t *p, size_t n);
void gw_web_on_eof(struct gw_web *w);
/* The stream is gone (code 0: it ended cleanly): stop using the origin connection. */
void gw_web_on_close(struct gw_web *w, uint32_t code);
void gw_web_free(struct gw_web *w);

#endif
