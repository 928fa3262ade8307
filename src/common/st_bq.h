#ifndef SUBTUNNEL_ST_BQ_H
#define SUBTUNNEL_ST_BQ_H

#include <stddef.h>
#include <stdint.h>

/* Bounded byte queue made of fixed-size chunks allocated on demand and freed as soon
 * as they are consumed, so an idle flow holds no buffer memory. Bytes stay at a fixed
 * address until consumed (lwIP may reference them without copying). */

#define ST_BQ_CHUNK 16384 /* default chunk size */

struct st_bq_chunk {
    struct st_bq_chunk *next;
    size_t start, end;
    /* Writable bytes right before data[0]: a queued run's head can be prefixed in place
     * (an HTTP/2 frame header before a DATA payload, st_h2conn_send_frame). */
    uint8_t headroom[16];
    uint8_t data[];
};

struct st_bq {
    struct st_bq_chunk *head, *tail;
    size_t len;   /* bytes queued */
    size_t limit; /* st_bq_append refuses to grow past this */
    size_t chunk; /* bytes of data per chunk */
    /* st_bq_peek's cursor: byte positions count every byte ever appended; `pos` is the
     * head byte's, `pk` the chunk the last peek ended in (NULL: none) and `pk_pos` the
     * position of its data[0]. Peeking deep into a long queue (lwIP's send window
     * referencing it) then costs O(1) instead of a walk from the head. */
    uint64_t pos, pk_pos;
    struct st_bq_chunk *pk;
    /* A consumed chunk kept for the next append while bytes are queued (a busy flow does
     * not malloc and free a chunk per 16 KiB); freed once the queue runs empty. */
    struct st_bq_chunk *spare;
};

void st_bq_init(struct st_bq *q, size_t limit);
/* With chunks of `chunk` bytes (st_bq_init: ST_BQ_CHUNK). */
void st_bq_init_chunks(struct st_bq *q, size_t limit, size_t chunk);
/* Frees every chunk. */
void st_bq_fini(struct st_bq *q);
/* Copies len bytes in. Returns 0, -ENOBUFS past the limit (nothing copied), -ENOMEM. */
int st_bq_append(struct st_bq *q, const void *data, size_t len);
/* Where the next bytes can be written in place (a recv() straight into the queue): sets *p
 * and returns the contiguous room there (<= st_bq_room), allocating a chunk when the last is
 * full; 0 with *p NULL when the queue is full or out of memory. st_bq_commit queues them. */
size_t st_bq_tail_space(struct st_bq *q, uint8_t **p);
/* Queues n bytes written at st_bq_tail_space's pointer (n <= what it returned; 0 gives an
 * unused chunk back when nothing is queued). */
void st_bq_commit(struct st_bq *q, size_t n);
/* Contiguous bytes starting `offset` bytes after the head; returns their count (0 past end). */
size_t st_bq_peek(struct st_bq *q, size_t offset, const uint8_t **p);
/* Copies up to len bytes from the head without consuming; returns the count. */
size_t st_bq_copy(const struct st_bq *q, void *out, size_t len);
/* Drops n bytes (<= len) from the head, freeing emptied chunks. */
void st_bq_consume(struct st_bq *q, size_t n);
static inline size_t st_bq_room(const struct st_bq *q)
{
    return q->len >= q->limit ? 0 : q->limit - q->len;
}

#endif
