/*
 * drainer.c - ember-drain's wiring: one poll loop, the MQTT session, the
 * control socket, the HAProxy workers, the hooks, the state file and the
 * audit log around each site's state machine (site.c).
 *
 * Every event becomes one call into the site machine; the effects it
 * returns are executed here, in order, by run().  Decisions live in site.c,
 * JSON in drain_json.c, command parsing in command.c.
 */
#include "drainer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cmdmsg.h"
#include "command.h"
#include "dns.h"
#include "ctlsock.h"
#include "dmetrics.h"
#include "drain_json.h"
#include "dstate.h"
#include "haproxy.h"
#include "hook.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "safefile.h"
#include "site.h"
#include "util.h"


#define TOPIC_MAX 512

struct drainer;

struct site_rt {
    struct drainer *d;
    struct site m;
    int timers[SITE_NTIMERS];    /* loop timer ids; 0: not armed */
    char *published;             /* last payload without ts, to publish only changes */
    struct cmdmsg_recent recent; /* ids of the site's latest MQTT commands */
};

struct drainer {
    struct dconf *conf;
    struct loop *loop;
    struct mqtt *mqtt;
    struct ctlsock *ctl;
    struct httpd *http; /* [metrics], or NULL */
    struct hooks *hooks;
    struct audit *audit;
    struct haproxy *hx[DCONF_MAX_HAPROXY];
    struct hx_view views[DCONF_MAX_HAPROXY];
    struct dns *dns[DCONF_MAX_DNS];
    struct dns_view *dviews; /* [DCONF_MAX_DNS]: large, so on the heap */
    int notify_rd, notify_wr;
    struct site_rt sites[DCONF_MAX_SITES];
    bool settled;
    bool settle_started;
    uint64_t watchdog_usec;
};

static struct site_now
now(void)
{
    return (struct site_now){.mono_ms = mono_ms(), .real_ms = real_ms()};
}

/* ---- effects ------------------------------------------------------------ */

static void
save_state(struct drainer *d)
{
    struct dstate_site all[DCONF_MAX_SITES];
    struct dstate_dns *dj = NULL;
    int rc, nj = 0;

    if (strcmp(d->conf->drain.state, "none") == 0)
        return;
    for (int i = 0; i < d->conf->nsites; i++)
        all[i] = d->sites[i].m.st;
    if (d->dviews != NULL && d->conf->ndns > 0) {
        dj = xcalloc((size_t)d->conf->ndns * DNS_MAX_SETS, sizeof(*dj));
        for (int n = 0; n < d->conf->ndns; n++) {
            const struct dns_view *v = &d->dviews[n];
            for (int i = 0; i < v->nsets; i++, nj++) {
                snprintf(dj[nj].target, sizeof(dj[nj].target), "%s", d->conf->dnss[n].name);
                snprintf(dj[nj].name, sizeof(dj[nj].name), "%s", v->obs[i].name);
                dj[nj].family = v->obs[i].family;
                dj[nj].j = v->obs[i].journal;
            }
        }
    }
    if ((rc = dstate_save_all(d->conf->drain.state, all, d->conf->nsites, dj, nj)) < 0)
        log_errx("cannot write the state file %s: %s", d->conf->drain.state, strerror(-rc));
    free(dj);
}

/* Publishes {p}/{site}/drain/state when it changed (or when forced). */
static void
publish_site(struct drainer *d, struct site_rt *r, bool force)
{
    char *sig, *text, topic[TOPIC_MAX];

    if (!d->settled || d->mqtt == NULL)
        return;
    if (djson_state(&r->m, d->views, d->dviews, real_ms(), &sig, &text) < 0)
        return;
    if (force || r->published == NULL || strcmp(sig, r->published) != 0) {
        snprintf(topic, sizeof(topic), "%s/%s/drain/state", d->conf->mqtt.prefix, r->m.conf->name);
        /* With peers, this controller's own state too: the one its peers
         * follow, never overwritten by theirs. */
        if (r->m.npeers > 0) {
            char own[TOPIC_MAX];
            snprintf(own, sizeof(own), "%s/%s/drain/state/%s", d->conf->mqtt.prefix,
                     r->m.conf->name, d->conf->drain.id);
            mqtt_publish_topic(d->mqtt, own, text, strlen(text), 1, true);
        }
        if (mqtt_publish_topic(d->mqtt, topic, text, strlen(text), 1, true) == 0) {
            free(r->published);
            r->published = sig;
            sig = NULL;
        }
    }
    free(text);
    free(sig);
}

static void hold_down_due(void *arg);
static void maint_due(void *arg);

static void
set_timer(struct drainer *d, struct site_rt *r, int which, int64_t at_ms)
{
    static const loop_timer_fn fns[SITE_NTIMERS] = {hold_down_due, maint_due};
    int64_t delay;

    if (r->timers[which] > 0)
        loop_timer_cancel(d->loop, r->timers[which]);
    r->timers[which] = 0;
    if (at_ms <= 0)
        return;
    delay = at_ms - mono_ms();
    r->timers[which] = loop_timer(d->loop, delay > 0 ? delay : 0, fns[which], r);
}

static void
start_hook(struct drainer *d, struct site_rt *r, int k, const char *action)
{
    struct site_env env;

    site_hook_env(&r->m, action, &env);
    hooks_run(d->hooks, r->m.conf->hooks[k], r->m.index, action, r->m.st.drain_id, env.env);
}

/* Executes the effects of one call into the site machine, in order, and
 * frees them.  An effect may call back into the machine (a hook that cannot
 * start reports at once); that call has its own site_out. */
static void
run(struct drainer *d, struct site_rt *r, struct site_out *o)
{
    for (int i = 0; i < o->n; i++) {
        const struct site_fx *fx = &o->fx[i];
        switch (fx->kind) {
        case SITE_FX_LOG:
            if (fx->log.level <= LOG_LVL_ERR)
                log_errx("%s", fx->log.text);
            else if (fx->log.level == LOG_LVL_WARN)
                log_warnx("%s", fx->log.text);
            else if (fx->log.level == LOG_LVL_INFO)
                log_info("%s", fx->log.text);
            else
                log_debug("%s", fx->log.text);
            break;
        case SITE_FX_AUDIT:
            audit_event(d->audit, r->m.conf->name, fx->audit.event,
                        djson_audit(d->conf, &fx->audit));
            break;
        case SITE_FX_WANT:
            haproxy_want(d->hx[r->m.conf->targets[fx->want.target]], fx->want.want, fx->want.gen);
            break;
        case SITE_FX_DNS:
            dns_want(d->dns[r->m.conf->dns[fx->want.target]], fx->want.want, fx->want.gen);
            break;
        case SITE_FX_HOOK:
            start_hook(d, r, fx->hook.hook, fx->hook.action);
            break;
        case SITE_FX_TIMER:
            set_timer(d, r, fx->timer.timer, fx->timer.at_ms);
            break;
        case SITE_FX_SAVE:
            save_state(d);
            break;
        case SITE_FX_PUBLISH:
            publish_site(d, r, fx->publish.force);
            break;
        }
    }
    site_out_free(o);
}

/* ---- timers ------------------------------------------------------------- */

static void
site_timer_due(struct site_rt *r, int which)
{
    struct site_out o = {0};
    struct site_now t = now();

    r->timers[which] = 0;
    site_timer(&r->m, &t, which, &o);
    run(r->d, r, &o);
}

static void
hold_down_due(void *arg)
{
    site_timer_due(arg, SITE_TIMER_HOLD_DOWN);
}

static void
maint_due(void *arg)
{
    site_timer_due(arg, SITE_TIMER_MAINT);
}

static void
watchdog_tick(void *arg)
{
    struct drainer *d = arg;
    sd_notify(0, "WATCHDOG=1");
    loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
}

/* ---- [metrics] ---------------------------------------------------------- */

static char *
metrics_page(void *arg, bool openmetrics)
{
    struct drainer *d = arg;
    const struct site *all[DCONF_MAX_SITES];

    for (int i = 0; i < d->conf->nsites; i++)
        all[i] = &d->sites[i].m;
    return dmetrics_page(d->conf, all, d->views, d->dviews, d->mqtt && mqtt_connected(d->mqtt),
                         openmetrics);
}

/* ---- control socket ----------------------------------------------------- */

static char *
ctl_handler(void *arg, const char *req, size_t len, uid_t uid, pid_t pid)
{
    struct drainer *d = arg;
    struct command *cmd = xcalloc(1, sizeof(*cmd));
    char err[512] = "", *text;

    if (command_parse_ctl(d->conf, req, len, uid, cmd, err, sizeof(err)) < 0) {
        /* err says why */
    } else if (cmd->status) {
        const struct site *all[DCONF_MAX_SITES];
        for (int i = 0; i < d->conf->nsites; i++)
            all[i] = &d->sites[i].m;
        text = djson_answer_status(d->conf, all, cmd->site, d->views, d->dviews,
                                   d->mqtt && mqtt_connected(d->mqtt), d->settled);
        free(cmd);
        return text;
    } else {
        struct site_rt *r = &d->sites[cmd->site];
        struct site_out o = {0};
        struct site_now t = now();
        int rc = site_command(&r->m, &t, cmd->cmd, cmd->by, cmd->reason, "control socket", err,
                              sizeof(err), &o);
        run(d, r, &o);
        if (rc == 0) {
            free(cmd);
            return djson_answer_site(&r->m, d->views, d->dviews);
        }
    }
    if (!cmd->status)
        log_warnx("control command from pid %d rejected: %s", (int)pid, err);
    free(cmd);
    return djson_answer_error(err);
}

/* ---- MQTT --------------------------------------------------------------- */

static void
on_drain_request(struct drainer *d, struct site_rt *r, const char *topic, const char *agent,
                 const char *zone, const void *payload, size_t len)
{
    struct policy_req q;
    struct site_out o = {0};
    struct site_now t;
    char err[200];

    if (policy_parse_request(agent, zone, payload, len, &q, err, sizeof(err)) < 0) {
        log_warnx("site %s: ignoring malformed drain request on %s: %s", r->m.conf->name, topic,
                  err);
        return;
    }
    t = now();
    if (site_request(&r->m, &t, &q, &o) == -ENOSPC)
        log_warnx("site %s: too many (agent, zone) pairs; ignoring %s", r->m.conf->name, topic);
    run(d, r, &o);
}

/* Adopts the retained drain/state of a site the state file did not know
 * (the file was lost, or this is a new host), when this controller or one
 * of its [drain] peers published it. */
static void
on_retained_state(struct drainer *d, struct site_rt *r, const void *payload, size_t len)
{
    struct djson_state js;
    struct site_out o = {0};
    struct site_now t;

    if (djson_parse_state(payload, len, &js) < 0)
        return;
    t = now();
    site_adopt(&r->m, &t, js.has_controller ? js.controller : NULL, js.state,
               js.has_held_state ? js.held_state : NULL, js.has_cause ? js.cause : NULL,
               js.has_by ? js.by : NULL, js.drain_id, &o);
    run(d, r, &o);
}

/* A peer's own state, {p}/{site}/drain/state/{peer}: subscribed for the
 * [drain] peers only; the site follows it (site_peer_state()). */
static void
on_peer_state(struct drainer *d, struct site_rt *r, const char *peer, const void *payload,
              size_t len)
{
    struct site_peer *in;
    struct site_out o = {0};
    struct site_now t;

    if (len == 0 || strcmp(peer, d->conf->drain.id) == 0)
        return;
    in = xcalloc(1, sizeof(*in));
    if (djson_parse_peer(payload, len, peer, in) < 0) {
        log_warnx("site %s: ignoring a state on drain/state/%s that is not that controller's",
                  r->m.conf->name, peer);
    } else {
        t = now();
        site_peer_state(&r->m, &t, in, &o);
        run(d, r, &o);
    }
    free(in);
}

/* Publishes the result of an MQTT command on {p}/{site}/drain/cmd/result
 * (QoS 1, not retained). */
static void
command_result(struct drainer *d, struct site_rt *r, const char *verb, const struct command *cmd,
               const char *err)
{
    char topic[TOPIC_MAX];
    char *json = cmdmsg_result(real_ms(), cmd->id, verb, err == NULL, err, cmd->by_name);

    snprintf(topic, sizeof(topic), "%s/%s/drain/cmd/" CMDMSG_RESULT, d->conf->mqtt.prefix,
             r->m.conf->name);
    if (json != NULL)
        mqtt_publish_topic(d->mqtt, topic, json, strlen(json), 1, false);
    free(json);
}

static void
on_mqtt_command(struct drainer *d, struct site_rt *r, const char *verb, const void *payload,
                size_t len, bool retained)
{
    struct command *cmd = xcalloc(1, sizeof(*cmd));
    struct site_out o = {0};
    struct site_now t;
    char err[512] = "";
    int rc = command_parse_mqtt(verb, payload, len, cmd, err, sizeof(err));

    if (rc == -ENOENT) {
        log_warnx("site %s: %s rejected", r->m.conf->name, err);
        command_result(d, r, verb, cmd, err);
        free(cmd);
        return;
    }
    if (rc == 0 && retained) {
        /* A retained command is never a fresh operator decision. */
        snprintf(err, sizeof(err), "retained command not run (publish commands without retain)");
        rc = -EINVAL;
    } else if (rc == 0 && cmdmsg_recent_seen(&r->recent, cmd->id)) {
        /* A QoS 1 duplicate (or a replay) of a command with an id runs once. */
        snprintf(err, sizeof(err), "id \"%s\" already seen: not run again", cmd->id);
        rc = -EALREADY;
    } else if (rc == 0) {
        t = now();
        rc = site_command(&r->m, &t, cmd->cmd, cmd->by, cmd->reason, "mqtt", err, sizeof(err), &o);
        run(d, r, &o);
    }
    if (rc < 0)
        log_warnx("site %s: MQTT command %s rejected: %s", r->m.conf->name, verb, err);
    command_result(d, r, verb, cmd, rc < 0 ? err : NULL);
    free(cmd);
}

/* An agent's or a controller's status payload: enum agent_status. */
static int
status_of(const void *payload, size_t len)
{
    if (len == 6 && memcmp(payload, "online", 6) == 0)
        return AGENT_ONLINE;
    if (len == 7 && memcmp(payload, "offline", 7) == 0)
        return AGENT_OFFLINE;
    return AGENT_UNKNOWN;
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
    struct site_rt *r;

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
    if (*p || n < 2)
        return;
    if (n == 3 && strcmp(parts[0], "_drain") == 0 && strcmp(parts[2], "status") == 0) {
        /* _drain/{peer}/status: a peer's Last Will and birth. */
        int st = status_of(payload, len);
        for (int i = 0; i < d->conf->nsites; i++) {
            struct site_out o = {0};
            site_peer_status(&d->sites[i].m, parts[1], st, &o);
            run(d, &d->sites[i], &o);
        }
        return;
    }
    if ((si = dconf_site_find(d->conf, parts[0])) < 0)
        return;
    r = &d->sites[si];

    if (n == 4 && strcmp(parts[2], "drain") == 0) {
        /* {site}/{agent}/drain/{zone} */
        on_drain_request(d, r, topic, parts[1], parts[3], payload, len);
    } else if (n == 3 && strcmp(parts[2], "status") == 0 && strcmp(parts[1], "drain") != 0) {
        int st = status_of(payload, len);
        struct site_out o = {0};
        struct site_now t = now();
        site_agent_status(&r->m, &t, parts[1], st, &o);
        run(d, r, &o);
    } else if (n == 3 && strcmp(parts[1], "drain") == 0 && strcmp(parts[2], "state") == 0) {
        if (!d->settled && !r->m.restored && retained && len > 0)
            on_retained_state(d, r, payload, len);
    } else if (n == 4 && strcmp(parts[1], "drain") == 0 && strcmp(parts[2], "state") == 0) {
        on_peer_state(d, r, parts[3], payload, len);
    } else if (n == 4 && strcmp(parts[1], "drain") == 0 && strcmp(parts[2], "cmd") == 0) {
        /* drain/cmd/+ also matches the controller's own results. */
        if (!r->m.conf->mqtt_commands || strcmp(parts[3], CMDMSG_RESULT) == 0)
            return;
        on_mqtt_command(d, r, parts[3], payload, len, retained);
    }
}

static void
settle_done(void *arg)
{
    struct drainer *d = arg;

    d->settled = true;
    log_info("settled: evaluating %d site(s)", d->conf->nsites);
    for (int i = 0; i < d->conf->nsites; i++) {
        struct site_out o = {0};
        struct site_now t = now();
        site_settle(&d->sites[i].m, &t, &o);
        run(d, &d->sites[i], &o);
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

/* ---- HAProxy and DNS worker reports ------------------------------------- */

static bool
set_equal(const struct dns_set *a, const struct dns_set *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->r[i].addr, b->r[i].addr) != 0 || a->r[i].ttl != b->r[i].ttl)
            return false;
    return true;
}

static bool
journal_equal(const struct dns_journal *a, const struct dns_journal *b)
{
    return set_equal(&a->removed, &b->removed) && set_equal(&a->added, &b->added);
}

/* Audits what [dns] target k of r's site sent (or refused to send) and
 * tells the machine what it reads back. */
static void
dns_report(struct drainer *d, struct site_rt *r, int k)
{
    int n = r->m.conf->dns[k];
    struct dns_log *logs = xcalloc(DNS_LOG_MAX, sizeof(*logs));
    int nl = dns_take_log(d->dns[n], logs, DNS_LOG_MAX);
    char old[sizeof(d->dviews[n].error)];
    bool journal_changed = false;
    struct dns_view *prev = xcalloc(1, sizeof(*prev));

    snprintf(old, sizeof(old), "%s", d->dviews[n].error);
    *prev = d->dviews[n];
    dns_view(d->dns[n], &d->dviews[n]);
    for (int i = 0; i < d->dviews[n].nsets; i++)
        if (!journal_equal(&prev->obs[i].journal, &d->dviews[n].obs[i].journal))
            journal_changed = true;
    free(prev);
    /* What a drain removed must survive a restart: saved as soon as the
     * update is read back. */
    if (journal_changed)
        save_state(d);
    for (int j = 0; j < nl; j++) {
        struct site_audit a;
        site_audit_fill(&r->m, logs[j].dry ? "dns_dry_run" : logs[j].ok ? "dns" : "dns_error", &a);
        audit_event(d->audit, r->m.conf->name, a.event,
                    djson_audit_dns(&a, d->conf->dnss[n].name, logs[j].what, logs[j].result,
                                    logs[j].ok));
    }
    free(logs);
    if (strcmp(old, d->dviews[n].error) != 0 && d->dviews[n].error[0])
        log_warnx("dns %s: %s", d->conf->dnss[n].name, d->dviews[n].error);
    site_dns_target(&r->m, k, d->dviews[n].done_gen, d->dviews[n].reached);
}

static void
on_worker(void *arg, short revents)
{
    struct drainer *d = arg;
    char buf[256];
    (void)revents;

    while (read(d->notify_rd, buf, sizeof(buf)) > 0)
        ;
    for (int i = 0; i < d->conf->nsites; i++) {
        struct site_rt *r = &d->sites[i];
        struct site_out o = {0};
        struct site_now t;
        for (int k = 0; k < r->m.conf->ntargets; k++) {
            int h = r->m.conf->targets[k];
            struct hx_log logs[HX_LOG_MAX];
            int n = haproxy_take_log(d->hx[h], logs, HX_LOG_MAX);
            struct hx_view old = d->views[h];
            haproxy_view(d->hx[h], &d->views[h]);
            const struct dconf_haproxy *hc = &d->conf->haproxies[h];
            bool bgp = hc->kind == DCONF_TARGET_BGP;
            for (int j = 0; j < n; j++) {
                struct site_audit a;
                if (bgp)
                    site_audit_fill(&r->m, logs[j].dry ? "bgp_dry_run" : "bgp", &a);
                else
                    site_audit_fill(&r->m, logs[j].dry ? "haproxy_dry_run" : "haproxy", &a);
                audit_event(d->audit, r->m.conf->name, a.event,
                            djson_audit_target(&a, dconf_target_kind_name(hc), hc->name, &logs[j]));
            }
            if (old.reachable != d->views[h].reachable || strcmp(old.error, d->views[h].error))
                if (d->views[h].error[0]) {
                    log_warnx("%s %s: %s", dconf_target_kind_name(hc), hc->name,
                              d->views[h].error);
                    if (bgp) {
                        /* A BIRD that cannot be reached or refuses is audited
                         * once per change, not on every retry. */
                        struct site_audit a;
                        site_audit_fill(&r->m, "bgp_error", &a);
                        audit_event(d->audit, r->m.conf->name, a.event,
                                    djson_audit_target_error(&a, hc->name, d->views[h].error));
                    }
                }
            site_target(&r->m, k, d->views[h].done_gen, d->views[h].reached);
        }
        for (int k = 0; k < r->m.conf->ndns; k++)
            dns_report(d, r, k);
        t = now();
        site_progress(&r->m, &t, &o);
        run(d, r, &o);
    }
}

/* ---- hooks -------------------------------------------------------------- */

static void
on_hook_done(void *arg, int hook, int site, const char *action, uint64_t id, int status)
{
    struct drainer *d = arg;
    struct site_rt *r = &d->sites[site];
    struct site_out o = {0};
    struct site_now t = now();
    char what[96];

    hooks_status_str(status, what, sizeof(what));
    site_hook_done(&r->m, &t, hook, action, id, status, what, &o);
    run(d, r, &o);
}

/* ---- life cycle --------------------------------------------------------- */

/* Returns 0, or -EPERM when the state file may not be trusted (a link,
 * another user's file): starting from it, or writing over it, is refused. */
static int
restore(struct drainer *d)
{
    struct dstate_site saved[DCONF_MAX_SITES];
    char err[512] = "";
    int n = 0, rc = 0;

    if (strcmp(d->conf->drain.state, "none") != 0)
        rc = dstate_load(d->conf->drain.state, saved, DCONF_MAX_SITES, &n, err, sizeof(err));
    if (rc < 0) {
        if (rc == -EPERM) {
            log_errx("state file ([drain] state): %s", err);
            return rc;
        }
        log_errx("state file %s: %s; rebuilding from the broker's retained state and HAProxy",
                 d->conf->drain.state, err);
    }
    for (int i = 0; i < n; i++) {
        int si = dconf_site_find(d->conf, saved[i].name);
        struct site_out o = {0};
        if (si < 0) {
            log_warnx("state file: site %s is no longer configured; forgetting it", saved[i].name);
            continue;
        }
        site_restore(&d->sites[si].m, &saved[i], &o);
        run(d, &d->sites[si], &o);
    }
    return 0;
}

/* The [dns] journals of the state file, into the views the workers start
 * from; an entry for an RRset no longer configured is dropped, with a
 * warning naming what it would have restored. */
static void
restore_dns(struct drainer *d)
{
    const struct dconf *c = d->conf;
    struct dstate_dns *saved;
    char err[512] = "";
    int n = 0, rc;

    d->dviews = xcalloc(DCONF_MAX_DNS, sizeof(*d->dviews));
    for (int k = 0; k < c->ndns; k++)
        dns_view_init(&c->dnss[k], &d->dviews[k]);
    if (strcmp(c->drain.state, "none") == 0 || c->ndns == 0)
        return;
    saved = xcalloc(DCONF_MAX_DNS * DNS_MAX_SETS, sizeof(*saved));
    rc = dstate_load_dns(c->drain.state, saved, DCONF_MAX_DNS * DNS_MAX_SETS, &n, err,
                         sizeof(err));
    if (rc < 0)
        log_errx("state file %s: DNS journals: %s", c->drain.state, err);
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int k = 0; k < c->ndns && !found; k++) {
            struct dns_view *v = &d->dviews[k];
            if (strcmp(c->dnss[k].name, saved[i].target) != 0)
                continue;
            for (int s = 0; s < v->nsets && !found; s++) {
                if (strcasecmp(v->obs[s].name, saved[i].name) == 0 &&
                    v->obs[s].family == saved[i].family) {
                    v->obs[s].journal = saved[i].j;
                    found = true;
                }
            }
        }
        if (!found)
            log_warnx("state file: [dns %s] %s %s is no longer configured; forgetting what its "
                      "drain removed (%d record(s))",
                      saved[i].target, saved[i].name, saved[i].family == 6 ? "AAAA" : "A",
                      saved[i].j.removed.n);
        else
            log_info("state file: [dns %s] %s %s: %d record(s) to restore on undrain",
                     saved[i].target, saved[i].name, saved[i].family == 6 ? "AAAA" : "A",
                     saved[i].j.removed.n);
    }
    free(saved);
}

/* A state request: every settled site's state again (the session has
 * published "online"); an unsettled one publishes it when settled. */
static void
on_state_request(void *arg)
{
    struct drainer *d = arg;

    for (int i = 0; i < d->conf->nsites && d->settled; i++)
        publish_site(d, &d->sites[i], true);
}

static void
deliver(void *arg, const struct mqtt_msg *msg)
{
    on_mqtt_message(arg, msg->topic, msg->payload, msg->len, msg->retained);
}

/* The controller's session: status on {prefix}/_drain/{id}; per site, the
 * agents' drain requests and status, the site's own retained drain/state
 * (to rebuild after a restart) and, when the site allows it, drain/cmd/+;
 * state requests for all and for each of its sites. */
static int
start_mqtt(struct drainer *d)
{
    const struct dconf *c = d->conf;
    const char *pre = c->mqtt.prefix;
    struct mqtt_params p = {
        .conf = &c->mqtt, .on_ready = on_mqtt_ready, .on_message = deliver, .arg = d};
    int rc = mqtt_params_base(&p, "%s/_drain/%s", pre, c->drain.id);

    for (int i = 0; i < c->nsites && rc == 0; i++) {
        const char *s = c->sites[i].name;
        if ((rc = mqtt_params_subscribe(&p, 1, "%s/%s/+/drain/+", pre, s)) < 0 ||
            (rc = mqtt_params_subscribe(&p, 1, "%s/%s/+/status", pre, s)) < 0 ||
            (rc = mqtt_params_subscribe(&p, 1, "%s/%s/drain/state", pre, s)) < 0)
            break;
        for (int k = 0; k < c->drain.npeers && rc == 0; k++)
            if (strcmp(c->drain.peers[k], c->drain.id) != 0)
                rc = mqtt_params_subscribe(&p, 1, "%s/%s/drain/state/%s", pre, s,
                                           c->drain.peers[k]);
        if (c->sites[i].mqtt_commands && rc == 0)
            rc = mqtt_params_subscribe(&p, 1, "%s/%s/drain/cmd/+", pre, s);
    }
    for (int k = 0; k < c->drain.npeers && rc == 0; k++)
        if (strcmp(c->drain.peers[k], c->drain.id) != 0)
            rc = mqtt_params_subscribe(&p, 1, "%s/_drain/%s/status", pre, c->drain.peers[k]);
    if (rc == 0) {
        const char *names[DCONF_MAX_SITES];
        for (int i = 0; i < c->nsites; i++)
            names[i] = c->sites[i].name;
        rc = mqtt_params_state_requests(&p, pre, names, c->nsites, on_state_request);
    }
    return rc < 0 ? rc : mqtt_init(&d->mqtt, &p, d->loop);
}

static void
drainer_fini(void *arg)
{
    struct drainer *d = arg;

    if (d == NULL)
        return;
    if (d->audit != NULL)
        audit_event(d->audit, NULL, "stop", NULL);
    mqtt_fini(d->mqtt, 2000);
    httpd_close(d->http);
    ctlsock_close(d->ctl);
    for (int h = 0; h < d->conf->nhaproxies; h++)
        haproxy_stop(d->hx[h]);
    for (int n = 0; n < d->conf->ndns; n++)
        dns_stop(d->dns[n]);
    free(d->dviews);
    hooks_fini(d->hooks);
    audit_close(d->audit);
    if (d->notify_rd >= 0)
        close(d->notify_rd);
    if (d->notify_wr >= 0)
        close(d->notify_wr);
    loop_fini(d->loop);
    for (int i = 0; i < d->conf->nsites; i++)
        free(d->sites[i].published);
    dconf_free(d->conf);
    free(d);
}

/* SIGHUP (logrotate's postrotate): the audit log is reopened at its path.
 * Every line is written whole by one write() on the loop thread, so each
 * line goes to either the old file or the new one. */
static void
reopen_audit(struct drainer *d)
{
    char err[512];

    if (audit_reopen(d->audit, d->conf->drain.audit, err, sizeof(err)) < 0) {
        log_warn("SIGHUP: cannot reopen the audit log %s (still writing the old file): %s",
                 d->conf->drain.audit, err);
        return;
    }
    log_info("SIGHUP: reopened the audit log %s", d->conf->drain.audit);
    audit_event(d->audit, NULL, "reopen", NULL);
}

static void
drainer_run(void *arg)
{
    struct drainer *d = arg;

    sd_notifyf(0, "READY=1\nSTATUS=settling: waiting for retained requests");
    int nbgp = 0;

    for (int h = 0; h < d->conf->nhaproxies; h++)
        nbgp += d->conf->haproxies[h].kind == DCONF_TARGET_BGP;
    log_info("running: %d site(s), %d HAProxy instance(s), %d BGP target(s), %d DNS target(s), "
             "%d hook(s)%s",
             d->conf->nsites, d->conf->nhaproxies - nbgp, nbgp, d->conf->ndns, d->conf->nhooks,
             d->conf->drain.dry_run ? ", DRY RUN" : "");
    while (!loop_sig_stop) {
        loop_run(d->loop);
        if (loop_sig_hup) {
            loop_sig_hup = 0;
            reopen_audit(d);
        }
    }
}

static int
drainer_init(void **out, void *conf)
{
    struct dconf *c = conf;
    struct drainer *d = xcalloc(1, sizeof(*d));
    char err[512];
    int p[2], rc;

    d->conf = c;
    d->notify_rd = d->notify_wr = -1;
    for (int i = 0; i < c->nsites; i++) {
        d->sites[i].d = d;
        site_init(&d->sites[i].m, c, i);
    }
    if ((rc = loop_init(&d->loop)) < 0)
        goto fail;
    /* From here a stop request is a clean stop; SIGHUP reopens the audit log. */
    loop_signals(d->loop, true);
    if ((rc = audit_open(&d->audit, c->drain.audit, err, sizeof(err))) < 0) {
        log_errx("cannot open the audit log ([drain] audit): %s", err);
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
    audit_event(d->audit, NULL, "start",
                djson_audit_start(c->drain.id, (long)getpid(), c->drain.dry_run));
    /* The journals first: a save while restoring the sites keeps them. */
    restore_dns(d);
    if ((rc = restore(d)) < 0)
        goto fail;
    for (int h = 0; h < c->nhaproxies; h++) {
        if ((rc = haproxy_start(&d->hx[h], &c->haproxies[h], c->drain.dry_run, d->notify_wr)) < 0) {
            log_errx("cannot start the worker for [haproxy %s]: %s", c->haproxies[h].name,
                     strerror(-rc));
            goto fail;
        }
    }
    for (int n = 0; n < c->ndns; n++) {
        if ((rc = dns_start(&d->dns[n], &c->dnss[n], c->drain.dry_run, d->notify_wr,
                            &d->dviews[n])) < 0) {
            log_errx("cannot start the worker for [dns %s]: %s", c->dnss[n].name, strerror(-rc));
            goto fail;
        }
    }
    /* Converge restored decisions now: each worker reads HAProxy first and
     * sends only what is not in effect. */
    for (int i = 0; i < c->nsites; i++) {
        struct site_out o = {0};
        struct site_now t = now();
        site_start(&d->sites[i].m, &t, &o);
        run(d, &d->sites[i], &o);
    }
    if ((rc = safefile_check_path(c->drain.control, SAFEFILE_SOCKET, err, sizeof(err))) < 0) {
        log_errx("cannot create control socket ([drain] control): %s", err);
        goto fail;
    }
    if ((rc = ctlsock_open(&d->ctl, c->drain.control, c->drain.control_mode, NULL, d->loop,
                           ctl_handler, d)) < 0) {
        log_errx("cannot create control socket %s ([drain] control): %s", c->drain.control,
                 rc == -EADDRINUSE ? "another ember-drain is listening on it" : strerror(-rc));
        goto fail;
    }
    if (c->metrics.listen != NULL &&
        (rc = httpd_open(&d->http, d->loop, c->metrics.listen, metrics_page, d)) < 0)
        goto fail;
    if ((rc = start_mqtt(d)) < 0) {
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

const struct prog_ops drainer_ops = {drainer_init, drainer_run, drainer_fini};
