#include "edge_relay.h"

#include <nghttp2/nghttp2.h>

size_t edge_relay_next_order(const uint8_t *cand, size_t n, size_t start, size_t *order)
{
    size_t m = 0;
    for (uint8_t want = EDGE_RELAY_POOLED; n && want >= EDGE_RELAY_DIAL; want--)
        for (size_t k = 0; k < n; k++)
            if (cand[(start + k) % n] == want)
                order[m++] = (start + k) % n;
    return m;
}

bool edge_relay_next_holder(bool conn_up, uint32_t code, bool sent, unsigned tries)
{
    return !sent && (!conn_up || code == NGHTTP2_REFUSED_STREAM) && tries < EDGE_RELAY_PEERS_MAX;
}
