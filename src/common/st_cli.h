#ifndef SUBTUNNEL_ST_CLI_H
#define SUBTUNNEL_ST_CLI_H

#include <stdbool.h>

/* The command line both daemons share:
 *   --config FILE, --check-config, --log-level LEVEL, --help, --version. */

struct st_cli {
    const char *prog; /* "subtunnel-edge" */
    const char *config;
    const char *log_level; /* NULL: keep the config file's */
    bool check;
};

/* Parses argv. Returns -1 to go on, or the exit status to leave with: 0 after --help or
 * --version, 2 after a usage error (message on stderr). Sets the log ident to prog. */
int st_cli_parse(struct st_cli *cli, const char *prog, int argc, char **argv);
/* Applies the config file's log level, then --log-level. 0, or 2 for a bad level. */
int st_cli_log_level(const struct st_cli *cli, int config_level);
/* Keeps a busy daemon's buffers (256 KiB TLS reads, 64 KiB TUN packets, queue chunks) in the
 * heap: served by mmap, or by heap memory glibc handed back on free(), every new one came as
 * fresh pages (50000-60000 page faults in 5 s per daemon at 4 Gbit/s). Blocks from
 * ST_CLI_MMAP up still use mmap; the heap gives its top back once ST_CLI_TRIM is free there
 * (glibc's defaults, 128 KiB and 256 KiB, move with the blocks freed). glibc only. */
#define ST_CLI_MMAP (4 << 20)
#define ST_CLI_TRIM (4 << 20)
void st_cli_tune_malloc(void);

#endif
