/*
 * main.c - emberd: battery-room sensors to MQTT alarms.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "mqtt.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif
#define DEFAULT_CONF "/etc/emberwatch/emberd.conf"

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
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'n'},
        {"debug", no_argument, NULL, 'd'},        {"syslog", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONF;
    bool check = false, debug = false, use_syslog = false;
    struct cfgerr err = {0};
    struct conf *c = NULL;
    struct daemon *d = NULL;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "c:ndshV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            check = true;
            break;
        case 'd':
            debug = true;
            break;
        case 's':
            use_syslog = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("emberd %s\n", EMBER_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "emberd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    log_init("emberd", !use_syslog, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

    rc = conf_load(path, &c, &err);
    if (rc < 0) {
        fputs(err.text ? err.text : "emberd: cannot load configuration\n", stderr);
        if (check)
            fprintf(stderr, "emberd: %s: %d error%s\n", path, err.count, err.count == 1 ? "" : "s");
        cfgerr_free(&err);
        return 1;
    }
    cfgerr_free(&err);
    if (check) {
        printf("emberd: %s: configuration OK (%d buses, %d devices, %d sensors, %d alarms, "
               "%d zones)\n",
               path, c->nbuses, c->ndevices, c->nsensors, c->nalarms, c->nzones);
        conf_free(c);
        return 0;
    }
    if (!debug)
        log_set_level((enum log_level)c->agent.log_level);

    if (mqtt_lib_init() < 0)
        fatalx("cannot initialise libmosquitto");
    rc = daemon_init(&d, c);
    if (rc < 0) {
        mqtt_lib_fini();
        return 1;
    }
    daemon_signals(d);
    daemon_run(d);
    daemon_fini(d);
    mqtt_lib_fini();
    log_fini();
    return 0;
}
