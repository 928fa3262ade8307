/* st_tls: client certificate names (certificates built here with OpenSSL, names with NUL
 * bytes, control characters and past the bounds), their log format, the client-ca check and
 * client certificates in real handshakes over st_sio (loopback TCP pairs). */
#include "st_sio.h"
#include "st_tls.h"

#include "st_check.h"
#include "tls_fixture.h"
#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>

static char err[512];

/* ---- certificates with chosen names ---- */

struct san {
    int type; /* GEN_EMAIL, GEN_URI, GEN_DNS */
    const char *v;
    size_t len; /* 0: strlen(v) */
};

static void add_cn(X509_NAME *name, int asn1_type, const char *cn, size_t len)
{
    ck_assert_int_eq(X509_NAME_add_entry_by_NID(name, NID_commonName, asn1_type,
                                                (const unsigned char *)cn, (int)len, -1, 0),
                     1);
}

static void add_sans(X509 *x, const struct san *sans, size_t n)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    ck_assert_ptr_nonnull(gens);
    for (size_t i = 0; i < n; i++) {
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        size_t len = sans[i].len ? sans[i].len : strlen(sans[i].v);
        ck_assert_int_eq(ASN1_STRING_set(s, sans[i].v, (int)len), 1);
        GENERAL_NAME *g = GENERAL_NAME_new();
        GENERAL_NAME_set0_value(g, sans[i].type, s);
        sk_GENERAL_NAME_push(gens, g);
    }
    ck_assert_int_eq(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
    GENERAL_NAMES_free(gens);
}

/* A signed certificate; cn (len bytes, MBSTRING_UTF8) may be NULL (no CN). */
static X509 *cert_new(const char *cn, size_t cn_len, const struct san *sans, size_t n)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(pk);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"lab", -1, -1, 0);
    if (cn)
        add_cn(name, MBSTRING_UTF8, cn, cn_len);
    X509_set_issuer_name(x, name);
    if (n)
        add_sans(x, sans, n);
    ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
    EVP_PKEY_free(pk);
    return x;
}

static void names_of(X509 *x, struct st_tls_names *n)
{
    memset(n, 0x5a, sizeof(*n)); /* st_tls_cert_names must set everything */
    st_tls_cert_names(x, n);
    X509_free(x);
}

/* ---- names ---- */

START_TEST(test_cn_only)
{
    struct st_tls_names n;
    names_of(cert_new("ops", 3, NULL, 0), &n);
    ck_assert_str_eq(n.cn, "ops");
    ck_assert_uint_eq(n.n_emails, 0);
    ck_assert_uint_eq(n.n_uris, 0);
    ck_assert_uint_eq(n.skipped, 0);

    names_of(cert_new(NULL, 0, NULL, 0), &n); /* no CN, no SAN */
    ck_assert_str_eq(n.cn, "");
    ck_assert_uint_eq(n.n_emails + n.n_uris + n.skipped, 0);

    names_of(cert_new("\xc3\x85sa", 4, NULL, 0), &n); /* UTF-8 kept as is */
    ck_assert_str_eq(n.cn, "\xc3\x85sa");
}
END_TEST

START_TEST(test_email_san)
{
    struct st_tls_names n;
    const struct san s[] = {{GEN_EMAIL, "ops@lab.test", 0}};
    names_of(cert_new("ops", 3, s, 1), &n);
    ck_assert_str_eq(n.cn, "ops");
    ck_assert_uint_eq(n.n_emails, 1);
    ck_assert_str_eq(n.emails[0], "ops@lab.test");
    ck_assert_uint_eq(n.n_uris, 0);
    ck_assert_uint_eq(n.skipped, 0);
}
END_TEST

START_TEST(test_uri_san)
{
    struct st_tls_names n;
    const struct san s[] = {{GEN_URI, "spiffe://lab.test/user/ops", 0}};
    names_of(cert_new(NULL, 0, s, 1), &n);
    ck_assert_str_eq(n.cn, "");
    ck_assert_uint_eq(n.n_emails, 0);
    ck_assert_uint_eq(n.n_uris, 1);
    ck_assert_str_eq(n.uris[0], "spiffe://lab.test/user/ops");
}
END_TEST

START_TEST(test_several_sans)
{
    struct st_tls_names n;
    const struct san s[] = {
        {GEN_DNS, "host.lab.test", 0},      {GEN_EMAIL, "a@lab.test", 0},
        {GEN_URI, "urn:lab:ops", 0},        {GEN_EMAIL, "b@lab.test", 0},
        {GEN_URI, "https://lab.test/u", 0},
    };
    names_of(cert_new("ops", 3, s, 5), &n);
    ck_assert_str_eq(n.cn, "ops");
    ck_assert_uint_eq(n.n_emails, 2);
    ck_assert_str_eq(n.emails[0], "a@lab.test");
    ck_assert_str_eq(n.emails[1], "b@lab.test");
    ck_assert_uint_eq(n.n_uris, 2);
    ck_assert_str_eq(n.uris[0], "urn:lab:ops");
    ck_assert_str_eq(n.uris[1], "https://lab.test/u");
    ck_assert_uint_eq(n.skipped, 0); /* a DNS name is no identity name: not counted */
}
END_TEST

START_TEST(test_last_cn)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    add_cn(name, MBSTRING_ASC, "first", 5);
    add_cn(name, MBSTRING_ASC, "last", 4);
    ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
    EVP_PKEY_free(pk);
    struct st_tls_names n;
    names_of(x, &n);
    ck_assert_str_eq(n.cn, "last");
}
END_TEST

/* A name with a NUL byte could pass for a shorter one ("ops@lab.test\0.evil.example"):
 * skipped, like names with control characters; the clean ones stay. */
START_TEST(test_bad_bytes_skipped)
{
    struct st_tls_names n;
    const struct san s[] = {
        {GEN_EMAIL, "ops@lab.test\0.evil.example", 25},
        {GEN_EMAIL, "ok@lab.test", 0},
        {GEN_URI, "urn:a\nb", 0},
        {GEN_URI, "urn:del\x7f", 0},
        {GEN_EMAIL, "caf\xc3\xa9@lab.test", 0}, /* IA5String: ASCII only */
        {GEN_URI, "urn:ok", 0},
        {GEN_EMAIL, "", 0},
    };
    names_of(cert_new("ops\0admin", 9, s, 7), &n);
    ck_assert_str_eq(n.cn, "");
    ck_assert_uint_eq(n.n_emails, 1);
    ck_assert_str_eq(n.emails[0], "ok@lab.test");
    ck_assert_uint_eq(n.n_uris, 1);
    ck_assert_str_eq(n.uris[0], "urn:ok");
    ck_assert_uint_eq(n.skipped, 6); /* the CN, 3 emails (one empty), 2 URIs */

    names_of(cert_new("ops\tx", 5, NULL, 0), &n);
    ck_assert_str_eq(n.cn, "");
    ck_assert_uint_eq(n.skipped, 1);
    names_of(cert_new("ops\xc2\x85x", 6, NULL, 0), &n); /* U+0085, a C1 control */
    ck_assert_str_eq(n.cn, "");
    ck_assert_uint_eq(n.skipped, 1);
}
END_TEST

/* Lengths and counts are bounded: a name too long is skipped, not cut short; past
 * ST_TLS_NAMES_MAX of a kind the rest are skipped. */
START_TEST(test_long_names_bounded)
{
    static char fit[ST_TLS_NAME_LEN], over[ST_TLS_NAME_LEN + 1], huge[8192];
    memset(fit, 'a', sizeof(fit) - 1); /* 255 bytes: the longest kept */
    memcpy(fit, "urn:", 4);
    memset(over, 'b', sizeof(over) - 1); /* 256 bytes */
    memcpy(over, "urn:", 4);
    memset(huge, 'c', sizeof(huge) - 1);
    memcpy(huge, "urn:", 4);
    const struct san s[] = {{GEN_URI, over, 0}, {GEN_URI, fit, 0}, {GEN_URI, huge, 0}};
    struct st_tls_names n;
    names_of(cert_new(NULL, 0, s, 3), &n);
    ck_assert_uint_eq(n.n_uris, 1);
    ck_assert_str_eq(n.uris[0], fit);
    ck_assert_uint_eq(n.skipped, 2);

    struct san many[ST_TLS_NAMES_MAX + 3];
    char addr[ST_TLS_NAMES_MAX + 3][32];
    for (size_t i = 0; i < ST_TLS_NAMES_MAX + 3; i++) {
        snprintf(addr[i], sizeof(addr[i]), "u%zu@lab.test", i);
        many[i] = (struct san){GEN_EMAIL, addr[i], 0};
    }
    names_of(cert_new("ops", 3, many, ST_TLS_NAMES_MAX + 3), &n);
    ck_assert_uint_eq(n.n_emails, ST_TLS_NAMES_MAX);
    ck_assert_str_eq(n.emails[0], "u0@lab.test");
    ck_assert_str_eq(n.emails[ST_TLS_NAMES_MAX - 1], addr[ST_TLS_NAMES_MAX - 1]);
    ck_assert_uint_eq(n.skipped, 3);
}
END_TEST

START_TEST(test_format)
{
    struct st_tls_names n;
    char buf[256], small[12];
    const struct san s[] = {{GEN_EMAIL, "ops@lab.test", 0}, {GEN_URI, "urn:ops", 0}};
    names_of(cert_new("ops", 3, s, 2), &n);
    ck_assert_str_eq(st_tls_names_format(&n, buf, sizeof(buf)),
                     "CN=ops email=ops@lab.test uri=urn:ops");
    ck_assert_str_eq(st_tls_names_format(&n, small, sizeof(small)), "CN=ops emai");
    n.skipped = 2;
    ck_assert_str_eq(st_tls_names_format(&n, buf, sizeof(buf)),
                     "CN=ops email=ops@lab.test uri=urn:ops (2 names skipped)");
    memset(&n, 0, sizeof(n));
    ck_assert_str_eq(st_tls_names_format(&n, buf, sizeof(buf)), "no names");
}
END_TEST

/* ---- client-ca: the file check, and certificates in real handshakes ---- */

static char dir[] = "/tmp/st-test-tls-XXXXXX";
static char crt[3][300], key[3][300], junk[300];
enum { SERVER, CLIENT, OTHER }; /* self-signed each; CLIENT's certificate is the client-ca */

static void certs_setup(void)
{
    static const char *const cn[] = {"edge.example.test", "ops", "mallory"};
    static const char *const san[] = {"DNS:edge.example.test", "email:ops@lab.test",
                                      "email:mallory@lab.test"};
    strcpy(dir, "/tmp/st-test-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (int i = 0; i < 3; i++) {
        snprintf(crt[i], sizeof(crt[i]), "%s/%d.crt", dir, i);
        snprintf(key[i], sizeof(key[i]), "%s/%d.key", dir, i);
        write_pem(crt[i], key[i], cn[i], san[i]);
    }
    snprintf(junk, sizeof(junk), "%s/junk", dir);
    FILE *f = fopen(junk, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a certificate\n", f);
    fclose(f);
}

static void certs_teardown(void)
{
    for (int i = 0; i < 3; i++) {
        unlink(crt[i]);
        unlink(key[i]);
    }
    unlink(junk);
    rmdir(dir);
}

START_TEST(test_ca_check)
{
    char want[400];
    ck_assert_int_eq(st_tls_ca_check(crt[CLIENT], err, sizeof(err)), 0);
    ck_assert_int_eq(st_tls_ca_check(junk, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "'%s' holds no PEM certificate", junk);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(st_tls_ca_check(key[CLIENT], err, sizeof(err)), -1); /* a key only */
    snprintf(want, sizeof(want), "'%s' holds no PEM certificate", key[CLIENT]);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(st_tls_ca_check("/nonexistent/ca.pem", err, sizeof(err)), -1);
    ck_assert_msg(strncmp(err, "'/nonexistent/ca.pem': ", 23) == 0, "%s", err);

    SSL_CTX *ctx = st_tls_server_ctx(crt[SERVER], key[SERVER], (const unsigned char *)"\x02h2", err,
                                     sizeof(err));
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(st_tls_client_ca(ctx, "/nonexistent/ca.pem", err, sizeof(err)), -1);
    ck_assert_int_eq(st_tls_client_ca(ctx, crt[CLIENT], err, sizeof(err)), 0);
    SSL_CTX_free(ctx);
}
END_TEST

/* A handshake with a client-ca server; cert: the client's (-1: none). Returns the server's
 * st_sio_handshake result; names: st_tls_peer_names after it (NULL without). */
static int client_hs(int cert, struct st_sio *s, struct st_tls_names **names)
{
    SSL_CTX *ctx = st_tls_server_ctx(crt[SERVER], key[SERVER], (const unsigned char *)"\x02h2", err,
                                     sizeof(err));
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(st_tls_client_ca(ctx, crt[CLIENT], err, sizeof(err)), 0);
    int fd[2], hs = 0, hc = 0;
    tcp_pair(fd, false);
    st_sio_init(s, fd[0], SSL_new(ctx));
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    SSL *c = client_new(fd[1], NULL, NULL);
    if (cert >= 0) {
        ck_assert_int_eq(SSL_use_certificate_file(c, crt[cert], SSL_FILETYPE_PEM), 1);
        ck_assert_int_eq(SSL_use_PrivateKey_file(c, key[cert], SSL_FILETYPE_PEM), 1);
    }
    for (int i = 0; i < 2000 && (hs == 0 || hc == 0); i++) {
        if (hs == 0)
            hs = st_sio_handshake(s);
        if (hc == 0)
            hc = ssl_res(c, SSL_do_handshake(c));
        if (i > 10)
            usleep(1000);
    }
    *names = hs == 1 ? st_tls_peer_names(s->ssl) : NULL;
    SSL_free(c);
    close(fd[1]);
    return hs;
}

START_TEST(test_client_certificates)
{
    struct st_sio s;
    struct st_tls_names *n;

    ck_assert_int_eq(client_hs(CLIENT, &s, &n), 1); /* verified: its names */
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n->cn, "ops");
    ck_assert_uint_eq(n->n_emails, 1);
    ck_assert_str_eq(n->emails[0], "ops@lab.test");
    ck_assert(!s.cert_refused);
    free(n);
    st_sio_close(&s, true);

    ck_assert_int_eq(client_hs(-1, &s, &n), 1); /* no certificate: connects, no names */
    ck_assert_ptr_null(n);
    st_sio_close(&s, true);

    ck_assert_int_eq(client_hs(OTHER, &s, &n), -1); /* not from client-ca: refused */
    ck_assert(s.cert_refused);
    ck_assert_ptr_null(n);
    ck_assert_msg(strcmp(s.why, "TLS handshake: client certificate refused: self-signed "
                                "certificate") == 0,
                  "%s", s.why);
    st_sio_close(&s, true);
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_cn_only);
    tcase_add_test(tc, test_email_san);
    tcase_add_test(tc, test_uri_san);
    tcase_add_test(tc, test_several_sans);
    tcase_add_test(tc, test_last_cn);
    tcase_add_test(tc, test_bad_bytes_skipped);
    tcase_add_test(tc, test_long_names_bounded);
    tcase_add_test(tc, test_format);
    suite_add_tcase(s, tc);
    tc = tcase_create("client-ca");
    tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ca_check);
    tcase_add_test(tc, test_client_certificates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(tls_suite());
}
