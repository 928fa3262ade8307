#include "st_bq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void st_bq_init(struct st_bq *q, size_t limit)
{
    q->head = q->tail = NULL;
    q->len = 0;
    q->limit = limit;
}

void st_bq_fini(struct st_bq *q)
{
    struct st_bq_chunk *c = q->head;
    while (c) {
        struct st_bq_chunk *next = c->next;
        free(c);
        c = next;
    }
    q->head = q->tail = NULL;
    q->len = 0;
}

int st_bq_append(struct st_bq *q, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len > st_bq_room(q))
        return -ENOBUFS;
    while (len) {
        struct st_bq_chunk *c = q->tail;
        if (!c || c->end == ST_BQ_CHUNK) {
            c = malloc(sizeof(*c));
            if (!c)
                return -ENOMEM;
            c->next = NULL;
            c->start = c->end = 0;
            if (q->tail)
                q->tail->next = c;
            else
                q->head = c;
            q->tail = c;
        }
        size_t n = ST_BQ_CHUNK - c->end;
        if (n > len)
            n = len;
        memcpy(c->data + c->end, p, n);
        c->end += n;
        q->len += n;
        p += n;
        len -= n;
    }
    return 0;
}

size_t st_bq_peek(const struct st_bq *q, size_t offset, const uint8_t **p)
{
    for (struct st_bq_chunk *c = q->head; c; c = c->next) {
        size_t n = c->end - c->start;
        if (offset < n) {
            *p = c->data + c->start + offset;
            return n - offset;
        }
        offset -= n;
    }
    *p = NULL;
    return 0;
}

size_t st_bq_copy(const struct st_bq *q, void *out, size_t len)
{
    size_t done = 0;
    for (struct st_bq_chunk *c = q->head; c && done < len; c = c->next) {
        size_t n = c->end - c->start;
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)out + done, c->data + c->start, n);
        done += n;
    }
    return done;
}

void st_bq_consume(struct st_bq *q, size_t n)
{
    if (n > q->len)
        n = q->len;
    q->len -= n;
    while (n && q->head) {
        struct st_bq_chunk *c = q->head;
        size_t avail = c->end - c->start;
        size_t k = avail < n ? avail : n;
        c->start += k;
        n -= k;
        if (c->start == c->end) {
            q->head = c->next;
            if (!q->head)
                q->tail = NULL;
            free(c);
        }
    }
}
