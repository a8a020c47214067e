/*
 * prog.c - the daemons' common main(): options, logging, the configuration
 * verdict and the run.  See prog.h.
 */
#include "prog.h"

#include <systemd/sd-daemon.h>

#include <limits.h>

#include "log.h"
#include "mqtt.h"
#include "util.h"

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
    char line[PATH_MAX + 128];

    if (rc < 0) {
        if (err->text == NULL)
            snprintf(line, sizeof(line), "%s: cannot load configuration\n", p->name);
        log_error_text(err->text != NULL ? err->text : line);
        if (o->check) {
            snprintf(line, sizeof(line), "%s: %s: %d %s\n", p->name, o->path, err->count,
                     plural(err->count, "error", "errors"));
            log_error_text(line);
        }
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
