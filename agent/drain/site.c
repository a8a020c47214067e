/*
 * site.c - one site's drain state machine: policy results, hold_down,
 * manual commands and target progress in; wanted states, hooks, timers,
 * state-file writes, audit entries, log lines and publications out.
 *
 * Pure: it reads no clock (struct site_now comes in), does no I/O and calls
 * nothing but policy.c, dstate_name() and libc string functions.  Every
 * effect is appended to a struct site_out in the order the caller must
 * execute it.
 */
#include "site.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"
#include "log.h"
#include "util.h"

static const char *const cmd_names[] = {"hold", "release", "undrain", "drain"};

/* ---- effects ------------------------------------------------------------ */

static struct site_fx *
push(struct site_out *o, int kind)
{
    struct site_fx *fx;

    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 8;
        struct site_fx *p = xcalloc((size_t)cap, sizeof(*p));
        if (o->n > 0)
            memcpy(p, o->fx, (size_t)o->n * sizeof(*p));
        free(o->fx);
        o->fx = p;
        o->cap = cap;
    }
    fx = &o->fx[o->n++];
    memset(fx, 0, sizeof(*fx));
    fx->kind = kind;
    return fx;
}

void
site_out_free(struct site_out *o)
{
    free(o->fx);
    memset(o, 0, sizeof(*o));
}

static void say(struct site_out *o, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct site_out *o, int level, const char *fmt, ...)
{
    struct site_fx *fx = push(o, SITE_FX_LOG);
    va_list ap;

    fx->log.level = level;
    va_start(ap, fmt);
    vsnprintf(fx->log.text, sizeof(fx->log.text), fmt, ap);
    va_end(ap);
}

const char *
site_shown_state(const struct site *s)
{
    return s->st.held ? "held" : dstate_name(s->st.state);
}

void
site_audit_fill(const struct site *s, const char *event, struct site_audit *a)
{
    memset(a, 0, sizeof(*a));
    a->event = event;
    a->extra = SITE_AX_NONE;
    snprintf(a->state, sizeof(a->state), "%s", site_shown_state(s));
    snprintf(a->cause, sizeof(a->cause), "%s", s->st.cause);
    snprintf(a->by, sizeof(a->by), "%s", s->st.by);
    a->drain_id = s->st.drain_id;
    a->dry_run = s->dc->drain.dry_run;
    a->elapsed_ms = -1;
}

/* An audit entry with the site's fields as they are now; the caller may
 * add an extra. */
static struct site_audit *
audit(struct site *s, struct site_out *o, const char *event)
{
    struct site_fx *fx = push(o, SITE_FX_AUDIT);

    site_audit_fill(s, event, &fx->audit);
    return &fx->audit;
}

/* hook is an index in dconf hooks. */
static void
audit_hook(struct site *s, struct site_out *o, int hook, const char *action, const char *result)
{
    struct site_audit *a = audit(s, o, "hook");

    a->extra = SITE_AX_HOOK;
    a->hook = hook;
    snprintf(a->action, sizeof(a->action), "%s", action);
    snprintf(a->result, sizeof(a->result), "%s", result);
}

static void
save(struct site_out *o)
{
    push(o, SITE_FX_SAVE);
}

static void
publish(struct site *s, struct site_out *o, bool force)
{
    if (s->settled)
        push(o, SITE_FX_PUBLISH)->publish.force = force;
}

static void
set_timer(struct site_out *o, int timer, int64_t at_ms)
{
    struct site_fx *fx = push(o, SITE_FX_TIMER);

    fx->timer.timer = timer;
    fx->timer.at_ms = at_ms;
}

static void
cancel_hold_down(struct site *s, struct site_out *o)
{
    if (s->hold_due > 0)
        set_timer(o, SITE_TIMER_HOLD_DOWN, 0);
    s->hold_due = 0;
}

/* ---- actions ------------------------------------------------------------ */

/* What target t's HAProxy instance should converge to now. */
static int
want_for(const struct site *s, int t, const struct site_now *now)
{
    const struct dconf_haproxy *hc = &s->dc->haproxies[s->conf->targets[t]];

    if (s->undraining)
        return HX_WANT_READY;
    if (s->st.held && !s->manual_in_hold)
        return HX_WANT_NONE;
    if (s->st.state == SITE_SERVING)
        return HX_WANT_NONE;
    if (hc->maint_after_ms > 0 && now->mono_ms - s->drain_start_mono >= hc->maint_after_ms)
        return HX_WANT_MAINT;
    return HX_WANT_DRAIN;
}

/* What a [dns] target should converge to now: maint_after does not apply. */
static int
want_for_dns(const struct site *s)
{
    if (s->undraining)
        return HX_WANT_READY;
    if ((s->st.held && !s->manual_in_hold) || s->st.state == SITE_SERVING)
        return HX_WANT_NONE;
    return HX_WANT_DRAIN;
}

/* Arms the maint_after timer for the earliest target still due. */
static void
schedule_maint(struct site *s, const struct site_now *now, struct site_out *o)
{
    int64_t next = -1, was = s->maint_due;

    s->maint_due = 0;
    if (!(s->st.state == SITE_SERVING || s->undraining || (s->st.held && !s->manual_in_hold))) {
        for (int t = 0; t < s->conf->ntargets; t++) {
            const struct dconf_haproxy *hc = &s->dc->haproxies[s->conf->targets[t]];
            int64_t due = s->drain_start_mono + hc->maint_after_ms;
            if (hc->maint_after_ms > 0 && due > now->mono_ms && (next < 0 || due < next))
                next = due;
        }
        if (next > 0)
            s->maint_due = next;
    }
    if (was > 0 || s->maint_due > 0)
        set_timer(o, SITE_TIMER_MAINT, s->maint_due);
}

/* Hands the wanted state to every HAProxy target (a new generation, so each
 * worker reads, compares and acts at once). */
static void
apply_wants(struct site *s, const struct site_now *now, struct site_out *o)
{
    s->gen++;
    for (int t = 0; t < s->conf->ntargets; t++) {
        struct site_fx *fx = push(o, SITE_FX_WANT);
        fx->want.target = t;
        fx->want.want = want_for(s, t, now);
        fx->want.gen = s->gen;
    }
    for (int t = 0; t < s->conf->ndns; t++) {
        struct site_fx *fx = push(o, SITE_FX_DNS);
        fx->want.target = t;
        fx->want.want = want_for_dns(s);
        fx->want.gen = s->gen;
    }
    schedule_maint(s, now, o);
}

static void
run_hooks(struct site *s, const char *action, struct site_out *o)
{
    bool undrain = strcmp(action, "undrain") == 0;

    for (int k = 0; k < s->conf->nhooks; k++) {
        int h = s->conf->hooks[k];
        const struct dconf_hook *hc = &s->dc->hooks[h];
        struct site_fx *fx;
        if (undrain && !hc->on_undrain) {
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "idle");
            continue;
        }
        if (s->dc->drain.dry_run && hc->dry == HOOK_DRY_SKIP) {
            say(o, LOG_LVL_INFO, "site %s: dry run: would run hook %s (%s %s)", s->conf->name,
                hc->name, action, hc->exec);
            snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "skipped");
            audit_hook(s, o, h, action, "dry run: not run");
            continue;
        }
        snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "running");
        audit_hook(s, o, h, action, "started");
        fx = push(o, SITE_FX_HOOK);
        fx->hook.hook = k;
        snprintf(fx->hook.action, sizeof(fx->hook.action), "%s", action);
    }
}

static bool
hooks_ok(const struct site *s)
{
    for (int k = 0; k < s->conf->nhooks; k++)
        if (strcmp(s->hook_state[k], "ok") != 0 && strcmp(s->hook_state[k], "skipped") != 0)
            return false;
    return true;
}

static bool
targets_reached(const struct site *s)
{
    for (int t = 0; t < s->conf->ntargets; t++)
        if (s->done_gen[t] != s->gen || !s->reached[t])
            return false;
    for (int t = 0; t < s->conf->ndns; t++)
        if (s->dns_done_gen[t] != s->gen || !s->dns_reached[t])
            return false;
    return true;
}

static void check_progress(struct site *s, const struct site_now *now, struct site_out *o);
static void follow_peers(struct site *s, const struct site_now *now, bool holds,
                         struct site_out *o);

/* Starts a drain: this controller's decision (ep NULL), or a peer's drain
 * it follows (ep: the peer's episode). */
static void
start_drain(struct site *s, const struct site_now *now, const char *cause, const char *by,
            bool manual, const struct dstate_episode *ep, struct site_out *o)
{
    struct site_audit *a;

    cancel_hold_down(s, o);
    s->decided_mono = now->mono_ms;
    s->st.state = SITE_DRAINING;
    s->st.since_ms = now->real_ms;
    s->st.drain_start_ms = s->st.since_ms;
    s->drain_start_mono = now->mono_ms;
    s->st.drain_id++;
    if (ep != NULL) {
        s->st.ep = *ep;
    } else {
        snprintf(s->st.ep.ctl, sizeof(s->st.ep.ctl), "%s", s->dc->drain.id);
        s->st.ep.id = s->st.drain_id;
    }
    s->st.hooks_done = false;
    s->st.maint = false;
    snprintf(s->st.cause, sizeof(s->st.cause), "%s", cause);
    snprintf(s->st.by, sizeof(s->st.by), "%s", by ? by : "");
    s->undraining = false;
    s->peer_noted = false;
    if (manual && s->st.held)
        s->manual_in_hold = true;
    /* HAProxy first: nothing below may delay the workers. */
    apply_wants(s, now, o);
    run_hooks(s, "drain", o);
    say(o, LOG_LVL_INFO, "site %s: draining%s: %s", s->conf->name,
        s->dc->drain.dry_run ? " (dry run)" : "", cause);
    save(o);
    a = audit(s, o, ep != NULL ? "drain_peer" : manual ? "drain_manual" : "drain");
    a->extra = SITE_AX_VOTES;
    a->votes = s->last.votes;
    a->vote = s->last.vote;
    snprintf(a->zones, sizeof(a->zones), "%s", s->last.zones);
    snprintf(a->agents, sizeof(a->agents), "%s", s->last.agents);
    snprintf(a->alarms, sizeof(a->alarms), "%s", s->last.alarms);
    /* A site with nothing to wait for (hooks only, all skipped in a dry
     * run) is drained at once. */
    check_progress(s, now, o);
}

/* Moves draining -> drained and undraining -> serving when the targets
 * read back what was wanted. */
static void
check_progress(struct site *s, const struct site_now *now, struct site_out *o)
{
    if (s->undraining && targets_reached(s)) {
        s->undraining = false;
        say(o, LOG_LVL_INFO, "site %s: serving: every target reads back ready", s->conf->name);
        audit(s, o, "serving");
        apply_wants(s, now, o); /* observe only from now on */
    }
    if (s->st.state == SITE_DRAINING && !s->undraining && targets_reached(s) && hooks_ok(s)) {
        int64_t took = s->decided_mono ? now->mono_ms - s->decided_mono : -1;
        struct site_audit *a;
        s->st.state = SITE_DRAINED;
        s->st.hooks_done = true;
        s->st.since_ms = now->real_ms;
        if (took >= 0)
            say(o, LOG_LVL_INFO, "site %s: drained%s (%lld ms after the decision)", s->conf->name,
                s->dc->drain.dry_run ? " (dry run)" : "", (long long)took);
        else
            say(o, LOG_LVL_INFO, "site %s: drained%s", s->conf->name,
                s->dc->drain.dry_run ? " (dry run)" : "");
        save(o);
        a = audit(s, o, "drained");
        a->extra = SITE_AX_ELAPSED;
        a->elapsed_ms = took;
    }
    publish(s, o, false);
}

/* ---- policy evaluation -------------------------------------------------- */

static void
evaluate(struct site *s, const struct site_now *now, struct site_out *o)
{
    struct policy_result r;
    bool changed;

    policy_eval(&s->policy, &r);
    changed = r.drain != s->last.drain || r.votes != s->last.votes || r.ntests != s->last.ntests ||
              strcmp(r.cause, s->last.cause) != 0;
    if (changed)
        say(o, LOG_LVL_INFO, "site %s: %s%s%s", s->conf->name, r.cause,
            r.ntests ? "; test requests shown, not acted on: " : "",
            r.ntests ? (r.ntests == 1 ? "1" : "several") : "");
    s->last = r;
    if (!s->settled)
        return;
    if (!r.drain) {
        if (s->hold_due > 0) {
            struct site_audit *a;
            cancel_hold_down(s, o);
            say(o, LOG_LVL_INFO, "site %s: drain condition cleared within hold_down; not draining",
                s->conf->name);
            a = audit(s, o, "suppressed");
            a->extra = SITE_AX_CAUSE;
            snprintf(a->cause, sizeof(a->cause), "drain condition cleared within hold_down");
        }
        s->cond_since = 0;
        s->held_noted = false;
    } else if (s->st.state == SITE_SERVING && !s->undraining) {
        if (s->cond_since == 0)
            s->cond_since = now->mono_ms;
        if (s->st.held) {
            if (!s->held_noted) {
                struct site_audit *a;
                say(o, LOG_LVL_WARN,
                    "site %s: drain condition holds but the site is held: not draining (%s)",
                    s->conf->name, r.cause);
                a = audit(s, o, "suppressed_held");
                a->extra = SITE_AX_CAUSE;
                snprintf(a->cause, sizeof(a->cause), "%s", r.cause);
                s->held_noted = true;
            }
        } else if (now->mono_ms - s->cond_since >= s->conf->hold_down_ms) {
            start_drain(s, now, r.cause, NULL, false, NULL, o);
            return;
        } else if (s->hold_due == 0) {
            int64_t left = s->conf->hold_down_ms - (now->mono_ms - s->cond_since);
            s->hold_due = now->mono_ms + left;
            set_timer(o, SITE_TIMER_HOLD_DOWN, s->hold_due);
            say(o, LOG_LVL_INFO,
                "site %s: drain condition holds; draining if it still holds in %lld ms "
                "(hold_down)",
                s->conf->name, (long long)left);
        }
    }
    publish(s, o, false);
}

/* ---- events ------------------------------------------------------------- */

void
site_init(struct site *s, const struct dconf *c, int index)
{
    memset(s, 0, sizeof(*s));
    s->dc = c;
    s->conf = &c->sites[index];
    s->index = index;
    policy_init(&s->policy, s->conf);
    snprintf(s->st.name, sizeof(s->st.name), "%s", s->conf->name);
    snprintf(s->st.cause, sizeof(s->st.cause), "no drain requests");
    for (int k = 0; k < s->conf->nhooks; k++)
        snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "idle");
    for (int k = 0; k < c->drain.npeers && k < DCONF_MAX_PEERS; k++) {
        if (strcmp(c->drain.peers[k], c->drain.id) == 0)
            continue;
        snprintf(s->peers[s->npeers].id, sizeof(s->peers[0].id), "%s", c->drain.peers[k]);
        s->peers[s->npeers++].online = AGENT_UNKNOWN;
    }
    policy_eval(&s->policy, &s->last);
}

static void
hooks_from_decision(struct site *s)
{
    for (int k = 0; k < s->conf->nhooks; k++)
        snprintf(s->hook_state[k], sizeof(s->hook_state[k]), "%s",
                 s->st.state != SITE_SERVING && s->st.hooks_done ? "ok" : "idle");
}

void
site_restore(struct site *s, const struct dstate_site *saved, struct site_out *o)
{
    s->st = *saved;
    s->restored = true;
    if (s->st.state != SITE_SERVING && !s->st.ep.ctl[0]) {
        /* A state file from before episodes: the drain was this one's. */
        snprintf(s->st.ep.ctl, sizeof(s->st.ep.ctl), "%s", s->dc->drain.id);
        s->st.ep.id = s->st.drain_id;
    }
    if (s->st.state != SITE_SERVING || s->st.held) {
        say(o, LOG_LVL_INFO, "site %s: restored %s%s from the state file (drain %llu: %s)",
            s->conf->name, s->st.held ? "held, " : "", dstate_name(s->st.state),
            (unsigned long long)s->st.drain_id, s->st.cause);
        audit(s, o, "restored");
    }
    hooks_from_decision(s);
}

/* The monotonic start of a drain recorded in wall time before a restart.
 * Only the wall clock spans the restart; a start it dates in the future
 * (the clock was fast then, or is slow now) counts from now, so a step can
 * delay maint_after by at most its own length. */
static int64_t
restored_start_mono(const struct site *s, const struct site_now *now)
{
    int64_t ago = now->real_ms - s->st.drain_start_ms;

    if (ago < 0)
        ago = 0;
    if (ago > DCONF_MAINT_AFTER_MAX_MS)
        ago = DCONF_MAINT_AFTER_MAX_MS; /* long enough for any maint_after */
    return now->mono_ms - ago;
}

void
site_start(struct site *s, const struct site_now *now, struct site_out *o)
{
    if (s->st.state != SITE_SERVING)
        s->drain_start_mono = restored_start_mono(s, now);
    apply_wants(s, now, o);
    if (s->st.state == SITE_DRAINING && !s->st.hooks_done && !s->st.held)
        run_hooks(s, "drain", o);
}

int
site_adopt(struct site *s, const struct site_now *now, const char *controller, const char *state,
           const char *held_state, const char *cause, const char *by, uint64_t drain_id,
           struct site_out *o)
{
    bool held = false;
    int st;

    if (s->settled || s->restored || state == NULL)
        return 0;
    if (!dconf_trusts_controller(s->dc, controller)) {
        struct site_audit *a;
        char who[NAME_MAX_LEN + 3];
        if (controller != NULL)
            snprintf(who, sizeof(who), "'%.*s'", NAME_MAX_LEN, controller);
        say(o, LOG_LVL_WARN,
            "site %s: ignoring the retained drain state '%.16s' published by %s: not this "
            "controller (%s) and not in [drain] peers; starting from the agents' requests",
            s->conf->name, state, controller ? who : "no named controller", s->dc->drain.id);
        a = audit(s, o, "adopt_refused");
        a->extra = SITE_AX_CAUSE;
        snprintf(a->cause, sizeof(a->cause), "retained drain state '%.16s' from %s", state,
                 controller ? who : "no named controller");
        return 0;
    }
    if (strcmp(state, "held") == 0) {
        held = true;
        state = held_state ? held_state : "serving";
    }
    if ((st = dstate_parse(state)) < 0)
        return 0;
    s->st.held = s->st.held || held;
    s->st.state = st;
    snprintf(s->st.cause, sizeof(s->st.cause), "%s", cause ? cause : "");
    snprintf(s->st.by, sizeof(s->st.by), "%s", by ? by : "");
    s->st.drain_id = drain_id;
    if (st != SITE_SERVING) {
        snprintf(s->st.ep.ctl, sizeof(s->st.ep.ctl), "%s",
                 controller ? controller : s->dc->drain.id);
        s->st.ep.id = drain_id;
    }
    if (s->st.held)
        snprintf(s->st.hold_origin, sizeof(s->st.hold_origin), "%s",
                 controller ? controller : s->dc->drain.id);
    s->st.since_ms = now->real_ms;
    s->st.drain_start_ms = s->st.since_ms;
    s->drain_start_mono = now->mono_ms;
    s->st.hooks_done = st == SITE_DRAINED;
    s->restored = true;
    say(o, LOG_LVL_WARN, "site %s: no state file entry; adopted the retained drain state '%s%s'",
        s->conf->name, s->st.held ? "held/" : "", dstate_name(st));
    audit(s, o, "restored");
    save(o);
    if (s->st.state != SITE_SERVING) {
        hooks_from_decision(s);
        apply_wants(s, now, o);
        if (!s->st.hooks_done && !s->st.held)
            run_hooks(s, "drain", o);
    }
    return 1;
}

void
site_settle(struct site *s, const struct site_now *now, struct site_out *o)
{
    s->settled = true;
    evaluate(s, now, o);
    follow_peers(s, now, true, o);
    publish(s, o, true);
}

/* Logs and audits a request that policy_admit() refused. */
static void
refuse_request(struct site *s, const struct policy_req *r, const char *why, struct site_out *o)
{
    struct site_audit *a;

    say(o, LOG_LVL_WARN, "site %s: request from %s for zone %s refused: %s", s->conf->name,
        r->agent, r->zone, why);
    a = audit(s, o, "request_refused");
    a->extra = SITE_AX_REQUEST;
    snprintf(a->agent, sizeof(a->agent), "%s", r->agent);
    snprintf(a->zone, sizeof(a->zone), "%s", r->zone);
    a->drain = r->drain;
    a->seq = r->seq;
    a->ts_ms = r->ts_ms;
    snprintf(a->cause, sizeof(a->cause), "%s", why);
}

int
site_request(struct site *s, const struct site_now *now, const struct policy_req *r,
             struct site_out *o)
{
    const struct policy_req *old;
    char why[256];
    int rc;

    if (policy_admit(&s->policy, r, now->real_ms, why, sizeof(why)) < 0) {
        refuse_request(s, r, why, o);
        return 0;
    }
    rc = policy_update(&s->policy, r);
    if (rc == -ESTALE) {
        old = policy_find(&s->policy, r->agent, r->zone);
        say(o, LOG_LVL_INFO,
            "site %s: request from %s for zone %s ignored: seq %llu is older than seq %llu "
            "already taken (a replay)",
            s->conf->name, r->agent, r->zone, (unsigned long long)r->seq,
            (unsigned long long)(old ? old->seq : 0));
        return 0;
    }
    if (rc <= 0)
        return rc;
    say(o, LOG_LVL_INFO, "site %s: request from %s for zone %s: %s%s (seq %llu%s%s)", s->conf->name,
        r->agent, r->zone, r->drain ? "drain" : "none", r->test ? " (test: not acted on)" : "",
        (unsigned long long)r->seq, r->alarms[0] ? ", alarms " : "", r->alarms);
    evaluate(s, now, o);
    return rc;
}

int
site_agent_status(struct site *s, const struct site_now *now, const char *agent, int status,
                  struct site_out *o)
{
    int rc = policy_agent_status(&s->policy, agent, status);

    if (rc <= 0)
        return rc;
    say(o, LOG_LVL_INFO, "site %s: agent %s is %s", s->conf->name, agent,
        status == AGENT_ONLINE    ? "online"
        : status == AGENT_OFFLINE ? "offline"
                                  : "unknown");
    evaluate(s, now, o);
    return rc;
}

void
site_timer(struct site *s, const struct site_now *now, int timer, struct site_out *o)
{
    if (timer == SITE_TIMER_HOLD_DOWN) {
        s->hold_due = 0;
        evaluate(s, now, o);
    } else if (timer == SITE_TIMER_MAINT) {
        s->maint_due = 0;
        say(o, LOG_LVL_INFO,
            "site %s: maint_after elapsed: putting drained servers into "
            "maintenance",
            s->conf->name);
        audit(s, o, "maint");
        apply_wants(s, now, o);
    }
}

void
site_target(struct site *s, int t, uint64_t done_gen, bool reached)
{
    if (t >= 0 && t < s->conf->ntargets) {
        s->done_gen[t] = done_gen;
        s->reached[t] = reached;
    }
}

void
site_dns_target(struct site *s, int t, uint64_t done_gen, bool reached)
{
    if (t >= 0 && t < s->conf->ndns) {
        s->dns_done_gen[t] = done_gen;
        s->dns_reached[t] = reached;
    }
}

void
site_progress(struct site *s, const struct site_now *now, struct site_out *o)
{
    check_progress(s, now, o);
}

void
site_hook_done(struct site *s, const struct site_now *now, int hook, const char *action,
               uint64_t id, int status, const char *what, struct site_out *o)
{
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
    audit_hook(s, o, hook, action, what);
    check_progress(s, now, o);
}

/* Freezes automatic action.  origin: the controller a person held the
 * site on (this one, or the peer whose hold is followed). */
static void
do_hold(struct site *s, const struct site_now *now, const char *by, const char *origin,
        struct site_out *o)
{
    s->st.held = true;
    s->manual_in_hold = false;
    s->held_noted = false;
    snprintf(s->st.by, sizeof(s->st.by), "%s", by);
    snprintf(s->st.hold_origin, sizeof(s->st.hold_origin), "%s", origin);
    cancel_hold_down(s, o);
    apply_wants(s, now, o);
}

static void
do_release(struct site *s, const struct site_now *now, const char *by, struct site_out *o)
{
    s->st.held = false;
    s->manual_in_hold = false;
    s->st.hold_origin[0] = '\0';
    snprintf(s->st.by, sizeof(s->st.by), "%s", by);
    s->cond_since = 0; /* hold_down counts from the release */
    apply_wants(s, now, o);
}

/* Returns the site to service; the drain it carried out joins undone. */
static void
do_undrain(struct site *s, const struct site_now *now, const char *cause, const char *by,
           struct site_out *o)
{
    dstate_episode_add(s->st.undone, &s->st.nundone, &s->st.ep);
    s->st.state = SITE_SERVING;
    s->st.since_ms = now->real_ms;
    s->st.hooks_done = false;
    s->st.maint = false;
    s->manual_in_hold = false;
    s->peer_noted = false;
    snprintf(s->st.cause, sizeof(s->st.cause), "%s", cause);
    snprintf(s->st.by, sizeof(s->st.by), "%s", by);
    s->undraining = true;
    s->cond_since = 0;
    apply_wants(s, now, o);
    run_hooks(s, "undrain", o);
}

/* ---- peer controllers ---------------------------------------------------- */

static struct site_peer *
peer_find(struct site *s, const char *id)
{
    for (int k = 0; k < s->npeers; k++)
        if (strcmp(s->peers[k].id, id) == 0)
            return &s->peers[k];
    return NULL;
}

static void
audit_peer(struct site *s, struct site_out *o, const char *event, const char *cause)
{
    struct site_audit *a = audit(s, o, event);

    a->extra = SITE_AX_CAUSE;
    snprintf(a->cause, sizeof(a->cause), "%s", cause);
}

/* A person's hold on peer p, or its release there. */
static void
follow_hold(struct site *s, const struct site_now *now, const struct site_peer *p,
            struct site_out *o)
{
    char cause[400];

    if (p->held && p->hold_origin[0] && strcmp(p->hold_origin, s->dc->drain.id) != 0 &&
        !s->st.held) {
        snprintf(cause, sizeof(cause), "hold by %.128s followed from peer %s", p->by, p->id);
        do_hold(s, now, p->by, p->hold_origin, o);
        say(o, LOG_LVL_WARN, "site %s: held (automatic action frozen): %s", s->conf->name, cause);
        save(o);
        audit_peer(s, o, "hold_peer", cause);
    } else if (!p->held && s->st.held &&
               (strcmp(s->st.hold_origin, p->id) == 0 ||
                strcmp(s->st.hold_origin, p->released_origin) == 0)) {
        snprintf(cause, sizeof(cause), "release followed from peer %s", p->id);
        do_release(s, now, p->by, o);
        say(o, LOG_LVL_INFO, "site %s: released: %s", s->conf->name, cause);
        save(o);
        audit_peer(s, o, "release_peer", cause);
        evaluate(s, now, o);
    }
}

/* What peer p's state asks of this site; see site_peer_state(). */
static void
follow_peer(struct site *s, const struct site_now *now, const struct site_peer *p, bool holds,
            struct site_out *o)
{
    char cause[sizeof(s->st.cause)];

    if (!p->known)
        return;
    if (holds)
        follow_hold(s, now, p, o);
    if (s->st.state != SITE_SERVING && dstate_episode_in(&s->st.ep, p->undone, p->nundone)) {
        if (s->last.drain && !s->st.held) {
            if (!s->peer_noted) {
                snprintf(cause, sizeof(cause),
                         "peer %s undrained the site, but the drain condition still holds here "
                         "(%.300s): staying drained",
                         p->id, s->last.cause);
                say(o, LOG_LVL_WARN, "site %s: %s", s->conf->name, cause);
                audit_peer(s, o, "undrain_peer_refused", cause);
                s->peer_noted = true;
            }
            return;
        }
        snprintf(cause, sizeof(cause), "undrain followed from peer %s (%.300s)", p->id, p->cause);
        for (int k = 0; k < p->nundone; k++)
            dstate_episode_add(s->st.undone, &s->st.nundone, &p->undone[k]);
        do_undrain(s, now, cause, p->by, o);
        say(o, LOG_LVL_WARN, "site %s: %s: returning targets to service", s->conf->name, cause);
        save(o);
        audit_peer(s, o, "undrain_peer", cause);
        check_progress(s, now, o);
        return;
    }
    if (s->st.state == SITE_SERVING && p->state != SITE_SERVING && p->ep.ctl[0] &&
        !dstate_episode_in(&p->ep, s->st.undone, s->st.nundone)) {
        if (s->st.held) {
            if (!s->peer_noted) {
                snprintf(cause, sizeof(cause),
                         "peer %s drains the site (%.300s), but the site is held here: not "
                         "draining",
                         p->id, p->cause);
                say(o, LOG_LVL_WARN, "site %s: %s", s->conf->name, cause);
                audit_peer(s, o, "suppressed_held", cause);
                s->peer_noted = true;
            }
            return;
        }
        snprintf(cause, sizeof(cause), "peer %s: %.400s", p->id, p->cause);
        start_drain(s, now, cause, p->by[0] ? p->by : NULL, false, &p->ep, o);
    }
}

/* holds: follow the peers' holds and releases too (not right after a
 * person's release here, which the peers are to follow instead). */
static void
follow_peers(struct site *s, const struct site_now *now, bool holds, struct site_out *o)
{
    for (int k = 0; k < s->npeers; k++)
        follow_peer(s, now, &s->peers[k], holds, o);
}

int
site_peer_state(struct site *s, const struct site_now *now, const struct site_peer *in,
                struct site_out *o)
{
    struct site_peer *p = peer_find(s, in->id);
    char released[sizeof(p->released_origin)];
    int online;

    if (p == NULL)
        return 0;
    online = p->online;
    if (in->held)
        released[0] = '\0';
    else if (p->known && p->held)
        snprintf(released, sizeof(released), "%s", p->hold_origin);
    else
        snprintf(released, sizeof(released), "%s", p->released_origin);
    *p = *in;
    p->online = online;
    p->known = true;
    snprintf(p->released_origin, sizeof(p->released_origin), "%s", released);
    if (s->settled)
        follow_peer(s, now, p, true, o);
    publish(s, o, false);
    return 1;
}

void
site_peer_status(struct site *s, const char *id, int status, struct site_out *o)
{
    struct site_peer *p = peer_find(s, id);

    if (p != NULL && p->online != status) {
        p->online = status;
        publish(s, o, false);
    }
}

int
site_command(struct site *s, const struct site_now *now, int cmd, const char *by,
             const char *reason, const char *via, char *err, size_t errlen, struct site_out *o)
{
    const char *name;
    char cause[sizeof(s->st.cause)];

    if (cmd < 0 || cmd >= (int)ARRAY_LEN(cmd_names)) {
        snprintf(err, errlen, "unknown command");
        return -EINVAL;
    }
    name = cmd_names[cmd];
    snprintf(cause, sizeof(cause), "%.16s by %.150s%s%.300s", name, by, reason[0] ? ": " : "",
             reason);
    switch (cmd) {
    case SITE_CMD_HOLD:
        if (s->st.held) {
            snprintf(err, errlen, "site %s is already held (by %s)", s->conf->name, s->st.by);
            return -EALREADY;
        }
        do_hold(s, now, by, s->dc->drain.id, o);
        say(o, LOG_LVL_WARN, "site %s: held by %s (automatic action frozen)%s%s", s->conf->name, by,
            reason[0] ? ": " : "", reason);
        break;
    case SITE_CMD_RELEASE:
        if (!s->st.held) {
            snprintf(err, errlen, "site %s is not held", s->conf->name);
            return -EALREADY;
        }
        do_release(s, now, by, o);
        say(o, LOG_LVL_INFO, "site %s: released by %s", s->conf->name, by);
        break;
    case SITE_CMD_UNDRAIN:
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
        /* It ends the drains of every peer known now, too: they follow. */
        for (int k = 0; k < s->npeers; k++)
            if (s->peers[k].known && s->peers[k].state != SITE_SERVING)
                dstate_episode_add(s->st.undone, &s->st.nundone, &s->peers[k].ep);
        do_undrain(s, now, cause, by, o);
        say(o, LOG_LVL_WARN, "site %s: undrain by %s: returning targets to service", s->conf->name,
            by);
        check_progress(s, now, o);
        break;
    case SITE_CMD_DRAIN:
        if (s->st.state != SITE_SERVING && !s->undraining) {
            snprintf(err, errlen, "site %s is already %s", s->conf->name, dstate_name(s->st.state));
            return -EALREADY;
        }
        start_drain(s, now, cause, by, true, NULL, o);
        break;
    }
    if (cmd != SITE_CMD_DRAIN) {
        struct site_audit *a;
        save(o);
        a = audit(s, o, name);
        a->extra = SITE_AX_COMMAND;
        snprintf(a->by, sizeof(a->by), "%s", by);
        snprintf(a->via, sizeof(a->via), "%s", via);
        snprintf(a->reason, sizeof(a->reason), "%s", reason);
    }
    if (cmd == SITE_CMD_RELEASE) {
        evaluate(s, now, o);
        follow_peers(s, now, false, o); /* a peer's drain suppressed while held */
    }
    publish(s, o, false);
    return 0;
}

const char *
site_cmd_name(int cmd)
{
    return cmd >= 0 && cmd < (int)ARRAY_LEN(cmd_names) ? cmd_names[cmd] : NULL;
}

/* ---- hook environment ---------------------------------------------------- */

void
site_hook_env(const struct site *s, const char *action, struct site_env *e)
{
    const struct policy_result *r = &s->last;
    size_t used;
    int n = 0;

    snprintf(e->site, sizeof(e->site), "EMBER_SITE=%s", s->conf->name);
    snprintf(e->zones, sizeof(e->zones), "EMBER_ZONES=%s", r->zones);
    snprintf(e->zone, sizeof(e->zone), "EMBER_ZONE=%.*s", (int)strcspn(r->zones, ","), r->zones);
    snprintf(e->agents, sizeof(e->agents), "EMBER_AGENTS=%s", r->agents);
    snprintf(e->cause, sizeof(e->cause), "EMBER_CAUSE=%s", s->st.cause);
    snprintf(e->alarms, sizeof(e->alarms), "EMBER_ALARMS=%s", r->alarms);
    snprintf(e->action, sizeof(e->action), "EMBER_ACTION=%s", action);
    snprintf(e->dry, sizeof(e->dry), "EMBER_DRY_RUN=%d", s->dc->drain.dry_run ? 1 : 0);
    snprintf(e->id, sizeof(e->id), "EMBER_DRAIN_ID=%llu", (unsigned long long)s->st.drain_id);
    snprintf(e->by, sizeof(e->by), "EMBER_BY=%s", s->st.by);
    used = (size_t)snprintf(e->targets, sizeof(e->targets), "EMBER_TARGETS=");
    for (int t = 0; t < s->conf->ntargets; t++) {
        const struct dconf_haproxy *hc = &s->dc->haproxies[s->conf->targets[t]];
        for (int i = 0; i < hc->nservers && used < sizeof(e->targets); i++)
            used += (size_t)snprintf(e->targets + used, sizeof(e->targets) - used, "%s%s/%s/%s",
                                     used > 14 ? "," : "", hc->name, hc->servers[i].backend,
                                     hc->servers[i].server);
    }
    e->env[n++] = e->site;
    e->env[n++] = e->zone;
    e->env[n++] = e->zones;
    e->env[n++] = e->agents;
    e->env[n++] = e->cause;
    e->env[n++] = e->alarms;
    e->env[n++] = e->action;
    e->env[n++] = e->dry;
    e->env[n++] = e->id;
    e->env[n++] = e->by;
    e->env[n++] = e->targets;
    snprintf(e->controller, sizeof(e->controller), "EMBER_CONTROLLER=%s", s->dc->drain.id);
    snprintf(e->decided, sizeof(e->decided), "EMBER_DECIDED_BY=%s", s->st.ep.ctl);
    e->env[n++] = e->controller;
    e->env[n++] = e->decided;
    e->env[n] = NULL;
}
