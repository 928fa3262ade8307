#ifndef SUBTUNNEL_ST_PRIV_H
#define SUBTUNNEL_ST_PRIV_H

/* Least privilege (the `user:` and `group:` keys): once a daemon started as root has
 * opened what needs root (listeners, the TUN device, its routes), it switches to an
 * unprivileged user and group and keeps only the capabilities it still needs (libcap):
 * in its permitted, effective and bounding sets; inheritable and ambient sets empty and
 * no_new_privs set. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct st_priv {
    bool on;     /* a user was configured */
    bool has_pw; /* the uid has a passwd entry: supplementary groups from the group file */
    uid_t uid;
    gid_t gid;
    char user[64]; /* the passwd name (or the number given) for logs and initgroups */
    char group[64];
};

/* Resolves user (a name or a decimal uid) and group (a name or a decimal gid; NULL: the
 * user's primary group) into p. user NULL: p->on false, 0. uid 0 and gid 0 are refused.
 * 0, or -EINVAL with "user 'x': no such user" (and the like) in err. */
int st_priv_resolve(struct st_priv *p, const char *user, const char *group, char *err,
                    size_t errlen);
/* Switches to p's uid and gid (supplementary groups: the user's in the group file, or only
 * gid), keeping the capabilities keep[0..n_keep) (CAP_* numbers) effective and permitted and
 * dropping every other one from the bounding set. A process already running as p's ids
 * only reduces its capabilities. Root can never be regained afterwards (checked). 0, or
 * -errno with the failing step in err. A bounding set that cannot be reduced (no
 * CAP_SETPCAP) is logged as a warning, not a failure. */
int st_priv_drop(const struct st_priv *p, const int *keep, size_t n_keep, char *err, size_t errlen);
/* "uid 65534 gid 65534, capabilities: cap_net_admin=ep" (or "none") of this process. */
void st_priv_describe(char *buf, size_t len);
/* SIGHUP: user and group cannot change without a restart. When the next configuration's
 * differ from the running one's, warns and swaps them, so the next configuration keeps the
 * running values and the old one (freed after the reload) owns the new strings. */
void st_priv_keep_user(char **cur_user, char **cur_group, char **next_user, char **next_group);

#endif
