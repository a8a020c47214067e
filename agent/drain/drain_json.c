/*
 * drain_json.c - ember-drain's JSON with cJSON: drain/state, control-socket
 * answers, audit entries, retained-state adoption.  Builds and parses only;
 * no I/O.
 */
#include "drain_json.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* "a,b" -> ["a","b"] (empty items dropped). */
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

static const char *
agent_status_name(int st)
{
    return st == AGENT_ONLINE ? "online" : st == AGENT_OFFLINE ? "offline" : "unknown";
}

/* One entry per RRset of [dns] target n: "name" SECTION/OWNER/TYPE, "state"
 * "present" (some of the site's addresses are in it), "absent", "unknown"
 * or "unreachable", the records read back, and the last error. */
static void
dns_targets(const struct dconf *c, int n, const struct dns_view *v, cJSON *targets)
{
    const struct dconf_dns *dc = &c->dnss[n];

    for (int i = 0; v != NULL && i < v->nsets; i++) {
        const struct dns_obs *ob = &v->obs[i];
        cJSON *x = cJSON_CreateObject(), *recs;
        char name[NAME_MAX_LEN + DCONF_DNS_NAME_LEN + 10];
        const char *state = "unknown";
        snprintf(name, sizeof(name), "%s/%s/%s", dc->name, ob->name, ob->family == 6 ? "AAAA" : "A");
        if (!v->reachable) {
            state = "unreachable";
        } else if (ob->known) {
            state = "absent";
            for (int k = 0; k < dc->naddresses; k++)
                if (dnsplan_has(&ob->cur, dc->addresses[k]))
                    state = "present";
        }
        cJSON_AddStringToObject(x, "name", name);
        cJSON_AddStringToObject(x, "kind", "dns");
        cJSON_AddStringToObject(x, "state", state);
        recs = cJSON_AddArrayToObject(x, "records");
        for (int k = 0; ob->known && k < ob->cur.n; k++)
            cJSON_AddItemToArray(recs, cJSON_CreateString(ob->cur.r[k].addr));
        if (ob->known && ob->cur.n > 0)
            cJSON_AddNumberToObject(x, "ttl", ob->cur.r[0].ttl);
        if (v->error[0])
            cJSON_AddStringToObject(x, "error", v->error);
        cJSON_AddItemToArray(targets, x);
    }
}

/* The fields that let peer controllers converge: the drain this state
 * carries out, the drains the last undrain ended, where a hold came from;
 * and what this controller knows of its peers. */
static void
peer_fields(const struct site *s, cJSON *o)
{
    cJSON *arr, *x;

    if (s->st.state != SITE_SERVING && s->st.ep.ctl[0])
        cJSON_AddItemToObject(o, "episode", dstate_episode_json(&s->st.ep));
    if (s->st.nundone > 0) {
        arr = cJSON_AddArrayToObject(o, "undone");
        for (int k = 0; k < s->st.nundone; k++)
            cJSON_AddItemToArray(arr, dstate_episode_json(&s->st.undone[k]));
    }
    if (s->st.held && s->st.hold_origin[0])
        cJSON_AddStringToObject(o, "hold_origin", s->st.hold_origin);
    if (s->npeers == 0)
        return;
    arr = cJSON_AddArrayToObject(o, "controllers");
    x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "id", s->dc->drain.id);
    cJSON_AddStringToObject(x, "status", "online");
    cJSON_AddStringToObject(x, "state", site_shown_state(s));
    if (s->st.state != SITE_SERVING && s->st.ep.ctl[0])
        cJSON_AddStringToObject(x, "decided_by", s->st.ep.ctl);
    cJSON_AddItemToArray(arr, x);
    for (int k = 0; k < s->npeers; k++) {
        const struct site_peer *p = &s->peers[k];
        x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", p->id);
        cJSON_AddStringToObject(x, "status", agent_status_name(p->online));
        if (p->known) {
            cJSON_AddStringToObject(x, "state", p->held ? "held" : dstate_name(p->state));
            if (p->state != SITE_SERVING && p->ep.ctl[0])
                cJSON_AddStringToObject(x, "decided_by", p->ep.ctl);
        } else {
            cJSON_AddNullToObject(x, "state");
        }
        cJSON_AddItemToArray(arr, x);
    }
}

void *
djson_site(const struct site *s, const struct hx_view *views, const struct dns_view *dviews,
           bool detail)
{
    const struct dconf *c = s->dc;
    cJSON *o = cJSON_CreateObject(), *targets, *arr;
    char ts[32];

    cJSON_AddStringToObject(o, "site", s->conf->name);
    cJSON_AddStringToObject(o, "state", site_shown_state(s));
    if (s->st.held)
        cJSON_AddStringToObject(o, "held_state", dstate_name(s->st.state));
    targets = cJSON_AddArrayToObject(o, "targets");
    for (int t = 0; t < s->conf->ntargets; t++) {
        int h = s->conf->targets[t];
        const struct dconf_haproxy *hc = &c->haproxies[h];
        const struct hx_view *v = &views[h];
        for (int i = 0; i < hc->nservers; i++) {
            cJSON *x = cJSON_CreateObject();
            char name[3 * NAME_MAX_LEN + 3];
            snprintf(name, sizeof(name), "%s/%s/%s", hc->name, hc->servers[i].backend,
                     hc->servers[i].server);
            cJSON_AddStringToObject(x, "name", name);
            cJSON_AddStringToObject(x, "kind", dconf_target_kind_name(hc));
            cJSON_AddStringToObject(
                x, "state", v->reachable || i >= v->nservers ? v->obs[i].state : "unreachable");
            if (hc->kind == DCONF_TARGET_BGP) {
                /* The static protocol's state in BIRD, and why it is not as wanted. */
                cJSON_AddStringToObject(x, "protocol",
                                        v->proto_state[0] ? v->proto_state : "unknown");
                if (v->error[0])
                    cJSON_AddStringToObject(x, "error", v->error);
            } else if (i < v->nservers && v->obs[i].known) {
                cJSON_AddNumberToObject(x, "weight", v->obs[i].row.uweight);
            }
            cJSON_AddItemToArray(targets, x);
        }
    }
    for (int t = 0; t < s->conf->ndns; t++)
        dns_targets(c, s->conf->dns[t], dviews ? &dviews[s->conf->dns[t]] : NULL, targets);
    for (int k = 0; k < s->conf->nhooks; k++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", c->hooks[s->conf->hooks[k]].name);
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
    cJSON_AddBoolToObject(o, "dry_run", c->drain.dry_run);
    cJSON_AddStringToObject(o, "controller", c->drain.id);
    peer_fields(s, o);
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
            cJSON_AddStringToObject(x, "agent", s->policy.agents[i].name);
            cJSON_AddStringToObject(x, "status", agent_status_name(s->policy.agents[i].status));
            cJSON_AddItemToArray(arr, x);
        }
        cJSON_AddBoolToObject(o, "condition", s->last.drain);
        cJSON_AddStringToObject(o, "condition_cause", s->last.cause);
        cJSON_AddBoolToObject(o, "undraining", s->undraining);
    }
    return o;
}

int
djson_state(const struct site *s, const struct hx_view *views, const struct dns_view *dviews,
            int64_t now_real_ms, char **sig,
            char **text)
{
    cJSON *o = djson_site(s, views, dviews, false), *full, *it;
    char ts[32];

    *text = NULL;
    *sig = cJSON_PrintUnformatted(o);
    if (*sig == NULL) {
        cJSON_Delete(o);
        return -ENOMEM;
    }
    fmt_rfc3339_ms(now_real_ms, ts, sizeof(ts));
    full = cJSON_CreateObject();
    cJSON_AddStringToObject(full, "ts", ts);
    while ((it = o->child) != NULL) {
        cJSON_DetachItemViaPointer(o, it);
        cJSON_AddItemToObject(full, it->string, it);
    }
    cJSON_Delete(o);
    *text = cJSON_PrintUnformatted(full);
    cJSON_Delete(full);
    if (*text == NULL) {
        free(*sig);
        *sig = NULL;
        return -ENOMEM;
    }
    return 0;
}

static char *
print_delete(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    return text;
}

char *
djson_answer_status(const struct dconf *c, const struct site *const *sites, int only,
                    const struct hx_view *views, const struct dns_view *dviews, bool mqtt,
                    bool settled)
{
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "sites");

    cJSON_AddBoolToObject(out, "ok", true);
    cJSON_AddStringToObject(out, "controller", c->drain.id);
    cJSON_AddBoolToObject(out, "mqtt", mqtt);
    cJSON_AddBoolToObject(out, "settled", settled);
    cJSON_AddBoolToObject(out, "dry_run", c->drain.dry_run);
    for (int i = 0; i < c->nsites; i++)
        if (only < 0 || only == i)
            cJSON_AddItemToArray(arr, djson_site(sites[i], views, dviews, true));
    return print_delete(out);
}

char *
djson_answer_site(const struct site *s, const struct hx_view *views, const struct dns_view *dviews)
{
    cJSON *out = cJSON_CreateObject();

    cJSON_AddBoolToObject(out, "ok", true);
    cJSON_AddItemToObject(out, "site", djson_site(s, views, dviews, true));
    return print_delete(out);
}

char *
djson_answer_error(const char *err)
{
    cJSON *out = cJSON_CreateObject();

    cJSON_AddBoolToObject(out, "ok", false);
    cJSON_AddStringToObject(out, "error", err);
    return print_delete(out);
}

/* The site's decision fields, after the entry's own (which win). */
static void *
audit_site(cJSON *o, const struct site_audit *a)
{
    cJSON_AddStringToObject(o, "state", a->state);
    if (!cJSON_HasObjectItem(o, "cause"))
        cJSON_AddStringToObject(o, "cause", a->cause);
    if (a->by[0] && !cJSON_HasObjectItem(o, "by"))
        cJSON_AddStringToObject(o, "by", a->by);
    cJSON_AddNumberToObject(o, "drain_id", (double)a->drain_id);
    if (a->dry_run)
        cJSON_AddBoolToObject(o, "dry_run", true);
    return o;
}

void *
djson_audit(const struct dconf *c, const struct site_audit *a)
{
    cJSON *o = cJSON_CreateObject();

    switch (a->extra) {
    case SITE_AX_VOTES:
        cJSON_AddNumberToObject(o, "votes", a->votes);
        cJSON_AddNumberToObject(o, "vote", a->vote);
        cJSON_AddItemToObject(o, "zones", split_list(a->zones));
        cJSON_AddItemToObject(o, "agents", split_list(a->agents));
        cJSON_AddItemToObject(o, "alarms", split_list(a->alarms));
        break;
    case SITE_AX_ELAPSED:
        if (a->elapsed_ms >= 0)
            cJSON_AddNumberToObject(o, "elapsed_ms", (double)a->elapsed_ms);
        break;
    case SITE_AX_CAUSE:
        cJSON_AddStringToObject(o, "cause", a->cause);
        break;
    case SITE_AX_HOOK:
        cJSON_AddStringToObject(o, "hook", c->hooks[a->hook].name);
        cJSON_AddStringToObject(o, "action", a->action);
        cJSON_AddStringToObject(o, "result", a->result);
        break;
    case SITE_AX_REQUEST: {
        char ts[32];
        cJSON_AddStringToObject(o, "agent", a->agent);
        cJSON_AddStringToObject(o, "zone", a->zone);
        cJSON_AddStringToObject(o, "request", a->drain ? "drain" : "none");
        cJSON_AddNumberToObject(o, "seq", (double)a->seq);
        if (a->ts_ms > 0) {
            fmt_rfc3339_ms(a->ts_ms, ts, sizeof(ts));
            cJSON_AddStringToObject(o, "request_ts", ts);
        }
        cJSON_AddStringToObject(o, "cause", a->cause);
        break;
    }
    case SITE_AX_COMMAND:
        cJSON_AddStringToObject(o, "by", a->by);
        cJSON_AddStringToObject(o, "via", a->via);
        if (a->reason[0])
            cJSON_AddStringToObject(o, "reason", a->reason);
        break;
    default:
        break;
    }
    return audit_site(o, a);
}

void *
djson_audit_target(const struct site_audit *a, const char *kind, const char *name,
                   const struct hx_log *l)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, kind, name);
    cJSON_AddStringToObject(o, "command", l->cmd);
    cJSON_AddStringToObject(o, "result", l->result);
    cJSON_AddBoolToObject(o, "ok", l->ok);
    return audit_site(o, a);
}

void *
djson_audit_dns(const struct site_audit *a, const char *dns, const char *update,
                const char *result, bool ok)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "dns", dns);
    cJSON_AddStringToObject(o, "update", update);
    cJSON_AddStringToObject(o, "result", result);
    cJSON_AddBoolToObject(o, "ok", ok);
    return audit_site(o, a);
}

void *
djson_audit_target_error(const struct site_audit *a, const char *bgp, const char *error)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "bgp", bgp);
    cJSON_AddStringToObject(o, "error", error);
    return audit_site(o, a);
}

void *
djson_audit_start(const char *controller, long pid, bool dry_run)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "controller", controller);
    cJSON_AddNumberToObject(o, "pid", (double)pid);
    cJSON_AddBoolToObject(o, "dry_run", dry_run);
    return o;
}

int
djson_parse_state(const void *payload, size_t len, struct djson_state *out)
{
    cJSON *o = cJSON_ParseWithLength(payload, len);
    const cJSON *v;
    int rc = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(o))
        goto done;
    v = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!cJSON_IsString(v))
        goto done;
    snprintf(out->state, sizeof(out->state), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "held_state");
    if ((out->has_held_state = cJSON_IsString(v)))
        snprintf(out->held_state, sizeof(out->held_state), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "cause");
    if ((out->has_cause = cJSON_IsString(v)))
        snprintf(out->cause, sizeof(out->cause), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "by");
    if ((out->has_by = cJSON_IsString(v)))
        snprintf(out->by, sizeof(out->by), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "controller");
    if ((out->has_controller = cJSON_IsString(v) && name_valid(v->valuestring)))
        snprintf(out->controller, sizeof(out->controller), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "drain_id");
    out->drain_id = cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0;
    rc = 0;
done:
    cJSON_Delete(o);
    return rc;
}

int
djson_parse_peer(const void *payload, size_t len, const char *id, struct site_peer *out)
{
    cJSON *o = cJSON_ParseWithLength(payload, len), *it;
    const cJSON *v;
    const char *st;
    int rc = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(o))
        goto done;
    v = cJSON_GetObjectItemCaseSensitive(o, "controller");
    /* A controller speaks only for itself, on its own topic. */
    if (!cJSON_IsString(v) || strcmp(v->valuestring, id) != 0)
        goto done;
    snprintf(out->id, sizeof(out->id), "%s", id);
    v = cJSON_GetObjectItemCaseSensitive(o, "state");
    st = cJSON_IsString(v) ? v->valuestring : "";
    if (strcmp(st, "held") == 0) {
        out->held = true;
        v = cJSON_GetObjectItemCaseSensitive(o, "held_state");
        st = cJSON_IsString(v) ? v->valuestring : "serving";
    }
    if ((out->state = dstate_parse(st)) < 0)
        goto done;
    v = cJSON_GetObjectItemCaseSensitive(o, "hold_origin");
    if (out->held && cJSON_IsString(v) && name_valid(v->valuestring))
        snprintf(out->hold_origin, sizeof(out->hold_origin), "%s", v->valuestring);
    dstate_episode_parse(cJSON_GetObjectItemCaseSensitive(o, "episode"), &out->ep);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "undone"))
    {
        struct dstate_episode e;
        if (dstate_episode_parse(it, &e) == 0)
            dstate_episode_add(out->undone, &out->nundone, &e);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "cause");
    if (cJSON_IsString(v))
        snprintf(out->cause, sizeof(out->cause), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "by");
    if (cJSON_IsString(v))
        snprintf(out->by, sizeof(out->by), "%s", v->valuestring);
    rc = 0;
done:
    cJSON_Delete(o);
    return rc;
}
