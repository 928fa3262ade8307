/* Gateway ingress rules alone (the `ingress:` list of the gateway's YAML, path regexes
 * included), without the rest of the gateway configuration; a parsed list is matched
 * against a few requests. The input is the YAML text. */
#include "fuzz_ingress.h"
#include "st_config.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_ingress in = {0};
    struct st_cfg c;
    char err[512] = "";

    int rc = st_cfg_parse(&c, (const char *)data, size, "fuzz.yaml", err, sizeof(err));
    const struct st_cfg_node *list = rc == 0 ? st_cfg_get(c.root, "ingress") : NULL;
    if (list)
        rc = gw_ingress_parse(&c, list, &in);
    if (rc < 0)
        FUZZ_ASSERT(err[0] != '\0');
    else
        fuzz_ingress_match_some(&in);
    gw_ingress_fini(&in);
    st_cfg_fini(&c);
    return 0;
}
