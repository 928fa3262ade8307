#ifndef SUBTUNNEL_ST_URI_H
#define SUBTUNNEL_ST_URI_H

/* Request-target normalisation (RFC 3986 6.2.2), so that a path is matched against
 * ingress rules and forwarded to the origin in one canonical spelling. Pure functions
 * over buffers. */

#include <stddef.h>
#include <stdint.h>

#include "st_addr.h"

/* Normalises the origin-form request target in[0..len) (a path, then an optional
 * "?query") into out[0..cap), NUL-terminated:
 *  - percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded (6.2.2.2),
 *    the hex digits of every other percent-encoding are upper-cased (6.2.2.1): an encoded
 *    slash stays "%2F" and never separates segments;
 *  - runs of '/' are merged into one;
 *  - dot segments are removed (5.2.4), "%2e" counting as "." once decoded; ".." never
 *    climbs above the root;
 *  - the query is copied unchanged.
 * The result is never longer than the input (cap = len + 1 always suffices). Returns the
 * length written and sets *path_len to the length of its path part; -EINVAL when the
 * target does not start with '/', holds a NUL (raw, or "%00" in the path), a '#' in the
 * path, a '%' not followed by two hex digits in the path, or a "." or ".." segment next
 * to an encoded slash ("/a%2F..%2Fb": origins that decode "%2F" would see another path);
 * -ENOSPC when out is too small. */
int st_uri_normalize(const char *in, size_t len, char *out, size_t cap, size_t *path_len);

/* The authority s[0..len) of an origin URL ("http://AUTHORITY"): a numeric IPv4 address or a
 * bracketed IPv6 one ("[2001:db8::10]"), then an optional ":PORT" (1..65535; default_port
 * when absent). 0 with *out set; -EINVAL with *why a short reason: empty, a host name, an
 * IPv6 address without brackets, a zone id ("[fe80::1%eth0]", not supported), brackets
 * around an IPv4 address, an unclosed '[', or a bad port. */
int st_uri_origin_parse(const char *s, size_t len, uint16_t default_port, struct st_sockaddr *out,
                        const char **why);

#endif
