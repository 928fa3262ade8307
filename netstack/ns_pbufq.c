#include "ns_pbufq.h"

#include <string.h>

void ns_pbufq_push(struct ns_pbufq *q, struct pbuf *p)
{
    struct pbuf *last = p;
    if (!p)
        return;
    q->bytes += p->tot_len;
    while (last->next)
        last = last->next;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = last;
}

size_t ns_pbufq_copy(const struct ns_pbufq *q, void *out, size_t len)
{
    size_t n = 0;
    for (const struct pbuf *p = q->head; p && n < len; p = p->next) {
        size_t k = len - n < p->len ? len - n : p->len;
        memcpy((char *)out + n, p->payload, k);
        n += k;
    }
    return n;
}

size_t ns_pbufq_run(const struct ns_pbufq *q, uint8_t **p, size_t headroom)
{
    const struct pbuf *h = q->head;
    const uint8_t *mem;

    *p = NULL;
    if (!h || h->ref != 1 || !(h->type_internal & PBUF_TYPE_FLAG_STRUCT_DATA_CONTIGUOUS) ||
        (h->flags & PBUF_FLAG_IS_CUSTOM)) /* a custom pbuf's payload may be anywhere */
        return 0;
    mem = (const uint8_t *)h + LWIP_MEM_ALIGN_SIZE(sizeof(struct pbuf)); /* pbuf_alloc's layout */
    if ((const uint8_t *)h->payload < mem + headroom)
        return 0;
    *p = h->payload;
    return h->len;
}

void ns_pbufq_drop(struct ns_pbufq *q, size_t n)
{
    if (n > q->bytes)
        n = q->bytes;
    q->bytes -= n;
    while (n && q->head) {
        struct pbuf *p = q->head;
        if (n < p->len) {
            pbuf_remove_header(p, (u16_t)n);
            return;
        }
        n -= p->len;
        q->head = p->next;
        p->next = NULL;
        pbuf_free(p);
    }
    if (!q->head)
        q->tail = NULL;
}

void ns_pbufq_clear(struct ns_pbufq *q)
{
    while (q->head) {
        struct pbuf *p = q->head;
        q->head = p->next;
        p->next = NULL;
        pbuf_free(p);
    }
    q->tail = NULL;
    q->bytes = 0;
}
