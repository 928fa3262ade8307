#include "st_ctrl.h"

#include "st_capsule.h"
#include "st_varint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

enum {
    F_REG_TOKEN = 1,
    F_REG_CONN_INDEX = 2,
    F_REG_PREV_ATTEMPTS = 3,
    F_REG_VERSION = 4,
    F_ROUTE = 5,
    F_REG_HOSTNAME = 6,
    F_REGD_CONN_ID = 1,
    F_REGD_LOCATION = 2,
    F_REGD_FLEET = 3,
    F_ERR_CAUSE = 1,
    F_ERR_RETRY_AFTER = 2,
    F_ERR_RETRY = 3,
};

#define CIDR_TEXT_MAX (INET6_ADDRSTRLEN + 4)
#define MAX_FIELDS (ST_CTRL_MAX_ROUTES + ST_CTRL_MAX_HOSTNAMES + 8)

/* Encoding collects fields first so the capsule length is known before anything is written. */
struct field {
    uint64_t type;
    const void *val;
    size_t len;
    uint8_t vbuf[8]; /* varint values live here (val == NULL) */
};

struct fields {
    struct field f[MAX_FIELDS];
    size_t n;
    char cidr[ST_CTRL_MAX_ROUTES][CIDR_TEXT_MAX];
    size_t n_cidr;
};

static void add_str(struct fields *fs, uint64_t type, const char *s, size_t maxlen)
{
    size_t len = strnlen(s, maxlen);

    if (len == 0)
        return;
    fs->f[fs->n++] = (struct field){.type = type, .val = s, .len = len};
}

static void add_varint(struct fields *fs, uint64_t type, uint64_t v)
{
    struct field *f = &fs->f[fs->n++];
    int n = st_varint_encode(f->vbuf, sizeof(f->vbuf), v > ST_VARINT_MAX ? ST_VARINT_MAX : v);

    f->type = type;
    f->val = NULL;
    f->len = (size_t)n;
}

static int add_routes(struct fields *fs, const struct st_cidr *routes, size_t n)
{
    if (n > ST_CTRL_MAX_ROUTES)
        return -E2BIG;
    for (size_t i = 0; i < n; i++) {
        char *text = fs->cidr[fs->n_cidr++];
        if (st_cidr_format(&routes[i], text, CIDR_TEXT_MAX) < 0)
            return -EINVAL;
        add_str(fs, F_ROUTE, text, CIDR_TEXT_MAX);
    }
    return 0;
}

static int finish(const struct fields *fs, uint64_t type, uint8_t *out, size_t cap)
{
    size_t total = 0, off;
    int n;

    for (size_t i = 0; i < fs->n; i++)
        total += st_varint_len(fs->f[i].type) + st_varint_len(fs->f[i].len) + fs->f[i].len;
    n = st_capsule_encode_header(out, cap, type, total);
    if (n < 0)
        return n;
    if (cap - (size_t)n < total)
        return -ENOSPC;
    off = (size_t)n;
    for (size_t i = 0; i < fs->n; i++) {
        const struct field *f = &fs->f[i];
        st_tlv_put(out, cap, &off, f->type, f->val ? f->val : f->vbuf, f->len);
    }
    return (int)off;
}

int st_ctrl_encode_register(const struct st_ctrl_register *m, uint8_t *out, size_t cap)
{
    struct fields fs;
    int rc;

    fs.n = fs.n_cidr = 0;
    if (m->n_hostnames > ST_CTRL_MAX_HOSTNAMES)
        return -E2BIG;
    add_str(&fs, F_REG_TOKEN, m->token, sizeof(m->token));
    add_varint(&fs, F_REG_CONN_INDEX, m->conn_index);
    add_varint(&fs, F_REG_PREV_ATTEMPTS, m->prev_attempts);
    add_str(&fs, F_REG_VERSION, m->version, sizeof(m->version));
    rc = add_routes(&fs, m->routes, m->n_routes);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < m->n_hostnames; i++)
        add_str(&fs, F_REG_HOSTNAME, m->hostnames[i], sizeof(m->hostnames[i]));
    return finish(&fs, ST_CAP_REGISTER, out, cap);
}

int st_ctrl_encode_registered(const struct st_ctrl_registered *m, uint8_t *out, size_t cap)
{
    struct fields fs;

    fs.n = fs.n_cidr = 0;
    add_str(&fs, F_REGD_CONN_ID, m->conn_id, sizeof(m->conn_id));
    add_str(&fs, F_REGD_LOCATION, m->location, sizeof(m->location));
    if (m->fleet) /* absent: an edge that works alone (and every edge before the flag) */
        add_varint(&fs, F_REGD_FLEET, 1);
    return finish(&fs, ST_CAP_REGISTERED, out, cap);
}

int st_ctrl_encode_error(const struct st_ctrl_error *m, uint8_t *out, size_t cap)
{
    struct fields fs;

    fs.n = fs.n_cidr = 0;
    add_str(&fs, F_ERR_CAUSE, m->cause, sizeof(m->cause));
    add_varint(&fs, F_ERR_RETRY_AFTER, m->retry_after_s);
    add_varint(&fs, F_ERR_RETRY, m->retry ? 1 : 0);
    return finish(&fs, ST_CAP_ERROR, out, cap);
}

int st_ctrl_encode_routes(const struct st_ctrl_routes *m, uint8_t *out, size_t cap)
{
    struct fields fs;
    int rc;

    fs.n = fs.n_cidr = 0;
    rc = add_routes(&fs, m->routes, m->n_routes);
    if (rc < 0)
        return rc;
    return finish(&fs, ST_CAP_ROUTES, out, cap);
}

int st_ctrl_encode_unregister(uint8_t *out, size_t cap)
{
    return st_capsule_encode_header(out, cap, ST_CAP_UNREGISTER, 0);
}

/* ---- decoding ---- */

/* Rejects a second occurrence of a single-valued field (bit in *seen). */
static int once(unsigned *seen, uint64_t type)
{
    unsigned bit = 1u << (type & 31);

    if (*seen & bit)
        return -EBADMSG;
    *seen |= bit;
    return 0;
}

static int get_str(char *dst, size_t size, const uint8_t *val, size_t vlen)
{
    for (size_t i = 0; i < vlen; i++)
        if (val[i] < 0x20 || val[i] == 0x7f)
            return -EBADMSG;
    if (vlen >= size)
        return -E2BIG;
    memcpy(dst, val, vlen);
    dst[vlen] = '\0';
    return 0;
}

static int get_varint(uint64_t *dst, const uint8_t *val, size_t vlen)
{
    int n = st_varint_decode(val, vlen, dst);

    return n > 0 && (size_t)n == vlen ? 0 : -EBADMSG;
}

static int get_route(struct st_cidr *routes, size_t *n, const uint8_t *val, size_t vlen)
{
    char text[CIDR_TEXT_MAX];

    if (*n >= ST_CTRL_MAX_ROUTES)
        return -E2BIG;
    if (vlen >= sizeof(text) || get_str(text, sizeof(text), val, vlen) < 0)
        return -EBADMSG;
    if (st_cidr_parse(text, &routes[*n]) < 0)
        return -EBADMSG;
    (*n)++;
    return 0;
}

static int register_field(struct st_ctrl_register *m, unsigned *seen, uint64_t type,
                          const uint8_t *val, size_t vlen)
{
    if (type >= F_REG_TOKEN && type <= F_REG_VERSION && once(seen, type) < 0)
        return -EBADMSG;
    switch (type) {
    case F_REG_TOKEN: /* an empty token is no token (the encoder leaves it out) */
        return vlen ? get_str(m->token, sizeof(m->token), val, vlen) : -EBADMSG;
    case F_REG_CONN_INDEX:
        return get_varint(&m->conn_index, val, vlen);
    case F_REG_PREV_ATTEMPTS:
        return get_varint(&m->prev_attempts, val, vlen);
    case F_REG_VERSION:
        return get_str(m->version, sizeof(m->version), val, vlen);
    case F_ROUTE:
        return get_route(m->routes, &m->n_routes, val, vlen);
    case F_REG_HOSTNAME:
        if (m->n_hostnames >= ST_CTRL_MAX_HOSTNAMES)
            return -E2BIG;
        if (vlen == 0) /* not a name, and the encoder would drop it */
            return -EBADMSG;
        return get_str(m->hostnames[m->n_hostnames++], sizeof(m->hostnames[0]), val, vlen);
    default:
        return 0;
    }
}

int st_ctrl_decode_register(const uint8_t *v, size_t len, struct st_ctrl_register *m)
{
    struct st_tlv_iter it;
    const uint8_t *val;
    size_t vlen;
    uint64_t type;
    unsigned seen = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    st_tlv_iter_init(&it, v, len);
    while ((rc = st_tlv_next(&it, &type, &val, &vlen)) > 0) {
        rc = register_field(m, &seen, type, val, vlen);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    return seen & (1u << F_REG_TOKEN) ? 0 : -EBADMSG;
}

int st_ctrl_decode_registered(const uint8_t *v, size_t len, struct st_ctrl_registered *m)
{
    struct st_tlv_iter it;
    const uint8_t *val;
    size_t vlen;
    uint64_t type;
    unsigned seen = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    st_tlv_iter_init(&it, v, len);
    while ((rc = st_tlv_next(&it, &type, &val, &vlen)) > 0) {
        if (type < F_REGD_CONN_ID || type > F_REGD_FLEET)
            continue;
        uint64_t fleet = 0;
        rc = once(&seen, type);
        if (rc == 0 && type == F_REGD_FLEET)
            rc = get_varint(&fleet, val, vlen) < 0 || fleet > 1 ? -EBADMSG : 0;
        else if (rc == 0)
            rc = type == F_REGD_CONN_ID ? get_str(m->conn_id, sizeof(m->conn_id), val, vlen)
                                        : get_str(m->location, sizeof(m->location), val, vlen);
        if (rc < 0)
            return rc;
        m->fleet |= fleet == 1;
    }
    return rc;
}

static int error_field(struct st_ctrl_error *m, uint64_t type, const uint8_t *val, size_t vlen)
{
    uint64_t x;
    int rc;

    switch (type) {
    case F_ERR_CAUSE:
        return get_str(m->cause, sizeof(m->cause), val, vlen);
    case F_ERR_RETRY_AFTER:
        return get_varint(&m->retry_after_s, val, vlen);
    case F_ERR_RETRY:
        rc = get_varint(&x, val, vlen);
        if (rc < 0 || x > 1)
            return -EBADMSG;
        m->retry = x == 1;
        return 0;
    default:
        return 0;
    }
}

int st_ctrl_decode_error(const uint8_t *v, size_t len, struct st_ctrl_error *m)
{
    struct st_tlv_iter it;
    const uint8_t *val;
    size_t vlen;
    uint64_t type;
    unsigned seen = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    st_tlv_iter_init(&it, v, len);
    while ((rc = st_tlv_next(&it, &type, &val, &vlen)) > 0) {
        if (type >= F_ERR_CAUSE && type <= F_ERR_RETRY && once(&seen, type) < 0)
            return -EBADMSG;
        rc = error_field(m, type, val, vlen);
        if (rc < 0)
            return rc;
    }
    return rc;
}

int st_ctrl_decode_routes(const uint8_t *v, size_t len, struct st_ctrl_routes *m)
{
    struct st_tlv_iter it;
    const uint8_t *val;
    size_t vlen;
    uint64_t type;
    int rc;

    memset(m, 0, sizeof(*m));
    st_tlv_iter_init(&it, v, len);
    while ((rc = st_tlv_next(&it, &type, &val, &vlen)) > 0) {
        if (type != F_ROUTE)
            continue;
        rc = get_route(m->routes, &m->n_routes, val, vlen);
        if (rc < 0)
            return rc;
    }
    return rc;
}

const char *st_ctrl_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case -EBADMSG:
        return "malformed control message";
    case -E2BIG:
        return "control message has too many entries or a string too long";
    case -ENOSPC:
        return "buffer too small for control message";
    case -EMSGSIZE:
        return "capsule too large";
    case -ERANGE:
        return "value out of range";
    case -EINVAL:
        return "invalid control message content";
    default:
        return "unknown control message error";
    }
}
