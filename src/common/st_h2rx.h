#ifndef SUBTUNNEL_ST_H2RX_H
#define SUBTUNNEL_ST_H2RX_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>

/* Receive flow control of one HTTP/2 connection whose streams are drained by different
 * consumers at different speeds (sessions made with manual window updates).
 *
 * Connection window: returned as soon as a stream's DATA is queued for its consumer, so a
 * consumer that stops reading holds only its own stream's window and the connection's other
 * streams go on. Memory stays bounded by `budget`: once that many queued bytes have their
 * connection window back, further window comes back only as consumers take bytes (at most
 * budget + the connection window can be queued). Budget 0: the classic rule, connection
 * window only for bytes taken (a peer whose streams stall harms only itself).
 *
 * Stream window (optional, struct st_h2rx_stream): starts at the SETTINGS initial window and
 * doubles each time the consumer took a whole window, up to `max`: a consumer that never
 * reads pins only the initial window, one that keeps up soon gets the full one. */

struct st_h2rx {
    size_t queued; /* received on data streams, not yet taken or dropped */
    size_t owed;   /* connection window not yet returned */
    size_t budget;
};

struct st_h2rx_stream {
    int32_t window; /* current local window of the stream (0: not grown yet) */
    size_t taken;   /* bytes taken since the last growth */
};

void st_h2rx_init(struct st_h2rx *rx, size_t budget);
/* n bytes of DATA were queued for a stream's consumer. */
void st_h2rx_queued(struct st_h2rx *rx, nghttp2_session *s, size_t n);
/* The consumer of stream sid took n of its queued bytes: reopens the stream's window (and
 * grows it when w is given: from `initial` up to `max`) and connection window still owed. */
void st_h2rx_taken(struct st_h2rx *rx, nghttp2_session *s, int32_t sid, struct st_h2rx_stream *w,
                   int32_t initial, int32_t max, size_t n);
/* A stream went away with n queued bytes its consumer will never take. */
void st_h2rx_dropped(struct st_h2rx *rx, nghttp2_session *s, size_t n);

#endif
