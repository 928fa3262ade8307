#include "ns_pmtu.h"

#include <string.h>

#define IP6_HLEN 40
#define NH_TCP 6
#define NH_ICMP6 58
#define ICMP6_PTB 2

static struct ns_pmtu_entry *find(const struct ns_pmtu *t, const uint8_t *dst, uint32_t now_ms)
{
    for (size_t i = 0; i < t->n; i++)
        if (memcmp(t->e[i].dst, dst, 16) == 0)
            return now_ms - t->e[i].at_ms < NS_PMTU_TTL_MS ? (struct ns_pmtu_entry *)&t->e[i]
                                                           : NULL;
    return NULL;
}

/* The slot for dst: its own (even expired), a free one, else the oldest. */
static struct ns_pmtu_entry *slot(struct ns_pmtu *t, const uint8_t *dst)
{
    size_t old = 0;

    for (size_t i = 0; i < t->n; i++) {
        if (memcmp(t->e[i].dst, dst, 16) == 0)
            return &t->e[i];
        if ((int32_t)(t->e[i].at_ms - t->e[old].at_ms) < 0)
            old = i;
    }
    return t->n < NS_PMTU_SLOTS ? &t->e[t->n++] : &t->e[old];
}

unsigned ns_pmtu_learn(struct ns_pmtu *t, const uint8_t *pkt, size_t len, uint32_t now_ms)
{
    const uint8_t *icmp = pkt + IP6_HLEN, *in = icmp + 8;
    struct ns_pmtu_entry *e;
    uint32_t mtu;

    /* the quoted packet: its IPv6 header and the TCP ports (enough to name the flow) */
    if (len < IP6_HLEN + 8 + IP6_HLEN + 4 || (pkt[0] >> 4) != 6 || pkt[6] != NH_ICMP6 ||
        icmp[0] != ICMP6_PTB || icmp[1] != 0 || (in[0] >> 4) != 6 || in[6] != NH_TCP)
        return 0;
    mtu = (uint32_t)icmp[4] << 24 | (uint32_t)icmp[5] << 16 | (uint32_t)icmp[6] << 8 | icmp[7];
    if (mtu < NS_PMTU_MIN6)
        mtu = NS_PMTU_MIN6;
    if (mtu > 0xffff)
        mtu = 0xffff;
    e = find(t, in + 24, now_ms);
    if (e && e->mtu <= mtu)
        return e->mtu; /* never raised by a message: only time does that */
    e = slot(t, in + 24);
    memcpy(e->dst, in + 24, 16);
    e->mtu = (uint16_t)mtu;
    e->at_ms = now_ms;
    return mtu;
}

unsigned ns_pmtu_get(const struct ns_pmtu *t, const uint8_t *dst, uint32_t now_ms)
{
    const struct ns_pmtu_entry *e = t->n ? find(t, dst, now_ms) : NULL;

    return e ? e->mtu : 0;
}
