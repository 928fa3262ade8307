#include "gw_ingress.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_config.h"
#include "st_ctrl.h"
#include "st_uri.h"

#define HOST_MAX 253
#define REGEX_MAX_LEN 1024
/* glibc's regcomp copies a subexpression once per bound of "{m,n}" (nested bounds multiply):
 * "((a{1,100}){1,100}){1,100}" takes over a gigabyte. Length times the product of all bounds
 * stays under this (about 50 MB at worst). */
#define REGEX_MAX_COST 16384

static const char *const rule_keys[] = {"hostname", "path",   "path-regex",
                                        "service",  "origin", NULL};
static const char *const origin_keys[] = {"no-tls-verify",
                                          "ca-file",
                                          "server-name",
                                          "connect-timeout",
                                          "keep-alive-connections",
                                          "keep-alive-timeout",
                                          "response-timeout",
                                          "max-connecting",
                                          "max-queued",
                                          NULL};

static int get_hostname(struct st_cfg *c, const struct st_cfg_node *v, struct gw_ingress_rule *r)
{
    int rc = st_cfg_strdup(c, v, &r->hostname);

    if (rc < 0)
        return rc;
    for (char *p = r->hostname; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!st_hostname_valid(r->hostname, true))
        return st_cfg_fail(c, v->line,
                           "'%s': '%s' is not a host name (DNS labels, optionally '*.' first)",
                           v->path, v->scalar);
    return 0;
}

/* path: kept normalised like the request paths it is compared with ("/a//b/./c" is
 * "/a/b/c"). */
static int get_prefix(struct st_cfg *c, const struct st_cfg_node *p, struct gw_ingress_rule *r)
{
    const char *s;
    size_t len, plen;
    int rc;

    if ((rc = st_cfg_string(c, p, &s)) < 0)
        return rc;
    len = strlen(s);
    if (s[0] != '/')
        return st_cfg_fail(c, p->line, "'%s': '%s' must start with '/'", p->path, s);
    if (strchr(s, '?'))
        return st_cfg_fail(c, p->line, "'%s': '%s': a path prefix has no query ('?')", p->path, s);
    if (!(r->path_prefix = malloc(len + 1)))
        return -ENOMEM;
    if (st_uri_normalize(s, len, r->path_prefix, len + 1, &plen) < 0)
        return st_cfg_fail(c, p->line,
                           "'%s': '%s' is not a valid path (a '%%' without two hex digits, "
                           "\"%%00\", '#', or a dot segment next to \"%%2F\")",
                           p->path, s);
    if (plen > GW_INGRESS_PATH_MAX)
        return st_cfg_fail(c, p->line, "'%s': longer than %d bytes", p->path, GW_INGRESS_PATH_MAX);
    return 0;
}

/* The bound of a "{m}", "{m,}" or "{m,n}" at p ('{'), 0 when p starts no bound. */
static unsigned long bound_at(const char *p)
{
    char *end;

    if (!isdigit((unsigned char)p[1]))
        return 0;
    unsigned long m = strtoul(p + 1, &end, 10), n = m;
    if (*end == ',') {
        if (isdigit((unsigned char)end[1]))
            n = strtoul(end + 1, &end, 10);
        else
            n = m + 1, end++;
    }
    return *end == '}' ? (n > m ? n : m) : 0;
}

/* The end of the bracket expression starting at p ('['): its closing ']', or NULL. */
static const char *bracket_end(const char *p)
{
    const char *q = p + 1;

    if (*q == '^')
        q++;
    if (*q == ']')
        q++;
    for (; *q && *q != ']'; q++)
        if (*q == '[' && q[1] && strchr(":.=", q[1])) { /* [:alpha:], [.x.], [=x=] */
            const char *e = q + 2;
            while (*e && !(e[0] == q[1] && e[1] == ']'))
                e++;
            if (!*e)
                return NULL;
            q = e + 1;
        }
    return *q ? q : NULL;
}

/* Over-estimates what regcomp will build: length times every repetition bound (a bound
 * that is not nested is counted as if it were), and times 2 for every repetition applied
 * to a group (glibc copies the operand of '+': "((a+)+)+..." doubles it each time).
 * Stacked repetition operators ("a++", "a+*", "a*{2}") are refused outright: they add
 * nothing to one operator, POSIX leaves them undefined, and glibc's regcomp takes seconds
 * to minutes on a few of them ("^/+++++*+++++x": 14 s). Bracket expressions are skipped. */
static bool regex_too_costly(const char *s)
{
    size_t len = strlen(s);
    unsigned long cost = len;
    bool after_group = false, after_rep = false;

    if (len > REGEX_MAX_LEN)
        return true;
    for (const char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            after_group = after_rep = false;
            continue;
        }
        if (*p == '[') {
            const char *e = bracket_end(p);
            if (!e)
                return false; /* regcomp says what is wrong */
            p = e;
            after_group = after_rep = false;
            continue;
        }
        bool rep = strchr("*+?", *p) || (*p == '{' && bound_at(p));
        if (rep && after_rep)
            return true;
        unsigned long b = *p == '{' ? bound_at(p) : rep && after_group ? 2 : 0;
        if (b > 1 && (b > REGEX_MAX_COST || (cost *= b) > REGEX_MAX_COST))
            return true;
        if (*p == '{' && b)
            p = strchr(p, '}');
        after_group = *p == ')';
        after_rep = rep;
    }
    return false;
}

static int get_path(struct st_cfg *c, const struct st_cfg_node *rule, struct gw_ingress_rule *r)
{
    const struct st_cfg_node *p = st_cfg_get(rule, "path"), *x = st_cfg_get(rule, "path-regex");
    const char *s;
    int rc;

    if (p && x)
        return st_cfg_fail(c, x->key_line, "'path' and 'path-regex' are mutually exclusive");
    if (p && (rc = get_prefix(c, p, r)) < 0)
        return rc;
    if (!x)
        return 0;
    if ((rc = st_cfg_string(c, x, &s)) < 0)
        return rc;
    if (regex_too_costly(s))
        return st_cfg_fail(c, x->line,
                           "'%s': regular expression too large (at most %d bytes, and its length "
                           "times its repetition bounds {m,n} at most %d)",
                           x->path, REGEX_MAX_LEN, REGEX_MAX_COST);
    if ((rc = regcomp(&r->path_regex, s, REG_EXTENDED | REG_NOSUB)) != 0) {
        char why[128];
        regerror(rc, &r->path_regex, why, sizeof(why));
        return st_cfg_fail(c, x->line, "'%s': invalid regular expression '%s': %s", x->path, s,
                           why);
    }
    r->has_regex = true;
    return 0;
}

/* "http://ip[:port]", "https://ip[:port]" (numeric, IPv6 in brackets, no path) or
 * "http_status:NNN". */
static int get_service(struct st_cfg *c, const struct st_cfg_node *v, struct gw_ingress_rule *r)
{
    static const char status_pfx[] = "http_status:";
    const char *s, *hostport;
    int rc;

    if ((rc = st_cfg_strdup(c, v, &r->service)) < 0)
        return rc;
    s = r->service;
    if (strncmp(s, status_pfx, sizeof(status_pfx) - 1) == 0) {
        char *end;
        long code = strtol(s + sizeof(status_pfx) - 1, &end, 10);
        if (*end || end == s + sizeof(status_pfx) - 1 || code < 100 || code > 599)
            return st_cfg_fail(c, v->line, "'%s': '%s': status must be 100..599", v->path, s);
        r->kind = GW_INGRESS_STATUS;
        r->status = (int)code;
        return 0;
    }
    if (strncmp(s, "http://", 7) == 0) {
        r->kind = GW_INGRESS_HTTP;
        hostport = s + 7;
    } else if (strncmp(s, "https://", 8) == 0) {
        r->kind = GW_INGRESS_HTTPS;
        hostport = s + 8;
    } else {
        return st_cfg_fail(c, v->line,
                           "'%s': '%s' must be http://IP[:PORT], https://IP[:PORT] (IPv6: [IP]) or "
                           "http_status:CODE",
                           v->path, s);
    }
    size_t n = strlen(hostport);
    const char *why;
    if (n > 0 && hostport[n - 1] == '/')
        n--; /* "http://198.51.100.10:8000/" */
    if (n == 0 || memchr(hostport, '/', n))
        return st_cfg_fail(c, v->line, "'%s': '%s': give an address (and port) but no path",
                           v->path, s);
    if (st_uri_origin_parse(hostport, n, r->kind == GW_INGRESS_HTTPS ? 443 : 80, &r->origin, &why) <
        0)
        return st_cfg_fail(c, v->line, "'%s': '%s': %s", v->path, s, why);
    return 0;
}

static int get_origin(struct st_cfg *c, const struct st_cfg_node *o, struct gw_ingress_rule *r)
{
    const struct st_cfg_node *v;
    const char *path;
    int rc;

    if ((rc = st_cfg_map(c, o)) < 0 || (rc = st_cfg_check_keys(c, o, origin_keys)) < 0)
        return rc;
    if (r->kind == GW_INGRESS_STATUS)
        return st_cfg_fail(c, o->key_line, "'%s': an http_status service has no origin options",
                           o->path);
    bool tls_only =
        st_cfg_get(o, "no-tls-verify") || st_cfg_get(o, "ca-file") || st_cfg_get(o, "server-name");
    if (tls_only && r->kind != GW_INGRESS_HTTPS)
        return st_cfg_fail(c, o->key_line,
                           "'%s': no-tls-verify, ca-file and server-name need an https:// service",
                           o->path);
    if ((v = st_cfg_get(o, "no-tls-verify")) && (rc = st_cfg_bool(c, v, &r->no_tls_verify)) < 0)
        return rc;
    if ((v = st_cfg_get(o, "ca-file"))) {
        if ((rc = st_cfg_readable_file(c, v, &path)) < 0)
            return rc;
        if (!(r->ca_file = strdup(path)))
            return -ENOMEM;
    }
    if ((v = st_cfg_get(o, "server-name"))) {
        if ((rc = st_cfg_strdup(c, v, &r->server_name)) < 0)
            return rc;
        if (!st_hostname_valid(r->server_name, false))
            return st_cfg_fail(c, v->line, "'%s': '%s' is not a host name", v->path, v->scalar);
    }
    if ((rc = st_cfg_opt_int(c, o, "connect-timeout", 1, 300, 1000, &r->connect_timeout_ms)) < 0 ||
        (rc = st_cfg_opt_int(c, o, "keep-alive-connections", 0, 1024, 1, &r->keep_alive_conns)) < 0)
        return rc;
    if ((rc = st_cfg_opt_int(c, o, "keep-alive-timeout", 1, 3600, 1000,
                             &r->keep_alive_timeout_ms)) < 0)
        return rc;
    if ((rc = st_cfg_opt_int(c, o, "max-connecting", 1, 1024, 1, &r->max_connecting)) < 0 ||
        (rc = st_cfg_opt_int(c, o, "max-queued", 0, GW_INGRESS_QUEUE_MAX, 1, &r->max_queued)) < 0)
        return rc;
    return st_cfg_opt_int(c, o, "response-timeout", 1, 3600, 1000, &r->response_timeout_ms);
}

static int get_rule(struct st_cfg *c, const struct st_cfg_node *n, struct gw_ingress_rule *r)
{
    const struct st_cfg_node *v;
    int rc;

    r->line = n->line;
    r->connect_timeout_ms = 10000;
    r->keep_alive_conns = 100;
    r->keep_alive_timeout_ms = 90000;
    r->response_timeout_ms = 100000;
    r->max_connecting = GW_INGRESS_MAX_CONNECTING;
    r->max_queued = GW_INGRESS_MAX_QUEUED;
    if ((rc = st_cfg_map(c, n)) < 0 || (rc = st_cfg_check_keys(c, n, rule_keys)) < 0)
        return rc;
    if ((v = st_cfg_get(n, "hostname")) && (rc = get_hostname(c, v, r)) < 0)
        return rc;
    if ((rc = get_path(c, n, r)) < 0)
        return rc;
    if ((rc = st_cfg_require(c, n, "service", &v)) < 0 || (rc = get_service(c, v, r)) < 0)
        return rc;
    return (v = st_cfg_get(n, "origin")) ? get_origin(c, v, r) : 0;
}

static bool catch_all(const struct gw_ingress_rule *r)
{
    return !r->hostname && !r->path_prefix && !r->has_regex;
}

int gw_ingress_parse(struct st_cfg *c, const struct st_cfg_node *n, struct gw_ingress *in)
{
    int rc;

    memset(in, 0, sizeof(*in));
    if ((rc = st_cfg_seq(c, n, 1)) < 0)
        return rc;
    if (!(in->rules = calloc(n->n_children, sizeof(*in->rules))))
        return -ENOMEM;
    for (size_t i = 0; i < n->n_children; i++) {
        in->n_rules++;
        if ((rc = get_rule(c, n->children[i], &in->rules[i])) < 0)
            return rc;
        if (i + 1 < n->n_children && catch_all(&in->rules[i]))
            return st_cfg_fail(c, n->children[i]->line,
                               "'%s' matches every request: the rules after it are unreachable "
                               "(only the last rule may omit hostname and path)",
                               n->children[i]->path);
    }
    if (!catch_all(&in->rules[in->n_rules - 1]))
        return st_cfg_fail(c, n->children[in->n_rules - 1]->line,
                           "the last ingress rule must match everything (no hostname, no path), "
                           "e.g. '- service: http_status:404'");
    size_t names = 0;
    for (size_t i = 0; i < in->n_rules; i++) {
        bool seen = !in->rules[i].hostname;
        for (size_t j = 0; j < i && !seen; j++)
            seen =
                in->rules[j].hostname && strcmp(in->rules[j].hostname, in->rules[i].hostname) == 0;
        if (!seen && ++names > ST_CTRL_MAX_HOSTNAMES)
            return st_cfg_fail(c, n->children[i]->line,
                               "'%s': more than %d distinct host names (the edge accepts %d)",
                               n->children[i]->path, ST_CTRL_MAX_HOSTNAMES, ST_CTRL_MAX_HOSTNAMES);
    }
    return 0;
}

void gw_ingress_fini(struct gw_ingress *in)
{
    for (size_t i = 0; in->rules && i < in->n_rules; i++) {
        struct gw_ingress_rule *r = &in->rules[i];
        free(r->hostname);
        free(r->path_prefix);
        if (r->has_regex)
            regfree(&r->path_regex);
        free(r->service);
        free(r->ca_file);
        free(r->server_name);
    }
    free(in->rules);
    memset(in, 0, sizeof(*in));
}

/* host without ":port" (and without the brackets of an IPv6 literal), lower-cased. */
static bool host_part(const char *host, char *out, size_t cap)
{
    size_t n;
    const char *end;

    if (host[0] == '[') {
        host++;
        end = strchr(host, ']');
        if (!end)
            return false;
    } else {
        end = strchr(host, ':');
        end = end ? end : host + strlen(host);
    }
    n = (size_t)(end - host);
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)host[i]);
    out[n] = '\0';
    if (n > 1 && out[n - 1] == '.') /* "app.lab.test." */
        out[n - 1] = '\0';
    return true;
}

static bool host_matches(const char *pattern, const char *host)
{
    if (strncmp(pattern, "*.", 2) != 0)
        return strcmp(pattern, host) == 0;
    size_t hl = strlen(host), sl = strlen(pattern + 1); /* ".example.net" */
    return hl > sl && strcmp(host + hl - sl, pattern + 1) == 0;
}

/* path: the normalised path alone (NUL-terminated). */
static bool path_matches(const struct gw_ingress_rule *r, const char *path)
{
    if (r->path_prefix && strncmp(path, r->path_prefix, strlen(r->path_prefix)) != 0)
        return false;
    return !r->has_regex || regexec(&r->path_regex, path, 0, NULL, 0) == 0;
}

static const struct gw_ingress_rule *first_match(const struct gw_ingress *in, const char *host,
                                                 const char *path)
{
    char h[HOST_MAX + 2];
    bool have_host = host && host_part(host, h, sizeof(h));

    for (size_t i = 0; i < in->n_rules; i++) {
        const struct gw_ingress_rule *r = &in->rules[i];
        if (r->hostname && (!have_host || !host_matches(r->hostname, h)))
            continue;
        if ((r->path_prefix || r->has_regex) && !path_matches(r, path))
            continue;
        return r;
    }
    return NULL;
}

int gw_ingress_match(const struct gw_ingress *in, const char *host, const char *target, char *norm,
                     size_t cap, const struct gw_ingress_rule **rule)
{
    size_t plen;
    int rc = st_uri_normalize(target, strlen(target), norm, cap, &plen);

    *rule = NULL;
    if (rc < 0)
        return rc;
    if (plen > GW_INGRESS_PATH_MAX)
        return -ENAMETOOLONG;
    char saved = norm[plen]; /* '?' or NUL: the path is matched alone */
    norm[plen] = '\0';
    *rule = first_match(in, host, norm);
    norm[plen] = saved;
    return 0;
}
