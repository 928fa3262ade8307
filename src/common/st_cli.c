#include "st_cli.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "st_log.h"

static void usage(const char *prog, FILE *out)
{
    fprintf(out,
            "usage: %s --config FILE [--check-config] [--log-level LEVEL]\n"
            "       %s --help | --version\n"
            "  -c, --config FILE      YAML configuration (see docs/configuration.md)\n"
            "  -t, --check-config     validate the configuration and exit (0 ok, 2 bad)\n"
            "  -l, --log-level LEVEL  error|warn|info|debug (overrides the file)\n",
            prog, prog);
}

int st_cli_parse(struct st_cli *cli, const char *prog, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},    {"check-config", no_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0}};
    memset(cli, 0, sizeof(*cli));
    cli->prog = prog;
    st_log_set_ident(prog);
    int o;
    while ((o = getopt_long(argc, argv, "c:tl:hV", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            cli->config = optarg;
            break;
        case 't':
            cli->check = true;
            break;
        case 'l':
            cli->log_level = optarg;
            break;
        case 'h':
            usage(prog, stdout);
            return 0;
        case 'V':
            printf("%s %s\n", prog, ST_VERSION);
            return 0;
        default:
            usage(prog, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage(prog, stderr);
        return 2;
    }
    if (!cli->config) {
        fprintf(stderr, "%s: --config FILE is required\n", prog);
        usage(prog, stderr);
        return 2;
    }
    return -1;
}

int st_cli_log_level(const struct st_cli *cli, int config_level)
{
    st_log_set_level(config_level);
    if (!cli->log_level)
        return 0;
    int l = st_log_parse_level(cli->log_level);
    if (l < 0) {
        fprintf(stderr, "%s: bad --log-level '%s' (error|warn|info|debug)\n", cli->prog,
                cli->log_level);
        return 2;
    }
    st_log_set_level(l);
    return 0;
}

void st_cli_tune_malloc(void)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    if (!mallopt(M_MMAP_THRESHOLD, ST_CLI_MMAP) || !mallopt(M_TRIM_THRESHOLD, ST_CLI_TRIM))
        st_warn("mallopt failed: buffers may come back as fresh pages");
#endif
}
