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

#endif
