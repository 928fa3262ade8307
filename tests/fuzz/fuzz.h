#ifndef SUBTUNNEL_FUZZ_H
#define SUBTUNNEL_FUZZ_H

/* Shared by the libFuzzer harnesses: an assertion that stays on in every build type (a
 * failed one aborts, which libFuzzer reports as a crash with the input saved). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated heap copy of data[0..size) (caller frees); aborts on allocation failure. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_ASSERT(s != NULL);
    for (size_t i = 0; i < size; i++)
        s[i] = (char)data[i];
    s[size] = '\0';
    return s;
}

/* What a run reported, as one byte string that two runs of the same input compare. */
struct fuzz_rec {
    uint8_t log[1 << 17];
    size_t len;
    bool overflow;
};

static inline void fuzz_rec_put(struct fuzz_rec *r, const void *p, size_t n)
{
    if (r->overflow || n > sizeof(r->log) - r->len) {
        r->overflow = true;
        return;
    }
    memcpy(r->log + r->len, p, n);
    r->len += n;
}

/* The length of the next piece a split run feeds: from the cut bytes (1..mod), or `whole`
 * when there are none (the unsplit run). The caller bounds it by what is left. */
static inline size_t fuzz_piece(const uint8_t *cuts, size_t ncuts, size_t *k, size_t mod,
                                size_t whole)
{
    return ncuts ? (size_t)cuts[(*k)++ % ncuts] % mod + 1 : whole;
}

#endif
