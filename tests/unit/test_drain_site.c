/* Unit tests: ember-drain's site state machine (agent/drain/site.c), driven
 * with injected time and checked by the effects it returns: votes below and
 * at the threshold, hold_down expiry and flaps, test requests, the offline
 * policies, hold/release, manual drain, undrain (only by a person),
 * maint_after, hooks, restore from the state file and the retained state
 * (only a trusted controller's), refused requests (max_skew, the zones an
 * agent may request) and seq ordering, and dry_run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfgfile.h"
#include "../../agent/drain/dconf.h"
#include "../../agent/drain/haproxy.h"
#include "../../agent/drain/site.h"
#include "util.h"
#include "drain_fixture.h"

#define T0_REAL 1795588656000LL /* 2026-11-25T06:37:36Z */
#define T0_MONO 50000LL

struct fix {
    struct dconf *c;
    struct site *s;
    struct site_out o;
    struct site_now t;
};

/* Loads a configuration: [drain] lines, the [site lab] body (targets hx),
 * and extra sections after [haproxy hx]. */
static struct dconf *
load(const char *drain, const char *site, const char *haproxy, const char *extra)
{
    char text[4096];

    snprintf(text, sizeof(text),
             "[drain]\nstate = none\n%s\n[site lab]\ntargets = hx\n%s\n"
             "[haproxy hx]\nsocket = /nonexistent.sock\nservers = web/s1, web/s2\n%s\n%s\n",
             drain, site, haproxy, extra);
    return drain_fixture_load(text);
}

static struct fix *
fix_new(const char *drain, const char *site, const char *haproxy, const char *extra)
{
    struct fix *f = calloc(1, sizeof(*f));

    f->c = load(drain, site, haproxy, extra);
    f->s = calloc(1, sizeof(*f->s));
    site_init(f->s, f->c, 0);
    f->t.mono_ms = T0_MONO;
    f->t.real_ms = T0_REAL;
    return f;
}

static void
fix_free(struct fix *f)
{
    site_out_free(&f->o);
    free(f->s);
    dconf_free(f->c);
    free(f);
}

/* Moves both clocks on by ms and forgets the effects seen so far. */
static void
later(struct fix *f, int64_t ms)
{
    f->t.mono_ms += ms;
    f->t.real_ms += ms;
    site_out_free(&f->o);
}

static void
settle(struct fix *f)
{
    site_settle(f->s, &f->t, &f->o);
}

static int
request(struct fix *f, const char *agent, const char *zone, const char *json)
{
    struct policy_req r;
    char err[128];

    assert_int_equal(policy_parse_request(agent, zone, json, strlen(json), &r, err, sizeof(err)),
                     0);
    return site_request(f->s, &f->t, &r, &f->o);
}

static int
command(struct fix *f, int cmd, const char *reason, char *err, size_t errlen)
{
    err[0] = '\0';
    return site_command(f->s, &f->t, cmd, "tester (uid 1000)", reason, "control socket", err,
                        errlen, &f->o);
}

/* Every HAProxy target reports the latest generation, reached or not. */
static void
targets_report(struct fix *f, bool reached)
{
    for (int t = 0; t < f->s->conf->ntargets; t++)
        site_target(f->s, t, f->s->gen, reached);
    site_progress(f->s, &f->t, &f->o);
}

static int
count(const struct fix *f, int kind)
{
    int n = 0;

    for (int i = 0; i < f->o.n; i++)
        n += f->o.fx[i].kind == kind;
    return n;
}

static const struct site_audit *
audit_of(const struct fix *f, const char *event)
{
    for (int i = 0; i < f->o.n; i++)
        if (f->o.fx[i].kind == SITE_FX_AUDIT && strcmp(f->o.fx[i].audit.event, event) == 0)
            return &f->o.fx[i].audit;
    return NULL;
}

static bool
logged(const struct fix *f, const char *text)
{
    for (int i = 0; i < f->o.n; i++)
        if (f->o.fx[i].kind == SITE_FX_LOG && strstr(f->o.fx[i].log.text, text) != NULL)
            return true;
    return false;
}

/* The last wanted state handed to target 0, or -1 when none was. */
static int
want(const struct fix *f)
{
    int w = -1;

    for (int i = 0; i < f->o.n; i++)
        if (f->o.fx[i].kind == SITE_FX_WANT && f->o.fx[i].want.target == 0) {
            assert_int_equal(f->o.fx[i].want.gen, f->s->gen);
            w = f->o.fx[i].want.want;
        }
    return w;
}

/* The last due time set for a timer: 0 cancelled, -1 not touched. */
static int64_t
timer(const struct fix *f, int which)
{
    int64_t at = -1;

    for (int i = 0; i < f->o.n; i++)
        if (f->o.fx[i].kind == SITE_FX_TIMER && f->o.fx[i].timer.timer == which)
            at = f->o.fx[i].timer.at_ms;
    return at;
}

static const char *
shown(const struct fix *f)
{
    return site_shown_state(f->s);
}

#define DRAIN(seq) "{\"request\":\"drain\",\"seq\":" #seq ",\"alarms\":[\"hot\"]}"
#define NONE(seq) "{\"request\":\"none\",\"seq\":" #seq "}"

/* Nothing is decided before the settle time is over. */
static void
test_settle(void **state)
{
    struct fix *f = fix_new("", "vote = 1\n", "", "");
    (void)state;

    assert_string_equal(shown(f), "serving");
    assert_string_equal(f->s->st.cause, "no drain requests");
    assert_int_equal(request(f, "a1", "b3", DRAIN(1)), 1);
    assert_true(f->s->last.drain);
    assert_string_equal(shown(f), "serving");
    assert_int_equal(count(f, SITE_FX_WANT), 0);
    assert_int_equal(count(f, SITE_FX_PUBLISH), 0);
    assert_int_equal(request(f, "a1", "b3", DRAIN(1)), 0); /* a repeat changes nothing */

    later(f, 1000);
    settle(f);
    assert_string_equal(shown(f), "draining");
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_non_null(audit_of(f, "drain"));
    assert_int_equal(f->o.fx[f->o.n - 1].kind, SITE_FX_PUBLISH);
    assert_true(f->o.fx[f->o.n - 1].publish.force);
    fix_free(f);
}

/* Below the vote nothing happens; at the vote hold_down starts, and the
 * site drains when it expires with the condition still holding. */
static void
test_votes_and_hold_down(void **state)
{
    struct fix *f = fix_new("", "zones = b3, b4\nvote = 2\nhold_down = 10s\n", "", "");
    const struct site_audit *a;
    (void)state;

    settle(f);
    later(f, 100);
    assert_int_equal(request(f, "a1", "b3", DRAIN(1)), 1);
    assert_false(f->s->last.drain);
    assert_int_equal(f->s->last.votes, 1);
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), -1);
    assert_int_equal(count(f, SITE_FX_WANT), 0);
    assert_int_equal(count(f, SITE_FX_PUBLISH), 1);

    later(f, 100);
    request(f, "a2", "b4", DRAIN(1));
    assert_true(f->s->last.drain);
    assert_string_equal(shown(f), "serving");
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), f->t.mono_ms + 10000);
    assert_true(logged(f, "draining if it still holds in 10000 ms (hold_down)"));
    assert_int_equal(count(f, SITE_FX_WANT), 0);

    /* An early wakeup re-arms for the rest instead of draining. */
    later(f, 9000);
    site_timer(f->s, &f->t, SITE_TIMER_HOLD_DOWN, &f->o);
    assert_string_equal(shown(f), "serving");
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), f->t.mono_ms + 1000);

    later(f, 1000);
    site_timer(f->s, &f->t, SITE_TIMER_HOLD_DOWN, &f->o);
    assert_string_equal(shown(f), "draining");
    assert_int_equal(f->s->st.drain_id, 1);
    assert_true(f->s->st.since_ms == f->t.real_ms);
    assert_true(f->s->st.drain_start_ms == f->t.real_ms);
    assert_string_equal(f->s->st.cause, "zones b3, b4 requested drain (2 of 2 zones)");
    assert_string_equal(f->s->st.by, "");
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(count(f, SITE_FX_SAVE), 1);
    assert_true(logged(f, "site lab: draining: zones b3, b4 requested drain"));
    a = audit_of(f, "drain");
    assert_non_null(a);
    assert_int_equal(a->extra, SITE_AX_VOTES);
    assert_int_equal(a->votes, 2);
    assert_int_equal(a->vote, 2);
    assert_string_equal(a->zones, "b3,b4");
    assert_string_equal(a->state, "draining");
    assert_false(a->dry_run);

    /* Targets not there yet: still draining.  Then drained. */
    later(f, 300);
    targets_report(f, false);
    assert_string_equal(shown(f), "draining");
    assert_int_equal(count(f, SITE_FX_SAVE), 0);
    later(f, 200);
    targets_report(f, true);
    assert_string_equal(shown(f), "drained");
    assert_true(f->s->st.hooks_done);
    assert_true(logged(f, "site lab: drained (500 ms after the decision)"));
    a = audit_of(f, "drained");
    assert_non_null(a);
    assert_int_equal(a->elapsed_ms, 500);
    assert_int_equal(count(f, SITE_FX_SAVE), 1);
    /* A report of an older generation does not count. */
    site_target(f->s, 0, f->s->gen - 1, true);
    assert_false(f->s->done_gen[0] == f->s->gen);
    fix_free(f);
}

/* A condition that clears within hold_down is suppressed; hold_down counts
 * again from the next time it holds. */
static void
test_hold_down_flap(void **state)
{
    struct fix *f = fix_new("", "vote = 1\nhold_down = 5s\n", "", "");
    const struct site_audit *a;
    (void)state;

    settle(f);
    request(f, "a1", "b3", DRAIN(1));
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), T0_MONO + 5000);
    later(f, 2000);
    request(f, "a1", "b3", NONE(2));
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), 0);
    assert_int_equal(f->s->hold_due, 0);
    assert_true(logged(f, "drain condition cleared within hold_down; not draining"));
    a = audit_of(f, "suppressed");
    assert_non_null(a);
    assert_int_equal(a->extra, SITE_AX_CAUSE);
    assert_string_equal(a->cause, "drain condition cleared within hold_down");
    later(f, 4000);
    request(f, "a1", "b3", DRAIN(3));
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), f->t.mono_ms + 5000);
    later(f, 5000);
    site_timer(f->s, &f->t, SITE_TIMER_HOLD_DOWN, &f->o);
    assert_string_equal(shown(f), "draining");
    fix_free(f);
}

/* hold_down = 0: the vote acts at once.  Test requests never act. */
static void
test_test_requests(void **state)
{
    struct fix *f = fix_new("", "vote = 1\n", "", "");
    (void)state;

    settle(f);
    later(f, 10);
    request(f, "a1", "b3", "{\"request\":\"drain\",\"seq\":1,\"test\":true}");
    assert_false(f->s->last.drain);
    assert_int_equal(f->s->last.ntests, 1);
    assert_true(logged(f, "(test: not acted on)"));
    assert_true(logged(f, "test requests shown, not acted on: 1"));
    assert_int_equal(count(f, SITE_FX_WANT), 0);
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), -1);
    later(f, 60000);
    site_timer(f->s, &f->t, SITE_TIMER_HOLD_DOWN, &f->o);
    assert_string_equal(shown(f), "serving");
    /* A real request of another zone drains at once. */
    request(f, "a1", "b4", DRAIN(2));
    assert_string_equal(shown(f), "draining");
    fix_free(f);
}

/* offline = ignore: a dead agent's request stops counting; offline = vote:
 * a dead agent counts next to another agent's real request. */
static void
test_offline(void **state)
{
    struct fix *f = fix_new("", "vote = 1\noffline = ignore\nhold_down = 5s\n", "", "");
    (void)state;

    settle(f);
    request(f, "a1", "b3", DRAIN(1));
    assert_true(f->s->hold_due > 0);
    later(f, 1000);
    assert_int_equal(site_agent_status(f->s, &f->t, "a1", AGENT_OFFLINE, &f->o), 1);
    assert_true(logged(f, "site lab: agent a1 is offline"));
    assert_false(f->s->last.drain);
    assert_non_null(audit_of(f, "suppressed"));
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), 0);
    later(f, 1000);
    assert_int_equal(site_agent_status(f->s, &f->t, "a1", AGENT_OFFLINE, &f->o), 0);
    assert_int_equal(f->o.n, 0);
    fix_free(f);

    f = fix_new("", "zones = b3, b4\nvote = 2\noffline = vote\n", "", "");
    settle(f);
    request(f, "a1", "b3", DRAIN(1));
    request(f, "a2", "b4", NONE(1));
    assert_string_equal(shown(f), "serving");
    later(f, 1000);
    site_agent_status(f->s, &f->t, "a2", AGENT_OFFLINE, &f->o);
    assert_string_equal(shown(f), "draining");
    assert_non_null(strstr(f->s->st.cause, "offline agent a2 counted"));
    /* The agent coming back does not undrain: only a person does. */
    later(f, 1000);
    site_agent_status(f->s, &f->t, "a2", AGENT_ONLINE, &f->o);
    assert_false(f->s->last.drain);
    assert_string_equal(shown(f), "draining");
    assert_int_equal(count(f, SITE_FX_WANT), 0);
    fix_free(f);
}

/* hold freezes automatic action; release evaluates at once. */
static void
test_hold_release(void **state)
{
    struct fix *f = fix_new("", "vote = 1\nhold_down = 5s\n", "", "");
    const struct site_audit *a;
    char err[512];
    (void)state;

    settle(f);
    request(f, "a1", "b3", DRAIN(1));
    assert_true(f->s->hold_due > 0);
    later(f, 1000);

    assert_int_equal(command(f, SITE_CMD_HOLD, "fire drill", err, sizeof(err)), 0);
    assert_string_equal(shown(f), "held");
    assert_true(f->s->st.held);
    assert_string_equal(f->s->st.by, "tester (uid 1000)");
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), 0);
    assert_int_equal(want(f), HX_WANT_NONE);
    assert_int_equal(count(f, SITE_FX_SAVE), 1);
    assert_true(logged(f, "site lab: held by tester (uid 1000) (automatic action frozen): fire "
                          "drill"));
    a = audit_of(f, "hold");
    assert_non_null(a);
    assert_int_equal(a->extra, SITE_AX_COMMAND);
    assert_string_equal(a->by, "tester (uid 1000)");
    assert_string_equal(a->via, "control socket");
    assert_string_equal(a->reason, "fire drill");
    assert_string_equal(a->state, "held");

    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_HOLD, "", err, sizeof(err)), -EALREADY);
    assert_string_equal(err, "site lab is already held (by tester (uid 1000))");
    assert_int_equal(f->o.n, 0);

    /* The condition holds on: noted once, never acted on, even after
     * hold_down. */
    request(f, "a2", "b4", DRAIN(1));
    assert_true(logged(f, "drain condition holds but the site is held: not draining"));
    assert_non_null(audit_of(f, "suppressed_held"));
    later(f, 60000);
    request(f, "a2", "b5", DRAIN(1));
    assert_null(audit_of(f, "suppressed_held"));
    assert_int_equal(count(f, SITE_FX_WANT), 0);
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), -1);
    assert_string_equal(shown(f), "held");

    /* Release: hold_down counts from the release. */
    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_RELEASE, "", err, sizeof(err)), 0);
    assert_false(f->s->st.held);
    assert_string_equal(shown(f), "serving");
    assert_true(logged(f, "site lab: released by tester (uid 1000)"));
    assert_non_null(audit_of(f, "release"));
    assert_int_equal(timer(f, SITE_TIMER_HOLD_DOWN), f->t.mono_ms + 5000);
    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_RELEASE, "", err, sizeof(err)), -EALREADY);
    assert_string_equal(err, "site lab is not held");
    later(f, 4000);
    site_timer(f->s, &f->t, SITE_TIMER_HOLD_DOWN, &f->o);
    assert_string_equal(shown(f), "draining");

    /* Held while drained: targets are left as they are, the state stays. */
    targets_report(f, true);
    assert_string_equal(shown(f), "drained");
    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_HOLD, "", err, sizeof(err)), 0);
    assert_string_equal(shown(f), "held");
    assert_int_equal(f->s->st.state, SITE_DRAINED);
    assert_int_equal(want(f), HX_WANT_NONE);
    fix_free(f);
}

/* Only undrain returns a drained site to service, and only a person sends
 * it: refused while the condition holds unless the site is held. */
static void
test_undrain(void **state)
{
    struct fix *f =
        fix_new("", "vote = 1\nhooks = h\n", "", "[hook h]\nexec = /bin/true\nundrain = yes\n");
    const struct site_audit *a;
    char err[512];
    (void)state;

    settle(f);
    assert_int_equal(command(f, SITE_CMD_UNDRAIN, "", err, sizeof(err)), -EALREADY);
    assert_string_equal(err, "site lab is already serving");

    request(f, "a1", "b3", DRAIN(1));
    assert_string_equal(shown(f), "draining");
    assert_int_equal(count(f, SITE_FX_HOOK), 1);
    site_hook_done(f->s, &f->t, f->c->sites[0].hooks[0], "drain", 1, 0, "ok", &f->o);
    targets_report(f, true);
    assert_string_equal(shown(f), "drained");

    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_UNDRAIN, "", err, sizeof(err)), -EBUSY);
    assert_string_equal(err, "site lab: the drain condition still holds (zone b3 requested drain "
                             "(1 of 1 zones)); clear the alarms first, or hold the site and "
                             "then undrain");
    assert_int_equal(f->o.n, 0);

    /* The alarms clear: the site stays drained. */
    request(f, "a1", "b3", NONE(2));
    assert_false(f->s->last.drain);
    assert_string_equal(shown(f), "drained");
    assert_int_equal(count(f, SITE_FX_WANT), 0);

    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_UNDRAIN, "fire out", err, sizeof(err)), 0);
    assert_int_equal(f->s->st.state, SITE_SERVING);
    assert_true(f->s->undraining);
    assert_string_equal(f->s->st.cause, "undrain by tester (uid 1000): fire out");
    assert_int_equal(want(f), HX_WANT_READY);
    assert_int_equal(count(f, SITE_FX_HOOK), 1);
    assert_string_equal(f->s->hook_state[0], "running");
    assert_true(logged(f, "site lab: undrain by tester (uid 1000): returning targets to service"));
    a = audit_of(f, "undrain");
    assert_non_null(a);
    assert_string_equal(a->reason, "fire out");
    assert_null(audit_of(f, "serving"));
    /* A second undrain while the targets come back is accepted. */
    assert_true(f->s->undraining);

    later(f, 100);
    targets_report(f, true);
    assert_false(f->s->undraining);
    assert_true(logged(f, "site lab: serving: every target reads back ready"));
    assert_non_null(audit_of(f, "serving"));
    assert_int_equal(want(f), HX_WANT_NONE);
    site_hook_done(f->s, &f->t, f->c->sites[0].hooks[0], "undrain", 1, 0, "ok", &f->o);
    assert_string_equal(f->s->hook_state[0], "ok");

    /* Held, a site may be undrained while the condition holds. */
    request(f, "a1", "b3", DRAIN(3));
    assert_string_equal(shown(f), "draining");
    later(f, 1000);
    assert_int_equal(command(f, SITE_CMD_HOLD, "", err, sizeof(err)), 0);
    assert_int_equal(command(f, SITE_CMD_UNDRAIN, "", err, sizeof(err)), 0);
    assert_string_equal(shown(f), "held");
    assert_int_equal(f->s->st.state, SITE_SERVING);
    fix_free(f);
}

/* A manual drain acts at once, even while held, and is refused when the
 * site already drains. */
static void
test_manual_drain(void **state)
{
    struct fix *f = fix_new("", "vote = 1\nhold_down = 1m\n", "", "");
    const struct site_audit *a;
    char err[512];
    (void)state;

    settle(f);
    later(f, 10);
    assert_int_equal(command(f, SITE_CMD_HOLD, "", err, sizeof(err)), 0);
    later(f, 10);
    assert_int_equal(command(f, SITE_CMD_DRAIN, "smoke seen", err, sizeof(err)), 0);
    assert_int_equal(f->s->st.state, SITE_DRAINING);
    assert_true(f->s->st.held);
    assert_true(f->s->manual_in_hold);
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_string_equal(f->s->st.cause, "drain by tester (uid 1000): smoke seen");
    assert_string_equal(f->s->st.by, "tester (uid 1000)");
    a = audit_of(f, "drain_manual");
    assert_non_null(a);
    assert_int_equal(a->extra, SITE_AX_VOTES);
    assert_null(audit_of(f, "drain"));
    later(f, 10);
    assert_int_equal(command(f, SITE_CMD_DRAIN, "", err, sizeof(err)), -EALREADY);
    assert_string_equal(err, "site lab is already draining");
    targets_report(f, true);
    assert_int_equal(f->s->st.state, SITE_DRAINED);
    later(f, 10);
    assert_int_equal(command(f, SITE_CMD_DRAIN, "", err, sizeof(err)), -EALREADY);
    assert_string_equal(err, "site lab is already drained");
    /* An unknown command is refused. */
    assert_int_equal(site_command(f->s, &f->t, 42, "x", "", "mqtt", err, sizeof(err), &f->o),
                     -EINVAL);
    fix_free(f);
}

/* A site with maint_after = 2m drained by a request at T0: drain first,
 * the maint_after timer armed for T0 + 2m. */
static struct fix *
drained_with_maint_after(void)
{
    struct fix *f = fix_new("", "vote = 1\n", "maint_after = 2m\n", "");

    settle(f);
    request(f, "a1", "b3", DRAIN(1));
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), T0_MONO + 120000);
    targets_report(f, true);
    assert_string_equal(shown(f), "drained");
    return f;
}

/* maint_after: drain first, maintenance when it has elapsed. */
static void
test_maint_after(void **state)
{
    struct fix *f = drained_with_maint_after();
    struct dstate_site saved;
    (void)state;

    later(f, 120000);
    site_timer(f->s, &f->t, SITE_TIMER_MAINT, &f->o);
    assert_true(logged(f, "maint_after elapsed: putting drained servers into maintenance"));
    assert_non_null(audit_of(f, "maint"));
    assert_int_equal(want(f), HX_WANT_MAINT);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), -1); /* nothing left to wait for */
    saved = f->s->st;
    fix_free(f);

    /* After a restart past maint_after: maintenance at once, no timer. */
    f = fix_new("", "vote = 1\n", "maint_after = 2m\n", "");
    f->t.real_ms += 300000;
    site_restore(f->s, &saved, &f->o);
    site_start(f->s, &f->t, &f->o);
    assert_int_equal(want(f), HX_WANT_MAINT);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), -1);
    fix_free(f);

    /* Restarted within maint_after: drain now, the timer for the rest. */
    f = fix_new("", "vote = 1\n", "maint_after = 2m\n", "");
    f->t.real_ms = saved.drain_start_ms + 20000;
    site_restore(f->s, &saved, &f->o);
    site_start(f->s, &f->t, &f->o);
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), f->t.mono_ms + 100000);
    /* Undrain cancels it. */
    request(f, "a1", "b3", NONE(1));
    {
        char err[256];
        assert_int_equal(command(f, SITE_CMD_UNDRAIN, "", err, sizeof(err)), 0);
    }
    assert_int_equal(timer(f, SITE_TIMER_MAINT), 0);
    fix_free(f);
}

/* maint_after runs on the monotonic clock: a wall clock stepped back an
 * hour does not stall it, one stepped forward a day does not bring it
 * early, and a restart reads the recorded start bounded (a start dated in
 * the future counts from the restart). */
static void
test_maint_after_clock_step(void **state)
{
    struct fix *f = drained_with_maint_after();
    struct dstate_site saved;
    char err[256];
    (void)state;

    /* A day forward, then anything that hands out the wanted states again. */
    f->t.real_ms += 24LL * 3600 * 1000;
    later(f, 10000);
    assert_int_equal(command(f, SITE_CMD_HOLD, "", err, sizeof(err)), 0);
    later(f, 0);
    assert_int_equal(command(f, SITE_CMD_RELEASE, "", err, sizeof(err)), 0);
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), T0_MONO + 120000);

    /* An hour back: the timer still comes at its monotonic time and acts. */
    f->t.real_ms -= 25LL * 3600 * 1000;
    later(f, 110000);
    site_timer(f->s, &f->t, SITE_TIMER_MAINT, &f->o);
    assert_int_equal(want(f), HX_WANT_MAINT);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), -1);
    saved = f->s->st;
    fix_free(f);

    /* A restart whose wall clock is a day behind the recorded start. */
    f = fix_new("", "vote = 1\n", "maint_after = 2m\n", "");
    f->t.real_ms = saved.drain_start_ms - 24LL * 3600 * 1000;
    site_restore(f->s, &saved, &f->o);
    site_start(f->s, &f->t, &f->o);
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(timer(f, SITE_TIMER_MAINT), f->t.mono_ms + 120000);
    later(f, 120000);
    site_timer(f->s, &f->t, SITE_TIMER_MAINT, &f->o);
    assert_int_equal(want(f), HX_WANT_MAINT);
    fix_free(f);
}

/* Hooks: each drain's result counts only for that drain; a failed hook
 * keeps the site draining. */
static void
test_hooks(void **state)
{
    struct fix *f =
        fix_new("", "vote = 1\nhooks = h\n", "", "[hook h]\nexec = /bin/true\nundrain = no\n");
    int h;
    struct site_env env;
    const struct site_audit *a;
    (void)state;

    h = f->c->sites[0].hooks[0];
    assert_string_equal(f->s->hook_state[0], "idle");
    settle(f);
    request(f, "a1", "b3", "{\"request\":\"drain\",\"seq\":1,\"alarms\":[\"hot\",\"smoke\"]}");
    assert_int_equal(count(f, SITE_FX_HOOK), 1);
    assert_string_equal(f->s->hook_state[0], "running");
    a = audit_of(f, "hook");
    assert_non_null(a);
    assert_string_equal(a->result, "started");
    assert_string_equal(a->action, "drain");
    site_hook_env(f->s, "drain", &env);
    assert_string_equal(env.env[0], "EMBER_SITE=lab");
    assert_string_equal(env.env[1], "EMBER_ZONE=b3");
    assert_string_equal(env.env[5], "EMBER_ALARMS=hot,smoke");
    assert_string_equal(env.env[6], "EMBER_ACTION=drain");
    assert_string_equal(env.env[8], "EMBER_DRAIN_ID=1");
    assert_string_equal(env.env[10], "EMBER_TARGETS=hx/web/s1,hx/web/s2");
    {
        char want_ctl[128];
        snprintf(want_ctl, sizeof(want_ctl), "EMBER_CONTROLLER=%s", f->c->drain.id);
        assert_string_equal(env.env[11], want_ctl);
        /* This controller decided the drain (a followed one names the peer). */
        snprintf(want_ctl, sizeof(want_ctl), "EMBER_DECIDED_BY=%s", f->c->drain.id);
        assert_string_equal(env.env[12], want_ctl);
    }
    assert_null(env.env[13]);

    targets_report(f, true);
    assert_string_equal(shown(f), "draining"); /* the hook is still running */
    later(f, 10);
    site_hook_done(f->s, &f->t, h, "drain", 1, 1, "exit 1", &f->o);
    assert_string_equal(f->s->hook_state[0], "failed");
    assert_string_equal(shown(f), "draining");
    a = audit_of(f, "hook");
    assert_string_equal(a->result, "exit 1");
    /* A result for another drain id does not count. */
    site_hook_done(f->s, &f->t, h, "drain", 7, 0, "ok", &f->o);
    assert_string_equal(f->s->hook_state[0], "failed");
    site_hook_done(f->s, &f->t, h, "drain", 1, 0, "ok", &f->o);
    assert_string_equal(shown(f), "drained");

    /* Undrain without `undrain = yes`: the hook is idle, not run. */
    request(f, "a1", "b3", NONE(2));
    later(f, 10);
    {
        char err[256];
        assert_int_equal(command(f, SITE_CMD_UNDRAIN, "", err, sizeof(err)), 0);
    }
    assert_int_equal(count(f, SITE_FX_HOOK), 0);
    assert_string_equal(f->s->hook_state[0], "idle");
    fix_free(f);
}

/* A restart resumes the decision of the state file. */
static void
test_restore(void **state)
{
    struct fix *f = fix_new("", "vote = 1\nhooks = h\n", "", "[hook h]\nexec = /bin/true\n");
    struct dstate_site saved = {0};
    (void)state;

    snprintf(saved.name, sizeof(saved.name), "lab");
    saved.state = SITE_DRAINED;
    saved.since_ms = T0_REAL - 5000;
    saved.drain_start_ms = T0_REAL - 6000;
    saved.drain_id = 4;
    saved.hooks_done = true;
    snprintf(saved.cause, sizeof(saved.cause), "zone b3 requested drain (1 of 1 zones)");
    site_restore(f->s, &saved, &f->o);
    assert_true(f->s->restored);
    assert_true(logged(f, "site lab: restored drained from the state file (drain 4: zone b3"));
    assert_non_null(audit_of(f, "restored"));
    assert_string_equal(f->s->hook_state[0], "ok");
    later(f, 0);
    site_start(f->s, &f->t, &f->o);
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(count(f, SITE_FX_HOOK), 0);
    /* The alarms are gone after the restart: still drained. */
    settle(f);
    assert_string_equal(shown(f), "drained");
    assert_int_equal(f->s->st.drain_id, 4);
    /* The retained state is not adopted over the state file. */
    assert_int_equal(site_adopt(f->s, &f->t, f->c->drain.id, "serving", NULL, "", "", 0, &f->o), 0);
    fix_free(f);

    /* An unfinished drain re-runs its hooks; a held one does not. */
    f = fix_new("", "vote = 1\nhooks = h\n", "", "[hook h]\nexec = /bin/true\n");
    saved.state = SITE_DRAINING;
    saved.hooks_done = false;
    site_restore(f->s, &saved, &f->o);
    assert_string_equal(f->s->hook_state[0], "idle");
    site_start(f->s, &f->t, &f->o);
    assert_int_equal(count(f, SITE_FX_HOOK), 1);
    fix_free(f);
    f = fix_new("", "vote = 1\nhooks = h\n", "", "[hook h]\nexec = /bin/true\n");
    saved.held = true;
    site_restore(f->s, &saved, &f->o);
    assert_true(logged(f, "restored held, draining"));
    site_start(f->s, &f->t, &f->o);
    assert_int_equal(count(f, SITE_FX_HOOK), 0);
    assert_int_equal(want(f), HX_WANT_NONE);
    fix_free(f);

    /* A serving, not held entry is restored silently. */
    f = fix_new("", "vote = 1\n", "", "");
    saved.held = false;
    saved.state = SITE_SERVING;
    site_restore(f->s, &saved, &f->o);
    assert_int_equal(f->o.n, 0);
    fix_free(f);
}

/* Without a state file entry, the retained drain/state is adopted. */
static void
test_adopt(void **state)
{
    struct fix *f = fix_new("", "vote = 1\nhooks = h\n", "", "[hook h]\nexec = /bin/true\n");
    (void)state;

    assert_int_equal(site_adopt(f->s, &f->t, f->c->drain.id, "bogus", NULL, NULL, NULL, 3, &f->o),
                     0);
    assert_int_equal(
        site_adopt(f->s, &f->t, f->c->drain.id, "held", "nonsense", NULL, NULL, 3, &f->o), 0);
    assert_false(f->s->st.held);
    assert_int_equal(f->o.n, 0);
    assert_int_equal(
        site_adopt(f->s, &f->t, f->c->drain.id, "draining", NULL, "fire", "ops", 3, &f->o), 1);
    assert_true(f->s->restored);
    assert_int_equal(f->s->st.state, SITE_DRAINING);
    assert_int_equal(f->s->st.drain_id, 3);
    assert_string_equal(f->s->st.cause, "fire");
    assert_string_equal(f->s->st.by, "ops");
    assert_true(logged(f, "no state file entry; adopted the retained drain state 'draining'"));
    assert_non_null(audit_of(f, "restored"));
    assert_int_equal(count(f, SITE_FX_SAVE), 1);
    assert_int_equal(want(f), HX_WANT_DRAIN);
    assert_int_equal(count(f, SITE_FX_HOOK), 1); /* its hooks never finished */
    /* Only once. */
    later(f, 10);
    assert_int_equal(site_adopt(f->s, &f->t, f->c->drain.id, "serving", NULL, NULL, NULL, 0, &f->o),
                     0);
    fix_free(f);

    f = fix_new("", "vote = 1\n", "", "");
    assert_int_equal(
        site_adopt(f->s, &f->t, f->c->drain.id, "held", "drained", NULL, NULL, 2, &f->o), 1);
    assert_true(f->s->st.held);
    assert_int_equal(f->s->st.state, SITE_DRAINED);
    assert_true(f->s->st.hooks_done);
    assert_string_equal(f->s->st.cause, "");
    assert_true(logged(f, "adopted the retained drain state 'held/drained'"));
    assert_int_equal(want(f), HX_WANT_NONE);
    fix_free(f);

    /* Not after settling. */
    f = fix_new("", "vote = 1\n", "", "");
    settle(f);
    assert_int_equal(site_adopt(f->s, &f->t, f->c->drain.id, "drained", NULL, NULL, NULL, 2, &f->o),
                     0);
    fix_free(f);
}

/* A retained drain/state is adopted only from this controller or a named
 * peer; anything else is logged, audited and ignored, and the site starts
 * serving and decides from the agents' requests. */
static void
test_adopt_untrusted(void **state)
{
    struct fix *f = fix_new("id = ctl-a\npeers = ctl-b\n", "vote = 1\nhooks = h\n", "",
                            "[hook h]\nexec = /bin/true\n");
    const struct site_audit *a;
    (void)state;

    assert_int_equal(site_adopt(f->s, &f->t, "mallory", "held", "serving", "forged", "x", 9, &f->o),
                     0);
    assert_true(logged(f, "site lab: ignoring the retained drain state 'held' published by "
                          "'mallory': not this controller (ctl-a) and not in [drain] peers"));
    assert_non_null(a = audit_of(f, "adopt_refused"));
    assert_string_equal(a->cause, "retained drain state 'held' from 'mallory'");
    assert_false(f->s->restored);
    assert_false(f->s->st.held);
    assert_int_equal(count(f, SITE_FX_SAVE), 0);
    assert_int_equal(want(f), -1);
    later(f, 0);
    /* A payload naming no controller: the same. */
    assert_int_equal(site_adopt(f->s, &f->t, NULL, "drained", NULL, NULL, NULL, 7, &f->o), 0);
    assert_true(logged(f, "'drained' published by no named controller"));
    assert_int_equal(f->s->st.state, SITE_SERVING);
    assert_int_equal(want(f), -1);
    assert_int_equal(count(f, SITE_FX_HOOK), 0);
    /* The site serves and acts on the agents' requests. */
    settle(f);
    later(f, 0);
    assert_int_equal(request(f, "a1", "b3", DRAIN(1)), 1);
    assert_string_equal(shown(f), "draining");
    assert_int_equal(want(f), HX_WANT_DRAIN);
    fix_free(f);

    /* A named peer's state is adopted. */
    f = fix_new("id = ctl-a\npeers = ctl-b\n", "vote = 1\n", "", "");
    assert_int_equal(site_adopt(f->s, &f->t, "ctl-b", "held", "drained", NULL, "ops", 2, &f->o), 1);
    assert_true(f->s->st.held);
    assert_int_equal(f->s->st.state, SITE_DRAINED);
    assert_null(audit_of(f, "adopt_refused"));
    fix_free(f);
}

/* Requests dated beyond max_skew, and requests for a zone the agent may not
 * request, are refused and audited; one agent's requests are ordered by
 * seq, never by ts. */
static void
test_request_trust(void **state)
{
    struct fix *f = fix_new("", "vote = 1\nzones = b3, b4\nagents = a1:b3, a2:b4\n", "", "");
    const struct site_audit *a;
    (void)state;

    settle(f);
    later(f, 0);
    assert_int_equal(request(f, "a1", "b3", NONE(5)), 1);
    later(f, 0);
    /* Forged: dated 2099, with a huge seq. */
    assert_int_equal(request(f, "a1", "b3",
                             "{\"ts\":\"2099-01-01T00:00:00.000Z\",\"request\":\"drain\","
                             "\"seq\":9007199254740991}"),
                     0);
    assert_true(logged(f, "site lab: request from a1 for zone b3 refused: dated "
                          "2099-01-01T00:00:00.000Z"));
    assert_non_null(a = audit_of(f, "request_refused"));
    assert_int_equal(a->extra, SITE_AX_REQUEST);
    assert_string_equal(a->agent, "a1");
    assert_string_equal(a->zone, "b3");
    assert_true(a->drain);
    assert_true(a->seq == 9007199254740991ULL);
    assert_true(a->ts_ms == 4070908800000LL);
    assert_non_null(strstr(a->cause, "(max_skew 300 s)"));
    assert_string_equal(shown(f), "serving");
    assert_int_equal(want(f), -1);
    assert_int_equal(policy_find(&f->s->policy, "a1", "b3")->seq, 5);
    /* Just inside the skew: taken. */
    later(f, 0);
    {
        char json[200], ts[32];
        fmt_rfc3339_ms(f->t.real_ms + 299000, ts, sizeof(ts));
        snprintf(json, sizeof(json), "{\"ts\":\"%s\",\"request\":\"none\",\"seq\":6}", ts);
        assert_int_equal(request(f, "a1", "b3", json), 1);
        assert_null(audit_of(f, "request_refused"));
    }
    /* An agent without an RTC dates its request in 2001: it counts. */
    later(f, 0);
    assert_int_equal(request(f, "a1", "b3",
                             "{\"ts\":\"2001-01-01T00:00:05.000Z\",\"request\":\"drain\","
                             "\"seq\":7,\"alarms\":[\"hot\"]}"),
                     1);
    assert_string_equal(shown(f), "draining");
    targets_report(f, true);
    assert_string_equal(shown(f), "drained");
    /* Its none, also dated 2001, is taken; undrain is then accepted. */
    later(f, 0);
    assert_int_equal(request(f, "a1", "b3",
                             "{\"ts\":\"2001-01-01T00:00:09.000Z\",\"request\":\"none\","
                             "\"seq\":8}"),
                     1);
    assert_false(f->s->last.drain);
    /* A replay of seq 7 with a fresh ts is ignored, and says so. */
    later(f, 0);
    assert_int_equal(request(f, "a1", "b3", DRAIN(7)), 0);
    assert_true(logged(f, "request from a1 for zone b3 ignored: seq 7 is older than seq 8"));
    assert_false(f->s->last.drain);
    {
        char err[256];
        assert_int_equal(command(f, SITE_CMD_UNDRAIN, "", err, sizeof(err)), 0);
    }

    /* a1 may not request a drain for b4: refused and audited. */
    later(f, 0);
    assert_int_equal(request(f, "a1", "b4", DRAIN(9)), 0);
    assert_true(logged(f, "request from a1 for zone b4 refused: agent a1 may not request a drain "
                          "for zone b4"));
    assert_non_null(a = audit_of(f, "request_refused"));
    assert_string_equal(a->zone, "b4");
    assert_null(policy_find(&f->s->policy, "a1", "b4"));
    assert_false(f->s->last.drain);
    assert_int_equal(request(f, "a2", "b4", DRAIN(1)), 1);
    assert_true(f->s->last.drain);
    fix_free(f);
}

/* dry_run: every decision is made and recorded; skipped hooks count as
 * done. */
static void
test_dry_run(void **state)
{
    struct fix *f = fix_new("dry_run = yes\n", "vote = 1\nhooks = skip, run\n", "",
                            "[hook skip]\nexec = /bin/true\n"
                            "[hook run]\nexec = /bin/true\ndry_run = run\n");
    const struct site_audit *a;
    (void)state;

    settle(f);
    later(f, 10);
    request(f, "a1", "b3", DRAIN(1));
    assert_string_equal(shown(f), "draining");
    assert_true(logged(f, "site lab: draining (dry run): zone b3"));
    assert_true(logged(f, "site lab: dry run: would run hook skip (drain /bin/true)"));
    assert_string_equal(f->s->hook_state[0], "skipped");
    assert_string_equal(f->s->hook_state[1], "running");
    assert_int_equal(count(f, SITE_FX_HOOK), 1);
    for (int i = 0; i < f->o.n; i++)
        if (f->o.fx[i].kind == SITE_FX_HOOK)
            assert_int_equal(f->o.fx[i].hook.hook, 1);
    a = audit_of(f, "hook");
    assert_non_null(a);
    assert_string_equal(a->result, "dry run: not run");
    assert_true(a->dry_run);
    assert_true(audit_of(f, "drain")->dry_run);
    {
        struct site_env env;
        site_hook_env(f->s, "drain", &env);
        assert_string_equal(env.env[7], "EMBER_DRY_RUN=1");
    }
    targets_report(f, true);
    site_hook_done(f->s, &f->t, f->c->sites[0].hooks[1], "drain", 1, 0, "ok", &f->o);
    assert_string_equal(shown(f), "drained");
    assert_true(logged(f, "site lab: drained (dry run)"));
    fix_free(f);

    /* Only skipped hooks, and targets that read back the drain as soon as
     * it is wanted: drained at the decision itself. */
    f = fix_new("dry_run = yes\n", "vote = 1\nhooks = skip\n", "",
                "[hook skip]\nexec = /bin/true\n");
    settle(f);
    for (int t = 0; t < f->s->conf->ntargets; t++)
        site_target(f->s, t, f->s->gen + 1, true);
    request(f, "a1", "b3", DRAIN(1));
    assert_string_equal(shown(f), "drained");
    fix_free(f);
}

/* ---- peer controllers ---------------------------------------------------- */

/* Two controllers of one site, each the other's peer. */
static void
pair_new(struct fix **a, struct fix **b, const char *site)
{
    *a = fix_new("id = c1\npeers = c2\n", site, "", "");
    *b = fix_new("id = c2\npeers = c1\n", site, "", "");
    settle(*a);
    settle(*b);
}

/* What `to` receives when `from` publishes its state (drain_json carries
 * these fields on {p}/{site}/drain/state/{id}). */
static void
tell(struct fix *from, struct fix *to)
{
    struct site_peer p = {0};
    const struct site *s = from->s;

    snprintf(p.id, sizeof(p.id), "%s", from->c->drain.id);
    p.state = s->st.state;
    p.held = s->st.held;
    snprintf(p.hold_origin, sizeof(p.hold_origin), "%s", s->st.hold_origin);
    p.ep = s->st.ep;
    memcpy(p.undone, s->st.undone, sizeof(p.undone));
    p.nundone = s->st.nundone;
    snprintf(p.cause, sizeof(p.cause), "%.200s", s->st.cause);
    snprintf(p.by, sizeof(p.by), "%.100s", s->st.by);
    assert_int_equal(site_peer_state(to->s, &to->t, &p, &to->o), 1);
}

/* A peer's drain is followed, with the peer's episode; the follower's
 * state tells the first nothing new. */
static void
test_peer_drain_followed(void **state)
{
    struct fix *a, *b;
    (void)state;

    pair_new(&a, &b, "vote = 1\n");
    assert_int_equal(request(a, "a1", "b3", DRAIN(1)), 1);
    assert_int_equal(a->s->st.state, SITE_DRAINING);
    assert_string_equal(a->s->st.ep.ctl, "c1");
    tell(a, b);
    assert_int_equal(b->s->st.state, SITE_DRAINING);
    assert_string_equal(b->s->st.ep.ctl, "c1");
    assert_int_equal(b->s->st.ep.id, a->s->st.drain_id);
    assert_non_null(audit_of(b, "drain_peer"));
    assert_int_equal(want(b), HX_WANT_DRAIN);
    assert_true(strstr(b->s->st.cause, "peer c1: zone b3 requested drain") != NULL);
    later(a, 10);
    tell(b, a);
    assert_int_equal(a->o.n, 1); /* only the publication */
    assert_int_equal(count(a, SITE_FX_PUBLISH), 1);
    /* An unknown controller is not a peer. */
    {
        struct site_peer p = {.state = SITE_DRAINED};
        snprintf(p.id, sizeof(p.id), "c9");
        assert_int_equal(site_peer_state(a->s, &a->t, &p, &a->o), 0);
    }
    fix_free(a);
    fix_free(b);
}

/* An undrain on one controller ends the drains of every peer it knew; the
 * peers follow, and their stale states never drain it again. */
static void
test_peer_undrain_followed(void **state)
{
    struct fix *a, *b;
    char err[256];
    (void)state;

    pair_new(&a, &b, "vote = 1\n");
    /* Both decide the same fire on their own: two episodes. */
    request(a, "a1", "b3", DRAIN(1));
    request(b, "a1", "b3", DRAIN(1));
    tell(a, b);
    tell(b, a);
    assert_string_equal(a->s->st.ep.ctl, "c1");
    assert_string_equal(b->s->st.ep.ctl, "c2");
    request(a, "a1", "b3", NONE(2));
    request(b, "a1", "b3", NONE(2));
    later(a, 1000);
    later(b, 1000);
    assert_int_equal(command(a, SITE_CMD_UNDRAIN, "fire out", err, sizeof(err)), 0);
    assert_int_equal(a->s->st.state, SITE_SERVING);
    assert_int_equal(a->s->st.nundone, 2); /* its own and c2's */
    /* c2's stale drained state reaches c1 first: nothing happens. */
    tell(b, a);
    assert_int_equal(a->s->st.state, SITE_SERVING);
    assert_null(audit_of(a, "drain_peer"));
    /* c1's undrain reaches c2: it follows. */
    tell(a, b);
    assert_int_equal(b->s->st.state, SITE_SERVING);
    assert_true(b->s->undraining);
    assert_int_equal(want(b), HX_WANT_READY);
    assert_non_null(audit_of(b, "undrain_peer"));
    assert_true(strstr(b->s->st.cause, "undrain followed from peer c1") != NULL);
    assert_string_equal(b->s->st.by, "tester (uid 1000)");
    later(a, 10);
    tell(b, a);
    assert_int_equal(a->s->st.state, SITE_SERVING);
    /* A new fire is a new episode: followed again. */
    later(b, 10);
    targets_report(b, true); /* back in service */
    assert_false(b->s->undraining);
    request(b, "a1", "b3", DRAIN(3));
    assert_int_equal(b->s->st.state, SITE_DRAINING);
    tell(b, a);
    assert_int_equal(a->s->st.state, SITE_DRAINING);
    fix_free(a);
    fix_free(b);
}

/* A peer's undrain is not followed while the drain condition holds here. */
static void
test_peer_undrain_condition(void **state)
{
    struct fix *a, *b;
    char err[256];
    (void)state;

    pair_new(&a, &b, "vote = 1\n");
    request(a, "a1", "b3", DRAIN(1));
    tell(a, b);
    request(a, "a1", "b3", NONE(2)); /* c2 never hears the none */
    assert_int_equal(command(a, SITE_CMD_UNDRAIN, "", err, sizeof(err)), 0);
    /* c2 followed the drain: its condition is the peer's, not its own. */
    request(b, "a1", "b3", DRAIN(1));
    later(b, 10);
    tell(a, b);
    assert_int_equal(b->s->st.state, SITE_DRAINING);
    assert_non_null(audit_of(b, "undrain_peer_refused"));
    assert_true(logged(b, "the drain condition still holds here"));
    later(b, 10);
    tell(a, b); /* said once */
    assert_null(audit_of(b, "undrain_peer_refused"));
    fix_free(a);
    fix_free(b);
}

/* A person's hold on one controller is followed, and so is its release;
 * a held site does not follow a peer's drain. */
static void
test_peer_hold(void **state)
{
    struct fix *a, *b;
    char err[256];
    (void)state;

    pair_new(&a, &b, "vote = 1\n");
    assert_int_equal(command(a, SITE_CMD_HOLD, "maintenance", err, sizeof(err)), 0);
    assert_string_equal(a->s->st.hold_origin, "c1");
    tell(a, b);
    assert_true(b->s->st.held);
    assert_string_equal(b->s->st.hold_origin, "c1");
    assert_non_null(audit_of(b, "hold_peer"));
    /* c2's state (held, origin c1) does not release c1 or hold it twice. */
    later(a, 10);
    tell(b, a);
    assert_true(a->s->st.held);
    assert_null(audit_of(a, "hold_peer"));
    assert_null(audit_of(a, "release_peer"));
    later(a, 10);
    later(b, 10);
    assert_int_equal(command(a, SITE_CMD_RELEASE, "", err, sizeof(err)), 0);
    tell(a, b);
    assert_false(b->s->st.held);
    assert_non_null(audit_of(b, "release_peer"));
    /* Held on c1 again; this time a person releases it on c2, the
     * follower: c1 follows that release, and c2 stays released. */
    later(a, 10);
    later(b, 10);
    assert_int_equal(command(a, SITE_CMD_HOLD, "", err, sizeof(err)), 0);
    tell(a, b);
    assert_true(b->s->st.held);
    tell(b, a); /* c1 has seen c2 held */
    assert_int_equal(command(b, SITE_CMD_RELEASE, "", err, sizeof(err)), 0);
    tell(b, a);
    assert_false(a->s->st.held);
    assert_non_null(audit_of(a, "release_peer"));
    later(b, 10);
    tell(a, b);
    assert_false(b->s->st.held);
    assert_null(audit_of(b, "hold_peer"));
    fix_free(a);
    fix_free(b);
}

/* A held site does not follow a peer's drain; says so once. */
static void
test_peer_drain_held(void **state)
{
    struct fix *a, *b;
    char err[256];
    (void)state;

    pair_new(&a, &b, "vote = 1\n");
    assert_int_equal(command(b, SITE_CMD_HOLD, "", err, sizeof(err)), 0);
    request(a, "a1", "b3", DRAIN(1));
    assert_true(a->s->st.state == SITE_DRAINING);
    /* c1 follows c2's hold only from c2's state; here c1 drained first. */
    later(b, 10);
    tell(a, b);
    assert_int_equal(b->s->st.state, SITE_SERVING);
    assert_non_null(audit_of(b, "suppressed_held"));
    /* Released: the peer's drain, still in force, is followed then. */
    later(b, 10);
    assert_int_equal(command(b, SITE_CMD_RELEASE, "", err, sizeof(err)), 0);
    assert_int_equal(b->s->st.state, SITE_DRAINING);
    assert_non_null(audit_of(b, "drain_peer"));
    fix_free(a);
    fix_free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settle),          cmocka_unit_test(test_votes_and_hold_down),
        cmocka_unit_test(test_hold_down_flap),  cmocka_unit_test(test_test_requests),
        cmocka_unit_test(test_offline),         cmocka_unit_test(test_hold_release),
        cmocka_unit_test(test_undrain),         cmocka_unit_test(test_manual_drain),
        cmocka_unit_test(test_maint_after),     cmocka_unit_test(test_maint_after_clock_step),
        cmocka_unit_test(test_hooks),           cmocka_unit_test(test_restore),
        cmocka_unit_test(test_adopt),           cmocka_unit_test(test_adopt_untrusted),
        cmocka_unit_test(test_peer_drain_followed), cmocka_unit_test(test_peer_undrain_followed),
        cmocka_unit_test(test_peer_undrain_condition), cmocka_unit_test(test_peer_hold),
        cmocka_unit_test(test_peer_drain_held),
        cmocka_unit_test(test_request_trust),   cmocka_unit_test(test_dry_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
