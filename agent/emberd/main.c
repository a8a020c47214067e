/*
 * main.c - emberd: battery-room sensors to MQTT alarms.
 *
 * Only what is emberd's own: the help text, the -n summary and the typed
 * calls; the options, the configuration verdict and the run are prog.h's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "prog.h"
/* SYSCONFDIR comes from the Makefile (make install SYSCONFDIR=...). */
#ifndef EMBER_SYSCONFDIR
#define EMBER_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF EMBER_SYSCONFDIR "/emberwatch/emberd.conf"

static void
usage(FILE *fp)
{
    fprintf(fp,
            "Usage: emberd [OPTIONS]\n"
            "Poll battery-room sensors over Modbus RTU/TCP and publish them over MQTT.\n"
            "\n"
            "  -c, --config FILE   configuration file (default " DEFAULT_CONF ")\n"
            "  -n, --check         check the configuration (and the board and profiles it\n"
            "                      names), print 'configuration OK' or every error as\n"
            "                      FILE:LINE: message, and exit 0 or 1\n"
            "  -d, --debug         log debug messages (overrides [agent] log_level)\n"
            "  -s, --syslog        log to syslog instead of stderr\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n"
            "\n"
            "emberd runs in the foreground (systemd Type=notify).  SIGTERM or SIGINT stop it\n"
            "cleanly: it publishes 'offline' on {prefix}/{site}/{agent}/status first.\n"
            "Topics and payloads: emberd(8) and the README.  Config format: emberd.conf(5).\n"
            "\n"
            "Exit status: 0 on clean stop or valid config, 1 on errors, 2 on bad usage.\n");
}

int
main(int argc, char **argv)
{
    static const struct prog prog = {"emberd", usage};
    static const struct option opts[] = {PROG_DAEMON_LONG, {NULL, 0, NULL, 0}};
    struct prog_opts o = {.path = DEFAULT_CONF};
    struct cfgerr err = {0};
    struct conf *c = NULL;
    char summary[160];
    int opt, rc;

    while ((opt = getopt_long(argc, argv, PROG_DAEMON_SHORT, opts, NULL)) != -1)
        if ((rc = prog_option(&prog, opt, optarg, &o)) >= 0)
            return rc;
    if (optind != argc) {
        fprintf(stderr, "emberd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return PROG_EXIT_USAGE;
    }
    prog_log_init(&prog, &o);
    if (prog_loaded(&prog, &o, conf_load(o.path, &c, &err), &err) < 0)
        return 1;
    if (!o.check)
        return prog_run(&o, c->agent.log_level, &daemon_ops, c);
    conf_summary(c, summary, sizeof(summary));
    printf("emberd: %s: configuration OK (%s)\n", o.path, summary);
    conf_free(c);
    return 0;
}
