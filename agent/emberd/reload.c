/*
 * reload.c - reload: check the new configuration against the running one,
 * then restart the bus workers with it and switch the ingest, the outbox
 * and the control socket over.
 *
 * Owns nothing past a call.  May call: conf_load/conf_free,
 * conf_agent_restart_key, mqttconf_restart_key, bus_start/bus_stop, ingest_*, outbox_*,
 * notify_set_conf, control_set_mode, log_set_level.  reload_check is pure.
 */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "util.h"

static bool
str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* The GPIO lines are requested once, at start. */
static bool
gpio_differs(const struct conf *o, const struct conf *n)
{
    if (o->ninputs != n->ninputs || o->noutputs != n->noutputs ||
        str_differs(o->board ? o->board->gpio_chip : NULL, n->board ? n->board->gpio_chip : NULL))
        return true;
    for (int i = 0; i < o->ninputs; i++)
        if (strcmp(o->inputs[i]->name, n->inputs[i]->name) != 0 ||
            o->inputs[i]->offset != n->inputs[i]->offset ||
            o->inputs[i]->active_low != n->inputs[i]->active_low ||
            o->inputs[i]->debounce_ms != n->inputs[i]->debounce_ms)
            return true;
    for (int i = 0; i < o->noutputs; i++)
        if (strcmp(o->outputs[i]->name, n->outputs[i]->name) != 0 ||
            o->outputs[i]->offset != n->outputs[i]->offset)
            return true;
    return false;
}

/* The hardware watchdog is opened once, at start. */
static bool
watchdog_differs(const struct conf *o, const struct conf *n)
{
    const struct board *a = o->board, *b = n->board;

    return str_differs(a ? a->watchdog : NULL, b ? b->watchdog : NULL) ||
           (a && b && a->watchdog && a->watchdog_timeout_ms != b->watchdog_timeout_ms);
}

int
reload_check(const struct conf *o, const struct conf *n, struct reload_plan *p, char *err,
             size_t errlen)
{
    const char *key;

    memset(p, 0, sizeof(*p));
    if ((key = conf_agent_restart_key(o, n)) != NULL)
        snprintf(p->refused, sizeof(p->refused), "[agent] %s", key);
    else if ((key = mqttconf_restart_key(&o->mqtt, &n->mqtt)) != NULL)
        snprintf(p->refused, sizeof(p->refused), "[mqtt] %s", key);
    else if ((o->metrics.listen == NULL) != (n->metrics.listen == NULL) ||
             (o->metrics.listen != NULL && strcmp(o->metrics.listen, n->metrics.listen) != 0))
        snprintf(p->refused, sizeof(p->refused), "[metrics] listen");
    else if ((key = conf_ha_restart_key(o, n)) != NULL)
        snprintf(p->refused, sizeof(p->refused), "[homeassistant] %s", key);
    else if (gpio_differs(o, n))
        snprintf(p->refused, sizeof(p->refused), "GPIO inputs/outputs");
    else if (watchdog_differs(o, n))
        snprintf(p->refused, sizeof(p->refused), "[board] watchdog");
    if (p->refused[0] != '\0') {
        snprintf(err, errlen, "reload refused: %s changed; restart emberd to apply it",
                 p->refused);
        return -EINVAL;
    }
    p->log_level = o->agent.log_level != n->agent.log_level;
    p->journal_max = o->agent.journal_max != n->agent.journal_max;
    p->control_mode = o->agent.control_mode != n->agent.control_mode;
    snprintf(p->applied, sizeof(p->applied), "%s%s%s%s%s",
             p->log_level ? "[agent] log_level" : "",
             p->log_level && (p->journal_max || p->control_mode) ? ", " : "",
             p->journal_max ? "[agent] journal_max" : "",
             p->journal_max && p->control_mode ? ", " : "",
             p->control_mode ? "[agent] control_mode" : "");
    return 0;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* The values a reload changes in place. */
static void
apply_in_place(const struct reload_plan *p, const struct conf *o, const struct conf *n,
               struct outbox *ob, struct control *ctl)
{
    if (p->log_level) {
        /* -d on the command line overrides the file: keep it. */
        if (log_get_level() == (enum log_level)o->agent.log_level) {
            log_set_level((enum log_level)n->agent.log_level);
            log_info("reload: [agent] log_level is now %s", level_names[n->agent.log_level]);
        } else {
            log_info("reload: [agent] log_level %s noted; -d keeps debug logging",
                     level_names[n->agent.log_level]);
        }
    }
    if (p->journal_max) {
        outbox_set_journal_max(ob, n->agent.journal_max);
        log_info("reload: [agent] journal_max is now %d", n->agent.journal_max);
    }
    if (p->control_mode) {
        int rc = control_set_mode(ctl, n->agent.control_mode);
        if (rc < 0)
            log_warnx("reload: [agent] control_mode: cannot chmod %s to %04o: %s",
                      n->agent.control, (unsigned)n->agent.control_mode, strerror(-rc));
        else
            log_info("reload: [agent] control_mode is now %04o", (unsigned)n->agent.control_mode);
    }
}

/* "configuration has 3 errors; first: FILE:LINE: ...": the whole first
 * error, cut (and saying so) only where err ends. */
static void
report_errors(const struct cfgerr *ce, char *err, size_t errlen)
{
    int n = snprintf(err, errlen, "configuration has %d error%s; first: ", ce->count,
                     ce->count == 1 ? "" : "s");

    if (n < 0 || (size_t)n >= errlen)
        return;
    cfgerr_first(ce, err + n, errlen - (size_t)n);
}

int
reload_run(struct conf **running, struct loop *l, struct ingest *in, struct outbox *ob,
           struct notify *nt, struct control *ctl, char *err, size_t errlen)
{
    struct cfgerr ce = {0};
    struct conf *nc = NULL, *oc = *running;
    struct bus_set *bs;
    struct reload_plan plan;
    char summary[160];
    int rc;

    if (conf_load(oc->path, &nc, &ce) < 0) {
        log_warnx("reload: %s has errors; keeping the running configuration:\n%s", oc->path,
                  ce.text ? ce.text : "");
        report_errors(&ce, err, errlen);
        cfgerr_free(&ce);
        return -EINVAL;
    }
    cfgerr_free(&ce);
    if ((rc = reload_check(oc, nc, &plan, err, errlen)) < 0) {
        log_warnx("%s", err);
        conf_free(nc);
        return rc;
    }

    /* Stop the old workers first: two contexts must never share a serial
     * line.  If the new ones cannot start, the old configuration resumes. */
    bus_stop(ingest_detach_bus(in, l));
    if ((rc = bus_start(&bs, nc)) < 0) {
        snprintf(err, errlen, "cannot start bus workers: %s; keeping the running configuration",
                 strerror(-rc));
        log_errx("reload: %s", err);
        conf_free(nc);
        if (bus_start(&bs, oc) < 0)
            log_errx("reload: cannot restart the old bus workers either");
        else
            ingest_attach_bus(in, l, bs);
        return rc;
    }

    /* [notify] sections are settings only: always applied (a run in
     * flight finishes), before the new engine's first events. */
    notify_set_conf(nt, nc);
    ingest_reload(in, nc, mono_ms(), real_ms());
    apply_in_place(&plan, oc, nc, ob, ctl);
    *running = nc;
    conf_free(oc);

    ingest_attach_bus(in, l, bs);
    outbox_resend(ob); /* republish states under the new names */
    if (plan.applied[0] != '\0')
        log_info("reload: applied %s", plan.applied);
    conf_summary(nc, summary, sizeof(summary));
    log_info("reloaded %s: %s", nc->path, summary);
    return 0;
}
