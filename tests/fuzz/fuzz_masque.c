/* MASQUE: connect-udp / connect-ip request paths and HTTP Datagrams. A path that parses is
 * written again from its parts and must parse to the same target; a datagram payload put in a
 * capsule must come back unchanged. */
#include "fuzz.h"
#include "st_capsule.h"
#include "st_masque.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static size_t alen(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static void check_udp_path(const char *p, size_t len)
{
    uint8_t a[16], b[16];
    int fa, fb;
    uint16_t pa, pb;
    char out[256];

    int rc = st_masque_udp_path_parse(p, len, &fa, a, &pa);
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -EAFNOSUPPORT);
    if (rc != 0)
        return;
    FUZZ_ASSERT((fa == AF_INET || fa == AF_INET6) && pa != 0);
    int n = st_masque_udp_path(out, sizeof(out), fa, a, pa);
    FUZZ_ASSERT(n > 0 && (size_t)n == strlen(out));
    FUZZ_ASSERT(st_masque_udp_path_parse(out, (size_t)n, &fb, b, &pb) == 0);
    FUZZ_ASSERT(fb == fa && pb == pa && memcmp(a, b, alen(fa)) == 0);
}

static void check_ip_path(const char *p, size_t len)
{
    uint8_t a[16], b[16];
    int fa, fb, xa, xb, pa, pb;
    char out[256];

    int rc = st_masque_ip_path_parse(p, len, &fa, a, &xa, &pa);
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -EAFNOSUPPORT);
    if (rc != 0)
        return;
    FUZZ_ASSERT(pa >= -1 && pa <= 255);
    if (fa != 0 && xa != (int)alen(fa) * 8)
        return; /* a prefix: the writer only does one address or '*' */
    int n = st_masque_ip_path(out, sizeof(out), fa, a, pa);
    FUZZ_ASSERT(n > 0 && (size_t)n == strlen(out));
    FUZZ_ASSERT(st_masque_ip_path_parse(out, (size_t)n, &fb, b, &xb, &pb) == 0);
    FUZZ_ASSERT(fb == fa && xb == xa && pb == pa && memcmp(a, b, alen(fa)) == 0);
}

static void check_target(const char *p, size_t len)
{
    static const char *const protos[] = {"connect-udp", "connect-ip", "websocket"};
    uint8_t a[16];
    int f;
    uint16_t port;

    for (size_t i = 0; i < 3; i++) {
        int rc = st_masque_target(protos[i], p, len, &f, a, &port);
        FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -EAFNOSUPPORT || rc == -EPROTONOSUPPORT);
        FUZZ_ASSERT(rc != 0 || i != 1 || port == 0);
    }
}

static void check_datagram(const uint8_t *v, size_t len)
{
    static uint8_t out[16 + ST_MASQUE_IP_MAX + 1];
    const uint8_t *pl, *pl2;
    size_t n, n2;
    struct st_capsule cap;

    int rc = st_masque_ip_packet(v, len, &pl, &n);
    FUZZ_ASSERT(rc == 1 || rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE);
    int urc = st_masque_udp_payload(v, len, &pl2, &n2);
    FUZZ_ASSERT(urc == 1 || urc == 0 || urc == -EBADMSG || urc == -EMSGSIZE);
    if (rc != 1)
        return;
    FUZZ_ASSERT(pl >= v && pl + n <= v + len);
    int w = st_masque_ip_capsule(out, sizeof(out), pl, n);
    FUZZ_ASSERT(w > 0);
    FUZZ_ASSERT(st_capsule_parse(out, (size_t)w, sizeof(out), &cap) == w);
    FUZZ_ASSERT(cap.type == ST_CAP_DATAGRAM);
    FUZZ_ASSERT(st_masque_ip_packet(cap.value, cap.len, &pl2, &n2) == 1);
    FUZZ_ASSERT(n2 == n && memcmp(pl2, pl, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);

    check_udp_path(s, size);
    check_ip_path(s, size);
    check_target(s, size);
    check_datagram(data, size);
    free(s);
    return 0;
}
