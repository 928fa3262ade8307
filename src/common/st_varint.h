#ifndef SUBTUNNEL_ST_VARINT_H
#define SUBTUNNEL_ST_VARINT_H

/* QUIC variable-length integers (RFC 9000, section 16): 1, 2, 4 or 8 bytes,
 * the two top bits of the first byte give the length. Pure functions. */

#include <stddef.h>
#include <stdint.h>

#define ST_VARINT_MAX 4611686018427387903ULL

/* Encoded length of v (1, 2, 4 or 8); 0 if v > ST_VARINT_MAX. */
size_t st_varint_len(uint64_t v);
/* Writes v in its shortest form to out; returns bytes written, -ENOSPC if cap is too small,
 * -ERANGE if v > ST_VARINT_MAX. */
int st_varint_encode(uint8_t *out, size_t cap, uint64_t v);
/* Reads one varint from in[0..len); returns bytes consumed, or 0 if in is truncated
 * (len == 0 or shorter than the announced length). Non-shortest forms are accepted. */
int st_varint_decode(const uint8_t *in, size_t len, uint64_t *v);

#endif
