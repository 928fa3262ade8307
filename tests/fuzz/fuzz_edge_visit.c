/* A visitor's request head as the edge turns it into an HTTP/2 request, and a tunnel
 * response into the visitor's HTTP/1.1 head. Input: "METHOD TARGET\n" then "name:value"
 * lines (as http-parser would hand them over, any bytes allowed). */
#include "edge_visit.h"
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#define MAX_FIELDS 200

static size_t split_fields(char *s, size_t size, struct st_http_field *f)
{
    size_t n = 0;
    char *p = s, *end = s + size;

    while (p < end && n < MAX_FIELDS) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon)
            f[n++] = (struct st_http_field){p, (size_t)(colon - p), colon + 1,
                                            (size_t)(eol - colon - 1)};
        p = eol + 1;
    }
    return n;
}

static void check_h2(const struct edge_visit_h2 *h)
{
    FUZZ_ASSERT(h->n_nv <= EDGE_VISIT_MAX_NV && h->used <= EDGE_VISIT_ARENA);
    FUZZ_ASSERT(strlen(h->host) < sizeof(h->host));
    for (size_t i = 0; i < h->n_nv; i++) {
        const nghttp2_nv *nv = &h->nv[i];
        FUZZ_ASSERT(nv->namelen > 0);
        if (nv->name[0] != ':')
            FUZZ_ASSERT(st_http_name_valid((const char *)nv->name, nv->namelen, true));
        FUZZ_ASSERT(memchr(nv->value, '\n', nv->valuelen) == NULL);
        FUZZ_ASSERT(memchr(nv->value, '\0', nv->valuelen) == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct edge_visit_h2 h2;
    static struct st_http_field f[MAX_FIELDS];
    char *s = fuzz_cstr(data, size), head[8192], *nl = strchr(s, '\n'), *sp;
    const char *why = NULL;
    bool chunked;

    if (!nl || !(sp = memchr(s, ' ', (size_t)(nl - s))))
        goto out;
    *sp = *nl = '\0';
    size_t n = split_fields(nl + 1, size - (size_t)(nl + 1 - s), f);
    struct edge_visit_req r = {.method = s,
                               .target = sp + 1,
                               .fields = f,
                               .n_fields = n,
                               .client_ip = "198.18.0.10",
                               .tls = data[0] & 1,
                               .via = "edge"};
    int rc = edge_visit_to_h2(&r, &h2, &why);
    FUZZ_ASSERT(rc == 0 || rc == -E2BIG || (rc == -EINVAL && why));
    if (rc == 0)
        check_h2(&h2);
    int status = 100 + (int)(size % 500);
    rc = edge_visit_response_head(status, f, n, data[0] & 2, data[0] & 4,
                                  data[0] & 8 ? "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" : NULL, head,
                                  sizeof(head), &chunked);
    FUZZ_ASSERT(rc == -EINVAL || rc == -ENOSPC || (rc > 0 && (size_t)rc < sizeof(head)));
out:
    free(s);
    return 0;
}
