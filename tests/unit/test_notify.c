#include "st_check.h"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_notify.h"
#include "st_priv.h"

/* The service manager's side: a unix datagram socket the test binds (a path in a private
 * temporary directory, or an abstract name), as systemd's $NOTIFY_SOCKET. */
static char dir[64], path[128];
static int srv = -1;

static void setup(void)
{
    strcpy(dir, "/tmp/st_test_notify.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    srv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(srv, 0);
    ck_assert_int_eq(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int one = 1;
    ck_assert_int_eq(setsockopt(srv, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
}

static void teardown(void)
{
    close(srv);
    unlink(path);
    rmdir(dir);
}

/* The next datagram (empty string if none is waiting); *uid gets the sender's uid. */
static const char *next_msg(int fd, uid_t *uid)
{
    static char buf[1024];
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    struct iovec iov = {buf, sizeof(buf) - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
    buf[n < 0 ? 0 : n] = '\0';
    struct cmsghdr *c = n < 0 ? NULL : CMSG_FIRSTHDR(&mh);
    if (uid && c && c->cmsg_type == SCM_CREDENTIALS)
        *uid = ((struct ucred *)CMSG_DATA(c))->uid;
    return buf;
}

START_TEST(addr_forms)
{
    struct sockaddr_un sa;
    socklen_t len;
    ck_assert_int_eq(st_notify_addr("/run/systemd/notify", &sa, &len), 0);
    ck_assert_str_eq(sa.sun_path, "/run/systemd/notify");
    ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 20);
    ck_assert_int_eq(st_notify_addr("@sd-notify", &sa, &len), 0);
    ck_assert_int_eq(sa.sun_path[0], '\0');
    ck_assert_int_eq(memcmp(sa.sun_path + 1, "sd-notify", 9), 0);
    ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 10);
    ck_assert_int_eq(st_notify_addr(NULL, &sa, &len), -EINVAL);
    ck_assert_int_eq(st_notify_addr("", &sa, &len), -EINVAL);
    ck_assert_int_eq(st_notify_addr("/", &sa, &len), -EINVAL);
    ck_assert_int_eq(st_notify_addr("run/notify", &sa, &len), -EINVAL);
    ck_assert_int_eq(st_notify_addr("vsock:2:1234", &sa, &len), -EINVAL);
    char lng[200];
    memset(lng, 'a', sizeof(lng) - 1);
    lng[0] = '/';
    lng[sizeof(lng) - 1] = '\0';
    ck_assert_int_eq(st_notify_addr(lng, &sa, &len), -ENAMETOOLONG);
}
END_TEST

START_TEST(watchdog_values)
{
    uint64_t ms = 7;
    ck_assert_int_eq(st_notify_watchdog(NULL, NULL, 10, &ms), 0);
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(st_notify_watchdog("30000000", NULL, 10, &ms), 0);
    ck_assert_uint_eq(ms, 30000);
    ck_assert_int_eq(st_notify_watchdog("30000000", "10", 10, &ms), 0);
    ck_assert_uint_eq(ms, 30000);
    ck_assert_int_eq(st_notify_watchdog("30000000", "11", 10, &ms), 0); /* not ours */
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(st_notify_watchdog("500", NULL, 10, &ms), 0); /* below 1 ms */
    ck_assert_uint_eq(ms, 1);
    ck_assert_int_eq(st_notify_watchdog("0", NULL, 10, &ms), -EINVAL);
    ck_assert_int_eq(st_notify_watchdog("-5", NULL, 10, &ms), -EINVAL);
    ck_assert_int_eq(st_notify_watchdog("5s", NULL, 10, &ms), -EINVAL);
    ck_assert_int_eq(st_notify_watchdog("", NULL, 10, &ms), -EINVAL);
    ck_assert_int_eq(st_notify_watchdog("1000", "x", 10, &ms), -EINVAL);
    ck_assert_int_eq(st_notify_watchdog("99999999999999999999999", NULL, 10, &ms), -EINVAL);
    ck_assert_uint_eq(ms, 0);
}
END_TEST

static char status_text[64] = "4 tunnel connections registered";

static void status_cb(void *data, char *buf, size_t len)
{
    (void)data;
    snprintf(buf, len, "%s", status_text);
}

/* Without $NOTIFY_SOCKET every call is a quiet no-op. */
START_TEST(no_socket)
{
    struct st_notify n;
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    ck_assert_int_eq(st_notify_init(&n, NULL, "1000000", NULL), 0);
    ck_assert(!n.on);
    ck_assert_uint_eq(n.watchdog_ms, 0);
    st_notify_start(&n, &loop, status_cb, NULL);
    st_notify_ready(&n);
    ck_assert_int_eq(st_notify_send(&n, "X=1"), 0);
    st_notify_stopping(&n);
    ck_assert_uint_eq(n.sent, 0);
    st_notify_fini(&n);
    st_notify_fini(&n); /* twice: harmless */
    st_loop_fini(&loop);
    ck_assert_str_eq(next_msg(srv, NULL), "");
}
END_TEST

START_TEST(bad_socket)
{
    struct st_notify n;
    char gone[160];
    snprintf(gone, sizeof(gone), "%s/none", dir);
    ck_assert_int_eq(st_notify_init(&n, gone, NULL, NULL), -ENOENT);
    ck_assert(!n.on);
    ck_assert_int_eq(st_notify_init(&n, "relative", NULL, NULL), -EINVAL);
    ck_assert_int_eq(st_notify_init(&n, path, "soon", NULL), -EINVAL);
    ck_assert(!n.on);
    st_notify_fini(&n);
}
END_TEST

/* READY=1 (once), RELOADING=1 with MONOTONIC_USEC then READY=1, STOPPING=1, each with the
 * status line (control characters made '?'). */
START_TEST(messages)
{
    struct st_notify n;
    struct st_loop loop;
    uid_t uid = (uid_t)-1;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    ck_assert_int_eq(st_notify_init(&n, path, NULL, NULL), 0);
    ck_assert(n.on);
    st_notify_start(&n, &loop, status_cb, NULL);
    st_notify_reloaded(&n);  /* no reload under way: nothing */
    st_notify_reloading(&n); /* not ready yet: nothing */
    ck_assert_str_eq(next_msg(srv, NULL), "");
    st_notify_ready(&n);
    ck_assert_str_eq(next_msg(srv, &uid), "READY=1\nSTATUS=4 tunnel connections registered");
    ck_assert_uint_eq(uid, getuid());
    st_notify_ready(&n);
    ck_assert_str_eq(next_msg(srv, NULL), "");
    st_notify_reloading(&n);
    const char *m = next_msg(srv, NULL);
    ck_assert_msg(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0, "%s", m);
    ck_assert_uint_gt(strtoull(m + 27, NULL, 10), 0);
    ck_assert_uint_eq(strspn(m + 27, "0123456789"), strlen(m + 27));
    strcpy(status_text, "line\none");
    st_notify_reloaded(&n);
    ck_assert_str_eq(next_msg(srv, NULL), "READY=1\nSTATUS=line?one");
    st_notify_reloaded(&n);
    ck_assert_str_eq(next_msg(srv, NULL), "");
    strcpy(status_text, "draining");
    st_notify_stopping(&n);
    ck_assert_str_eq(next_msg(srv, NULL), "STOPPING=1\nSTATUS=draining");
    ck_assert_int_eq(st_notify_send(&n, "X=1"), 0);
    ck_assert_str_eq(next_msg(srv, NULL), "X=1");
    ck_assert_uint_eq(n.sent, 5);
    st_notify_fini(&n);
    st_loop_fini(&loop);
    strcpy(status_text, "4 tunnel connections registered");
}
END_TEST

START_TEST(abstract_socket)
{
    char name[64];
    snprintf(name, sizeof(name), "@st-test-notify-%d", (int)getpid());
    struct sockaddr_un sa;
    socklen_t len;
    ck_assert_int_eq(st_notify_addr(name, &sa, &len), 0);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
    struct st_notify n;
    ck_assert_int_eq(st_notify_init(&n, name, NULL, NULL), 0);
    st_notify_ready(&n); /* no status callback: READY=1 alone */
    ck_assert_str_eq(next_msg(fd, NULL), "READY=1");
    st_notify_fini(&n);
    close(fd);
}
END_TEST

static void stop_cb(struct st_timer *t)
{
    st_loop_stop(t->loop);
}

static void change_cb(struct st_timer *t)
{
    strcpy(status_text, "changed");
    (void)t;
}

/* The loop's timers send WATCHDOG=1 every watchdog/2 and STATUS= only when it changed. */
START_TEST(watchdog_and_status_timers)
{
    struct st_notify n;
    struct st_loop loop;
    struct st_timer stop, change;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    ck_assert_int_eq(st_notify_init(&n, path, "40000", NULL), 0); /* 40 ms */
    ck_assert_uint_eq(n.watchdog_ms, 40);
    n.status_ms = 30;
    st_notify_start(&n, &loop, status_cb, NULL);
    st_timer_init(&stop, &loop, stop_cb, NULL);
    st_timer_init(&change, &loop, change_cb, NULL);
    st_timer_start(&stop, 250);
    st_timer_start(&change, 120);
    ck_assert_int_eq(st_loop_run(&loop), 0);
    int wd = 0, other = 0;
    const char *m;
    char seen[4][64];
    while (*(m = next_msg(srv, NULL))) {
        if (strcmp(m, "WATCHDOG=1") == 0)
            wd++;
        else if (other < 4 && strlen(m) < sizeof(seen[0]))
            strcpy(seen[other++], m);
    }
    ck_assert_msg(wd >= 5 && wd <= 14, "%d WATCHDOG=1 in 250 ms at 20 ms", wd);
    ck_assert_int_eq(other, 2);
    ck_assert_str_eq(seen[0], "STATUS=4 tunnel connections registered");
    ck_assert_str_eq(seen[1], "STATUS=changed");
    st_notify_fini(&n);
    st_loop_fini(&loop);
    strcpy(status_text, "4 tunnel connections registered");
}
END_TEST

/* The socket is connected before the privilege drop: a daemon that switched to nobody
 * still reaches a socket in a directory only root may enter. */
START_TEST(sends_after_privilege_drop)
{
    if (geteuid() != 0) {
        puts("sends_after_privilege_drop: not root, skipped");
        return;
    }
    struct st_priv p;
    char err[256];
    ck_assert_msg(st_priv_resolve(&p, "nobody", NULL, err, sizeof(err)) == 0, "%s", err);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct st_notify n;
        if (st_notify_init(&n, path, NULL, NULL) < 0 || st_priv_drop(&p, NULL, 0, err, 256) < 0)
            _exit(2);
        _exit(st_notify_send(&n, "READY=1") == 0 ? 0 : 3);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    uid_t uid = 0;
    ck_assert_str_eq(next_msg(srv, &uid), "READY=1");
    ck_assert_uint_eq(uid, p.uid);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, addr_forms);
    tcase_add_test(tc, watchdog_values);
    tcase_add_test(tc, no_socket);
    tcase_add_test(tc, bad_socket);
    tcase_add_test(tc, messages);
    tcase_add_test(tc, abstract_socket);
    tcase_add_test(tc, watchdog_and_status_timers);
    tcase_add_test(tc, sends_after_privilege_drop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(notify_suite());
}
