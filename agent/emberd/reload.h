/*
 * reload.h - SIGHUP or `emberctl reload`: re-read the configuration and
 * switch to it, or refuse it and keep the running one.
 *
 * Each key either applies on reload or needs a restart: the reload column
 * of the directive tables says which (CFG_RESTART), plus the board's GPIO
 * lines and the [mqtt] session settings.  A refused reload names the key.
 */
#ifndef EMBER_RELOAD_H
#define EMBER_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "control.h"
#include "ingest.h"
#include "loop.h"
#include "notify.h"
#include "outbox.h"

/* What a reload from o to n does besides restarting the bus workers with
 * the new devices, sensors, alarms and zones. */
struct reload_plan {
    char refused[48]; /* what needs a restart ("[agent] gpio_sim"); "" when nothing */
    /* Changed values applied in place, and their keys for the log
     * ("[agent] log_level, [agent] journal_max"; "" when none). */
    bool log_level, journal_max, control_mode;
    char applied[96];
};

/* Pure: compares the running configuration o with the new n.  Returns 0
 * when the reload may go ahead, or -EINVAL with p->refused set and err
 * "reload refused: KEY changed; restart emberd to apply it". */
int reload_check(const struct conf *o, const struct conf *n, struct reload_plan *p, char *err,
                 size_t errlen);

/* Loads (*running)->path and, when it is valid and reload_check allows it,
 * switches every module to it (the notifiers nt too: a [notify] change
 * never refuses a reload) and frees the old configuration (then
 * *running is the new one).  Returns 0 or -errno with the reason in err
 * (logged); on failure the running configuration stays. */
int reload_run(struct conf **running, struct loop *l, struct ingest *in, struct outbox *ob,
               struct notify *nt, struct control *ctl, char *err, size_t errlen);

#endif
