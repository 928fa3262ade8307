#include "st_priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "st_log.h"

/* A decimal id below 2^32 - 1 (-1 is "no change" to the set*id calls). */
static bool parse_id(const char *s, unsigned long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return !errno && !*end && *out < 0xffffffffUL;
}

static int resolve_user(struct st_priv *p, const char *user, char *err, size_t errlen)
{
    unsigned long id;
    struct passwd *pw;
    if (parse_id(user, &id)) {
        p->uid = (uid_t)id;
        pw = getpwuid(p->uid);
    } else {
        pw = getpwnam(user);
        if (!pw) {
            snprintf(err, errlen, "user '%s': no such user", user);
            return -EINVAL;
        }
        p->uid = pw->pw_uid;
    }
    p->has_pw = pw != NULL;
    snprintf(p->user, sizeof(p->user), "%s", pw ? pw->pw_name : user);
    if (pw)
        p->gid = pw->pw_gid;
    if (p->uid == 0) {
        snprintf(err, errlen, "user '%s' is uid 0: leave 'user' out to keep running as root", user);
        return -EINVAL;
    }
    return 0;
}

static int resolve_group(struct st_priv *p, const char *group, char *err, size_t errlen)
{
    unsigned long id;
    struct group *gr = NULL;
    if (!group) {
        if (!p->has_pw) {
            snprintf(err, errlen, "user '%s' has no passwd entry: set 'group' too", p->user);
            return -EINVAL;
        }
        gr = getgrgid(p->gid);
    } else if (parse_id(group, &id)) {
        p->gid = (gid_t)id;
        gr = getgrgid(p->gid);
    } else if ((gr = getgrnam(group))) {
        p->gid = gr->gr_gid;
    } else {
        snprintf(err, errlen, "group '%s': no such group", group);
        return -EINVAL;
    }
    if (gr)
        snprintf(p->group, sizeof(p->group), "%s", gr->gr_name);
    else
        snprintf(p->group, sizeof(p->group), "%lu", (unsigned long)p->gid);
    if (p->gid == 0) {
        snprintf(err, errlen, "group '%s' is gid 0: name an unprivileged group", p->group);
        return -EINVAL;
    }
    return 0;
}

int st_priv_resolve(struct st_priv *p, const char *user, const char *group, char *err,
                    size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (!user)
        return 0;
    int rc = resolve_user(p, user, err, errlen);
    if (rc == 0)
        rc = resolve_group(p, group, err, errlen);
    p->on = rc == 0;
    return rc;
}

static bool kept(int cap, const int *keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i] == cap)
            return true;
    return false;
}

/* Drops every capability but keep[] from the bounding set (needs CAP_SETPCAP). */
static int trim_bound(const int *keep, size_t n, char *err, size_t errlen)
{
    for (int c = 0; c < (int)cap_max_bits(); c++) {
        if (kept(c, keep, n) || cap_get_bound((cap_value_t)c) != 1)
            continue;
        if (cap_drop_bound((cap_value_t)c) == 0)
            continue;
        if (errno == EPERM) {
            st_warn("cannot reduce the capability bounding set (no CAP_SETPCAP); it stays as "
                    "it was started with");
            return 0;
        }
        int rc = -errno;
        snprintf(err, errlen, "dropping capability %d from the bounding set: %s", c, strerror(-rc));
        return rc;
    }
    return 0;
}

static int switch_ids(const struct st_priv *p, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    if (r == p->uid && e == p->uid && s == p->uid && rg == p->gid && eg == p->gid && sg == p->gid)
        return 0; /* started as the user already (e.g. User= in the unit) */
    const char *step = "setgroups";
    if ((p->has_pw ? initgroups(p->user, p->gid) : setgroups(1, &p->gid)) < 0 ||
        (step = "setresgid", setresgid(p->gid, p->gid, p->gid)) < 0 ||
        (step = "setresuid", setresuid(p->uid, p->uid, p->uid)) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "switching to user %s, group %s: %s: %s%s", p->user, p->group, step,
                 strerror(-rc), rc == -EPERM ? " (start as root, or leave 'user' out)" : "");
        return rc;
    }
    return 0;
}

static int set_caps(const int *keep, size_t n, char *err, size_t errlen)
{
    cap_t caps = cap_init();
    if (!caps)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cap_value_t v = (cap_value_t)keep[i];
        if (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
            cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
            rc = -errno;
    }
    if (rc == 0 && cap_set_proc(caps) < 0)
        rc = -errno;
    cap_free(caps);
    if (rc == 0 && CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0)
        rc = -errno;
    if (rc < 0)
        snprintf(err, errlen, "setting the capabilities to keep: %s", strerror(-rc));
    return rc;
}

int st_priv_drop(const struct st_priv *p, const int *keep, size_t n_keep, char *err, size_t errlen)
{
    int rc;
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
        rc = -errno;
        snprintf(err, errlen, "prctl(PR_SET_KEEPCAPS): %s", strerror(-rc));
        return rc;
    }
    if ((rc = trim_bound(keep, n_keep, err, errlen)) < 0 || (rc = switch_ids(p, err, errlen)) < 0 ||
        (rc = set_caps(keep, n_keep, err, errlen)) < 0)
        return rc;
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        rc = -errno;
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(-rc));
        return rc;
    }
    if (setresuid(0, 0, 0) == 0 || getuid() != p->uid || geteuid() != p->uid) {
        snprintf(err, errlen, "still able to become root after switching to %s", p->user);
        return -EPERM;
    }
    return 0;
}

void st_priv_describe(char *buf, size_t len)
{
    cap_t caps = cap_get_proc();
    char *text = caps ? cap_to_text(caps, NULL) : NULL;
    bool none = !text || strcmp(text, "=") == 0;
    snprintf(buf, len, "uid %lu gid %lu, capabilities: %s", (unsigned long)getuid(),
             (unsigned long)getgid(), none ? "none" : text);
    cap_free(text);
    cap_free(caps);
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void st_priv_keep_user(char **cur_user, char **cur_group, char **next_user, char **next_group)
{
    if (same(*cur_user, *next_user) && same(*cur_group, *next_group))
        return;
    st_warn("SIGHUP: user and group need a restart; keeping the running ones");
    char *u = *next_user, *g = *next_group;
    *next_user = *cur_user;
    *next_group = *cur_group;
    *cur_user = u;
    *cur_group = g;
}
