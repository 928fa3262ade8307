/* Control messages: the first byte picks REGISTER, REGISTERED, ERROR or ROUTES, the rest is
 * the capsule value. What decodes must encode, and decode(encode(m)) == m. */
#include "fuzz.h"
#include "st_capsule.h"
#include "st_ctrl.h"

#include <errno.h>
#include <string.h>

static uint8_t wire[1 << 16];

/* The capsule of `type` at wire[0..n): its value. */
static struct st_capsule reparse(int n, uint64_t type)
{
    struct st_capsule cap;

    FUZZ_ASSERT(n > 0);
    FUZZ_ASSERT(st_capsule_parse(wire, (size_t)n, sizeof(wire), &cap) == n);
    FUZZ_ASSERT(cap.type == type);
    return cap;
}

/* check_<kind>(v, len): decode; what decodes encodes again and decodes to the same struct. */
#define ROUNDTRIP(kind, captype)                                                                   \
    static void check_##kind(const uint8_t *v, size_t len)                                         \
    {                                                                                              \
        static struct st_ctrl_##kind m, m2;                                                        \
        int rc = st_ctrl_decode_##kind(v, len, &m);                                                \
        FUZZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -E2BIG);                                    \
        FUZZ_ASSERT(st_ctrl_strerror(rc) != NULL);                                                 \
        if (rc != 0)                                                                               \
            return;                                                                                \
        struct st_capsule cap = reparse(st_ctrl_encode_##kind(&m, wire, sizeof(wire)), captype);   \
        FUZZ_ASSERT(st_ctrl_decode_##kind(cap.value, cap.len, &m2) == 0);                          \
        FUZZ_ASSERT(memcmp(&m, &m2, sizeof(m)) == 0);                                              \
    }

ROUNDTRIP(register, ST_CAP_REGISTER)
ROUNDTRIP(registered, ST_CAP_REGISTERED)
ROUNDTRIP(error, ST_CAP_ERROR)
ROUNDTRIP(routes, ST_CAP_ROUTES)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *v = data + 1;
    size_t len = size - 1;

    switch (data[0] % 4) {
    case 0:
        check_register(v, len);
        break;
    case 1:
        check_registered(v, len);
        break;
    case 2:
        check_error(v, len);
        break;
    default:
        check_routes(v, len);
        break;
    }
    return 0;
}
