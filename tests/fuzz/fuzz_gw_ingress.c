/* Gateway ingress rules alone (the `ingress:` list of the gateway's YAML, path regexes
 * included), without the rest of the gateway configuration; a parsed list is matched
 * against a few requests. The input is the YAML text. */
#include "fuzz.h"
#include "gw_ingress.h"
#include "st_config.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const hosts[] = {"app.lab.test", "WS.lab.test:443", "", "a.b.lab.test"};
    static const char *const paths[] = {"/", "/api/v1?q=1", "", "/aaaaaaaaaaaaaaaaaaaaaaaa!"};
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
        for (size_t i = 0; i < 4 && in.n_rules; i++)
            FUZZ_ASSERT(gw_ingress_match(&in, hosts[i], paths[i]) != NULL);
    gw_ingress_fini(&in);
    st_cfg_fini(&c);
    return 0;
}
