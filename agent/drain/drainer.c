/*
 * drainer.c - ember-drain's policy state machine and its wiring.
 */
#include "drainer.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "dctl.h"
#include "drain_mqtt.h"
#include "dstate.h"
#include "haproxy.h"
#include "hook.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "util.h"

volatile sig_atomic_t drainer_sig_stop;
static int wake_fd = -1;

#define TOPIC_MAX 512

struct drainer;

struct site_rt {
    struct drainer *d;
    const struct dconf_site *conf;
    int index;
    struct policy policy;
    struct policy_result last;
    struct dstate_site st;
    bool restored;      /* st came from the state file or the retained state */
    int64_t cond_since; /* mono ms the drain condition has held since; 0: not */
    int hold_timer;
    int maint_timer;
    bool held_noted;      /* "condition holds but held" said once */
    bool manual_in_hold;  /* a manual drain while held: its want stands */
    bool undraining;      /* want READY until every target reads back ready */
    int64_t decided_mono; /* when the current drain was decided, for the log */
    uint64_t gen;
    char hook_state[DCONF_MAX_LIST][16];
    char *published; /* last payload without ts, to publish only changes */
};

struct drainer {
    struct dconf *conf;
    struct loop *loop;
    struct dmqtt *mqtt;
    struct dctl *ctl;
    struct hooks *hooks;
    struct audit *audit;
    struct haproxy *hx[DCONF_MAX_HAPROXY];
    struct hx_view views[DCONF_MAX_HAPROXY];
    int notify_rd, notify_wr;
    struct site_rt sites[DCONF_MAX_SITES];
    bool settled;
    bool settle_started;
    uint64_t watchdog_usec;
};

static void
on_signal(int sig)
{
    char c = (char)sig;
    int saved = errno;

    drainer_sig_stop = 1;
    if (wake_fd >= 0 && write(wake_fd, &c, 1) < 0) {
        /* the loop will see the flag on its next wakeup */
    }
    errno = saved;
}

void
drainer_signals(struct drainer *d)
{
    struct sigaction sa;

    wake_fd = loop_wakeup_fd(d->loop);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* ---- helpers ------------------------------------------------------------ */

static const char *
shown_state(const struct site_rt *s)
{
    return s->st.held ? "held" : dstate_name(s->st.state);
}

static void
save_state(struct drainer *d)
{
    struct dstate_site all[DCONF_MAX_SITES];
    int rc;

    if (strcmp(d->conf->drain.state, "none") == 0)
        return;
    for (int i = 0; i < d->conf->nsites; i++)
        all[i] = d->sites[i].st;
    if ((rc = dstate_save(d->conf->drain.state, all, d->conf->nsites)) < 0)
        log_errx("cannot write the state file %s: %s", d->conf->drain.state, strerror(-rc));
}

static cJSON *
split_list(const char *csv)
{
    cJSON *arr = cJSON_CreateArray();
    const char *c = csv;

    while (c != NULL && *c) {
        size_t n = strcspn(c, ",");
        if (n > 0) {
            char *tok = xcalloc(1, n + 1);
            memcpy(tok, c, n);
            cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
            free(tok);
        }
        c += n + (c[n] == ',');
    }
    return arr;
}

/* An audit entry with the site's current decision fields. */
static void
audit_site(struct drainer *d, struct site_rt *s, const char *event, cJSON *extra)
{
    cJSON *o = extra ? extra : cJSON_CreateObject();

    cJSON_AddStringToObject(o, "state", shown_state(s));
    if (!cJSON_HasObjectItem(o, "cause"))
        cJSON_AddStringToObject(o, "cause", s->st.cause);
    if (s->st.by[0] && !cJSON_HasObjectItem(o, "by"))
        cJSON_AddStringToObject(o, "by", s->st.by);
    cJSON_AddNumberToObject(o, "drain_id", (double)s->st.drain_id);
    if (d->conf->drain.dry_run)
        cJSON_AddBoolToObject(o, "dry_run", true);
    audit_event(d->audit, s->conf->name, event, o);
}

/* ---- published state ---------------------------------------------------- */

static cJSON *
site_json(struct drainer *d, struct site_rt *s, bool detail)
{
    cJSON *o = cJSON_CreateObject(), *targets, *arr;
    char ts[32];

    cJSON_AddStringToObject(o, "site", s->conf->name);
    cJSON_AddStringToObject(o, "state", shown_state(s));
    if (s->st.held)
        cJSON_AddStringToObject(o, "held_state", dstate_name(s->st.state));
    targets = cJSON_AddArrayToObject(o, "targets");
    for (int t = 0; t < s->conf->ntargets; t++) {
        int h = s->conf->targets[t];
        const struct dconf_haproxy *hc = &d->conf->haproxies[h];
        const struct hx_view *v = &d->views[h];
        for (int i = 0; i < hc->nservers; i++) {
            cJSON *x = cJSON_CreateObject();
            char name[3 * NAME_MAX_LEN + 3];
            snprintf(name, sizeof(name), "%s/%s/%s", hc->name, hc->servers[i].backend,
                     hc->servers[i].server);
            cJSON_AddStringToObject(x, "name", name);
            cJSON_AddStringToObject(x, "kind", "haproxy");
            cJSON_AddStringToObject(
                x, "state", v->reachable || i >= v->nservers ? v->obs[i].state : "unreachable");
            if (i < v->nservers && v->obs[i].known)
                cJSON_AddNumberToObject(x, "weight", v->obs[i].row.uweight);
            cJSON_AddItemToArray(targets, x);
        }
    }
    for (int k = 0; k < s->conf->nhooks; k++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", d->conf->hooks[s->conf->hooks[k]].name);
        cJSON_AddStringToObject(x, "kind", "hook");
        cJSON_AddStringToObject(x, "state", s->hook_state[k]);
        cJSON_AddItemToArray(targets, x);
    }
    fmt_rfc3339_ms(s->st.since_ms, ts, sizeof(ts));
    if (s->st.since_ms > 0)
        cJSON_AddStringToObject(o, "since", ts);
    else
        cJSON_AddNullToObject(o, "since");
    cJSON_AddStringToObject(o, "cause", s->st.cause);
    if (s->st.by[0])
        cJSON_AddStringToObject(o, "by", s->st.by);
    cJSON_AddNumberToObject(o, "votes", s->last.votes);
    cJSON_AddNumberToObject(o, "vote", s->last.vote);
    cJSON_AddItemToObject(o, "zones", split_list(s->last.zones));
    cJSON_AddItemToObject(o, "alarms", split_list(s->last.alarms));
    arr = cJSON_AddArrayToObject(o, "tests");
    for (int i = 0; i < s->policy.nreq; i++) {
        const struct policy_req *q = &s->policy.req[i];
        if (q->drain && q->test && dconf_site_has_agent(s->conf, q->agent) &&
            dconf_site_has_zone(s->conf, q->zone)) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "agent", q->agent);
            cJSON_AddStringToObject(x, "zone", q->zone);
            cJSON_AddItemToArray(arr, x);
        }
    }
    cJSON_AddNumberToObject(o, "drain_id", (double)s->st.drain_id);
    cJSON_AddBoolToObject(o, "dry_run", d->conf->drain.dry_run);
    cJSON_AddStringToObject(o, "controller", d->conf->drain.id);
    if (detail) {
        arr = cJSON_AddArrayToObject(o, "requests");
        for (int i = 0; i < s->policy.nreq; i++) {
            const struct policy_req *q = &s->policy.req[i];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "agent", q->agent);
            cJSON_AddStringToObject(x, "zone", q->zone);
            cJSON_AddStringToObject(x, "request", q->drain ? "drain" : "none");
            cJSON_AddBoolToObject(x, "test", q->test);
            cJSON_AddNumberToObject(x, "seq", (double)q->seq);
            cJSON_AddItemToObject(x, "alarms", split_list(q->alarms));
            cJSON_AddBoolToObject(x, "counts",
                                  dconf_site_has_agent(s->conf, q->agent) &&
                                      dconf_site_has_zone(s->conf, q->zone));
            cJSON_AddItemToArray(arr, x);
        }
        arr = cJSON_AddArrayToObject(o, "agents");
        for (int i = 0; i < s->policy.nagents; i++) {
            cJSON *x = cJSON_CreateObject();
            int st = s->policy.agents[i].status;
            cJSON_AddStringToObject(x, "agent", s->policy.agents[i].name);
            cJSON_AddStringToObject(x, "status",
                                    st == AGENT_ONLINE    ? "online"
                                    : st == AGENT_OFFLINE ? "offline"
                                                          : "unknown");
            cJSON_AddItemToArray(arr, x);
        }
        cJSON_AddBoolToObject(o, "condition", s->last.drain);
        cJSON_AddStringToObject(o, "condition_cause", s->last.cause);
        cJSON_AddBoolToObject(o, "undraining", s->undraining);
    }
    return o;
}

/* Publishes {p}/{site}/drain/state when it changed (or when forced). */
static void
publish_site(struct drainer *d, struct site_rt *s, bool force)
{
    cJSON *o;
    char *sig, *text, ts[32], topic[TOPIC_MAX];

    if (!d->settled || d->mqtt == NULL)
        return;
    o = site_json(d, s, false);
    sig = cJSON_PrintUnformatted(o);
    if (sig == NULL) {
        cJSON_Delete(o);
        return;
    }
    if (!force && s->published != NULL && strcmp(sig, s->published) == 0) {
        free(sig);
        cJSON_Delete(o);
        return;
    }
    /* "ts" first, as in every other payload of the contract. */
    fmt_rfc3339_ms(real_ms(), ts, sizeof(ts));
    {
        cJSON *full = cJSON_CreateObject(), *it;
        cJSON_AddStringToObject(full, "ts", ts);
        while ((it = o->child) != NULL) {
            cJSON_DetachItemViaPointer(o, it);
            cJSON_AddItemToObject(full, it->string, it);
        }
        cJSON_Delete(o);
        text = cJSON_PrintUnformatted(full);
        cJSON_Delete(full);
    }
    snprintf(topic, sizeof(topic), "%s/%s/drain/state", d->conf->mqtt.prefix, s->conf->name);
    if (text != NULL && dmqtt_publish(d->mqtt, topic, text, strlen(text), 1, true) == 0) {
        free(s->published);
        s->published = sig;
        sig = NULL;
    }
    free(text);
    free(sig);
}

/* ---- actions -------------------------------------------------------------- */

/* What the site's HAProxy instances should converge to now. */
static int
want_for(struct drainer *d, struct site_rt *s, int h)
{
    const struct dconf_haproxy *hc = &d->conf->haproxies[h];

    if (s->undraining)
        return HX_WANT_READY;
    if (s->st.held && !s->manual_in_hold)
        return HX_WANT_NONE;
    if (s->st.state == SITE_SERVING)
        return HX_WANT_NONE;
    if (hc->maint_after_ms > 0 && real_ms() - s->st.drain_start_ms >= hc->maint_after_ms)
        return HX_WANT_MAINT;
    return HX_WANT_DRAIN;
}

static void maint_due(void *arg);

static void
schedule_maint(struct drainer *d, struct site_rt *s)
{
    int64_t next = -1, now = real_ms();

    if (s->maint_timer > 0)
        loop_timer_cancel(d->loop, s->maint_timer);
    s->maint_timer = 0;
    if (s->st.state == SITE_SERVING || s->undraining || (s->st.held && !s->manual_in_hold))
        return;
    for (int t = 0; t < s->conf->ntargets; t++) {
        const struct dconf_haproxy *hc = &d->conf->haproxies[s->conf->targets[t]];
        int64_t due = s->st.drain_start_ms + hc->maint_after_ms;
        if (hc->maint_after_ms > 0 && due > now && (next < 0 || due < next))
            next = due;
    }
    if (next > 0)
        s->maint_timer = loop_timer(d->loop, next - now, maint_due, s);
}

/* Hands the wanted state to every HAProxy worker of the site (a new
 * generation, so each worker reads, compares and acts at once). */
static void
apply_wants(struct drainer *d, struct site_rt *s)
{
    s->gen++;
    for (int t = 0; t < s->conf->ntargets; t++) {
        int h = s->conf->targets[t];
        haproxy_want(d->hx[h], want_for(d, s, h), s->gen);
    }
    schedule_maint(d, s);
}

static void
maint_due(void *arg)
{
    struct site_rt *s = arg;
    struct drainer *d = s->d;

    s->maint_timer = 0;
    log_info("site %s: maint_after elapsed: putting drained servers into maintenance",
             s->conf->name);
    audit_site(d, s, "maint", NULL);
    apply_wants(d, s);
}

static void
run_hooks(struct drainer *d, struct site_rt *s, const char *action)
{
    const struct policy_result *r = &s->last;
    char e_site[96], e_zone[96], e_zones[600], e_cause[800], e_alarms[1100], e_action[32],
        e_dry[32], e_id[48], e_by[160], e_agents[600], e_targets[1024];
    char *env[12];
    size_t used = 0;
    int n = 0;

    snprintf(e_site, sizeof(e_site), "EMBER_SITE=%s", s->conf->name);
    snprintf(e_zones, sizeof(e_zones), "EMBER_ZONES=%s", r->zones);
    snprintf(e_zone, sizeof(e_zone), "EMBER_ZONE=%.*s", (int)strcspn(r->zones, ","), r->zones);
    snprintf(e_agents, sizeof(e_agents), "EMBER_AGENTS=%s", r->agents);
    snprintf(e_cause, sizeof(e_cause), "EMBER_CAUSE=%s", s->st.cause);
    snprintf(e_alarms, sizeof(e_alarms), "EMBER_ALARMS=%s", r->alarms);
    snprintf(e_action, sizeof(e_action), "EMBER_ACTION=%s", action);
    snprintf(e_dry, sizeof(e_dry), "EMBER_DRY_RUN=%d", d->conf->drain.dry_run ? 1 : 0);
    snprintf(e_id, sizeof(e_id), "EMBER_DRAIN_ID=%llu", (unsigned long long)s->st.drain_id);
    snprintf(e_by, sizeof(e_by), "EMBER_BY=%s", s->st.by);
    used = (size_t)snprintf(e_targets, sizeof(e_targets), "EMBER_TARGETS=");
    for (int t = 0; t < s->conf->ntargets; t++) {
        const struct dconf_haproxy *hc = &d->conf->haproxies[s->conf->targets[t]];
        for (int i = 0; i < hc->nservers && used < sizeof(e_targets); i++)
            used += (size_t)snprintf(e_targets + used, sizeof(e_targets) - used, "%s%s/%s/%s",
                                     used > 14 ? "," : "", hc->name, hc->servers[i].backend,
                                     hc->servers[i].server);
    }
    env[n++] = e_site;
    env[n++] = e_zone;
    env[n++] = e_zones;
    env[n++] = e_agents;
    env[n++] = e_cause;
    env[n++] = e_alarms;
    env[n++] = e_action;
    env[n++] = e_dry;
    env[n++] = e_id;
    env[n++] = e_by;
    env[n++] = e_targets;
    env[n] = NULL;

    for (int k = 0; k < s->conf->nhooks; k++) {
        int h = s->conf->hooks[k];
        const struct dconf_hook *hc = &d->conf->hooks[h];
        bool undrain = strcmp(action, "undrain") == 0;
        cJSON *o;
        if (undrain && !hc->on_undrain) {
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "idle");
            continue;
        }
        if (d->conf->drain.dry_run && hc->dry == HOOK_DRY_SKIP) {
            log_info("site %s: dry run: would run hook %s (%s %s)", s->conf->name, hc->name, action,
                     hc->exec);
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "skipped");
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "hook", hc->name);
            cJSON_AddStringToObject(o, "action", action);
            cJSON_AddStringToObject(o, "result", "dry run: not run");
            audit_site(d, s, "hook", o);
            continue;
        }
        snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "running");
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "hook", hc->name);
        cJSON_AddStringToObject(o, "action", action);
        cJSON_AddStringToObject(o, "result", "started");
        audit_site(d, s, "hook", o);
        hooks_run(d->hooks, h, s->index, action, s->st.drain_id, env);
    }
}

static bool
hooks_ok(const struct site_rt *s)
{
    for (int k = 0; k < s->conf->nhooks; k++)
        if (strcmp(s->hook_state[k], "ok") != 0 && strcmp(s->hook_state[k], "skipped") != 0)
            return false;
    return true;
}

static bool
targets_reached(struct drainer *d, struct site_rt *s)
{
    for (int t = 0; t < s->conf->ntargets; t++) {
        const struct hx_view *v = &d->views[s->conf->targets[t]];
        if (v->done_gen != s->gen || !v->reached)
            return false;
    }
    return true;
}

static void check_progress(struct drainer *d, struct site_rt *s);

static void
start_drain(struct drainer *d, struct site_rt *s, const char *cause, const char *by, bool manual)
{
    cJSON *o;

    if (s->hold_timer > 0)
        loop_timer_cancel(d->loop, s->hold_timer);
    s->hold_timer = 0;
    s->decided_mono = mono_ms();
    s->st.state = SITE_DRAINING;
    s->st.since_ms = real_ms();
    s->st.drain_start_ms = s->st.since_ms;
    s->st.drain_id++;
    s->st.hooks_done = false;
    s->st.maint = false;
    snprintf(s->st.cause, sizeof(s->st.cause), "%s", cause);
    snprintf(s->st.by, sizeof(s->st.by), "%s", by ? by : "");
    s->undraining = false;
    if (manual && s->st.held)
        s->manual_in_hold = true;
    /* HAProxy first: nothing below may delay the workers. */
    apply_wants(d, s);
    run_hooks(d, s, "drain");
    log_info("site %s: draining%s: %s", s->conf->name, d->conf->drain.dry_run ? " (dry run)" : "",
             cause);
    save_state(d);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "votes", s->last.votes);
    cJSON_AddNumberToObject(o, "vote", s->last.vote);
    cJSON_AddItemToObject(o, "zones", split_list(s->last.zones));
    cJSON_AddItemToObject(o, "agents", split_list(s->last.agents));
    cJSON_AddItemToObject(o, "alarms", split_list(s->last.alarms));
    audit_site(d, s, manual ? "drain_manual" : "drain", o);
    /* A site with nothing to wait for (hooks only, all skipped in a dry
     * run) is drained at once. */
    check_progress(d, s);
}

/* Moves draining -> drained and undraining -> serving when the targets
 * read back what was wanted. */
static void
check_progress(struct drainer *d, struct site_rt *s)
{
    if (s->undraining && targets_reached(d, s)) {
        s->undraining = false;
        log_info("site %s: serving: every target reads back ready", s->conf->name);
        audit_site(d, s, "serving", NULL);
        apply_wants(d, s); /* observe only from now on */
    }
    if (s->st.state == SITE_DRAINING && !s->undraining && targets_reached(d, s) && hooks_ok(s)) {
        cJSON *o = cJSON_CreateObject();
        int64_t took = s->decided_mono ? mono_ms() - s->decided_mono : -1;
        s->st.state = SITE_DRAINED;
        s->st.hooks_done = true;
        s->st.since_ms = real_ms();
        if (took >= 0)
            log_info("site %s: drained%s (%lld ms after the decision)", s->conf->name,
                     d->conf->drain.dry_run ? " (dry run)" : "", (long long)took);
        else
            log_info("site %s: drained%s", s->conf->name,
                     d->conf->drain.dry_run ? " (dry run)" : "");
        save_state(d);
        if (took >= 0)
            cJSON_AddNumberToObject(o, "elapsed_ms", (double)took);
        audit_site(d, s, "drained", o);
    }
    publish_site(d, s, false);
}

/* ---- policy evaluation ------------------------------------------------- */

static void evaluate(struct drainer *d, struct site_rt *s);

static void
hold_down_due(void *arg)
{
    struct site_rt *s = arg;
    struct drainer *d = s->d;

    s->hold_timer = 0;
    evaluate(d, s);
}

static void
evaluate(struct drainer *d, struct site_rt *s)
{
    struct policy_result r;
    bool changed;

    policy_eval(&s->policy, &r);
    changed = r.drain != s->last.drain || r.votes != s->last.votes || r.ntests != s->last.ntests ||
              strcmp(r.cause, s->last.cause) != 0;
    if (changed)
        log_info("site %s: %s%s%s", s->conf->name, r.cause,
                 r.ntests ? "; test requests shown, not acted on: " : "",
                 r.ntests ? (r.ntests == 1 ? "1" : "several") : "");
    s->last = r;
    if (!d->settled) {
        return;
    }
    if (!r.drain) {
        if (s->hold_timer > 0) {
            cJSON *o = cJSON_CreateObject();
            loop_timer_cancel(d->loop, s->hold_timer);
            s->hold_timer = 0;
            log_info("site %s: drain condition cleared within hold_down; not draining",
                     s->conf->name);
            cJSON_AddStringToObject(o, "cause", "drain condition cleared within hold_down");
            audit_site(d, s, "suppressed", o);
        }
        s->cond_since = 0;
        s->held_noted = false;
    } else if (s->st.state == SITE_SERVING && !s->undraining) {
        int64_t now = mono_ms();
        if (s->cond_since == 0)
            s->cond_since = now;
        if (s->st.held) {
            if (!s->held_noted) {
                cJSON *o = cJSON_CreateObject();
                log_warnx("site %s: drain condition holds but the site is held: not draining "
                          "(%s)",
                          s->conf->name, r.cause);
                cJSON_AddStringToObject(o, "cause", r.cause);
                audit_site(d, s, "suppressed_held", o);
                s->held_noted = true;
            }
        } else if (now - s->cond_since >= s->conf->hold_down_ms) {
            start_drain(d, s, r.cause, NULL, false);
            return;
        } else if (s->hold_timer == 0) {
            s->hold_timer = loop_timer(d->loop, s->conf->hold_down_ms - (now - s->cond_since),
                                       hold_down_due, s);
            log_info("site %s: drain condition holds; draining if it still holds in %lld ms "
                     "(hold_down)",
                     s->conf->name, (long long)(s->conf->hold_down_ms - (now - s->cond_since)));
        }
    }
    publish_site(d, s, false);
}

/* ---- commands (control socket and MQTT) ------------------------------- */

static int
cmd_site(struct drainer *d, struct site_rt *s, const char *cmd, const char *by, const char *reason,
         const char *via, char *err, size_t errlen)
{
    char cause[sizeof(s->st.cause)];
    cJSON *o;

    snprintf(cause, sizeof(cause), "%.16s by %.150s%s%.300s", cmd, by, reason[0] ? ": " : "",
             reason);
    if (strcmp(cmd, "hold") == 0) {
        if (s->st.held) {
            snprintf(err, errlen, "site %s is already held (by %s)", s->conf->name, s->st.by);
            return -EALREADY;
        }
        s->st.held = true;
        s->manual_in_hold = false;
        s->held_noted = false;
        snprintf(s->st.by, sizeof(s->st.by), "%s", by);
        if (s->hold_timer > 0)
            loop_timer_cancel(d->loop, s->hold_timer);
        s->hold_timer = 0;
        apply_wants(d, s);
        log_warnx("site %s: held by %s (automatic action frozen)%s%s", s->conf->name, by,
                  reason[0] ? ": " : "", reason);
    } else if (strcmp(cmd, "release") == 0) {
        if (!s->st.held) {
            snprintf(err, errlen, "site %s is not held", s->conf->name);
            return -EALREADY;
        }
        s->st.held = false;
        s->manual_in_hold = false;
        snprintf(s->st.by, sizeof(s->st.by), "%s", by);
        s->cond_since = 0; /* hold_down counts from the release */
        apply_wants(d, s);
        log_info("site %s: released by %s", s->conf->name, by);
    } else if (strcmp(cmd, "undrain") == 0) {
        if (s->st.state == SITE_SERVING && !s->undraining) {
            snprintf(err, errlen, "site %s is already serving", s->conf->name);
            return -EALREADY;
        }
        if (s->last.drain && !s->st.held) {
            snprintf(err, errlen,
                     "site %s: the drain condition still holds (%.300s); clear the alarms first, "
                     "or hold the site and then undrain",
                     s->conf->name, s->last.cause);
            return -EBUSY;
        }
        s->st.state = SITE_SERVING;
        s->st.since_ms = real_ms();
        s->st.hooks_done = false;
        s->st.maint = false;
        s->manual_in_hold = false;
        memcpy(s->st.cause, cause, sizeof(cause));
        snprintf(s->st.by, sizeof(s->st.by), "%s", by);
        s->undraining = true;
        s->cond_since = 0;
        apply_wants(d, s);
        run_hooks(d, s, "undrain");
        log_warnx("site %s: undrain by %s: returning targets to service", s->conf->name, by);
        check_progress(d, s);
    } else if (strcmp(cmd, "drain") == 0) {
        if (s->st.state != SITE_SERVING && !s->undraining) {
            snprintf(err, errlen, "site %s is already %s", s->conf->name, dstate_name(s->st.state));
            return -EALREADY;
        }
        start_drain(d, s, cause, by, true);
    } else {
        snprintf(err, errlen, "unknown command '%s'", cmd);
        return -EINVAL;
    }
    if (strcmp(cmd, "drain") != 0) {
        save_state(d);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "by", by);
        cJSON_AddStringToObject(o, "via", via);
        if (reason[0])
            cJSON_AddStringToObject(o, "reason", reason);
        audit_site(d, s, cmd, o);
    }
    if (strcmp(cmd, "release") == 0)
        evaluate(d, s);
    publish_site(d, s, false);
    return 0;
}

static const char *
jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *
ctl_handler(void *arg, const char *req, size_t len, uid_t uid, pid_t pid)
{
    struct drainer *d = arg;
    cJSON *in = cJSON_ParseWithLength(req, len), *out = cJSON_CreateObject();
    const char *cmd = jstr(in, "cmd"), *site = jstr(in, "site"), *by = jstr(in, "by"),
               *reason = jstr(in, "reason");
    char err[512] = "", who[200];
    struct passwd *pw = getpwuid(uid);
    char *text;

    snprintf(who, sizeof(who), "%s (uid %u)",
             by && by[0] ? by
             : pw        ? pw->pw_name
                         : "?",
             (unsigned)uid);
    if (!cJSON_IsObject(in) || cmd == NULL) {
        snprintf(err, sizeof(err), "malformed request (expected {\"cmd\":...})");
    } else if (strcmp(cmd, "status") == 0) {
        cJSON *arr = cJSON_AddArrayToObject(out, "sites");
        cJSON_AddBoolToObject(out, "ok", true);
        cJSON_AddStringToObject(out, "controller", d->conf->drain.id);
        cJSON_AddBoolToObject(out, "mqtt", d->mqtt && dmqtt_connected(d->mqtt));
        cJSON_AddBoolToObject(out, "settled", d->settled);
        cJSON_AddBoolToObject(out, "dry_run", d->conf->drain.dry_run);
        for (int i = 0; i < d->conf->nsites; i++)
            if (site == NULL || strcmp(site, d->sites[i].conf->name) == 0)
                cJSON_AddItemToArray(arr, site_json(d, &d->sites[i], true));
        if (site != NULL && cJSON_GetArraySize(arr) == 0)
            snprintf(err, sizeof(err), "no site '%s' in the configuration", site);
    } else if (site == NULL) {
        snprintf(err, sizeof(err), "%s: needs a site", cmd);
    } else if (dconf_site_find(d->conf, site) < 0) {
        snprintf(err, sizeof(err), "no site '%s' in the configuration", site);
    } else {
        struct site_rt *s = &d->sites[dconf_site_find(d->conf, site)];
        if (cmd_site(d, s, cmd, who, reason ? reason : "", "control socket", err, sizeof(err)) ==
            0) {
            cJSON_AddBoolToObject(out, "ok", true);
            cJSON_AddItemToObject(out, "site", site_json(d, s, true));
        }
    }
    if (err[0]) {
        cJSON_Delete(out);
        out = cJSON_CreateObject();
        cJSON_AddBoolToObject(out, "ok", false);
        cJSON_AddStringToObject(out, "error", err);
        if (cmd == NULL || strcmp(cmd, "status") != 0)
            log_warnx("control command from pid %d rejected: %s", (int)pid, err);
    }
    text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    cJSON_Delete(in);
    return text;
}

/* ---- MQTT --------------------------------------------------------------- */

/* Adopts the retained drain/state of a site the state file did not know
 * (the file was lost, or this is a new host). */
static void
adopt_retained(struct drainer *d, struct site_rt *s, const void *payload, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(payload, len), *t;
    const char *state = jstr(o, "state"), *held_state = jstr(o, "held_state");
    int st;

    if (!cJSON_IsObject(o) || state == NULL)
        goto out;
    if (strcmp(state, "held") == 0) {
        s->st.held = true;
        state = held_state ? held_state : "serving";
    }
    if ((st = dstate_parse(state)) < 0)
        goto out;
    s->st.state = st;
    snprintf(s->st.cause, sizeof(s->st.cause), "%s", jstr(o, "cause") ? jstr(o, "cause") : "");
    snprintf(s->st.by, sizeof(s->st.by), "%s", jstr(o, "by") ? jstr(o, "by") : "");
    t = cJSON_GetObjectItemCaseSensitive(o, "drain_id");
    s->st.drain_id = cJSON_IsNumber(t) ? (uint64_t)t->valuedouble : 0;
    s->st.since_ms = real_ms();
    s->st.drain_start_ms = s->st.since_ms;
    s->st.hooks_done = st == SITE_DRAINED;
    s->restored = true;
    log_warnx("site %s: no state file entry; adopted the retained drain state '%s%s%s'",
              s->conf->name, s->st.held ? "held/" : "", dstate_name(st), s->st.cause[0] ? "" : "");
    audit_site(d, s, "restored", NULL);
    save_state(d);
    if (s->st.state != SITE_SERVING) {
        for (int k = 0; k < s->conf->nhooks; k++)
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "%s",
                     s->st.hooks_done ? "ok" : "idle");
        apply_wants(d, s);
        if (!s->st.hooks_done && !s->st.held)
            run_hooks(d, s, "drain");
    }
out:
    cJSON_Delete(o);
}

static void
on_mqtt_message(void *arg, const char *topic, const void *payload, size_t len, bool retained)
{
    struct drainer *d = arg;
    const char *prefix = d->conf->mqtt.prefix;
    size_t plen = strlen(prefix);
    char parts[5][NAME_MAX_LEN + 2];
    const char *p;
    int n = 0, si;
    struct site_rt *s;

    if (strncmp(topic, prefix, plen) != 0 || topic[plen] != '/')
        return;
    p = topic + plen + 1;
    while (*p && n < 5) {
        size_t k = strcspn(p, "/");
        if (k > NAME_MAX_LEN)
            return;
        memcpy(parts[n], p, k);
        parts[n++][k] = '\0';
        p += k + (p[k] == '/');
    }
    if (*p || n < 2 || (si = dconf_site_find(d->conf, parts[0])) < 0)
        return;
    s = &d->sites[si];

    if (n == 4 && strcmp(parts[2], "drain") == 0) {
        /* {site}/{agent}/drain/{zone} */
        struct policy_req r;
        char err[200];
        int rc;
        if (policy_parse_request(parts[1], parts[3], payload, len, &r, err, sizeof(err)) < 0) {
            log_warnx("site %s: ignoring malformed drain request on %s: %s", s->conf->name, topic,
                      err);
            return;
        }
        rc = policy_update(&s->policy, &r);
        if (rc < 0) {
            log_warnx("site %s: too many (agent, zone) pairs; ignoring %s", s->conf->name, topic);
            return;
        }
        if (rc == 0)
            return;
        log_info("site %s: request from %s for zone %s: %s%s (seq %llu%s%s)", s->conf->name,
                 r.agent, r.zone, r.drain ? "drain" : "none", r.test ? " (test: not acted on)" : "",
                 (unsigned long long)r.seq, r.alarms[0] ? ", alarms " : "", r.alarms);
        evaluate(d, s);
    } else if (n == 3 && strcmp(parts[2], "status") == 0 && strcmp(parts[1], "drain") != 0) {
        int st = AGENT_UNKNOWN;
        if (len == 6 && memcmp(payload, "online", 6) == 0)
            st = AGENT_ONLINE;
        else if (len == 7 && memcmp(payload, "offline", 7) == 0)
            st = AGENT_OFFLINE;
        if (policy_agent_status(&s->policy, parts[1], st) > 0) {
            log_info("site %s: agent %s is %s", s->conf->name, parts[1],
                     st == AGENT_ONLINE    ? "online"
                     : st == AGENT_OFFLINE ? "offline"
                                           : "unknown");
            evaluate(d, s);
        }
    } else if (n == 3 && strcmp(parts[1], "drain") == 0 && strcmp(parts[2], "state") == 0) {
        if (!d->settled && !s->restored && retained && len > 0)
            adopt_retained(d, s, payload, len);
    } else if (n == 4 && strcmp(parts[1], "drain") == 0 && strcmp(parts[2], "cmd") == 0) {
        cJSON *o;
        const char *by, *reason;
        char who[200], err[512] = "";
        if (!s->conf->mqtt_commands || retained)
            return; /* a retained command is never a fresh operator decision */
        if (strcmp(parts[3], "hold") != 0 && strcmp(parts[3], "release") != 0 &&
            strcmp(parts[3], "undrain") != 0) {
            log_warnx("site %s: unknown MQTT command '%s' rejected", s->conf->name, parts[3]);
            return;
        }
        o = len ? cJSON_ParseWithLength(payload, len) : cJSON_CreateObject();
        if (!cJSON_IsObject(o)) {
            log_warnx("site %s: MQTT command %s rejected: payload is not a JSON object",
                      s->conf->name, parts[3]);
            cJSON_Delete(o);
            return;
        }
        by = jstr(o, "by");
        reason = jstr(o, "reason");
        snprintf(who, sizeof(who), "%s (mqtt)", by && name_valid(by) ? by : "unknown");
        if (cmd_site(d, s, parts[3], who, reason ? reason : "", "mqtt", err, sizeof(err)) < 0)
            log_warnx("site %s: MQTT command %s rejected: %s", s->conf->name, parts[3], err);
        cJSON_Delete(o);
    }
}

static void
settle_done(void *arg)
{
    struct drainer *d = arg;

    d->settled = true;
    log_info("settled: evaluating %d site(s)", d->conf->nsites);
    for (int i = 0; i < d->conf->nsites; i++) {
        evaluate(d, &d->sites[i]);
        publish_site(d, &d->sites[i], true);
    }
    sd_notify(0, "STATUS=running");
}

static void
on_mqtt_ready(void *arg)
{
    struct drainer *d = arg;

    if (!d->settle_started) {
        /* Retained requests, statuses and our own last state follow the
         * SUBACKs; give them `settle` to arrive before deciding anything. */
        d->settle_started = true;
        loop_timer(d->loop, d->conf->drain.settle_ms, settle_done, d);
        return;
    }
    for (int i = 0; i < d->conf->nsites && d->settled; i++)
        publish_site(d, &d->sites[i], true);
}

/* ---- HAProxy worker reports --------------------------------------------- */

static void
on_worker(void *arg, short revents)
{
    struct drainer *d = arg;
    char buf[256];
    (void)revents;

    while (read(d->notify_rd, buf, sizeof(buf)) > 0)
        ;
    for (int i = 0; i < d->conf->nsites; i++) {
        struct site_rt *s = &d->sites[i];
        for (int t = 0; t < s->conf->ntargets; t++) {
            int h = s->conf->targets[t];
            struct hx_log logs[HX_LOG_MAX];
            int n = haproxy_take_log(d->hx[h], logs, HX_LOG_MAX);
            struct hx_view old = d->views[h];
            haproxy_view(d->hx[h], &d->views[h]);
            for (int k = 0; k < n; k++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "haproxy", d->conf->haproxies[h].name);
                cJSON_AddStringToObject(o, "command", logs[k].cmd);
                cJSON_AddStringToObject(o, "result", logs[k].result);
                cJSON_AddBoolToObject(o, "ok", logs[k].ok);
                audit_site(d, s, logs[k].dry ? "haproxy_dry_run" : "haproxy", o);
            }
            if (old.reachable != d->views[h].reachable || strcmp(old.error, d->views[h].error))
                if (d->views[h].error[0])
                    log_warnx("haproxy %s: %s", d->conf->haproxies[h].name, d->views[h].error);
        }
        check_progress(d, s);
    }
}

/* ---- hooks -------------------------------------------------------------- */

static void
on_hook_done(void *arg, int hook, int site, const char *action, uint64_t id, int status)
{
    struct drainer *d = arg;
    struct site_rt *s = &d->sites[site];
    char what[96];
    cJSON *o = cJSON_CreateObject();

    hooks_status_str(status, what, sizeof(what));
    for (int k = 0; k < s->conf->nhooks; k++) {
        if (s->conf->hooks[k] != hook)
            continue;
        /* A result of an older drain or undrain does not count for this one. */
        if (id == s->st.drain_id &&
            ((strcmp(action, "drain") == 0 && s->st.state != SITE_SERVING) ||
             (strcmp(action, "undrain") == 0 && s->st.state == SITE_SERVING)))
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "%s",
                     status == 0 ? "ok" : "failed");
    }
    cJSON_AddStringToObject(o, "hook", d->conf->hooks[hook].name);
    cJSON_AddStringToObject(o, "action", action);
    cJSON_AddStringToObject(o, "result", what);
    audit_site(d, s, "hook", o);
    check_progress(d, s);
}

/* ---- timers ------------------------------------------------------------- */

static void
watchdog_tick(void *arg)
{
    struct drainer *d = arg;
    sd_notify(0, "WATCHDOG=1");
    loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
}

/* ---- life cycle --------------------------------------------------------- */

static void
restore(struct drainer *d)
{
    struct dstate_site saved[DCONF_MAX_SITES];
    char err[256] = "";
    int n = 0, rc;

    if (strcmp(d->conf->drain.state, "none") != 0 &&
        (rc = dstate_load(d->conf->drain.state, saved, DCONF_MAX_SITES, &n, err, sizeof(err))) < 0)
        log_errx("state file %s: %s; rebuilding from the broker's retained state and HAProxy",
                 d->conf->drain.state, err);
    for (int i = 0; i < n; i++) {
        int si = dconf_site_find(d->conf, saved[i].name);
        struct site_rt *s;
        if (si < 0) {
            log_warnx("state file: site %s is no longer configured; forgetting it", saved[i].name);
            continue;
        }
        s = &d->sites[si];
        s->st = saved[i];
        s->restored = true;
        if (s->st.state != SITE_SERVING || s->st.held) {
            log_info("site %s: restored %s%s from the state file (drain %llu: %s)", s->conf->name,
                     s->st.held ? "held, " : "", dstate_name(s->st.state),
                     (unsigned long long)s->st.drain_id, s->st.cause);
            audit_site(d, s, "restored", NULL);
        }
        for (int k = 0; k < s->conf->nhooks; k++)
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "%s",
                     s->st.state != SITE_SERVING && s->st.hooks_done ? "ok" : "idle");
    }
}

int
drainer_init(struct drainer **out, struct dconf *c)
{
    struct drainer *d = xcalloc(1, sizeof(*d));
    int p[2], rc;

    d->conf = c;
    d->notify_rd = d->notify_wr = -1;
    for (int i = 0; i < c->nsites; i++) {
        struct site_rt *s = &d->sites[i];
        s->d = d;
        s->conf = &c->sites[i];
        s->index = i;
        policy_init(&s->policy, s->conf);
        strcpy(s->st.name, s->conf->name);
        snprintf(s->st.cause, sizeof(s->st.cause), "no drain requests");
        for (int k = 0; k < s->conf->nhooks; k++)
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "idle");
        policy_eval(&s->policy, &s->last);
    }
    if ((rc = loop_init(&d->loop)) < 0)
        goto fail;
    if ((rc = audit_open(&d->audit, c->drain.audit)) < 0) {
        log_errx("cannot open the audit log %s ([drain] audit): %s", c->drain.audit, strerror(-rc));
        goto fail;
    }
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        rc = -errno;
        goto fail;
    }
    d->notify_rd = p[0];
    d->notify_wr = p[1];
    loop_add_fd(d->loop, d->notify_rd, POLLIN, on_worker, d);
    if ((rc = hooks_init(&d->hooks, c, d->loop, on_hook_done, d)) < 0)
        goto fail;
    {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "controller", c->drain.id);
        cJSON_AddNumberToObject(o, "pid", (double)getpid());
        cJSON_AddBoolToObject(o, "dry_run", c->drain.dry_run);
        audit_event(d->audit, NULL, "start", o);
    }
    restore(d);
    for (int h = 0; h < c->nhaproxies; h++) {
        if ((rc = haproxy_start(&d->hx[h], &c->haproxies[h], c->drain.dry_run, d->notify_wr)) < 0) {
            log_errx("cannot start the worker for [haproxy %s]: %s", c->haproxies[h].name,
                     strerror(-rc));
            goto fail;
        }
    }
    /* Converge restored decisions now: each worker reads HAProxy first and
     * sends only what is not in effect. */
    for (int i = 0; i < c->nsites; i++) {
        struct site_rt *s = &d->sites[i];
        apply_wants(d, s);
        if (s->st.state == SITE_DRAINING && !s->st.hooks_done && !s->st.held)
            run_hooks(d, s, "drain");
    }
    if ((rc = dctl_open(&d->ctl, c->drain.control, c->drain.control_mode, d->loop, ctl_handler,
                        d)) < 0) {
        log_errx("cannot create control socket %s ([drain] control): %s", c->drain.control,
                 rc == -EADDRINUSE ? "another ember-drain is listening on it" : strerror(-rc));
        goto fail;
    }
    if ((rc = dmqtt_init(&d->mqtt, c, d->loop, on_mqtt_ready, on_mqtt_message, d)) < 0) {
        log_errx("mqtt: cannot create client: %s", strerror(-rc));
        goto fail;
    }
    if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec >= 2000)
        loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
    *out = d;
    return 0;
fail:
    drainer_fini(d);
    return rc < 0 ? rc : -EIO;
}

int
drainer_run(struct drainer *d)
{
    sd_notifyf(0, "READY=1\nSTATUS=settling: waiting for retained requests");
    log_info("running: %d site(s), %d HAProxy instance(s), %d hook(s)%s", d->conf->nsites,
             d->conf->nhaproxies, d->conf->nhooks, d->conf->drain.dry_run ? ", DRY RUN" : "");
    while (!drainer_sig_stop)
        loop_run(d->loop);
    sd_notify(0, "STOPPING=1");
    log_info("stopping");
    return 0;
}

void
drainer_fini(struct drainer *d)
{
    if (d == NULL)
        return;
    if (d->audit != NULL)
        audit_event(d->audit, NULL, "stop", NULL);
    dmqtt_fini(d->mqtt, 2000);
    dctl_close(d->ctl);
    for (int h = 0; h < d->conf->nhaproxies; h++)
        haproxy_stop(d->hx[h]);
    hooks_fini(d->hooks);
    audit_close(d->audit);
    if (d->notify_rd >= 0)
        close(d->notify_rd);
    if (d->notify_wr >= 0)
        close(d->notify_wr);
    loop_fini(d->loop);
    wake_fd = -1;
    for (int i = 0; i < d->conf->nsites; i++)
        free(d->sites[i].published);
    dconf_free(d->conf);
    free(d);
}
