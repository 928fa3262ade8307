#ifndef SUBTUNNEL_ST_CONFIG_H
#define SUBTUNNEL_ST_CONFIG_H

/* Generic YAML configuration tree (libyaml) with line numbers, and typed getters whose
 * errors read "FILE:LINE: reason". Only scalars, mappings and sequences: anchors, aliases,
 * duplicate keys, non-scalar keys and multiple documents are rejected. Every st_cfg_* getter
 * returns 0, or -EINVAL after writing the message into the st_cfg's error buffer. */

#include "st_addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum st_cfg_kind { ST_CFG_SCALAR, ST_CFG_MAP, ST_CFG_SEQ };

struct st_cfg_node {
    enum st_cfg_kind kind;
    int line;                      /* 1-based line of the value */
    char *path;                    /* "tunnels[0].routes[1]" for messages; "" for the root */
    char *key;                     /* key when this node is a mapping value, else NULL */
    int key_line;                  /* line of that key */
    char *scalar;                  /* ST_CFG_SCALAR: text ("" for an empty value) */
    bool plain;                    /* ST_CFG_SCALAR: unquoted */
    struct st_cfg_node **children; /* ST_CFG_MAP values (in order, each with key) / ST_CFG_SEQ */
    size_t n_children;
};

struct st_cfg {
    char *name;               /* file name used in messages (owned copy) */
    struct st_cfg_node *root; /* NULL for an empty document */
    char *err;                /* caller's error buffer (not owned) */
    size_t errlen;
};

/* Parses text[0..len) named name (for messages) into cfg; err/errlen are kept for later
 * getter messages. 0, -EINVAL (syntax or structure error, message in err) or -ENOMEM.
 * On failure cfg needs no st_cfg_fini (calling it is harmless). */
int st_cfg_parse(struct st_cfg *cfg, const char *text, size_t len, const char *name, char *err,
                 size_t errlen);
/* Reads path and parses it as above; -errno with "PATH: reason" if it cannot be read. */
int st_cfg_load(struct st_cfg *cfg, const char *path, char *err, size_t errlen);
/* Frees the tree and the name; keeps nothing. Accepts a zeroed cfg. */
void st_cfg_fini(struct st_cfg *cfg);
/* A daemon's typed config: build(c, out) turns a parsed tree into the zeroed size-byte out;
 * fini(out) releases what a failed build left. */
struct st_cfg_type {
    size_t size;
    int (*build)(struct st_cfg *c, void *out);
    void (*fini)(void *out);
};
/* Parses text (as st_cfg_parse) or reads path (as st_cfg_load) into out, zeroed first and
 * built by type->build; the tree is released. On failure out is released with type->fini
 * and the negative code returned; -ENOMEM becomes "NAME: out of memory" in err. */
int st_cfg_parse_typed(const struct st_cfg_type *type, const char *text, size_t len,
                       const char *name, void *out, char *err, size_t errlen);
int st_cfg_load_typed(const struct st_cfg_type *type, const char *path, void *out, char *err,
                      size_t errlen);

/* Writes "NAME:LINE: <fmt...>" into the error buffer; always returns -EINVAL. */
int st_cfg_fail(struct st_cfg *cfg, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Value of key in map, or NULL (also when map is NULL or not a mapping). */
const struct st_cfg_node *st_cfg_get(const struct st_cfg_node *map, const char *key);
/* Fails with "unknown key 'foo'" at the first key of map not in the NULL-terminated allowed. */
int st_cfg_check_keys(struct st_cfg *cfg, const struct st_cfg_node *map,
                      const char *const *allowed);
/* Like st_cfg_get but fails with "missing required key 'KEY' in PATH" if absent. */
int st_cfg_require(struct st_cfg *cfg, const struct st_cfg_node *map, const char *key,
                   const struct st_cfg_node **out);

/* Kind checks: node must be a mapping / a sequence of at least min_items items. */
int st_cfg_map(struct st_cfg *cfg, const struct st_cfg_node *node);
int st_cfg_seq(struct st_cfg *cfg, const struct st_cfg_node *node, size_t min_items);
/* Non-empty scalar; *out points into the tree. */
int st_cfg_string(struct st_cfg *cfg, const struct st_cfg_node *node, const char **out);
/* Non-empty scalar copied into a new heap string (caller frees); -ENOMEM possible. */
int st_cfg_strdup(struct st_cfg *cfg, const struct st_cfg_node *node, char **out);
/* Decimal integer within [min, max]. */
int st_cfg_int(struct st_cfg *cfg, const struct st_cfg_node *node, long min, long max, long *out);
/* true / false. */
/* Optional integer map[key] in [min, max], stored as value * scale (e.g. seconds to ms);
 * *out keeps its default when the key is absent. */
int st_cfg_opt_int(struct st_cfg *cfg, const struct st_cfg_node *map, const char *key, long min,
                   long max, long scale, int *out);
int st_cfg_bool(struct st_cfg *cfg, const struct st_cfg_node *node, bool *out);
/* CIDR per st_cidr_parse; says when host bits are set. */
int st_cfg_cidr(struct st_cfg *cfg, const struct st_cfg_node *node, struct st_cidr *out);
/* Numeric "ip:port" per st_sockaddr_parse. */
int st_cfg_sockaddr(struct st_cfg *cfg, const struct st_cfg_node *node, struct st_sockaddr *out);
/* error|warn|info|debug -> ST_LOG_*. */
int st_cfg_log_level(struct st_cfg *cfg, const struct st_cfg_node *node, int *out);
/* text|json -> ST_LOG_TEXT / ST_LOG_JSON. */
int st_cfg_log_format(struct st_cfg *cfg, const struct st_cfg_node *node, int *out);
/* A listener: numeric "ip:port" (port not 0), or "off" (*on false). */
int st_cfg_listener(struct st_cfg *cfg, const struct st_cfg_node *node, struct st_sockaddr *out,
                    bool *on);
/* Optional `user` and `group` keys of root (names or decimal ids, resolved at start-up by
 * st_priv_resolve): at most 63 characters of [A-Za-z0-9_.-] (a name may end in '$'), not
 * starting with '-'; `group` only with `user`. *user / *group: new heap strings, or left
 * as they were when the key is absent. */
int st_cfg_user(struct st_cfg *cfg, const struct st_cfg_node *root, char **user, char **group);
/* A list of non-empty strings: a sequence of scalars, or one scalar (a list of one). Each at
 * most maxlen bytes, no control characters, no duplicates. *out: a new NULL-terminated heap
 * array of heap strings (free with st_cfg_strlist_free), *n its length. */
int st_cfg_strlist(struct st_cfg *cfg, const struct st_cfg_node *node, size_t maxlen, char ***out,
                   size_t *n);
/* A key that takes one value or a list of them: how many (1 for a scalar or mapping), and
 * the i-th (the node itself for a scalar or mapping). */
size_t st_cfg_items(const struct st_cfg_node *node);
const struct st_cfg_node *st_cfg_item(const struct st_cfg_node *node, size_t i);
/* Frees what st_cfg_strlist returned; accepts NULL. */
void st_cfg_strlist_free(char **list);
/* RFC 3339 date-time ("2027-01-31T12:00:00Z", fractions and a "+02:00" offset allowed)
 * into seconds since the epoch. */
int st_cfg_time(struct st_cfg *cfg, const struct st_cfg_node *node, int64_t *out);
/* Path of an existing readable regular file (relative paths: from the working directory). */
int st_cfg_readable_file(struct st_cfg *cfg, const struct st_cfg_node *node, const char **out);
/* A secret kept in a file (token-file, registry.password-file): the file node names is read
 * into buf (len bytes), surrounding whitespace removed; a file with a NUL byte or of len bytes
 * or more leaves buf empty, for the caller's "must hold ..." error. *path: the file's path.
 * 0, or an error (unreadable, not a regular file) already reported. The caller wipes buf. */
int st_cfg_secret_file(struct st_cfg *cfg, const struct st_cfg_node *node, char *buf, size_t len,
                       const char **path);

#endif
