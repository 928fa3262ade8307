/* Files a configuration names: readable regular files, and secrets kept in one. */
#include "st_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *what(const struct st_cfg_node *node)
{
    return *node->path ? node->path : "configuration";
}

int st_cfg_readable_file(struct st_cfg *cfg, const struct st_cfg_node *node, const char **out)
{
    struct stat st;
    const char *path = NULL;
    int rc = st_cfg_string(cfg, node, &path), fd;

    if (rc < 0)
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return st_cfg_fail(cfg, node->line, "'%s': cannot read '%s': %s", what(node), path,
                           strerror(errno));
    rc = fstat(fd, &st);
    close(fd);
    if (rc < 0 || !S_ISREG(st.st_mode))
        return st_cfg_fail(cfg, node->line, "'%s': '%s' is not a regular file", what(node), path);
    *out = path;
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s), start = 0;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[start]))
        start++;
    memmove(s, s + start, n - start + 1);
}

int st_cfg_secret_file(struct st_cfg *cfg, const struct st_cfg_node *node, char *buf, size_t len,
                       const char **path)
{
    int rc = st_cfg_readable_file(cfg, node, path);
    FILE *f;

    if (rc < 0)
        return rc;
    f = fopen(*path, "r");
    if (!f)
        return st_cfg_fail(cfg, node->line, "'%s': cannot read '%s': %s", what(node), *path,
                           strerror(errno));
    size_t n = fread(buf, 1, len, f);
    fclose(f);
    if (n == len || memchr(buf, '\0', n))
        n = 0; /* too long, or a NUL inside: refused by the caller */
    buf[n] = '\0';
    trim(buf);
    return 0;
}
