/* DNS replies to the gateway's SRV query: the hand-written answer-section walk (TTLs) and
 * c-ares' SRV parser, over any bytes. */
#include "fuzz.h"
#include "gw_dns.h"

#include <ares.h>
#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ares_srv_reply *srv = NULL;
    uint32_t ttl = 0;

    if (size > 65535)
        return 0;
    int rc = gw_dns_answer_ttl(data, (int)size, &ttl);
    FUZZ_ASSERT(rc == 0 || rc == -EBADMSG);
    if (ares_parse_srv_reply(data, (int)size, &srv) == ARES_SUCCESS)
        for (const struct ares_srv_reply *s = srv; s; s = s->next)
            FUZZ_ASSERT(s->host != NULL);
    ares_free_data(srv);
    return 0;
}
