#include "st_config.h"

#include "st_log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_DEPTH 32
#define MAX_FILE_SIZE (16 << 20) /* an edge with 10,000 tunnels: about 1.3 MiB */

struct parser {
    yaml_parser_t yp;
    struct st_cfg *cfg;
    int depth;
};

static int parse_node(struct parser *p, yaml_event_t *ev, const char *path,
                      struct st_cfg_node **out);

int st_cfg_fail(struct st_cfg *cfg, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!cfg->err || cfg->errlen == 0)
        return -EINVAL;
    n = snprintf(cfg->err, cfg->errlen, "%s:%d: ", cfg->name ? cfg->name : "<config>", line);
    if (n >= 0 && (size_t)n < cfg->errlen) {
        va_start(ap, fmt);
        vsnprintf(cfg->err + n, cfg->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static void node_free(struct st_cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_children; i++)
        node_free(n->children[i]);
    free(n->children);
    free(n->path);
    free(n->key);
    free(n->scalar);
    free(n);
}

static struct st_cfg_node *node_new(enum st_cfg_kind kind, const yaml_event_t *ev, const char *path)
{
    struct st_cfg_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)ev->start_mark.line + 1;
    n->path = strdup(path);
    if (!n->path) {
        free(n);
        return NULL;
    }
    return n;
}

static int add_child(struct st_cfg_node *parent, struct st_cfg_node *child)
{
    struct st_cfg_node **c;

    c = realloc(parent->children, (parent->n_children + 1) * sizeof(*c));
    if (!c)
        return -ENOMEM;
    parent->children = c;
    c[parent->n_children++] = child;
    return 0;
}

static int syntax_error(struct parser *p)
{
    yaml_parser_t *yp = &p->yp;
    int line = (int)yp->problem_mark.line + 1;

    if (yp->error == YAML_MEMORY_ERROR) {
        st_cfg_fail(p->cfg, line, "out of memory");
        return -ENOMEM;
    }
    if (yp->context)
        return st_cfg_fail(p->cfg, line, "YAML syntax error: %s (%s at line %d)",
                           yp->problem ? yp->problem : "unknown", yp->context,
                           (int)yp->context_mark.line + 1);
    return st_cfg_fail(p->cfg, line, "YAML syntax error: %s",
                       yp->problem ? yp->problem : "unknown");
}

static int next_event(struct parser *p, yaml_event_t *ev)
{
    return yaml_parser_parse(&p->yp, ev) ? 0 : syntax_error(p);
}

static const char *event_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return (const char *)ev->data.scalar.anchor;
    case YAML_MAPPING_START_EVENT:
        return (const char *)ev->data.mapping_start.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return (const char *)ev->data.sequence_start.anchor;
    default:
        return NULL;
    }
}

static const struct st_cfg_node *find_child(const struct st_cfg_node *map, const char *key)
{
    for (size_t i = 0; i < map->n_children; i++)
        if (strcmp(map->children[i]->key, key) == 0)
            return map->children[i];
    return NULL;
}

static char *child_path(const char *parent, const char *key, size_t index)
{
    char *s = NULL;
    int n;

    if (key)
        n = *parent ? asprintf(&s, "%s.%s", parent, key) : asprintf(&s, "%s", key);
    else
        n = asprintf(&s, "%s[%zu]", parent, index);
    return n < 0 ? NULL : s;
}

/* Parses the value that follows a key event; the key event is consumed here. */
static int parse_map_entry(struct parser *p, struct st_cfg_node *map, yaml_event_t *kev)
{
    const struct st_cfg_node *dup;
    struct st_cfg_node *child;
    yaml_event_t vev;
    char *key, *path;
    int key_line = (int)kev->start_mark.line + 1, rc;

    if (kev->type != YAML_SCALAR_EVENT) {
        yaml_event_delete(kev);
        return st_cfg_fail(p->cfg, key_line, "mapping keys must be scalars");
    }
    key = strdup((const char *)kev->data.scalar.value);
    yaml_event_delete(kev);
    if (!key)
        return -ENOMEM;
    dup = find_child(map, key);
    if (dup) {
        rc = st_cfg_fail(p->cfg, key_line, "duplicate key '%s' (first at line %d)", key,
                         dup->key_line);
        goto fail_free_key;
    }
    path = child_path(map->path, key, 0);
    rc = path ? next_event(p, &vev) : -ENOMEM;
    if (rc == 0)
        rc = parse_node(p, &vev, path, &child);
    free(path);
    if (rc < 0)
        goto fail_free_key;
    child->key = key;
    child->key_line = key_line;
    rc = add_child(map, child);
    if (rc < 0)
        node_free(child);
    return rc;

fail_free_key:
    free(key);
    return rc;
}

static int parse_children(struct parser *p, struct st_cfg_node *n, yaml_event_type_t end)
{
    yaml_event_t ev;
    struct st_cfg_node *child;
    char *path;
    int rc;

    for (;;) {
        rc = next_event(p, &ev);
        if (rc < 0)
            return rc;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (n->kind == ST_CFG_MAP) {
            rc = parse_map_entry(p, n, &ev);
        } else {
            path = child_path(n->path, NULL, n->n_children);
            rc = path ? parse_node(p, &ev, path, &child) : -ENOMEM;
            free(path);
            if (rc == 0 && (rc = add_child(n, child)) < 0)
                node_free(child);
        }
        if (rc < 0)
            return rc;
    }
}

static int parse_collection(struct parser *p, yaml_event_t *ev, const char *path,
                            struct st_cfg_node **out)
{
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    struct st_cfg_node *n = node_new(is_map ? ST_CFG_MAP : ST_CFG_SEQ, ev, path);
    int rc;

    yaml_event_delete(ev);
    if (!n)
        return -ENOMEM;
    if (++p->depth > MAX_DEPTH) {
        rc = st_cfg_fail(p->cfg, n->line, "nesting deeper than %d levels", MAX_DEPTH);
    } else {
        rc = parse_children(p, n, is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT);
    }
    p->depth--;
    if (rc < 0) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int parse_scalar(yaml_event_t *ev, const char *path, struct st_cfg_node **out)
{
    struct st_cfg_node *n = node_new(ST_CFG_SCALAR, ev, path);

    if (n) {
        n->scalar = strdup((const char *)ev->data.scalar.value);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    }
    yaml_event_delete(ev);
    if (!n || !n->scalar) {
        node_free(n);
        return -ENOMEM;
    }
    *out = n;
    return 0;
}

/* Builds the node starting with *ev (consumed). */
static int parse_node(struct parser *p, yaml_event_t *ev, const char *path,
                      struct st_cfg_node **out)
{
    int line = (int)ev->start_mark.line + 1, rc;
    const char *anchor = event_anchor(ev);

    if (ev->type == YAML_ALIAS_EVENT || anchor) {
        rc = st_cfg_fail(p->cfg, line, "YAML %s '%s' not supported: write values out in full",
                         anchor ? "anchor" : "alias",
                         anchor ? anchor : (const char *)ev->data.alias.anchor);
        yaml_event_delete(ev);
        return rc;
    }
    if (ev->type == YAML_SCALAR_EVENT)
        return parse_scalar(ev, path, out);
    if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT)
        return parse_collection(p, ev, path, out);
    yaml_event_delete(ev);
    return st_cfg_fail(p->cfg, line, "unexpected YAML event");
}

/* Expects the next event to be of type want (deleted); mismatches give msg. */
static int expect_event(struct parser *p, yaml_event_type_t want, const char *msg)
{
    yaml_event_t ev;
    int rc = next_event(p, &ev), line;

    if (rc < 0)
        return rc;
    line = (int)ev.start_mark.line + 1;
    rc = ev.type == want ? 0 : 1;
    yaml_event_delete(&ev);
    return rc == 0 ? 0 : st_cfg_fail(p->cfg, line, "%s", msg);
}

static int parse_stream(struct parser *p)
{
    yaml_event_t ev;
    int rc;

    rc = expect_event(p, YAML_STREAM_START_EVENT, "expected YAML stream");
    if (rc == 0)
        rc = next_event(p, &ev);
    if (rc < 0)
        return rc;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* document start */
    rc = next_event(p, &ev);
    if (rc == 0)
        rc = parse_node(p, &ev, "", &p->cfg->root);
    if (rc == 0)
        rc = expect_event(p, YAML_DOCUMENT_END_EVENT, "expected end of document");
    if (rc == 0)
        rc = expect_event(p, YAML_STREAM_END_EVENT, "multiple YAML documents are not supported");
    return rc;
}

int st_cfg_parse(struct st_cfg *cfg, const char *text, size_t len, const char *name, char *err,
                 size_t errlen)
{
    struct parser p = {.cfg = cfg};
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    cfg->err = err;
    cfg->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    cfg->name = strdup(name ? name : "<config>");
    if (!cfg->name)
        return -ENOMEM;
    if (!yaml_parser_initialize(&p.yp)) {
        rc = -ENOMEM;
        goto fail_fini;
    }
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
    rc = parse_stream(&p);
    yaml_parser_delete(&p.yp);
    if (rc == 0)
        return 0;
fail_fini:
    st_cfg_fini(cfg);
    cfg->err = err;
    cfg->errlen = errlen;
    return rc;
}

static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f)
        return -errno;
    buf = malloc(MAX_FILE_SIZE + 1);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(buf, 1, MAX_FILE_SIZE + 1, f);
    if (ferror(f) || n > MAX_FILE_SIZE) {
        int rc = ferror(f) ? -EIO : -EFBIG;
        fclose(f);
        free(buf);
        return rc;
    }
    fclose(f);
    *text = buf;
    *len = n;
    return 0;
}

int st_cfg_load(struct st_cfg *cfg, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len);

    if (rc < 0) {
        memset(cfg, 0, sizeof(*cfg));
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        return rc;
    }
    rc = st_cfg_parse(cfg, text, len, path, err, errlen);
    free(text);
    return rc;
}

void st_cfg_fini(struct st_cfg *cfg)
{
    if (!cfg)
        return;
    node_free(cfg->root);
    free(cfg->name);
    memset(cfg, 0, sizeof(*cfg));
}

const struct st_cfg_node *st_cfg_get(const struct st_cfg_node *map, const char *key)
{
    if (!map || map->kind != ST_CFG_MAP)
        return NULL;
    return find_child(map, key);
}

int st_cfg_check_keys(struct st_cfg *cfg, const struct st_cfg_node *map, const char *const *allowed)
{
    for (size_t i = 0; i < map->n_children; i++) {
        const struct st_cfg_node *c = map->children[i];
        size_t k = 0;
        while (allowed[k] && strcmp(allowed[k], c->key) != 0)
            k++;
        if (!allowed[k]) {
            if (*map->path)
                return st_cfg_fail(cfg, c->key_line, "unknown key '%s' in '%s'", c->key, map->path);
            return st_cfg_fail(cfg, c->key_line, "unknown key '%s'", c->key);
        }
    }
    return 0;
}

int st_cfg_require(struct st_cfg *cfg, const struct st_cfg_node *map, const char *key,
                   const struct st_cfg_node **out)
{
    *out = st_cfg_get(map, key);
    if (*out)
        return 0;
    if (*map->path)
        return st_cfg_fail(cfg, map->line, "missing required key '%s' in '%s'", key, map->path);
    return st_cfg_fail(cfg, map->line, "missing required key '%s'", key);
}

/* Name of node for messages: its path, or "configuration" for the root. */
static const char *what(const struct st_cfg_node *node)
{
    return *node->path ? node->path : "configuration";
}

int st_cfg_map(struct st_cfg *cfg, const struct st_cfg_node *node)
{
    if (node->kind == ST_CFG_MAP)
        return 0;
    return st_cfg_fail(cfg, node->line, "'%s' must be a mapping", what(node));
}

int st_cfg_seq(struct st_cfg *cfg, const struct st_cfg_node *node, size_t min_items)
{
    if (node->kind != ST_CFG_SEQ)
        return st_cfg_fail(cfg, node->line, "'%s' must be a list", what(node));
    if (node->n_children < min_items)
        return st_cfg_fail(cfg, node->line, "'%s' needs at least %zu item%s", what(node), min_items,
                           min_items == 1 ? "" : "s");
    return 0;
}

int st_cfg_string(struct st_cfg *cfg, const struct st_cfg_node *node, const char **out)
{
    if (node->kind != ST_CFG_SCALAR || node->scalar[0] == '\0')
        return st_cfg_fail(cfg, node->line, "'%s' must be a non-empty string", what(node));
    *out = node->scalar;
    return 0;
}

int st_cfg_strdup(struct st_cfg *cfg, const struct st_cfg_node *node, char **out)
{
    const char *s = NULL;
    int rc = st_cfg_string(cfg, node, &s);

    if (rc < 0)
        return rc;
    *out = strdup(s);
    return *out ? 0 : -ENOMEM;
}

int st_cfg_int(struct st_cfg *cfg, const struct st_cfg_node *node, long min, long max, long *out)
{
    char *end;
    long v;

    if (node->kind != ST_CFG_SCALAR || node->scalar[0] == '\0')
        return st_cfg_fail(cfg, node->line, "'%s' must be an integer", what(node));
    errno = 0;
    v = strtol(node->scalar, &end, 10);
    if (*end != '\0' ||
        !(node->scalar[0] == '-' || (node->scalar[0] >= '0' && node->scalar[0] <= '9')))
        return st_cfg_fail(cfg, node->line, "'%s' must be an integer, not '%s'", what(node),
                           node->scalar);
    if (errno == ERANGE || v < min || v > max)
        return st_cfg_fail(cfg, node->line, "'%s' is %s, must be between %ld and %ld", what(node),
                           node->scalar, min, max);
    *out = v;
    return 0;
}

int st_cfg_opt_int(struct st_cfg *cfg, const struct st_cfg_node *map, const char *key, long min,
                   long max, long scale, int *out)
{
    const struct st_cfg_node *v = st_cfg_get(map, key);
    long x;
    int rc;

    if (!v)
        return 0;
    if ((rc = st_cfg_int(cfg, v, min, max, &x)) < 0)
        return rc;
    *out = (int)(x * scale);
    return 0;
}

int st_cfg_bool(struct st_cfg *cfg, const struct st_cfg_node *node, bool *out)
{
    if (node->kind == ST_CFG_SCALAR && strcmp(node->scalar, "true") == 0)
        *out = true;
    else if (node->kind == ST_CFG_SCALAR && strcmp(node->scalar, "false") == 0)
        *out = false;
    else
        return st_cfg_fail(cfg, node->line, "'%s' must be true or false", what(node));
    return 0;
}

/* Explains why s is not a valid CIDR (host bits vs. syntax). */
static const char *cidr_reason(const char *s)
{
    const char *slash = strchr(s, '/');
    struct st_cidr c;
    char addr[64];
    long prefix;
    char *end;

    if (!slash || (size_t)(slash - s) >= sizeof(addr))
        return "not an IP address or CIDR";
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (st_cidr_parse(addr, &c) < 0)
        return "not an IP address or CIDR";
    prefix = strtol(slash + 1, &end, 10);
    if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || prefix > c.prefix)
        return "bad prefix length";
    return "host bits set (the address must be the network address)";
}

int st_cfg_cidr(struct st_cfg *cfg, const struct st_cfg_node *node, struct st_cidr *out)
{
    if (node->kind != ST_CFG_SCALAR)
        return st_cfg_fail(cfg, node->line, "'%s' must be a CIDR string", what(node));
    if (st_cidr_parse(node->scalar, out) == 0)
        return 0;
    return st_cfg_fail(cfg, node->line, "'%s': invalid CIDR '%s': %s", what(node), node->scalar,
                       cidr_reason(node->scalar));
}

int st_cfg_sockaddr(struct st_cfg *cfg, const struct st_cfg_node *node, struct st_sockaddr *out)
{
    if (node->kind == ST_CFG_SCALAR && st_sockaddr_parse(node->scalar, out) == 0)
        return 0;
    return st_cfg_fail(cfg, node->line,
                       "'%s': invalid address '%s' (want numeric ip:port or [ipv6]:port)",
                       what(node), node->kind == ST_CFG_SCALAR ? node->scalar : "");
}

int st_cfg_log_level(struct st_cfg *cfg, const struct st_cfg_node *node, int *out)
{
    int level = node->kind == ST_CFG_SCALAR ? st_log_parse_level(node->scalar) : -1;

    if (level < 0)
        return st_cfg_fail(cfg, node->line, "'%s' is '%s': must be one of error, warn, info, debug",
                           what(node), node->kind == ST_CFG_SCALAR ? node->scalar : "not a string");
    *out = level;
    return 0;
}

int st_cfg_log_format(struct st_cfg *cfg, const struct st_cfg_node *node, int *out)
{
    int f = node->kind == ST_CFG_SCALAR ? st_log_parse_format(node->scalar) : -1;

    if (f < 0)
        return st_cfg_fail(cfg, node->line, "'%s' is '%s': must be text or json", what(node),
                           node->kind == ST_CFG_SCALAR ? node->scalar : "not a string");
    *out = f;
    return 0;
}

/* A user or group name as useradd(8) takes it, or a decimal id. */
static int account_name(struct st_cfg *cfg, const struct st_cfg_node *node, char **out)
{
    const char *s = NULL;
    int rc = st_cfg_string(cfg, node, &s);
    size_t n = s ? strlen(s) : 0;

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]) && !(s[i] == '$' && i == n - 1))
            return st_cfg_fail(cfg, node->line, "'%s' is '%s': not a user or group name",
                               what(node), s);
    if (n > 63 || s[0] == '-')
        return st_cfg_fail(cfg, node->line, "'%s' is '%s': not a user or group name", what(node),
                           s);
    return (*out = strdup(s)) ? 0 : -ENOMEM;
}

int st_cfg_user(struct st_cfg *cfg, const struct st_cfg_node *root, char **user, char **group)
{
    const struct st_cfg_node *u = st_cfg_get(root, "user"), *g = st_cfg_get(root, "group");
    int rc;

    if (g && !u)
        return st_cfg_fail(cfg, g->key_line, "'group' needs 'user'");
    if (u && (rc = account_name(cfg, u, user)) < 0)
        return rc;
    if (g && (rc = account_name(cfg, g, group)) < 0)
        return rc;
    return 0;
}

int st_cfg_listener(struct st_cfg *cfg, const struct st_cfg_node *node, struct st_sockaddr *out,
                    bool *on)
{
    if (node->kind == ST_CFG_SCALAR && strcmp(node->scalar, "off") == 0) {
        *on = false;
        return 0;
    }
    int rc = st_cfg_sockaddr(cfg, node, out);
    *on = rc == 0;
    if (rc == 0 && st_sockaddr_port(out) == 0)
        return st_cfg_fail(cfg, node->line, "'%s' needs a port", what(node));
    return rc;
}

size_t st_cfg_items(const struct st_cfg_node *node)
{
    return node->kind == ST_CFG_SEQ ? node->n_children : 1;
}

const struct st_cfg_node *st_cfg_item(const struct st_cfg_node *node, size_t i)
{
    return node->kind == ST_CFG_SEQ ? node->children[i] : node;
}

void st_cfg_strlist_free(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

int st_cfg_strlist(struct st_cfg *cfg, const struct st_cfg_node *node, size_t maxlen, char ***out,
                   size_t *n)
{
    size_t count = st_cfg_items(node);
    char **list = calloc(count + 1, sizeof(*list));
    if (!list)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const struct st_cfg_node *e = st_cfg_item(node, i);
        const char *s = NULL;
        if ((rc = st_cfg_string(cfg, e, &s)) < 0)
            break;
        if (strlen(s) > maxlen || has_control(s))
            rc = st_cfg_fail(cfg, e->line,
                             "'%s': '%s' is over %zu bytes or holds control "
                             "characters",
                             what(e), s, maxlen);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcmp(list[k], s) == 0)
                rc = st_cfg_fail(cfg, e->line, "'%s': '%s' is listed twice", what(e), s);
        if (rc == 0 && !(list[i] = strdup(s)))
            rc = -ENOMEM;
    }
    if (rc < 0) {
        st_cfg_strlist_free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

/* "+HH:MM" / "-HH:MM" / "Z" (or "z") after the seconds: the offset east of UTC in seconds. */
static int rfc3339_offset(const char *p, long *off)
{
    int hh, mm, used = 0;
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == 0) {
        *off = 0;
        return 0;
    }
    if ((p[0] != '+' && p[0] != '-') || sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 ||
        used != 5 || p[6] != 0 || hh > 23 || mm > 59)
        return -EINVAL;
    *off = (p[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

static int rfc3339(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2d%*[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
        used != 19)
        return -EINVAL;
    if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -EINVAL;
    const char *p = s + used;
    if (*p == '.') {
        size_t digits = strspn(p + 1, "0123456789");
        if (digits == 0 || digits > 9)
            return -EINVAL;
        p += 1 + digits;
    }
    long off;
    if (rfc3339_offset(p, &off) < 0)
        return -EINVAL;
    int mday = tm.tm_mday;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != mday) /* 2027-02-30 normalises to March */
        return -EINVAL;
    *out = (int64_t)t - off;
    return 0;
}

int st_cfg_time(struct st_cfg *cfg, const struct st_cfg_node *node, int64_t *out)
{
    const char *s = NULL;
    int rc = st_cfg_string(cfg, node, &s);
    if (rc == 0 && rfc3339(s, out) < 0)
        return st_cfg_fail(cfg, node->line,
                           "'%s': '%s' is not an RFC 3339 time (like 2027-01-31T12:00:00Z)",
                           what(node), s);
    return rc;
}

/* Turns the tree in c (rc from st_cfg_parse or st_cfg_load) into out; releases the tree. */
static int build_typed(const struct st_cfg_type *type, struct st_cfg *c, int rc, const char *name,
                       void *out, char *err, size_t errlen)
{
    if (rc < 0)
        return rc;
    rc = type->build(c, out);
    if (rc == -ENOMEM && err && errlen)
        snprintf(err, errlen, "%s: out of memory", name);
    st_cfg_fini(c);
    if (rc < 0)
        type->fini(out);
    return rc;
}

int st_cfg_parse_typed(const struct st_cfg_type *type, const char *text, size_t len,
                       const char *name, void *out, char *err, size_t errlen)
{
    struct st_cfg c;

    memset(out, 0, type->size);
    return build_typed(type, &c, st_cfg_parse(&c, text, len, name, err, errlen), name, out, err,
                       errlen);
}

int st_cfg_load_typed(const struct st_cfg_type *type, const char *path, void *out, char *err,
                      size_t errlen)
{
    struct st_cfg c;

    memset(out, 0, type->size);
    return build_typed(type, &c, st_cfg_load(&c, path, err, errlen), path, out, err, errlen);
}
