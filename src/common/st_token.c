#include "st_token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static bool id_valid_n(const char *id, size_t n)
{
    if (n == 0 || n > ST_TOKEN_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!id_char(id[i]))
            return false;
    return true;
}

bool st_token_id_valid(const char *id)
{
    return id_valid_n(id, strlen(id));
}

static bool secret_valid(const char *s)
{
    size_t n = strlen(s);

    if (n < ST_TOKEN_SECRET_MIN)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

int st_token_split(const char *token, char *id, size_t idlen, char *secret, size_t secretlen)
{
    const char *colon = strchr(token, ':');
    size_t n;

    if (!colon)
        return -EINVAL;
    n = (size_t)(colon - token);
    if (!id_valid_n(token, n) || !secret_valid(colon + 1))
        return -EINVAL;
    if (n >= idlen || strlen(colon + 1) >= secretlen)
        return -EINVAL;
    memcpy(id, token, n);
    id[n] = '\0';
    strcpy(secret, colon + 1);
    return 0;
}

void st_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;

    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
        abort(); /* only fails on allocation failure inside OpenSSL */
}

int st_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int st_hex_decode32(const char *hex, uint8_t out[32])
{
    uint8_t tmp[32];

    if (strlen(hex) != 64)
        return -EINVAL;
    for (size_t i = 0; i < 32; i++) {
        int hi = st_hex_digit(hex[2 * i]), lo = st_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, 32);
    return 0;
}

bool st_hash_equal(const uint8_t a[32], const uint8_t b[32])
{
    return CRYPTO_memcmp(a, b, 32) == 0;
}

bool st_secret_matches(const char *secret, const uint8_t expect_sha256[32])
{
    uint8_t h[32];

    st_sha256(secret, strlen(secret), h);
    return st_hash_equal(h, expect_sha256);
}
