#ifndef SUBTUNNEL_FUZZ_INGRESS_H
#define SUBTUNNEL_FUZZ_INGRESS_H

/* A parsed ingress list answers a few requests: a well-formed path always gets a rule (when
 * there are rules), a malformed one -EINVAL, never anything else. */

#include <errno.h>

#include "fuzz.h"
#include "gw_ingress.h"

static inline void fuzz_ingress_match_some(const struct gw_ingress *in)
{
    static const char *const hosts[] = {"app.lab.test", "WS.lab.test:443", "", "a.b.lab.test"};
    static const char *const paths[] = {"/", "/api/v1?q=1", "", "/aaaaaaaaaaaaaaaaaaaaaaaa!"};

    for (size_t i = 0; i < 4; i++) {
        char norm[64];
        const struct gw_ingress_rule *r = NULL;
        int rv = gw_ingress_match(in, hosts[i], paths[i], norm, sizeof(norm), &r);
        if (paths[i][0] == '/')
            FUZZ_ASSERT(rv == 0 && (r != NULL || in->n_rules == 0));
        else
            FUZZ_ASSERT(rv == -EINVAL);
    }
}

#endif
