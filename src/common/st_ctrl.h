#ifndef SUBTUNNEL_ST_CTRL_H
#define SUBTUNNEL_ST_CTRL_H

/* Control-stream messages (REGISTER, REGISTERED, ERROR, ROUTES, UNREGISTER) as capsules whose
 * values are TLV fields (st_capsule.h). Fixed-size structs: decoding never allocates.
 * Field numbers: REGISTER 1 token, 2 conn index (varint), 3 previous attempts (varint),
 * 4 version, 5 route (CIDR text, repeatable), 6 hostname (repeatable). REGISTERED 1 conn id,
 * 2 location, 3 fleet (varint 1: the edge shares a registry, a flow may enter any edge of its
 * fleet; absent: it works alone). ERROR 1 cause, 2 retry-after seconds (varint), 3 retry (varint
 * 0/1). ROUTES 5 route (repeatable). */

#include "st_addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_CTRL_MAX_ROUTES 64
#define ST_CTRL_MAX_HOSTNAMES 32

struct st_ctrl_register {
    char token[320];
    uint64_t conn_index;
    uint64_t prev_attempts;
    char version[64];
    struct st_cidr routes[ST_CTRL_MAX_ROUTES];
    size_t n_routes;
    char hostnames[ST_CTRL_MAX_HOSTNAMES][254];
    size_t n_hostnames;
};

struct st_ctrl_registered {
    char conn_id[64];
    char location[64];
    bool fleet; /* the edge is one of a fleet sharing a registry (field 3) */
};

struct st_ctrl_error {
    char cause[256];
    uint64_t retry_after_s;
    bool retry;
};

struct st_ctrl_routes {
    struct st_cidr routes[ST_CTRL_MAX_ROUTES];
    size_t n_routes;
};

/* encode_*: writes the WHOLE capsule (header + TLV value) into out; returns bytes or -ENOSPC
 * (-E2BIG if a count exceeds its maximum, -EINVAL for a CIDR of unknown family). Empty strings
 * are omitted. */
int st_ctrl_encode_register(const struct st_ctrl_register *m, uint8_t *out, size_t cap);
int st_ctrl_encode_registered(const struct st_ctrl_registered *m, uint8_t *out, size_t cap);
int st_ctrl_encode_error(const struct st_ctrl_error *m, uint8_t *out, size_t cap);
int st_ctrl_encode_routes(const struct st_ctrl_routes *m, uint8_t *out, size_t cap);
int st_ctrl_encode_unregister(uint8_t *out, size_t cap);

/* decode_*: from a capsule VALUE into *m (zeroed first); 0, or -EBADMSG (truncated/malformed
 * field, bad CIDR, string with NUL/control chars, repeated single field, empty token or
 * hostname), -E2BIG (too many routes/hostnames, string too long). Unknown field types are skipped.
 * Missing required fields (token in REGISTER) -> -EBADMSG. */
int st_ctrl_decode_register(const uint8_t *v, size_t len, struct st_ctrl_register *m);
int st_ctrl_decode_registered(const uint8_t *v, size_t len, struct st_ctrl_registered *m);
int st_ctrl_decode_error(const uint8_t *v, size_t len, struct st_ctrl_error *m);
int st_ctrl_decode_routes(const uint8_t *v, size_t len, struct st_ctrl_routes *m);
/* Static text for the negative codes above. */
const char *st_ctrl_strerror(int err);

#endif
