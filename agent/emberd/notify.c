/*
 * notify.c - [notify NAME] notifiers: one queue and at most one run per
 * notifier, runs through agent/lib/proc.c, settings swapped on reload.
 *
 * An event becomes one item per notifier that wants it: its JSON and its
 * environment (EMBER_NOTIFIER included).  Items wait in the notifier's
 * FIFO; a timer of the loop starts the first of each idle notifier, so
 * the alarm path that hands the event over never forks, and the run's end
 * (proc's done callback) lets the next one start.
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "notifymsg.h"
#include "proc.h"
#include "util.h"

/* Drops by a full queue are logged at most this often per notifier. */
#define DROP_REPORT_MS 1000

struct item {
    struct item *next;
    int ev;
    bool critical;
    char what[2 * NAME_MAX_LEN + 48]; /* "activated room-hot (seq 12)", for the log */
    char *json;
    char **env;
    int64_t timeout_ms; /* of the run it started, for its status */
};

struct slot {
    struct notify *n;
    struct slot *next;
    char logname[NAME_MAX_LEN + 8]; /* "notify NAME" */
    struct conf_notify set;         /* this notifier's settings, copied */
    struct item *head, *tail;       /* pending, oldest first */
    int npending;
    struct item *cur; /* running (or failing to start) */
    struct proc *run;
    bool retired; /* removed by a reload; freed when its run ends */
    struct notify_stats st;
    uint64_t drops_unlogged;
    int drop_timer;
};

struct notify {
    struct loop *loop;
    struct procs *procs; /* NULL: no runner, so no notifications */
    char site[NAME_MAX_LEN + 1];
    char agent[NAME_MAX_LEN + 1];
    struct slot *slots;   /* the configured notifiers, in file order */
    struct slot *retired; /* removed ones whose run has not ended yet */
    int kick_timer;
};

/* ---- settings --------------------------------------------------------- */

static void
settings_copy(struct conf_notify *d, const struct conf_notify *s)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", s->name);
    d->argv = strv_dup(s->argv);
    d->alarms = s->alarms != NULL ? strv_dup(s->alarms) : NULL;
    d->on = s->on;
    d->severity = s->severity;
    d->timeout_ms = s->timeout_ms;
    d->retries = s->retries;
    d->retry_delay_ms = s->retry_delay_ms;
    d->queue = s->queue;
    d->line = s->line;
}

static void
settings_free(struct conf_notify *d)
{
    strv_free(d->argv);
    strv_free(d->alarms);
    d->argv = d->alarms = NULL;
}

static bool
strv_equal(char *const *a, char *const *b)
{
    size_t i = 0;

    if ((a == NULL) != (b == NULL))
        return false;
    for (; a != NULL && a[i] != NULL && b[i] != NULL; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return a == NULL || (a[i] == NULL && b[i] == NULL);
}

static bool
settings_equal(const struct conf_notify *a, const struct conf_notify *b)
{
    return strv_equal(a->argv, b->argv) && strv_equal(a->alarms, b->alarms) && a->on == b->on &&
           a->severity == b->severity && a->timeout_ms == b->timeout_ms &&
           a->retries == b->retries && a->retry_delay_ms == b->retry_delay_ms &&
           a->queue == b->queue;
}

/* ---- items and queues ------------------------------------------------- */

static void
item_free(struct item *it)
{
    if (it == NULL)
        return;
    free(it->json);
    strv_free(it->env);
    free(it);
}

static void
queue_clear(struct slot *s)
{
    while (s->head != NULL) {
        struct item *it = s->head;
        s->head = it->next;
        item_free(it);
    }
    s->tail = NULL;
    s->npending = 0;
}

/* Unlinks `victim` (pending, after `prev`, NULL for the head). */
static void
queue_unlink(struct slot *s, struct item *prev, struct item *victim)
{
    if (prev == NULL)
        s->head = victim->next;
    else
        prev->next = victim->next;
    if (s->tail == victim)
        s->tail = prev;
    s->npending--;
}

static void
drop_report(void *arg)
{
    struct slot *s = arg;
    int id;

    s->drop_timer = 0;
    if (s->drops_unlogged == 0)
        return;
    log_warnx("%s: queue full: %llu more %s dropped; %llu dropped since start", s->logname,
              (unsigned long long)s->drops_unlogged,
              plural((long long)s->drops_unlogged, "notification", "notifications"),
              (unsigned long long)s->st.dropped);
    s->drops_unlogged = 0;
    id = loop_timer(s->n->loop, DROP_REPORT_MS, drop_report, s);
    s->drop_timer = id > 0 ? id : 0;
}

/* Counts a dropped item and logs it, or leaves it to the next report. */
static void
dropped(struct slot *s, struct item *it)
{
    s->st.dropped++;
    if (s->drop_timer == 0) {
        int id = loop_timer(s->n->loop, DROP_REPORT_MS, drop_report, s);
        log_warnx("%s: queue full (queue = %d): dropped %s; %llu dropped since start", s->logname,
                  s->set.queue, it->what, (unsigned long long)s->st.dropped);
        s->drop_timer = id > 0 ? id : 0;
    } else {
        s->drops_unlogged++;
    }
    item_free(it);
}

/* How many items may wait: `queue`, plus the one an idle notifier is about
 * to start (runs start from a timer, so it waits here a moment too). */
static int
capacity(const struct slot *s)
{
    return s->set.queue + (s->cur == NULL ? 1 : 0);
}

/* Unlinks and returns the idx-th pending item, oldest first. */
static struct item *
take_pending(struct slot *s, int idx)
{
    struct item *prev = NULL, *it = s->head;

    for (int i = 0; i < idx; i++) {
        prev = it;
        it = it->next;
    }
    queue_unlink(s, prev, it);
    return it;
}

/* The overflow rule (notify_drop_choice()) over the pending items: the
 * index of the one to drop, or -1 for a new one that is new_critical. */
static int
drop_choice(const struct slot *s, bool new_critical)
{
    bool crit[s->npending + 1];
    int i = 0;

    for (const struct item *p = s->head; p != NULL; p = p->next)
        crit[i++] = p->critical;
    return notify_drop_choice(crit, s->npending, new_critical);
}

/* Makes room for one more item: returns false when `it` itself is the one
 * dropped. */
static bool
make_room(struct slot *s, struct item *it)
{
    while (s->npending >= capacity(s)) {
        int drop = drop_choice(s, it->critical);
        if (drop < 0) {
            dropped(s, it);
            return false;
        }
        dropped(s, take_pending(s, drop));
    }
    return true;
}

/* A reload that lowered `queue`: the pending ones past it go by the same
 * rule, as if a critical one had come. */
static void
trim(struct slot *s)
{
    while (s->npending > capacity(s))
        dropped(s, take_pending(s, drop_choice(s, true)));
}

static void
enqueue(struct slot *s, struct item *it)
{
    if (!make_room(s, it))
        return;
    it->next = NULL;
    if (s->tail != NULL)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->npending++;
}

/* ---- runs ------------------------------------------------------------- */

static void on_done(void *arg, const struct proc_result *res);
static void kick(struct notify *n);

static void
slot_free(struct slot *s)
{
    if (s->drop_timer > 0)
        loop_timer_cancel(s->n->loop, s->drop_timer);
    queue_clear(s);
    item_free(s->cur);
    settings_free(&s->set);
    free(s);
}

/* Starts the oldest pending item of an idle notifier; one that cannot be
 * started at all (its program removed since the configuration was
 * checked) fails at once, and the next is tried. */
static void
start_next(struct slot *s)
{
    struct notify *n = s->n;

    while (s->cur == NULL && s->head != NULL) {
        struct item *it = s->head;
        struct proc_spec spec = {
            .name = s->logname,
            .argv = s->set.argv,
            .env = it->env,
            .input = it->json,
            .input_len = strlen(it->json),
            .timeout_ms = s->set.timeout_ms,
            .retries = s->set.retries,
            .retry_delay_ms = s->set.retry_delay_ms,
            .kill_grace_ms = NOTIFY_KILL_GRACE_MS,
            .max_lines_per_s = NOTIFY_LINES_PER_S,
            .done = on_done,
            .arg = s,
        };
        int rc;

        queue_unlink(s, NULL, it);
        s->cur = it;
        it->timeout_ms = s->set.timeout_ms;
        s->st.runs++;
        log_info("%s: %s", s->logname, it->what);
        rc = proc_start(n->procs, &spec, &s->run);
        if (rc < 0) {
            char why[96];
            proc_status_str(rc, 0, why, sizeof(why));
            log_errx("%s: %s failed: %s: %s", s->logname, it->what, s->set.argv[0], why);
            s->st.failed++;
            s->run = NULL;
            s->cur = NULL;
            item_free(it);
        }
    }
}

static void
on_kick(void *arg)
{
    struct notify *n = arg;

    n->kick_timer = 0;
    for (struct slot *s = n->slots; s != NULL; s = s->next)
        start_next(s);
}

static void
kick(struct notify *n)
{
    int id;

    if (n->kick_timer != 0 || n->procs == NULL)
        return;
    /* Every timer of the loop taken: start them now rather than never. */
    if ((id = loop_timer(n->loop, 0, on_kick, n)) > 0)
        n->kick_timer = id;
    else
        on_kick(n);
}

static void
unlink_retired(struct notify *n, struct slot *s)
{
    for (struct slot **pp = &n->retired; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            return;
        }
    }
}

/* The run is over, after its retries. */
static void
on_done(void *arg, const struct proc_result *res)
{
    struct slot *s = arg;
    struct item *it = s->cur;
    char what[96];

    s->run = NULL;
    s->cur = NULL;
    proc_status_str(res->status, it->timeout_ms, what, sizeof(what));
    if (res->status == 0) {
        s->st.ok++;
        log_info("%s: %s done", s->logname, it->what);
    } else {
        s->st.failed++;
        log_errx("%s: %s failed after %d %s: %s", s->logname, it->what, res->attempts,
                 plural(res->attempts, "attempt", "attempts"), what);
    }
    item_free(it);
    if (s->retired) {
        unlink_retired(s->n, s);
        slot_free(s);
        return;
    }
    kick(s->n);
}

/* ---- configuration ---------------------------------------------------- */

static struct slot *
slot_new(struct notify *n, const struct conf_notify *nc)
{
    struct slot *s = xcalloc(1, sizeof(*s));

    s->n = n;
    snprintf(s->logname, sizeof(s->logname), "notify %s", nc->name);
    settings_copy(&s->set, nc);
    return s;
}

/* Takes c's notifiers, keeping the queue and run of each one still there
 * by name.  `reload` says what changed in the log. */
static void
apply_conf(struct notify *n, const struct conf *c, bool reload)
{
    struct slot *old = n->slots, *list = NULL, **tail = &list;

    for (int i = 0; i < c->nnotifiers; i++) {
        const struct conf_notify *nc = &c->notifiers[i];
        struct slot *s = NULL;
        for (struct slot **pp = &old; *pp != NULL; pp = &(*pp)->next) {
            if (strcmp((*pp)->set.name, nc->name) == 0) {
                s = *pp;
                *pp = s->next;
                break;
            }
        }
        if (s == NULL) {
            s = slot_new(n, nc);
            if (reload)
                log_info("reload: [notify %s] added", nc->name);
        } else if (!settings_equal(&s->set, nc)) {
            settings_free(&s->set);
            settings_copy(&s->set, nc);
            log_info("reload: [notify %s] changed; applied from its next notification%s", nc->name,
                     s->cur != NULL ? " (the running one finishes as it started)" : "");
            trim(s);
        }
        s->next = NULL;
        *tail = s;
        tail = &s->next;
    }
    while (old != NULL) {
        struct slot *s = old;
        old = s->next;
        log_info("reload: [notify %s] removed%s; %d pending %s dropped", s->set.name,
                 s->cur != NULL ? ": its running notification finishes" : "", s->npending,
                 plural(s->npending, "notification", "notifications"));
        s->st.dropped += (uint64_t)s->npending;
        queue_clear(s);
        if (s->cur == NULL) {
            slot_free(s);
            continue;
        }
        s->retired = true;
        s->next = n->retired;
        n->retired = s;
    }
    n->slots = list;
    kick(n);
}

/* ---- public ----------------------------------------------------------- */

int
notify_open(struct notify **out, const struct conf *c, struct loop *l)
{
    struct notify *n = xcalloc(1, sizeof(*n));
    int rc;

    n->loop = l;
    snprintf(n->site, sizeof(n->site), "%s", c->agent.site);
    snprintf(n->agent, sizeof(n->agent), "%s", c->agent.id);
    /* Alarms matter more than notifications: without a runner emberd
     * still watches the room and publishes. */
    if ((rc = procs_init(&n->procs, l)) < 0) {
        n->procs = NULL;
        log_errx("notify: cannot set up the process runner: %s; running without notifications",
                 strerror(-rc));
    }
    apply_conf(n, c, false);
    *out = n;
    return 0;
}

void
notify_set_conf(struct notify *n, const struct conf *c)
{
    if (n != NULL)
        apply_conf(n, c, true);
}

void
notify_event(struct notify *n, int ev, const char *json)
{
    char **env;
    size_t nenv = 0;

    if (n == NULL || n->slots == NULL || json == NULL)
        return;
    if ((env = notify_env(ev, json, n->site, n->agent)) == NULL) {
        log_warnx("notify: %s event without a JSON object; not notified",
                  conf_notify_event_name(ev));
        return;
    }
    while (env[nenv] != NULL)
        nenv++;
    for (struct slot *s = n->slots; s != NULL; s = s->next) {
        struct item *it;
        const char *zone = notify_env_get(env, "EMBER_ZONE");
        bool zone_ev = ev == NOTIFY_DRAIN || ev == NOTIFY_UNDRAIN;

        if (!notify_wants(&s->set, ev, env))
            continue;
        it = xcalloc(1, sizeof(*it));
        it->ev = ev;
        it->critical = notify_critical(ev, env);
        snprintf(it->what, sizeof(it->what), "%s %s (seq %s)%s", conf_notify_event_name(ev),
                 zone_ev ? zone : notify_env_get(env, "EMBER_ALARM"),
                 notify_env_get(env, "EMBER_SEQ"),
                 strcmp(notify_env_get(env, "EMBER_TEST"), "1") == 0 ? " (test)" : "");
        if (n->procs == NULL) {
            log_warnx("%s: %s not run: emberd has no process runner (see its start)", s->logname,
                      it->what);
            free(it);
            continue;
        }
        it->json = xstrdup(json);
        it->env = xcalloc(nenv + 2, sizeof(*it->env));
        for (size_t i = 0; i < nenv; i++)
            it->env[i] = xstrdup(env[i]);
        it->env[nenv] = xcalloc(1, strlen(s->set.name) + sizeof("EMBER_NOTIFIER="));
        sprintf(it->env[nenv], "EMBER_NOTIFIER=%s", s->set.name);
        enqueue(s, it);
    }
    strv_free(env);
    kick(n);
}

int
notify_get_stats(const struct notify *n, int i, const char **name, struct notify_stats *st)
{
    const struct slot *s = n != NULL ? n->slots : NULL;

    for (; s != NULL && i > 0; i--)
        s = s->next;
    if (s == NULL || i < 0)
        return -ENOENT;
    *name = s->set.name;
    *st = s->st;
    st->pending = s->npending;
    st->running = s->cur != NULL;
    return 0;
}

static void
close_list(struct slot *list)
{
    while (list != NULL) {
        struct slot *s = list;
        list = s->next;
        slot_free(s);
    }
}

static void
report_stop(const struct slot *list)
{
    for (const struct slot *s = list; s != NULL; s = s->next) {
        if (s->cur != NULL)
            log_warnx("%s: stopping: terminating the running %s", s->logname, s->cur->what);
        if (s->npending > 0)
            log_warnx("%s: stopping: %d pending %s not run", s->logname, s->npending,
                      plural(s->npending, "notification", "notifications"));
    }
}

void
notify_close(struct notify *n)
{
    if (n == NULL)
        return;
    report_stop(n->slots);
    report_stop(n->retired);
    /* Terminates the running trees; their done callbacks are not called. */
    procs_fini(n->procs);
    if (n->kick_timer > 0)
        loop_timer_cancel(n->loop, n->kick_timer);
    close_list(n->slots);
    close_list(n->retired);
    free(n);
}
