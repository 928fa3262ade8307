#ifndef SUBTUNNEL_ST_TOKEN_H
#define SUBTUNNEL_ST_TOKEN_H

/* Tunnel tokens and the hashes the edge keeps instead of secrets. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_TOKEN_ID_MAX 63
#define ST_TOKEN_SECRET_MIN 16

/* Tunnel token "<tunnel-id>:<secret>"; id is [A-Za-z0-9_.-]{1,63}, secret >= 16 chars, printable,
 * no spaces. Copies both parts (NUL-terminated) into id/secret. 0 or -EINVAL (also when a part
 * does not fit idlen/secretlen). */
int st_token_split(const char *token, char *id, size_t idlen, char *secret, size_t secretlen);
/* True if id follows the tunnel id rules above. */
bool st_token_id_valid(const char *id);
/* SHA-256 of data (OpenSSL EVP). */
void st_sha256(const void *data, size_t len, uint8_t out[32]);
/* Value of one hex digit (either case), -1 for anything else. */
int st_hex_digit(char c);
/* Decodes exactly 64 hex chars (either case) into out; 0 or -EINVAL. */
int st_hex_decode32(const char *hex, uint8_t out[32]);
/* Constant-time comparison of two SHA-256 values (CRYPTO_memcmp). */
bool st_hash_equal(const uint8_t a[32], const uint8_t b[32]);
/* Hashes secret and compares with expect_sha256 in constant time. */
bool st_secret_matches(const char *secret, const uint8_t expect_sha256[32]);

#endif
