/*
 * policy.h - a site's drain policy: which requests count, and whether the
 * site's drain condition holds.  Pure code: no I/O and no clock, so every
 * rule is a unit test.
 *
 * A request is one agent's retained {p}/{site}/{agent}/drain/{zone} message.
 * It is admitted when it is not dated further ahead than the site's
 * max_skew and `agents` lets its agent request its zone; it counts when it
 * says "drain", is not a test, comes from an agent and zone the site lists,
 * and its agent is not offline under `offline = ignore`.
 *
 * One agent's requests for a zone are ordered by seq, never by ts (an agent
 * without a real-time clock may date them in the past).  A lower seq is a
 * journal replay and is ignored, except for the first request after the
 * agent came online again: a new connection may be an agent that lost its
 * journal and counts from 1 again.
 * Voters are distinct zones (vote_by = zone) or agents (vote_by = agent);
 * the condition holds when at least `vote` voters request drain.
 */
#ifndef EMBER_POLICY_H
#define EMBER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dconf.h"

#define POLICY_MAX_REQ 256
#define POLICY_MAX_AGENTS 128
#define POLICY_ALARMS_LEN 512

enum agent_status { AGENT_UNKNOWN, AGENT_ONLINE, AGENT_OFFLINE };

struct policy_req {
    char agent[NAME_MAX_LEN + 1];
    char zone[NAME_MAX_LEN + 1];
    bool drain; /* "request":"drain" */
    bool test;  /* "test":true: shown, never acted on */
    uint64_t seq;
    int64_t ts_ms;                  /* the payload's ts (real time), 0 when absent */
    unsigned session;               /* set by policy_update(): the agent's connection */
    char alarms[POLICY_ALARMS_LEN]; /* comma-separated alarm ids */
    char reason[160];
};

struct policy_agent {
    char name[NAME_MAX_LEN + 1];
    int status;       /* enum agent_status */
    unsigned session; /* "online" messages seen after the first status */
};

struct policy {
    const struct dconf_site *site;
    struct policy_req req[POLICY_MAX_REQ];
    int nreq;
    struct policy_agent agents[POLICY_MAX_AGENTS];
    int nagents;
};

struct policy_result {
    bool drain; /* the drain condition holds */
    int votes;
    int vote;
    int ntests;         /* test requests being shown */
    int noffline_votes; /* voters added by offline agents (offline = vote) */
    char voters[512];   /* "b3, b4" */
    char zones[512];    /* zones with a counting request, "b3,b4" */
    char agents[512];   /* agents with a counting request */
    char alarms[1024];  /* alarm ids of counting requests, "a,b" */
    char cause[768];
};

void policy_init(struct policy *p, const struct dconf_site *site);

/* Parses a drain request payload received on .../{agent}/drain/{zone}.  An
 * empty payload (a cleared retained message) is a "none" request.  Returns
 * 0, or -EINVAL with a reason in err. */
int policy_parse_request(const char *agent, const char *zone, const void *payload, size_t len,
                         struct policy_req *out, char *err, size_t errlen);

/* Whether a request may be stored at all, at real time now_real_ms.
 * Returns 0, -ERANGE when its ts is more than the site's max_skew ahead of
 * now (a forged or badly clocked request), or -EPERM when `agents` does not
 * let its agent request its zone; err says why. */
int policy_admit(const struct policy *p, const struct policy_req *r, int64_t now_real_ms, char *err,
                 size_t errlen);

/* Stores a request.  Returns 1 when it changed what the policy knows, 0 when
 * it is a repeat, -ESTALE when its seq is below the stored one's from the
 * same connection of the agent (a journal replaying an old request after a
 * newer one), -ENOSPC when the table is full. */
int policy_update(struct policy *p, const struct policy_req *r);

/* Records an agent's status ("online"/"offline").  Every "online" after
 * the first status seen starts a new connection of the agent (see above).
 * Returns 1 when the status changed. */
int policy_agent_status(struct policy *p, const char *agent, int status);

/* Evaluates the site's condition from everything stored. */
void policy_eval(const struct policy *p, struct policy_result *r);

/* The stored request of (agent, zone), or NULL. */
const struct policy_req *policy_find(const struct policy *p, const char *agent, const char *zone);
int policy_agent_get(const struct policy *p, const char *agent);

#endif
