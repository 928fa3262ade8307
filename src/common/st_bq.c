#include "st_bq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void st_bq_init_chunks(struct st_bq *q, size_t limit, size_t chunk)
{
    q->head = q->tail = q->pk = q->spare = NULL;
    q->len = 0;
    q->limit = limit;
    q->chunk = chunk ? chunk : ST_BQ_CHUNK;
    q->pos = q->pk_pos = 0;
}

void st_bq_init(struct st_bq *q, size_t limit)
{
    st_bq_init_chunks(q, limit, ST_BQ_CHUNK);
}

void st_bq_fini(struct st_bq *q)
{
    struct st_bq_chunk *c = q->head;
    while (c) {
        struct st_bq_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(q->spare);
    q->head = q->tail = q->pk = q->spare = NULL;
    q->pos += q->len;
    q->len = 0;
}

size_t st_bq_tail_space(struct st_bq *q, uint8_t **p)
{
    *p = NULL;
    size_t room = st_bq_room(q), n;
    struct st_bq_chunk *c = q->tail;
    if (!room)
        return 0;
    if (c && c->end < q->chunk) {
        *p = c->data + c->end;
        n = q->chunk - c->end;
    } else {
        if (!q->spare && !(q->spare = malloc(sizeof(*c) + q->chunk)))
            return 0;
        *p = q->spare->data;
        n = q->chunk;
    }
    return n < room ? n : room;
}

void st_bq_commit(struct st_bq *q, size_t n)
{
    if (!n) {
        if (!q->len) { /* idle: no buffer memory */
            free(q->spare);
            q->spare = NULL;
        }
        return;
    }
    struct st_bq_chunk *c = q->tail;
    if (!c || c->end == q->chunk) { /* st_bq_tail_space handed out the spare */
        c = q->spare;
        q->spare = NULL;
        c->next = NULL;
        c->start = c->end = 0;
        if (q->tail)
            q->tail->next = c;
        else
            q->head = c;
        q->tail = c;
    }
    c->end += n;
    q->len += n;
}

int st_bq_append(struct st_bq *q, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len > st_bq_room(q))
        return -ENOBUFS;
    while (len) {
        uint8_t *w;
        size_t n = st_bq_tail_space(q, &w);
        if (!n)
            return -ENOMEM;
        if (n > len)
            n = len;
        memcpy(w, p, n);
        st_bq_commit(q, n);
        p += n;
        len -= n;
    }
    return 0;
}

size_t st_bq_peek(struct st_bq *q, size_t offset, const uint8_t **p)
{
    *p = NULL;
    if (offset >= q->len)
        return 0;
    uint64_t at = q->pos + offset;
    struct st_bq_chunk *c = q->head;
    uint64_t c_pos = q->pos - c->start; /* position of c->data[0] */
    if (q->pk && q->pk_pos + q->pk->start <= at) {
        c = q->pk;
        c_pos = q->pk_pos;
    }
    while (at >= c_pos + c->end) {
        c_pos += c->end; /* chunks after the head start at data[0] */
        c = c->next;
    }
    q->pk = c;
    q->pk_pos = c_pos;
    *p = c->data + (at - c_pos);
    return (size_t)(c_pos + c->end - at);
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
    q->pos += n;
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
            if (q->pk == c)
                q->pk = NULL;
            if (q->spare)
                free(c);
            else
                q->spare = c;
        }
    }
    if (!q->len) { /* idle: no buffer memory */
        free(q->spare);
        q->spare = NULL;
    }
}
