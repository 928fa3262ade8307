#include "st_check.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_priv.h"

#define CAP_NET_ADMIN_NR 12
#define NO_PASSWD_ID "4000123" /* an id no passwd or group entry has */

static char err[256];

START_TEST(resolve_names_and_ids)
{
    struct st_priv p;
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("nogroup");
    if (!pw || !gr) {
        puts("resolve_names_and_ids: no nobody/nogroup here, skipped");
        return;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid, ngid = gr->gr_gid;
    ck_assert_int_eq(st_priv_resolve(&p, NULL, NULL, err, sizeof(err)), 0);
    ck_assert(!p.on);
    ck_assert_msg(st_priv_resolve(&p, "nobody", NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert(p.on && p.has_pw);
    ck_assert_uint_eq(p.uid, uid);
    ck_assert_uint_eq(p.gid, gid);
    ck_assert_str_eq(p.user, "nobody");
    char id[16];
    snprintf(id, sizeof(id), "%lu", (unsigned long)uid);
    ck_assert_msg(st_priv_resolve(&p, id, "nogroup", err, sizeof(err)) == 0, "%s", err);
    ck_assert(p.has_pw);
    ck_assert_str_eq(p.user, "nobody"); /* the passwd name, for initgroups */
    ck_assert_uint_eq(p.gid, ngid);
    ck_assert_str_eq(p.group, "nogroup");
    ck_assert_msg(st_priv_resolve(&p, "nobody", NO_PASSWD_ID, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(p.gid, 4000123);
    ck_assert_str_eq(p.group, NO_PASSWD_ID);
    /* a uid without a passwd entry: no supplementary groups, the group must be given */
    ck_assert_int_eq(st_priv_resolve(&p, NO_PASSWD_ID, NULL, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "user '" NO_PASSWD_ID "' has no passwd entry: set 'group' too");
    ck_assert(!p.on);
    ck_assert_msg(st_priv_resolve(&p, NO_PASSWD_ID, NO_PASSWD_ID, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert(p.on && !p.has_pw);
    ck_assert_uint_eq(p.uid, 4000123);
}
END_TEST

START_TEST(resolve_refusals)
{
    struct st_priv p;
    ck_assert_int_eq(st_priv_resolve(&p, "st-no-such-user", NULL, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "user 'st-no-such-user': no such user");
    ck_assert(!p.on);
    ck_assert_int_eq(st_priv_resolve(&p, "root", NULL, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "user 'root' is uid 0: leave 'user' out to keep running as root");
    ck_assert_int_eq(st_priv_resolve(&p, "0", "nogroup", err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "user '0' is uid 0: leave 'user' out to keep running as root");
    ck_assert_int_eq(st_priv_resolve(&p, "nobody", "st-no-such-group", err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "group 'st-no-such-group': no such group");
    ck_assert_int_eq(st_priv_resolve(&p, "nobody", "root", err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "group 'root' is gid 0: name an unprivileged group");
    ck_assert_int_eq(st_priv_resolve(&p, "nobody", "0", err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(st_priv_resolve(&p, "4294967295", "1", err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "user '4294967295': no such user"); /* (uid_t)-1 is no id */
    ck_assert(!p.on);
}
END_TEST

/* ---- the switch itself, in a child process (root only) ---- */

static int report_fd = -1;

/* Child side: records the first failure for the parent and leaves. */
static void child_fail(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (write(report_fd, buf, n > 0 ? (size_t)n : 0) < 0)
        _exit(3);
    _exit(1);
}

/* The value of FIELD in /proc/self/status, e.g. "0000000000001000" for CapEff. */
static const char *status_field(const char *field)
{
    static char val[128];
    char line[256];
    size_t n = strlen(field);
    val[0] = '\0';
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            snprintf(val, sizeof(val), "%s", line + n + 1 + strspn(line + n + 1, " \t"));
            val[strcspn(val, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    return val;
}

static void expect_field(const char *field, const char *want)
{
    const char *got = status_field(field);
    if (strcmp(got, want) != 0)
        child_fail("%s: '%s', want '%s'", field, got, want);
}

/* Runs fn in a child; fails with the child's report when it failed. */
static void in_child(void (*fn)(void))
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        report_fd = pfd[1];
        fn();
        _exit(0);
    }
    close(pfd[1]);
    char buf[512] = "";
    ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s (status %d)", buf, st);
}

static void nobody(struct st_priv *p)
{
    if (st_priv_resolve(p, "nobody", "nogroup", err, sizeof(err)) < 0)
        child_fail("resolve: %s", err);
}

static void drop_keep_net_admin(void)
{
    struct st_priv p;
    static const int keep[] = {CAP_NET_ADMIN_NR};
    char ids[64], desc[256];
    nobody(&p);
    if (st_priv_drop(&p, keep, 1, err, sizeof(err)) < 0)
        child_fail("drop: %s", err);
    snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", p.uid, p.uid, p.uid, p.uid);
    expect_field("Uid", ids);
    snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", p.gid, p.gid, p.gid, p.gid);
    expect_field("Gid", ids);
    expect_field("CapEff", "0000000000001000");
    expect_field("CapPrm", "0000000000001000");
    expect_field("CapBnd", "0000000000001000");
    expect_field("CapInh", "0000000000000000");
    expect_field("CapAmb", "0000000000000000");
    expect_field("NoNewPrivs", "1");
    if (setuid(0) == 0 || errno != EPERM)
        child_fail("setuid(0) after the drop: %s", strerror(errno));
    st_priv_describe(desc, sizeof(desc));
    snprintf(ids, sizeof(ids), "uid %u gid %u, capabilities: cap_net_admin=ep", p.uid, p.gid);
    if (strcmp(desc, ids) != 0)
        child_fail("describe: '%s', want '%s'", desc, ids);
}

static void drop_keep_nothing(void)
{
    struct st_priv p;
    char desc[256], want[64];
    nobody(&p);
    if (st_priv_drop(&p, NULL, 0, err, sizeof(err)) < 0)
        child_fail("drop: %s", err);
    expect_field("CapEff", "0000000000000000");
    expect_field("CapPrm", "0000000000000000");
    expect_field("CapBnd", "0000000000000000");
    st_priv_describe(desc, sizeof(desc));
    snprintf(want, sizeof(want), "uid %u gid %u, capabilities: none", p.uid, p.gid);
    if (strcmp(desc, want) != 0)
        child_fail("describe: '%s', want '%s'", desc, want);
    /* once unprivileged: the same user again only trims (nothing left), another fails */
    if (st_priv_drop(&p, NULL, 0, err, sizeof(err)) < 0)
        child_fail("second drop to the same user: %s", err);
    struct st_priv other;
    if (st_priv_resolve(&other, NO_PASSWD_ID, NO_PASSWD_ID, err, sizeof(err)) < 0)
        child_fail("resolve: %s", err);
    int rc = st_priv_drop(&other, NULL, 0, err, sizeof(err));
    if (rc != -EPERM || !strstr(err, "(start as root, or leave 'user' out)"))
        child_fail("drop to another user when unprivileged: %d '%s'", rc, err);
}

/* A reload keeps the running user and group; the old configuration gets the new strings. */
START_TEST(keep_user_on_reload)
{
    char *cu = strdup("nobody"), *cg = strdup("nogroup"), *nu = strdup("daemon"), *ng = NULL;
    char *old_u = cu, *new_u = nu;
    st_priv_keep_user(&cu, &cg, &nu, &ng);
    ck_assert_ptr_eq(nu, old_u); /* the next configuration runs on as nobody:nogroup */
    ck_assert_str_eq(ng, "nogroup");
    ck_assert_ptr_eq(cu, new_u); /* freed with the old configuration */
    ck_assert_ptr_null(cg);
    /* the same values: nothing moves */
    char *u2 = strdup("nobody"), *g2 = strdup("nogroup");
    char *before = u2;
    st_priv_keep_user(&nu, &ng, &u2, &g2);
    ck_assert_ptr_eq(u2, before);
    free(cu), free(cg), free(nu), free(ng), free(u2), free(g2);
}
END_TEST

START_TEST(drop_as_root)
{
    if (geteuid() != 0 || !getpwnam("nobody") || !getgrnam("nogroup")) {
        puts("drop_as_root: needs root, nobody and nogroup; skipped");
        return;
    }
    in_child(drop_keep_net_admin);
    in_child(drop_keep_nothing);
}
END_TEST

static Suite *priv_suite(void)
{
    Suite *s = suite_create("priv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, resolve_names_and_ids);
    tcase_add_test(tc, resolve_refusals);
    tcase_add_test(tc, keep_user_on_reload);
    tcase_add_test(tc, drop_as_root);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(priv_suite());
}
