#ifndef SUBTUNNEL_ST_SIO_H
#define SUBTUNNEL_ST_SIO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A non-blocking byte stream over a connected socket, plain TCP or server-side TLS
 * (HTTP/1.1 visitor connections). Single-threaded; the caller owns the epoll registration
 * and asks st_sio_events which readiness to wait for.
 *
 * TLS holds decrypted bytes the fd does not signal: a caller that stops reading before
 * -EAGAIN must call st_sio_read again without waiting for EPOLLIN. */

struct st_sio {
    int fd;
    SSL *ssl;            /* NULL: plain */
    bool handshake_done; /* always true for plain */
    /* TLS cross wants (OpenSSL WANT_*): the last read needs the fd writable, the last write
     * needs it readable. During the handshake read_wants_write says the handshake asked
     * for a write (else it waits for a read). */
    bool read_wants_write, write_wants_read;
    bool cert_refused; /* the handshake failed on the client's certificate (why says why) */
    char why[160];     /* reason of the last error */
};

/* Takes fd and ssl (may be NULL) over; for TLS sets accept state and the fd. */
void st_sio_init(struct st_sio *s, int fd, SSL *ssl);
/* Drives the TLS handshake: 1 done (plain: at once), 0 in progress (call again on the
 * readiness st_sio_events asks for), -1 failed (why: "TLS handshake: <reason>"; a client
 * certificate that did not verify sets cert_refused, why "TLS handshake: client certificate
 * refused: <verify error>"). */
int st_sio_handshake(struct st_sio *s);
/* Reads up to len (> 0) bytes. >0 bytes read, 0 orderly end (FIN, TLS close_notify, or an
 * unclean TLS EOF: treated as end), -EAGAIN nothing now, -EIO error (why set). Before the
 * handshake is done it drives the handshake (-EAGAIN while in progress). */
ssize_t st_sio_read(struct st_sio *s, void *buf, size_t len);
/* Writes up to len (> 0) bytes. >0 bytes written (partial writes), -EAGAIN, -EPIPE peer gone,
 * -EIO other error (why set). Plain writes never raise SIGPIPE (MSG_NOSIGNAL); TLS writes go
 * through OpenSSL's socket BIO, so the daemon must ignore SIGPIPE.
 * TLS: after -EAGAIN the next call must pass at least the same bytes again (the buffer may
 * have moved and may have grown; OpenSSL retries the record it already built). */
ssize_t st_sio_write(struct st_sio *s, const void *buf, size_t len);
/* Half-close once every write went out: TLS close_notify (after the handshake), then TCP FIN;
 * reading goes on until the peer's end (TLS 1.3 allows it). 0 done, -EAGAIN the close_notify
 * waits for the fd to be writable (call again then), -EIO failed (why set). */
int st_sio_shutdown(struct st_sio *s);
/* True when TLS holds decrypted bytes of a record the caller has not read yet (no EPOLLIN
 * will tell): read again without waiting. Always false for plain. */
bool st_sio_pending(const struct st_sio *s);
/* epoll events (EPOLLIN/EPOLLOUT) the stream needs given what the caller wants now. A read
 * that wants a write waits for EPOLLOUT instead of EPOLLIN, a write that wants a read for
 * EPOLLIN instead of EPOLLOUT (level-triggered, the other would spin). During the handshake
 * the caller's wants are ignored: whatever the handshake asked for (EPOLLIN at first). */
uint32_t st_sio_events(const struct st_sio *s, bool want_read, bool want_write);
/* Negotiated ALPN protocol ("" for plain or none) into buf (len > 0, truncated to fit). */
void st_sio_alpn(const struct st_sio *s, char *buf, size_t len);
/* Best-effort close_notify for TLS once the handshake is done (never blocks), SSL_free,
 * close(fd); fd becomes -1, ssl NULL. rst: SO_LINGER 0 (abortive close, RST for TCP) and no
 * close_notify. Safe to call twice. */
void st_sio_close(struct st_sio *s, bool rst);

#endif
