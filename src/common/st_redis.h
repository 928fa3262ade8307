#ifndef SUBTUNNEL_ST_REDIS_H
#define SUBTUNNEL_ST_REDIS_H

/* A Redis client driven by st_loop: one connection (plain TCP, or TLS 1.3 for rediss://),
 * pipelined commands with one callback per reply, pub/sub on a connection of its own, a
 * bounded output buffer and reconnection with exponential backoff. No threads, no blocking
 * call: hiredis (0.14) only encodes commands (redisFormatCommandArgv) and parses RESP
 * (redisReader); the socket I/O is ours. */

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

struct st_loop;
struct st_redis;

/* ---- URL ---- */

/* redis://[[user]:password@]host[:port][/db] or rediss://...; host is an IPv4 address, an
 * IPv6 address in brackets or a host name (resolved with c-ares on the loop before every
 * connection, never blocking); port defaults to 6379; user and password may be
 * percent-encoded; "user:@" names a user without a password (given some other way). */
struct st_redis_url {
    bool tls;                /* rediss:// */
    bool named;              /* host is a name, resolved before each connection */
    struct st_sockaddr addr; /* host is an address: it, with the port */
    uint16_t port;
    char *user, *password; /* NULL: none (AUTH pass without user; no AUTH without either) */
    int db;                /* SELECT db when > 0 */
    char host[256];        /* the host as written, for logs and TLS (never the password) */
};

/* Parses url into *out (release with st_redis_url_fini). 0, or -EINVAL with the reason in
 * err ("registry URL: ..."; never echoes the password), -ENOMEM. */
int st_redis_url_parse(const char *url, struct st_redis_url *out, char *err, size_t errlen);
void st_redis_url_fini(struct st_redis_url *u);

/* ---- replies ---- */

enum st_redis_type {
    ST_REDIS_STRING = 1,
    ST_REDIS_ARRAY,
    ST_REDIS_INTEGER,
    ST_REDIS_NIL,
    ST_REDIS_STATUS,
    ST_REDIS_ERROR,
};

struct st_redis_reply {
    enum st_redis_type type;
    long long integer; /* ST_REDIS_INTEGER */
    char *str;         /* STRING, STATUS, ERROR: len bytes plus a NUL */
    size_t len;
    struct st_redis_reply **element; /* ARRAY */
    size_t elements;
};

/* Limits on one reply, checked while parsing (a peer cannot make us allocate past them). */
#define ST_REDIS_MAX_STRING (1u << 20)  /* bulk string bytes */
#define ST_REDIS_MAX_ELEMENTS 65536     /* array elements */
#define ST_REDIS_MAX_PENDING (1u << 24) /* unparsed input bytes */

/* A RESP parser over fed bytes (pure: no socket). NULL on ENOMEM. */
struct st_redis_parser *st_redis_parser_new(void);
void st_redis_parser_free(struct st_redis_parser *p);
/* Appends len bytes. 0, or -EPROTO when more than ST_REDIS_MAX_PENDING bytes wait unparsed. */
int st_redis_parser_feed(struct st_redis_parser *p, const void *buf, size_t len);
/* 1 with *out a complete reply (the caller frees it with st_redis_reply_free), 0 when more
 * bytes are needed, -EPROTO on bad input or a reply past the limits (why set; the parser is
 * then unusable). */
int st_redis_parser_next(struct st_redis_parser *p, struct st_redis_reply **out, char *why,
                         size_t whylen);
void st_redis_reply_free(struct st_redis_reply *r);
/* Element i of an array reply when it is a string (or status), else NULL. */
const char *st_redis_elem_str(const struct st_redis_reply *r, size_t i, size_t *len);

/* ---- client ---- */

/* reply NULL: the connection went away (or the client was freed) before the reply came. The
 * reply is freed after the callback returns. */
typedef void (*st_redis_cb)(struct st_redis *r, const struct st_redis_reply *reply, void *arg);
/* up true: connected, authenticated, db selected: commands may be sent. up false: lost (or
 * failed to connect; why says why); a reconnection is scheduled. Called once per change. */
typedef void (*st_redis_state_cb)(struct st_redis *r, bool up, const char *why, void *data);
/* A pub/sub push ("message", channel, payload; "subscribe", ...) once st_redis_subscribe ran. */
typedef void (*st_redis_push_cb)(struct st_redis *r, const struct st_redis_reply *msg, void *data);

struct st_redis_opts {
    size_t max_out;                          /* bytes of commands not yet written; default 1 MiB */
    size_t max_inflight;                     /* commands sent, reply not yet come; default 65536 */
    uint32_t backoff_min_ms, backoff_max_ms; /* default 100, 5000 */
    uint32_t connect_timeout_ms;             /* connect + TLS + AUTH; default 5000 */
    SSL_CTX *tls_ctx;     /* rediss: a client context (st_redis_tls_ctx); the client refs it */
    const char *tls_name; /* rediss: the name to verify and send as SNI; NULL: verify the IP */
    st_redis_state_cb state_cb;
    st_redis_push_cb push_cb;
    void *data;
};

struct st_redis_stats {
    uint64_t sent;     /* commands queued */
    uint64_t refused;  /* commands refused: not connected, output buffer or in-flight cap full */
    uint64_t errors;   /* error replies, connection failures and losses, protocol errors */
    uint64_t connects; /* successful connections */
};

/* A client for url (copied); opts may be NULL (defaults). It does not connect until
 * st_redis_start. NULL on ENOMEM, or -EINVAL cases (rediss without tls_ctx) with a log. */
struct st_redis *st_redis_new(struct st_loop *loop, const struct st_redis_url *url,
                              const struct st_redis_opts *opts);
/* Writes what it can of the queued commands without blocking, closes the connection, fails
 * every pending callback (reply NULL; no state_cb) and frees;
 * NULL-safe. May be called from r's own callbacks: inside an epoll batch or a callback the
 * memory is released by a deferred callback of the loop. */
void st_redis_free(struct st_redis *r);
/* Starts connecting (and reconnecting for ever with backoff). 0. */
int st_redis_start(struct st_redis *r);
/* Drops the connection now (pending callbacks get NULL) and reconnects after the backoff. */
void st_redis_drop(struct st_redis *r, const char *why);
/* Connected and authenticated. */
bool st_redis_up(const struct st_redis *r);
/* Queues a command (argv[i] of argvlen[i] bytes; argvlen NULL: NUL-terminated strings).
 * cb may be NULL (reply ignored). 0, -ENOTCONN (not up), -ENOBUFS (output buffer or
 * in-flight cap full; counted in refused), -EINVAL (argc < 1), -ENOMEM. Never calls cb on
 * failure. */
int st_redis_command(struct st_redis *r, st_redis_cb cb, void *arg, int argc, const char **argv,
                     const size_t *argvlen);
/* SUBSCRIBE to channel: from now on arrays of "message"/"subscribe"/... go to push_cb. Same
 * returns as st_redis_command. */
int st_redis_subscribe(struct st_redis *r, const char *channel);
const struct st_redis_stats *st_redis_stats(const struct st_redis *r);
/* The reason of the last failure ("" none). */
const char *st_redis_why(const struct st_redis *r);

/* A TLS 1.3 client context for rediss verifying the server against ca_file (PEM; NULL: the
 * system's default CA paths). NULL with the reason in err. */
SSL_CTX *st_redis_tls_ctx(const char *ca_file, char *err, size_t errlen);

#endif
