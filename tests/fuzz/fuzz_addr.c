/* Addresses from the config and the wire: CIDRs, socket addresses, authorities, client
 * addresses and host names. Formatting what parsed must parse to the same value. */
#include "fuzz.h"
#include "st_addr.h"

#include <errno.h>
#include <string.h>

static void check_cidr(const char *s)
{
    struct st_cidr a, b;
    char buf[64];

    if (st_cidr_parse(s, &a) != 0)
        return;
    FUZZ_ASSERT(a.family == AF_INET ? a.prefix <= 32 : a.family == AF_INET6 && a.prefix <= 128);
    FUZZ_ASSERT(st_cidr_format(&a, buf, sizeof(buf)) == 0);
    FUZZ_ASSERT(st_cidr_parse(buf, &b) == 0);
    FUZZ_ASSERT(a.family == b.family && a.prefix == b.prefix);
    FUZZ_ASSERT(memcmp(a.addr, b.addr, sizeof(a.addr)) == 0);
    FUZZ_ASSERT(st_cidr_covers(&a, &b) && st_cidr_overlaps(&a, &b));
    FUZZ_ASSERT(st_cidr_contains(&a, a.family, a.addr));
}

static void check_sockaddr(const char *s)
{
    struct st_sockaddr a, b;
    char buf[80];

    if (st_sockaddr_parse(s, &a) != 0)
        return;
    FUZZ_ASSERT(st_sockaddr_format(&a, buf, sizeof(buf)) == 0);
    FUZZ_ASSERT(st_sockaddr_parse(buf, &b) == 0);
    FUZZ_ASSERT(a.len == b.len && memcmp(&a.ss, &b.ss, a.len) == 0);
    FUZZ_ASSERT(st_sockaddr_port(&a) == st_sockaddr_port(&b));
    FUZZ_ASSERT(st_sockaddr_clash(&a, &b));
    (void)st_sockaddr_is_loopback(&a);
}

static void check_authority(const char *s, size_t len)
{
    uint8_t a[16], b[16];
    int fa, fb;
    uint16_t pa, pb;
    struct st_sockaddr sa;
    char buf[80];

    int rc = st_authority_parse(s, len, &fa, a, &pa);
    int crc = st_client_parse(s, len, &fb, b, &pb);
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
    FUZZ_ASSERT(crc == 0 || crc == -EINVAL);
    if (rc != 0)
        return;
    FUZZ_ASSERT(pa != 0 && crc == 0 && fa == fb && pa == pb && memcmp(a, b, 16) == 0);
    st_sockaddr_from(&sa, fa, a, pa);
    FUZZ_ASSERT(st_sockaddr_format(&sa, buf, sizeof(buf)) == 0);
    FUZZ_ASSERT(st_authority_parse(buf, strlen(buf), &fb, b, &pb) == 0);
    FUZZ_ASSERT(fa == fb && pa == pb && memcmp(a, b, 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);

    check_cidr(s);
    check_sockaddr(s);
    check_authority(s, size);
    if (st_hostname_valid(s, false))
        FUZZ_ASSERT(strlen(s) <= 253 && st_hostname_valid(s, true));
    free(s);
    return 0;
}
