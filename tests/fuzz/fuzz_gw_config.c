/* The gateway's YAML configuration, ingress rules and their path regexes included: any text
 * loads or fails with a message; a loaded ingress list answers a few requests. */
#include "fuzz.h"
#include "gw_config.h"

#include <string.h>

static void match_some(const struct gw_ingress *in)
{
    static const char *const hosts[] = {"app.lab.test", "WS.lab.test:443", "", "x.y.example"};
    static const char *const paths[] = {"/", "/api/v1?q=1", "", "/aaaaaaaaaaaaaaaaaaaaaaaa!"};

    for (size_t i = 0; i < 4; i++) {
        const struct gw_ingress_rule *r = gw_ingress_match(in, hosts[i], paths[i]);
        FUZZ_ASSERT(r != NULL || in->n_rules == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_config cfg;
    char err[512] = "";

    int rc = gw_config_parse((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof(err));
    FUZZ_ASSERT(rc <= 0);
    if (rc < 0)
        FUZZ_ASSERT(err[0] != '\0');
    else
        match_some(&cfg.ingress);
    gw_config_fini(&cfg);
    return 0;
}
