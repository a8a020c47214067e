/*
 * notify.h - local notifications, as NUT's upsmon NOTIFYCMD does for UPSes:
 * each [notify NAME] section runs a program on the events it chooses.
 *
 * The program runs through the process runner (agent/lib/proc.h): in a
 * session of its own, without a shell, with the event's EMBER_* variables
 * (notifymsg.h) in its environment and the event's JSON, exactly as
 * published on MQTT, on its stdin; its output is logged line by line (at
 * most NOTIFY_LINES_PER_S a second), an attempt that outlives `timeout` is
 * terminated with its whole process tree, and a failed attempt is retried
 * `retries` times, `retry_delay` apart.  Exit status 0 is success.
 *
 * One run at a time per notifier: events that come while one runs wait in
 * its queue, in order, at most `queue` of them.  A full queue drops the
 * oldest pending notification that is not critical (notify_critical()),
 * or the oldest when all are; drops are counted and logged, at most once a
 * second.  Notifiers run in parallel with each other.  Nothing here waits:
 * the loop notices every exit through a pidfd.
 *
 * Owns: the process runner (emberd's only one: procs_init), every
 * notifier's queue, its running notification and its counters.  May call:
 * proc_*, notify_env/notify_wants/notify_critical, loop timers, the log.
 */
#ifndef EMBER_NOTIFY_H
#define EMBER_NOTIFY_H

#include <stdint.h>

#include "conf.h"
#include "loop.h"

/* Output lines of one notifier run logged per second; the rest are
 * counted. */
#define NOTIFY_LINES_PER_S 20
/* Between SIGTERM and SIGKILL to a run's process tree. */
#define NOTIFY_KILL_GRACE_MS 1000

struct notify;

struct notify_stats {
    uint64_t runs;    /* notifications started */
    uint64_t ok;      /* ... that succeeded */
    uint64_t failed;  /* ... that failed after their retries */
    uint64_t dropped; /* notifications dropped by a full queue */
    int pending;      /* waiting in the queue now */
    int running;      /* 1 while one runs */
};

/* Sets up the process runner on l (the process becomes a child subreaper)
 * and takes c's [notify] sections.  When the runner cannot be set up, that
 * is logged and emberd runs without notifications: *out is still set and
 * 0 returned.  Returns 0. */
int notify_open(struct notify **out, const struct conf *c, struct loop *l);
/* Terminates a notification still running (its tree: SIGTERM, SIGKILL
 * NOTIFY_KILL_GRACE_MS later; this waits that long at most) and drops the
 * pending ones, logging how many.  Safe on NULL. */
void notify_close(struct notify *n);
/* A reload: c's [notify] sections replace the running ones, matched by
 * name.  A notifier kept keeps its queue and its running notification,
 * which finishes with the settings it started with; the next starts with
 * the new ones.  A notifier removed finishes its running notification and
 * drops its pending ones (logged).  c need not outlive the call. */
void notify_set_conf(struct notify *n, const struct conf *c);
/* An event as it was published: ev is enum notify_ev, json its payload.
 * Every notifier that wants it (notify_wants()) gets it queued; runs start
 * from the loop, never from here.  No-op on NULL. */
void notify_event(struct notify *n, int ev, const char *json);
/* Notifier i's counters (i in the order of the last conf); -ENOENT when
 * there is no such notifier. */
int notify_get_stats(const struct notify *n, int i, const char **name, struct notify_stats *st);

#endif
