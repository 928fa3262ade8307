#include "st_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_log.h"

const char *st_tls_errstr(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (!e)
        snprintf(buf, len, "connection closed or system error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    const unsigned char *alpn = arg; /* wire format, NUL-terminated */
    if (SSL_select_next_proto((unsigned char **)out, outlen, alpn,
                              (unsigned int)strlen((const char *)alpn), in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *new_ctx(const SSL_METHOD *m)
{
    SSL_CTX *ctx = SSL_CTX_new(m);
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    /* AES-128-GCM first (TLS 1.3's mandatory suite): 1.6x AES-256-GCM's speed with AES-NI,
     * and every tunnel byte is sealed and opened twice on its way through an edge. */
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"
                                  "TLS_AES_256_GCM_SHA384");
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    return ctx;
}

SSL_CTX *st_tls_server_ctx(const char *cert_file, const char *key_file, const unsigned char *alpn,
                           char *err, size_t errlen)
{
    char e[256];
    SSL_CTX *ctx = new_ctx(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "TLS context: %s", st_tls_errstr(e, sizeof(e)));
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(err, errlen, "%s: %s", cert_file, st_tls_errstr(e, sizeof(e)));
        goto fail_free_ctx;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "%s: %s", key_file, st_tls_errstr(e, sizeof(e)));
        goto fail_free_ctx;
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, (void *)alpn);
    return ctx;

fail_free_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *st_tls_client_ctx(const char *ca_file, char *err, size_t errlen)
{
    char e[256];
    SSL_CTX *ctx = new_ctx(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "TLS context: %s", st_tls_errstr(e, sizeof(e)));
        return NULL;
    }
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        snprintf(err, errlen, "%s: %s", ca_file, st_tls_errstr(e, sizeof(e)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char h2[] = "\x02h2";
    SSL_CTX_set_alpn_protos(ctx, h2, sizeof(h2) - 1);
    return ctx;
}

/* SNI alternatives of a server context, kept in its ex_data and freed with it. */
struct sni_set {
    size_t n;
    SSL_CTX *alts[];
};

static int sni_index = -1;
static CRYPTO_ONCE sni_once = CRYPTO_ONCE_STATIC_INIT;

static void sni_set_free(struct sni_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        SSL_CTX_free(set->alts[i]);
    free(set);
}

static void sni_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    sni_set_free(ptr);
}

static void sni_index_new(void)
{
    sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_ex_free);
}

static int on_servername(SSL *ssl, int *al, void *arg)
{
    const struct sni_set *set = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK;
    for (size_t i = 0; i < set->n; i++) {
        X509 *leaf = SSL_CTX_get0_certificate(set->alts[i]);
        if (!leaf ||
            X509_check_host(leaf, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1)
            continue;
        if (!SSL_set_SSL_CTX(ssl, set->alts[i])) {
            *al = SSL_AD_INTERNAL_ERROR;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        break;
    }
    return SSL_TLSEXT_ERR_OK;
}

void st_tls_sni(SSL_CTX *def, SSL_CTX **alts, size_t n)
{
    struct sni_set *set = NULL;
    if (!CRYPTO_THREAD_run_once(&sni_once, sni_index_new) || sni_index < 0 ||
        !(set = malloc(sizeof(*set) + n * sizeof(set->alts[0])))) {
        st_err("TLS: SNI certificates not installed: out of memory");
        return;
    }
    set->n = 0;
    for (; set->n < n; set->n++) {
        SSL_CTX_up_ref(alts[set->n]);
        set->alts[set->n] = alts[set->n];
    }
    struct sni_set *old = SSL_CTX_get_ex_data(def, sni_index);
    if (!SSL_CTX_set_ex_data(def, sni_index, set)) {
        st_err("TLS: SNI certificates not installed: out of memory");
        sni_set_free(set);
        return;
    }
    sni_set_free(old);
    SSL_CTX_set_tlsext_servername_arg(def, set);
    SSL_CTX_set_tlsext_servername_callback(def, on_servername);
}

int st_tls_client_ca(SSL_CTX *ctx, const char *ca_file, char *err, size_t errlen)
{
    /* Without a session id context OpenSSL refuses to resume a session of a server that
     * verifies its peers. */
    static const unsigned char sid_ctx[] = "subtunnel client-ca";
    char e[256];
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        snprintf(err, errlen, "%s: %s", ca_file, st_tls_errstr(e, sizeof(e)));
        return -1;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (!names) {
        snprintf(err, errlen, "%s: %s", ca_file, st_tls_errstr(e, sizeof(e)));
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return 0;
}

int st_tls_ca_check(const char *path, char *err, size_t errlen)
{
    char e[256];
    BIO *b = BIO_new_file(path, "r");
    if (!b) {
        snprintf(err, errlen, "'%s': %s", path, st_tls_errstr(e, sizeof(e)));
        return -1;
    }
    STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
    BIO_free(b);
    int certs = 0;
    for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++)
        certs += sk_X509_INFO_value(infos, i)->x509 != NULL;
    if (!infos)
        snprintf(err, errlen, "'%s' holds no PEM certificate (%s)", path,
                 st_tls_errstr(e, sizeof(e)));
    else if (!certs)
        snprintf(err, errlen, "'%s' holds no PEM certificate", path);
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    ERR_clear_error();
    return certs ? 0 : -1;
}

/* A name fit to keep: not empty, shorter than ST_TLS_NAME_LEN, no NUL or control character
 * (C0, DEL; C1 as UTF-8), and ASCII only when ascii (IA5String). */
static bool name_ok(const unsigned char *p, size_t n, bool ascii)
{
    if (n == 0 || n >= ST_TLS_NAME_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f || (ascii && p[i] >= 0x80))
            return false;
        if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return false;
    }
    return true;
}

static void keep_name(char *dst, const unsigned char *p, size_t n)
{
    memcpy(dst, p, n);
    dst[n] = 0;
}

static void common_name(X509 *x, struct st_tls_names *out)
{
    X509_NAME *subj = X509_get_subject_name(x);
    int last = -1;
    for (int i = -1; subj && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;)
        last = i;
    if (last < 0)
        return;
    ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last));
    unsigned char *utf8 = NULL;
    int n = v ? ASN1_STRING_to_UTF8(&utf8, v) : -1;
    if (n >= 0 && name_ok(utf8, (size_t)n, false))
        keep_name(out->cn, utf8, (size_t)n);
    else
        out->skipped++;
    OPENSSL_free(utf8);
}

/* An IA5String SAN into list (count *n): kept, or counted as skipped. */
static void san_name(const ASN1_IA5STRING *v, char (*list)[ST_TLS_NAME_LEN], size_t *n,
                     struct st_tls_names *out)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    int len = ASN1_STRING_length(v);
    if (*n < ST_TLS_NAMES_MAX && len >= 0 && name_ok(p, (size_t)len, true))
        keep_name(list[(*n)++], p, (size_t)len);
    else
        out->skipped++;
}

void st_tls_cert_names(X509 *x, struct st_tls_names *out)
{
    memset(out, 0, sizeof(*out));
    common_name(x, out);
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_EMAIL)
            san_name(g->d.rfc822Name, out->emails, &out->n_emails, out);
        else if (g->type == GEN_URI)
            san_name(g->d.uniformResourceIdentifier, out->uris, &out->n_uris, out);
    }
    GENERAL_NAMES_free(sans);
    ERR_clear_error();
}

struct st_tls_names *st_tls_peer_names(const SSL *ssl)
{
    X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    struct st_tls_names *n = malloc(sizeof(*n));
    if (n)
        st_tls_cert_names(x, n);
    return n;
}

/* Appends "<sep><what><name>" to buf at *at (bounded; *at stops at len - 1). */
static void append(char *buf, size_t len, size_t *at, const char *what, const char *name)
{
    int k = snprintf(buf + *at, len - *at, "%s%s%s", *at ? " " : "", what, name);
    if (k > 0)
        *at = *at + (size_t)k < len ? *at + (size_t)k : len - 1;
}

const char *st_tls_names_format(const struct st_tls_names *n, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    if (n->cn[0])
        append(buf, len, &at, "CN=", n->cn);
    for (size_t i = 0; i < n->n_emails; i++)
        append(buf, len, &at, "email=", n->emails[i]);
    for (size_t i = 0; i < n->n_uris; i++)
        append(buf, len, &at, "uri=", n->uris[i]);
    if (n->skipped) {
        char k[48];
        snprintf(k, sizeof(k), "(%zu names skipped)", n->skipped);
        append(buf, len, &at, "", k);
    }
    if (!at)
        snprintf(buf, len, "no names");
    return buf;
}
