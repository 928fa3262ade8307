/* The gateway's YAML configuration, ingress rules and their path regexes included: any text
 * loads or fails with a message; a loaded ingress list answers a few requests. */
#include "fuzz_ingress.h"
#include "gw_config.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_config cfg;
    char err[512] = "";

    int rc = gw_config_parse((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof(err));
    FUZZ_ASSERT(rc <= 0);
    if (rc < 0)
        FUZZ_ASSERT(err[0] != '\0');
    else
        fuzz_ingress_match_some(&cfg.ingress);
    gw_config_fini(&cfg);
    return 0;
}
