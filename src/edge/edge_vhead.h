#ifndef SUBTUNNEL_EDGE_VHEAD_H
#define SUBTUNNEL_EDGE_VHEAD_H

/* A visitor's HTTP/1.1 request head as http-parser hands it over: the target and the fields,
 * each possibly in several pieces (a read can end anywhere), kept in one bounded arena. The
 * result must not depend on where the pieces were cut. Pure: the caller runs http-parser and
 * forwards its on_url / on_header_field / on_header_value callbacks here. */

#include <stdbool.h>
#include <stddef.h>

#include "edge_web.h"
#include "st_http.h"

#define EDGE_VHEAD_TARGET_MAX 8192

struct edge_vhead {
    char target[EDGE_VHEAD_TARGET_MAX]; /* NUL-terminated */
    size_t tlen;
    struct st_http_field fields[EDGE_WEB_MAX_FIELDS]; /* point into arena, NUL-terminated */
    size_t n_fields, used;
    bool in_value, overflow, bad_target;
    char arena[EDGE_WEB_ARENA];
};

/* Starts a new head (on_message_begin). */
void edge_vhead_reset(struct edge_vhead *h);
/* A piece of the request target; past EDGE_VHEAD_TARGET_MAX - 1 bytes the head is marked
 * bad_target. */
void edge_vhead_url(struct edge_vhead *h, const char *at, size_t len);
/* A piece of a field name: continues the last name unless a value came since. Past
 * EDGE_WEB_MAX_FIELDS fields or the arena, the head is marked overflow. */
void edge_vhead_field(struct edge_vhead *h, const char *at, size_t len);
/* A piece of the last field's value (ignored before any name). Overflow as above. */
void edge_vhead_value(struct edge_vhead *h, const char *at, size_t len);
/* The head is complete (on_headers_complete): returns 0 with every field's value set ("" for
 * "Name:" with no value), or the status to answer: 414 (target too long) or 431 (fields). */
int edge_vhead_finish(struct edge_vhead *h);

#endif
