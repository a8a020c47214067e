/*
 * policy.c - request table and vote counting for one site.
 */
#include "policy.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

void
policy_init(struct policy *p, const struct dconf_site *site)
{
    memset(p, 0, sizeof(*p));
    p->site = site;
}

/* "2026-11-25T06:37:36.123Z" -> ms since the epoch; 0 when unparsable. */
static int64_t
parse_ts(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    char *end;

    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        return 0;
    if (*end == '.') {
        int digits = 0;
        end++;
        while (*end >= '0' && *end <= '9') {
            if (digits < 3) {
                ms = ms * 10 + (*end - '0');
                digits++;
            }
            end++;
        }
        while (digits++ < 3)
            ms *= 10;
    }
    if (*end != 'Z')
        return 0;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int
policy_parse_request(const char *agent, const char *zone, const void *payload, size_t len,
                     struct policy_req *out, char *err, size_t errlen)
{
    cJSON *o, *v;
    int rc = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (strlen(agent) > NAME_MAX_LEN || strlen(zone) > NAME_MAX_LEN) {
        snprintf(err, errlen, "agent or zone name too long");
        return -EINVAL;
    }
    strcpy(out->agent, agent);
    strcpy(out->zone, zone);
    if (len == 0)
        return 0; /* retained message cleared: no request */
    o = cJSON_ParseWithLength(payload, len);
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "not a JSON object");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "request");
    if (!cJSON_IsString(v) ||
        (strcmp(v->valuestring, "drain") != 0 && strcmp(v->valuestring, "none") != 0)) {
        snprintf(err, errlen, "\"request\" must be \"drain\" or \"none\"");
        goto out;
    }
    out->drain = strcmp(v->valuestring, "drain") == 0;
    v = cJSON_GetObjectItemCaseSensitive(o, "zone");
    if (v != NULL && (!cJSON_IsString(v) || strcmp(v->valuestring, zone) != 0)) {
        snprintf(err, errlen, "\"zone\" does not match the topic's zone %s", zone);
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "test");
    if (v != NULL && !cJSON_IsBool(v)) {
        snprintf(err, errlen, "\"test\" must be true or false");
        goto out;
    }
    out->test = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(o, "seq");
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0) {
            snprintf(err, errlen, "\"seq\" must be a non-negative integer");
            goto out;
        }
        out->seq = (uint64_t)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "ts");
    if (cJSON_IsString(v))
        out->ts_ms = parse_ts(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "reason");
    if (cJSON_IsString(v))
        snprintf(out->reason, sizeof(out->reason), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "alarms");
    if (v != NULL && !cJSON_IsArray(v)) {
        snprintf(err, errlen, "\"alarms\" must be an array");
        goto out;
    }
    if (v != NULL) {
        const cJSON *a;
        size_t used = 0;
        cJSON_ArrayForEach(a, v)
        {
            if (!cJSON_IsString(a) || !name_valid(a->valuestring))
                continue;
            if (used + strlen(a->valuestring) + 2 >= sizeof(out->alarms))
                break;
            used += (size_t)snprintf(out->alarms + used, sizeof(out->alarms) - used, "%s%s",
                                     used ? "," : "", a->valuestring);
        }
    }
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

static int
req_index(const struct policy *p, const char *agent, const char *zone)
{
    for (int i = 0; i < p->nreq; i++)
        if (strcmp(p->req[i].agent, agent) == 0 && strcmp(p->req[i].zone, zone) == 0)
            return i;
    return -1;
}

const struct policy_req *
policy_find(const struct policy *p, const char *agent, const char *zone)
{
    int i = req_index(p, agent, zone);
    return i < 0 ? NULL : &p->req[i];
}

int
policy_admit(const struct policy *p, const struct policy_req *r, int64_t now_real_ms, char *err,
             size_t errlen)
{
    const struct dconf_site *s = p->site;

    if (r->ts_ms > 0 && r->ts_ms - now_real_ms > s->max_skew_ms) {
        char ts[32];
        fmt_rfc3339_ms(r->ts_ms, ts, sizeof(ts));
        snprintf(err, errlen, "dated %s, %lld s in the future (max_skew %lld s)", ts,
                 (long long)((r->ts_ms - now_real_ms) / 1000), (long long)(s->max_skew_ms / 1000));
        return -ERANGE;
    }
    if (dconf_site_has_zone(s, r->zone) && !dconf_site_agent_may(s, r->agent, r->zone)) {
        snprintf(err, errlen, "agent %s may not request a drain for zone %s (site %s: agents)",
                 r->agent, r->zone, s->name);
        return -EPERM;
    }
    return 0;
}

static unsigned
agent_session(const struct policy *p, const char *agent)
{
    for (int i = 0; i < p->nagents; i++)
        if (strcmp(p->agents[i].name, agent) == 0)
            return p->agents[i].session;
    return 0;
}

int
policy_update(struct policy *p, const struct policy_req *r)
{
    int i = req_index(p, r->agent, r->zone);
    unsigned session = agent_session(p, r->agent);
    struct policy_req *old;

    if (i < 0) {
        if (p->nreq == POLICY_MAX_REQ)
            return -ENOSPC;
        p->req[p->nreq] = *r;
        p->req[p->nreq++].session = session;
        return 1;
    }
    old = &p->req[i];
    /* emberd's journal may deliver an old request again after a newer one
     * (it keeps its original seq and ts).  The ts says nothing: an agent
     * without a real-time clock dates its requests wrong, and a forger
     * dates them wherever it likes. */
    if (r->seq < old->seq && old->session == session)
        return -ESTALE;
    if (old->drain == r->drain && old->test == r->test && old->seq == r->seq &&
        strcmp(old->alarms, r->alarms) == 0) {
        old->ts_ms = r->ts_ms;
        old->session = session;
        return 0;
    }
    *old = *r;
    old->session = session;
    return 1;
}

int
policy_agent_get(const struct policy *p, const char *agent)
{
    for (int i = 0; i < p->nagents; i++)
        if (strcmp(p->agents[i].name, agent) == 0)
            return p->agents[i].status;
    return AGENT_UNKNOWN;
}

int
policy_agent_status(struct policy *p, const char *agent, int status)
{
    for (int i = 0; i < p->nagents; i++) {
        if (strcmp(p->agents[i].name, agent) == 0) {
            /* A status was seen before: this "online" is a new connection. */
            if (status == AGENT_ONLINE)
                p->agents[i].session++;
            if (p->agents[i].status == status)
                return 0;
            p->agents[i].status = status;
            return 1;
        }
    }
    if (p->nagents == POLICY_MAX_AGENTS || strlen(agent) > NAME_MAX_LEN)
        return 0;
    strcpy(p->agents[p->nagents].name, agent);
    p->agents[p->nagents++].status = status;
    return status != AGENT_UNKNOWN;
}

/* A small set of names, for distinct voters, zones and agents. */
struct nameset {
    const char *v[POLICY_MAX_REQ + POLICY_MAX_AGENTS];
    int n;
};

static bool
set_add(struct nameset *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return false;
    if (s->n < (int)ARRAY_LEN(s->v))
        s->v[s->n++] = name;
    return true;
}

static void
set_join(const struct nameset *s, const char *sep, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? sep : "", s->v[i]);
}

static bool
counts(const struct policy *p, const struct policy_req *r)
{
    const struct dconf_site *s = p->site;

    if (!r->drain || r->test || !dconf_site_has_agent(s, r->agent) ||
        !dconf_site_has_zone(s, r->zone))
        return false;
    return !(s->offline == OFFLINE_IGNORE && policy_agent_get(p, r->agent) == AGENT_OFFLINE);
}

void
policy_eval(const struct policy *p, struct policy_result *r)
{
    const struct dconf_site *s = p->site;
    struct nameset voters = {0}, zones = {0}, agents = {0};
    bool by_zone = s->vote_by == VOTE_BY_ZONE;
    char offline_note[256] = "";
    size_t onote = 0;

    memset(r, 0, sizeof(*r));
    r->vote = s->vote;
    for (int i = 0; i < p->nreq; i++) {
        const struct policy_req *q = &p->req[i];
        if (q->drain && q->test && dconf_site_has_agent(s, q->agent) &&
            dconf_site_has_zone(s, q->zone))
            r->ntests++;
        if (!counts(p, q))
            continue;
        set_add(&voters, by_zone ? q->zone : q->agent);
        set_add(&zones, q->zone);
        set_add(&agents, q->agent);
    }
    /* Alarm ids, distinct, in request order. */
    {
        size_t used = 0;
        for (int i = 0; i < p->nreq; i++) {
            const struct policy_req *q = &p->req[i];
            const char *c = q->alarms;
            if (!counts(p, q))
                continue;
            while (*c) {
                size_t n = strcspn(c, ",");
                char id[NAME_MAX_LEN + 1];
                if (n > 0 && n <= NAME_MAX_LEN) {
                    bool dup = false;
                    memcpy(id, c, n);
                    id[n] = '\0';
                    for (const char *x = r->alarms; *x && !dup;) {
                        size_t m = strcspn(x, ",");
                        dup = m == n && strncmp(x, id, n) == 0;
                        x += m + (x[m] == ',');
                    }
                    if (!dup && used + n + 2 < sizeof(r->alarms))
                        used += (size_t)snprintf(r->alarms + used, sizeof(r->alarms) - used, "%s%s",
                                                 used ? "," : "", id);
                }
                c += n + (c[n] == ',');
            }
        }
    }

    /* offline = vote: an agent that died while another agent's request is
     * active counts as requesting for its zones (or as one agent). */
    if (s->offline == OFFLINE_VOTE && voters.n > 0) {
        for (int a = 0; a < p->nagents; a++) {
            const char *name = p->agents[a].name;
            bool other = false;
            if (p->agents[a].status != AGENT_OFFLINE || !dconf_site_has_agent(s, name))
                continue;
            for (int i = 0; i < agents.n && !other; i++)
                other = strcmp(agents.v[i], name) != 0;
            if (!other)
                continue; /* never drains on an agent's own silence */
            if (by_zone) {
                for (int i = 0; i < p->nreq; i++) {
                    const struct policy_req *q = &p->req[i];
                    if (strcmp(q->agent, name) != 0 || !dconf_site_has_zone(s, q->zone))
                        continue;
                    if (set_add(&voters, q->zone))
                        r->noffline_votes++;
                }
            } else if (set_add(&voters, name)) {
                r->noffline_votes++;
            }
            if (onote < sizeof(offline_note))
                onote += (size_t)snprintf(offline_note + onote, sizeof(offline_note) - onote,
                                          "%s%s", onote ? ", " : "", name);
        }
    }

    r->votes = voters.n;
    r->drain = r->votes >= r->vote && r->votes > 0;
    set_join(&voters, ", ", r->voters, sizeof(r->voters));
    set_join(&zones, ",", r->zones, sizeof(r->zones));
    set_join(&agents, ",", r->agents, sizeof(r->agents));
    if (r->votes == 0)
        snprintf(r->cause, sizeof(r->cause), "no drain requests");
    else
        snprintf(r->cause, sizeof(r->cause), "%s %.400s requested drain (%d of %d %s)%s%.200s%s",
                 by_zone ? (voters.n == 1 ? "zone" : "zones")
                         : (voters.n == 1 ? "agent" : "agents"),
                 r->voters, r->votes, r->vote, by_zone ? "zones" : "agents",
                 r->noffline_votes ? "; offline agent " : "", offline_note,
                 r->noffline_votes ? " counted" : "");
}
