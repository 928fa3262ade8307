#ifndef SUBTUNNEL_EDGE_AHEAD_H
#define SUBTUNNEL_EDGE_AHEAD_H

/* The access proxy's HTTP/1.1 request head (CONNECT, or a MASQUE upgrade) as http-parser hands
 * it over in pieces: only the target, the Proxy-Authorization value and the Upgrade token
 * are kept, each bounded. The result must not depend on where the pieces were cut. Pure:
 * the caller runs http-parser and forwards on_url / on_header_field / on_header_value. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct edge_ahead {
    char target[256]; /* NUL-terminated */
    size_t tlen;
    char field[32]; /* the current field name, while it may be one we keep */
    size_t field_len;
    bool in_auth, in_upgrade, in_value;
    char upgrade[16]; /* Upgrade: connect-udp / connect-ip (RFC 9298 3.3, RFC 9484 3) */
    size_t upgrade_len;
    char auth[1024]; /* Proxy-Authorization value, not NUL-terminated */
    size_t auth_len;
};

/* Empties h for a new request. */
void edge_ahead_init(struct edge_ahead *h);
/* A piece of the target: 0, or -E2BIG past 255 bytes (the request is refused). */
int edge_ahead_url(struct edge_ahead *h, const char *at, size_t len);
/* A piece of a field name (a new field when a value came since). Always 0. */
int edge_ahead_field(struct edge_ahead *h, const char *at, size_t len);
/* A piece of the current field's value: 0, or -E2BIG for a Proxy-Authorization value of
 * 1024 bytes or more. An Upgrade value is cut to 15 bytes (it then matches no token we
 * serve); the last Proxy-Authorization and Upgrade fields win. */
int edge_ahead_value(struct edge_ahead *h, const char *at, size_t len);

/* How the first len bytes of an access connection start: 1 for the HTTP/2 preface ("PRI",
 * h2c with prior knowledge), 0 for anything else (HTTP/1.1), -EAGAIN while they are a
 * shorter prefix of "PRI" (a read may end anywhere: wait for more). */
int edge_ahead_preface(const uint8_t *buf, size_t len);

#endif
