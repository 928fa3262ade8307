/* The edge's YAML configuration (edge_config_parse over st_config): any text either loads
 * or fails with a "NAME:LINE: reason" message, and frees everything either way. */
#include "edge_config.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct edge_config cfg;
    char err[512] = "";

    int rc = edge_config_parse((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof(err));
    FUZZ_ASSERT(rc <= 0);
    if (rc < 0)
        FUZZ_ASSERT(err[0] != '\0');
    else
        (void)edge_config_cleartext_exposed(&cfg);
    edge_config_fini(&cfg);
    return 0;
}
