#ifndef SUBTUNNEL_ST_H2CONN_H
#define SUBTUNNEL_ST_H2CONN_H

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "st_h2rx.h"
#include "st_loop.h"
#include "st_metrics.h"

/* One HTTP/2 connection over a non-blocking socket, plain or TLS: drives the TLS
 * handshake, feeds received bytes to nghttp2 and writes what nghttp2 queues, in large
 * batches. The owner creates `session` in ops->ready and frees the connection with
 * st_h2conn_fini from ops->closed (which always runs from a deferred callback). */

struct st_h2conn;

struct st_h2conn_ops {
    /* Transport ready (TCP connected, TLS handshake done). Must create c->session;
     * return <0 to close the connection. */
    int (*ready)(struct st_h2conn *c);
    /* The connection is finished; `why` says why. Owner releases everything on it. */
    void (*closed)(struct st_h2conn *c, const char *why);
};

struct st_h2conn {
    struct st_loop *loop;
    struct st_io io;
    SSL *ssl; /* NULL: plain TCP (h2c) */
    bool connecting, established, dead, tls_client, read_more;
    nghttp2_session *session;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    uint8_t *tout; /* TLS records waiting for one send() (our write BIO fills it) */
    size_t tout_off, tout_len, tout_cap;
    struct st_defer kick;
    struct st_defer close_defer;
    struct st_timer setup_timer; /* connect + TLS handshake must finish in time */
    struct st_timer hb_timer;    /* liveness: PING when quiet, dead after hb_count misses */
    int hb_interval_ms, hb_count, hb_missed;
    uint64_t hb_seen;               /* bytes_in at the last tick */
    struct st_h2_hbstats *hb_stats; /* the owner's heartbeat statistics, or NULL */
    char why[160];
    const struct st_h2conn_ops *ops;
    void *owner;
    uint64_t bytes_in, bytes_out;
    uint64_t load_ms, load_mark, load_prev; /* st_h2conn_load's window */
    /* Set before st_h2conn_session: the peer is one of ours (tunnel and reach connections)
     * and may reset streams as fast as its clients abort flows. Otherwise nghttp2's rapid
     * reset guard applies (1000 RST_STREAM, then 33/s, past which it ends the session). */
    bool many_resets;
    size_t zc_batch;   /* bytes flush() pulled this batch, zero-copy frames included */
    bool zc_blocked;   /* a zero-copy frame waits inside nghttp2 for room (WOULDBLOCK) */
    struct st_h2rx rx; /* receive flow control: budget = the connection window */

    size_t flush_max;      /* the most bytes one flush() handed to the socket or TLS */
    uint64_t flush_yields; /* flushes that stopped at ST_H2CONN_FLUSH_MAX with more to send */
};

#define ST_H2CONN_SETUP_MS 10000
#define ST_H2CONN_PEER_RESETS 1000000 /* burst and per-second rate with many_resets */

/* Takes ownership of fd and ssl (either may be freed by st_h2conn_fini). `connecting`:
 * a non-blocking connect() is in progress. tls_client selects SSL_connect. 0 or -errno. */
int st_h2conn_init(struct st_h2conn *c, struct st_loop *loop, int fd, SSL *ssl, bool connecting,
                   bool tls_client, const struct st_h2conn_ops *ops, void *owner);
/* nghttp2 callbacks a role installs; NULL entries are left unset. */
/* The start of the reason st_h2conn gives its role's closed() when nghttp2 refused the
 * peer's bytes (a protocol error or one of its flood rules). */
#define ST_H2CONN_PROTO_ERROR "HTTP/2 protocol error"

struct st_h2_handlers {
    nghttp2_on_begin_headers_callback begin_headers;
    nghttp2_on_header_callback header;
    nghttp2_on_frame_recv_callback frame_recv;
    nghttp2_on_data_chunk_recv_callback data_chunk;
    nghttp2_on_stream_close_callback stream_close;
    nghttp2_on_frame_send_callback frame_send; /* optional */
    /* Zero-copy DATA frames (a read callback returning NGHTTP2_DATA_FLAG_NO_COPY): the role
     * finds the payload and hands it to st_h2conn_send_frame. */
    nghttp2_send_data_callback send_data;
};

/* Creates c->session in the server or client role with manual window updates (windows
 * reopen only through c->rx, st_h2rx.h: the connection window as DATA is queued, up to
 * conn_window bytes queued; stream windows as consumers take bytes; or through
 * nghttp2_session_consume for bytes dropped on arrival), submits SETTINGS iv and opens the
 * connection-level receive window to conn_window. 0, or -1 on allocation failure. */
int st_h2conn_session(struct st_h2conn *c, bool server, const struct st_h2_handlers *h, void *ud,
                      const nghttp2_settings_entry *iv, size_t niv, int32_t conn_window);
/* The peer has proved to be one of our daemons (a registered gateway, a reach stream's
 * token, the edge's certificate): TLS reads take up to 256 KiB at a time from the next time
 * OpenSSL allocates its read buffer (it releases it whenever no ciphertext is left; OpenSSL
 * 3.0/3.1 behaviour, Debian 12's). Not for unauthenticated peers: a partial record
 * holds the whole buffer. */
void st_h2conn_bulk_reads(struct st_h2conn *c);
/* Zero-copy DATA frames. A data provider's read callback may return n bytes with
 * NGHTTP2_DATA_FLAG_NO_COPY when st_h2conn_zero_copy(c) holds and the bytes lie contiguous
 * in memory with ST_H2_HEADROOM writable bytes before them; nghttp2 then calls the role's
 * send_data handler, which passes the payload here: the frame header goes into those bytes
 * (what was there is lost) and header and payload are sealed by one TLS write, without
 * copying the payload into nghttp2's buffer first. Returns 0 (sent: consume the payload),
 * NGHTTP2_ERR_PAUSE (sent, consume it; this flush's batch is full), NGHTTP2_ERR_WOULDBLOCK
 * (nothing sent; nghttp2 asks again with the same frame) or NGHTTP2_ERR_CALLBACK_FAILURE.
 * A role that cannot find the payload returns NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE (that
 * stream is reset, the connection's others go on). */
#define ST_H2_HEADROOM 9
/* A zero-copy run shorter than the frame nghttp2 asked for ends the frame early, in a partial
 * TLS record; from one full record on that costs less than copying (shorter: copy). */
#define ST_H2_ZC_MIN (16384 - ST_H2_HEADROOM)
/* A small frame is copied even when its bytes are contiguous: in nghttp2's buffer it shares a
 * TLS record with the other small frames of the round (short flows: one seal, not one each). */
#define ST_H2_ZC_SMALL 4096
/* For a data provider asked for a frame of n bytes with `run` contiguous bytes at hand:
 * the zero-copy frame's length (min(run, n), NGHTTP2_DATA_FLAG_NO_COPY added to *flags), or
 * 0 when the frame is to be copied. */
static inline size_t st_h2_zc_frame(size_t run, size_t n, uint32_t *flags)
{
    if (n < ST_H2_ZC_SMALL || (run < n && run < ST_H2_ZC_MIN))
        return 0;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    return run < n ? run : n;
}
bool st_h2conn_zero_copy(const struct st_h2conn *c);
int st_h2conn_send_frame(struct st_h2conn *c, const nghttp2_frame *fr, const uint8_t *hd,
                         uint8_t *payload, size_t len);
/* True when ALPN selected "h2" (TLS) or the connection is plain (prior knowledge). */
bool st_h2conn_is_h2(struct st_h2conn *c);
/* Stream ids run out: a connection has 2^31 of them and every flow opened on it uses one
 * for good. The gateway replaces a connection (make-before-break) once the ids used on it
 * either way pass ST_H2CONN_IDS_RENEW; the edge stops opening flows on one past
 * ST_H2CONN_IDS_SPENT, in case a gateway does not. */
#define ST_H2CONN_IDS_RENEW 0x70000000u
#define ST_H2CONN_IDS_SPENT 0x7ff00000u
/* The highest stream id used on c by either side (ours: the next one to open; the peer's:
 * the last one processed); 0 without a session. */
uint32_t st_h2conn_ids_used(const struct st_h2conn *c);
/* How busy c is, for choosing the connection of a new flow: the bytes it moved either way
 * in the last ST_H2CONN_LOAD_MS or so (the previous window's average plus the current
 * window), in units of ST_H2CONN_LOAD_UNIT bytes so that heartbeats and small requests
 * count as idle. A flow placed on the least busy connection does not queue behind a
 * bulk flow's megabytes in the socket buffers of a busy one (issue 24). */
#define ST_H2CONN_LOAD_MS 100
#define ST_H2CONN_LOAD_UNIT 65536
uint64_t st_h2conn_load(struct st_h2conn *c);
/* The key a new flow's connection is chosen by, lowest first: st_h2conn_load, then the
 * number of flows on it (a long interactive session keeps its connection to itself when
 * the next flow, perhaps a bulk one, has an idle connection beside it). */
static inline uint64_t st_h2conn_pick_key(struct st_h2conn *c, size_t flows)
{
    return st_h2conn_load(c) * 1024 + (flows < 1023 ? flows : 1023);
}
/* Of n candidates looked at from index *rr on (round robin), the one with the lowest
 * key(i, arg) (UINT64_MAX: not eligible); the first found among equal keys. Advances *rr past
 * it. Its index, or SIZE_MAX when none is eligible. */
static inline size_t st_pick_least(size_t n, size_t *rr, uint64_t (*key)(size_t i, void *arg),
                                   void *arg)
{
    size_t best = SIZE_MAX;
    uint64_t best_key = UINT64_MAX;
    for (size_t k = 0; k < n && best_key > 0; k++) {
        uint64_t v = key((*rr + k) % n, arg);
        if (v < best_key) {
            best = k;
            best_key = v;
        }
    }
    if (best == SIZE_MAX)
        return SIZE_MAX;
    size_t i = (*rr + best) % n;
    *rr += best + 1;
    return i;
}
/* Sending order (issue 24). nghttp2 serializes every control frame (SETTINGS, PING,
 * WINDOW_UPDATE, RST_STREAM, HEADERS, GOAWAY) before the next DATA frame, and picks DATA
 * frames by RFC 7540 weights (weighted fair queueing, one frame per turn): a stream that
 * has been idle starts at the current virtual time, ahead of a busy stream charged for the
 * frame it just sent. Datagram streams (connect-udp, connect-ip) weigh ST_H2_DGRAM_WEIGHT,
 * 16 times the default: backlogged beside a bulk stream they get 16 turns to its one. One
 * wake-up hands at most ST_H2CONN_FLUSH_MAX (and a frame per 192 KiB) to TLS and the
 * socket, then yields to the loop and continues from a deferred call, so one bulk stream
 * neither holds the loop nor stacks megabytes in front of the frames produced after it
 * (before: up to 64 x 192 KiB per wake-up). */
#define ST_H2_DGRAM_WEIGHT NGHTTP2_MAX_WEIGHT
#define ST_H2CONN_FLUSH_MAX (3 * 192 * 1024)
/* Gives stream sid of s the datagram weight in s's own DATA scheduling; no PRIORITY frame is
 * sent. 0, or NGHTTP2_ERR_INVALID_ARGUMENT (no such stream). */
int st_h2_favour(nghttp2_session *s, int32_t sid);
/* Schedules sending whatever nghttp2 has queued (cheap; coalesces). */
void st_h2conn_kick(struct st_h2conn *c);
/* Marks the connection dead and schedules ops->closed with the formatted reason. */
void st_h2conn_fail(struct st_h2conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Closes fd, frees SSL, session and buffers. */
void st_h2conn_fini(struct st_h2conn *c);
/* Negotiated ALPN protocol or "" (plain). */
void st_h2conn_alpn(struct st_h2conn *c, char *buf, size_t len);
/* Starts heartbeats once the session exists: every interval_ms, a connection that received
 * nothing since the last tick gets a PING and counts a miss; `count` misses in a row fail
 * it ("no heartbeat ..."). Anything received resets the count. */
void st_h2conn_heartbeat(struct st_h2conn *c, int interval_ms, int count);
/* The role's frame_recv handler passes every frame here first: a heartbeat PING's ACK adds
 * its round trip to c->hb_stats. */
void st_h2conn_frame_recv(struct st_h2conn *c, const nghttp2_frame *fr);
/* Sends a GOAWAY (NO_ERROR or `error`), flushes, and closes once nghttp2 is done. */
void st_h2conn_goaway(struct st_h2conn *c, uint32_t error);
/* Graceful: GOAWAY(NO_ERROR) naming the last stream processed; no new stream, the open ones
 * finish, then nghttp2 wants neither to read nor to write and the connection closes. */
void st_h2conn_shutdown(struct st_h2conn *c);

#endif
