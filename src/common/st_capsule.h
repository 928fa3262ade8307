#ifndef SUBTUNNEL_ST_CAPSULE_H
#define SUBTUNNEL_ST_CAPSULE_H

/* RFC 9297 capsules (varint type, varint length, value) and the TLV fields we put
 * inside capsule values (varint field type, varint length, bytes). Pure functions. */

#include <stddef.h>
#include <stdint.h>

#define ST_CAP_DATAGRAM 0x00
#define ST_CAP_REGISTER 0x53540001
#define ST_CAP_REGISTERED 0x53540002
#define ST_CAP_ERROR 0x53540003
#define ST_CAP_ROUTES 0x53540004
#define ST_CAP_UNREGISTER 0x53540005
/* subtunnel extension on connect-udp streams: an ICMP error (whole IPv4 packet) about the
 * flow's datagrams, from the exposing gateway. Other MASQUE peers skip it (RFC 9297 3.2). */
#define ST_CAP_ICMP_ERROR 0x53540010

struct st_capsule {
    uint64_t type;
    const uint8_t *value; /* points into the parsed buffer */
    size_t len;
};

/* Parses one capsule at in[0..len). Returns bytes consumed (>0), 0 if more bytes are needed,
 * -EMSGSIZE if its length exceeds max_len (the stream must then be reset). value points into in. */
int st_capsule_parse(const uint8_t *in, size_t len, size_t max_len, struct st_capsule *cap);
/* Writes type+length header; returns bytes written or -ENOSPC/-ERANGE. */
int st_capsule_encode_header(uint8_t *out, size_t cap, uint64_t type, uint64_t len);

struct st_tlv_iter {
    const uint8_t *p;
    size_t left;
};

/* Starts iterating the TLV fields of a capsule value (not copied). */
void st_tlv_iter_init(struct st_tlv_iter *it, const uint8_t *value, size_t len);
/* Returns 1 and fills type/val/vlen for the next field, 0 at the clean end, -EBADMSG if truncated.
 * After -EBADMSG the iterator stays at the bad field. */
int st_tlv_next(struct st_tlv_iter *it, uint64_t *type, const uint8_t **val, size_t *vlen);
/* Appends one field to out at *off (cap total) and advances *off; returns 0 or -ENOSPC
 * (also -ERANGE for a type above ST_VARINT_MAX). On error *off is unchanged. */
int st_tlv_put(uint8_t *out, size_t cap, size_t *off, uint64_t type, const void *val, size_t vlen);
/* Appends one field whose value is the varint v; returns 0, -ENOSPC or -ERANGE. */
int st_tlv_put_varint(uint8_t *out, size_t cap, size_t *off, uint64_t type, uint64_t v);

#endif
