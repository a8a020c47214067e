/*
 * prog.c - the daemons' common main(): options, logging, the configuration
 * verdict and the run.  See prog.h.
 */
#include "prog.h"

#include <systemd/sd-daemon.h>

#include "log.h"
#include "mqtt.h"

int
prog_option(const struct prog *p, int opt, const char *arg, struct prog_opts *o)
{
    switch (opt) {
    case 'c':
        o->path = arg;
        return -1;
    case 'n':
    case 'd':
    case 's':
        *(opt == 'n' ? &o->check : opt == 'd' ? &o->debug : &o->use_syslog) = true;
        return -1;
    case 'h':
        p->usage(stdout);
        return 0;
    case 'V':
        printf("%s %s\n", p->name, EMBER_VERSION);
        return 0;
    default:
        p->usage(stderr);
        return PROG_EXIT_USAGE;
    }
}

void
prog_log_init(const struct prog *p, const struct prog_opts *o)
{
    log_init(p->name, !o->use_syslog, o->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
}

int
prog_loaded(const struct prog *p, const struct prog_opts *o, int rc, struct cfgerr *err)
{
    if (rc < 0) {
        if (err->text != NULL)
            fputs(err->text, stderr);
        else
            fprintf(stderr, "%s: cannot load configuration\n", p->name);
        if (o->check)
            fprintf(stderr, "%s: %s: %d error%s\n", p->name, o->path, err->count,
                    err->count == 1 ? "" : "s");
    }
    cfgerr_free(err);
    return rc;
}

int
prog_run(const struct prog_opts *o, int log_level, const struct prog_ops *ops, void *conf)
{
    void *d = NULL;

    if (!o->debug)
        log_set_level((enum log_level)log_level);
    if (mqtt_lib_init() < 0)
        fatalx("cannot initialise libmosquitto");
    if (ops->init(&d, conf) < 0) {
        mqtt_lib_fini();
        return 1;
    }
    ops->run(d);
    sd_notify(0, "STOPPING=1");
    log_info("stopping");
    ops->fini(d);
    mqtt_lib_fini();
    log_fini();
    return 0;
}
