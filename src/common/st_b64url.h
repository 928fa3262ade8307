#ifndef SUBTUNNEL_ST_B64URL_H
#define SUBTUNNEL_ST_B64URL_H

/* base64url without padding (RFC 4648 section 5, as JOSE uses it: RFC 7515 section 2).
 * Pure functions over buffers. */

#include <stddef.h>
#include <stdint.h>

/* Characters st_b64url_encode writes for n bytes (without the terminating NUL). */
#define ST_B64URL_ENC_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* Bytes st_b64url_decode may write for n characters (an upper bound). */
#define ST_B64URL_DEC_MAX(n) (((n) / 4) * 3 + 2)

/* Encodes in[0..len) into out (NUL-terminated); the number of characters written, or
 * -ENOSPC when outlen < ST_B64URL_ENC_LEN(len) + 1. */
int st_b64url_encode(const void *in, size_t len, char *out, size_t outlen);
/* Decodes in[0..len) (not NUL-terminated) into out; the number of bytes written, or
 * -EINVAL for anything but canonical unpadded base64url ('=', '+', '/', whitespace, a
 * length of 4k+1 or non-zero unused bits), -ENOSPC when out is too small. */
int st_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif
