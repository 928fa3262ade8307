/* HTTP field rules over received names and values: validity, hop-by-hop lists and the
 * X-Forwarded-For chain. The input is split at the first NUL into two strings. */
#include "fuzz.h"
#include "st_http.h"

#include <errno.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), xff[256];
    const uint8_t *nul = memchr(data, 0, size);
    size_t alen = nul ? (size_t)(nul - data) : size;
    const char *b = nul ? s + alen + 1 : "";
    size_t blen = nul ? size - alen - 1 : 0;

    if (st_http_name_valid(s, alen, true))
        FUZZ_ASSERT(st_http_name_valid(s, alen, false) && alen > 0);
    if (st_http_value_valid(s, alen))
        FUZZ_ASSERT(memchr(s, '\n', alen) == NULL && memchr(s, '\r', alen) == NULL);
    (void)st_http_hop_by_hop(s, alen, b, blen);
    (void)st_http_list_has(b, blen, s);
    int rc = st_http_xff(xff, sizeof(xff), s, alen, b);
    FUZZ_ASSERT(rc == 0 || rc == -ENOSPC);
    if (rc == 0)
        FUZZ_ASSERT(strlen(xff) < sizeof(xff));
    char accept[29];
    st_http_ws_accept(s, alen, accept);
    FUZZ_ASSERT(strlen(accept) == 28);
    (void)st_http_reason((int)(alen * 7 % 1000));
    free(s);
    return 0;
}
