/* Unit tests: ember-drain's policy (agent/drain/policy.c): request parsing,
 * stale and repeated requests (ordered by seq, never by ts), the admission
 * of requests (max_skew, the zones each agent may request), zone and agent
 * votes, test requests, and the three offline modes. */
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
#include "../../agent/drain/policy.h"
#include "drain_fixture.h"

/* Loads a config made of one [site lab] body plus a dummy target. */
static struct dconf *
load_site(const char *body)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "[site lab]\ntargets = hx\n%s\n[haproxy hx]\nsocket = /nonexistent.sock\n"
             "servers = web/s1\n",
             body);
    return drain_fixture_load(text);
}

static void
req(struct policy *p, const char *agent, const char *zone, const char *json)
{
    struct policy_req r;
    char err[128];
    assert_int_equal(policy_parse_request(agent, zone, json, strlen(json), &r, err, sizeof(err)),
                     0);
    assert_true(policy_update(p, &r) >= 0);
}

static void
test_parse(void **state)
{
    struct policy_req r;
    char err[128] = "";
    const char *ok = "{\"ts\":\"2026-11-25T06:37:36.123Z\",\"zone\":\"b3\",\"request\":\"drain\","
                     "\"reason\":\"2 of 2\",\"alarms\":[\"a-1\",\"b.2\"],\"votes\":2,\"vote\":2,"
                     "\"seq\":120,\"test\":false}";
    (void)state;

    assert_int_equal(policy_parse_request("a1", "b3", ok, strlen(ok), &r, err, sizeof(err)), 0);
    assert_true(r.drain);
    assert_false(r.test);
    assert_int_equal(r.seq, 120);
    assert_string_equal(r.alarms, "a-1,b.2");
    assert_string_equal(r.reason, "2 of 2");
    assert_true(r.ts_ms == 1795588656123LL);

    /* A cleared retained message is "no request". */
    assert_int_equal(policy_parse_request("a1", "b3", "", 0, &r, err, sizeof(err)), 0);
    assert_false(r.drain);

#define BAD(json, what)                                                                            \
    do {                                                                                           \
        err[0] = '\0';                                                                             \
        assert_int_equal(                                                                          \
            policy_parse_request("a1", "b3", json, strlen(json), &r, err, sizeof(err)), -EINVAL);  \
        assert_non_null(strstr(err, what));                                                        \
    } while (0)
    BAD("not json", "not a JSON object");
    BAD("[1]", "not a JSON object");
    BAD("{\"request\":\"maybe\"}", "\"request\" must be");
    BAD("{}", "\"request\" must be");
    BAD("{\"request\":\"drain\",\"zone\":\"b4\"}", "does not match the topic's zone b3");
    BAD("{\"request\":\"drain\",\"test\":\"yes\"}", "\"test\" must be true or false");
    BAD("{\"request\":\"drain\",\"seq\":-1}", "\"seq\" must be");
    BAD("{\"request\":\"drain\",\"alarms\":\"x\"}", "\"alarms\" must be an array");
#undef BAD
}

static void
test_zone_vote(void **state)
{
    struct dconf *c = load_site("zones = b3, b4, b5\nagents = a1, a2\nvote = 2\n");
    struct policy *p = calloc(1, sizeof(*p));
    struct policy_result r;
    (void)state;

    policy_init(p, &c->sites[0]);
    policy_eval(p, &r);
    assert_false(r.drain);
    assert_string_equal(r.cause, "no drain requests");

    req(p, "a1", "b3", "{\"request\":\"drain\",\"seq\":1,\"alarms\":[\"hot\"]}");
    policy_eval(p, &r);
    assert_false(r.drain);
    assert_int_equal(r.votes, 1);
    /* The same zone from a second agent still counts once. */
    req(p, "a2", "b3", "{\"request\":\"drain\",\"seq\":1,\"alarms\":[\"hot\",\"smoke\"]}");
    policy_eval(p, &r);
    assert_false(r.drain);
    assert_int_equal(r.votes, 1);
    /* A test request is shown, never counted. */
    req(p, "a2", "b4", "{\"request\":\"drain\",\"seq\":2,\"test\":true}");
    policy_eval(p, &r);
    assert_false(r.drain);
    assert_int_equal(r.ntests, 1);
    /* Agents and zones the site does not list are ignored. */
    req(p, "intruder", "b4", "{\"request\":\"drain\",\"seq\":1}");
    req(p, "a1", "b9", "{\"request\":\"drain\",\"seq\":3}");
    policy_eval(p, &r);
    assert_false(r.drain);
    /* A real second zone: drain. */
    req(p, "a2", "b4", "{\"request\":\"drain\",\"seq\":3,\"alarms\":[\"smoke\",\"gas\"]}");
    policy_eval(p, &r);
    assert_true(r.drain);
    assert_int_equal(r.votes, 2);
    assert_int_equal(r.ntests, 0);
    assert_string_equal(r.zones, "b3,b4");
    assert_string_equal(r.alarms, "hot,smoke,gas");
    assert_string_equal(r.cause, "zones b3, b4 requested drain (2 of 2 zones)");
    /* Back to none. */
    req(p, "a2", "b4", "{\"request\":\"none\",\"seq\":4}");
    policy_eval(p, &r);
    assert_false(r.drain);
    free(p);
    dconf_free(c);
}

static void
test_agent_vote(void **state)
{
    struct dconf *c = load_site("vote = 2\nvote_by = agent\n");
    struct policy *p = calloc(1, sizeof(*p));
    struct policy_result r;
    (void)state;

    policy_init(p, &c->sites[0]);
    req(p, "a1", "b3", "{\"request\":\"drain\",\"seq\":1}");
    req(p, "a1", "b4", "{\"request\":\"drain\",\"seq\":2}");
    policy_eval(p, &r);
    assert_false(r.drain); /* two zones, one agent */
    req(p, "a2", "b3", "{\"request\":\"drain\",\"seq\":1}");
    policy_eval(p, &r);
    assert_true(r.drain);
    assert_string_equal(r.cause, "agents a1, a2 requested drain (2 of 2 agents)");
    free(p);
    dconf_free(c);
}

/* One agent's requests are ordered by seq, never by ts. */
static void
test_stale(void **state)
{
    struct dconf *c = load_site("vote = 1\n");
    struct policy *p = calloc(1, sizeof(*p));
    struct policy_result r;
    struct policy_req q;
    char err[64];
    const char *newer = "{\"ts\":\"2026-11-25T07:00:00.000Z\",\"request\":\"none\",\"seq\":10}";
    const char *replay = "{\"ts\":\"2026-11-25T07:05:00.000Z\",\"request\":\"drain\",\"seq\":9}";
    const char *no_rtc = "{\"ts\":\"2001-01-01T00:00:05.000Z\",\"request\":\"drain\",\"seq\":11}";
    const char *reset = "{\"ts\":\"2001-01-01T00:00:09.000Z\",\"request\":\"none\",\"seq\":1}";
    (void)state;

    policy_init(p, &c->sites[0]);
    policy_parse_request("a1", "b3", newer, strlen(newer), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), 1);
    assert_int_equal(policy_update(p, &q), 0); /* repeat */
    /* A journal replay of an older seq is ignored, even with a newer ts. */
    policy_parse_request("a1", "b3", replay, strlen(replay), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), -ESTALE);
    policy_eval(p, &r);
    assert_false(r.drain);
    /* An agent without a real-time clock dates its next request in 2001:
     * its seq is higher, so it counts. */
    policy_parse_request("a1", "b3", no_rtc, strlen(no_rtc), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), 1);
    policy_eval(p, &r);
    assert_true(r.drain);
    /* An agent whose seq restarted (its journal lost) is a replay on the
     * same connection... */
    policy_parse_request("a1", "b3", reset, strlen(reset), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), -ESTALE);
    /* ...the first status seen is no new connection... */
    assert_int_equal(policy_agent_status(p, "a1", AGENT_ONLINE), 1);
    assert_int_equal(policy_update(p, &q), -ESTALE);
    /* ...but once it comes online again, its first request counts, whatever
     * its seq, and orders the following ones. */
    assert_int_equal(policy_agent_status(p, "a1", AGENT_OFFLINE), 1);
    assert_int_equal(policy_agent_status(p, "a1", AGENT_ONLINE), 1);
    assert_int_equal(policy_update(p, &q), 1);
    policy_eval(p, &r);
    assert_false(r.drain);
    policy_parse_request("a1", "b3", replay, strlen(replay), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), 1); /* seq 9 > 1 on this connection */
    policy_parse_request("a1", "b3", reset, strlen(reset), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), -ESTALE);
    /* "online" again with no "offline" between (a reconnect that took over
     * the old session) is a new connection too. */
    assert_int_equal(policy_agent_status(p, "a1", AGENT_ONLINE), 0);
    assert_int_equal(policy_update(p, &q), 1);
    free(p);
    dconf_free(c);
}

/* Requests dated too far ahead, and zones an agent may not request, are
 * refused before they are stored. */
static void
test_admit(void **state)
{
    struct dconf *c = load_site("vote = 2\nzones = b3, b4, b5\nagents = a1:b3, a2:b4+b5, a3\n"
                                "max_skew = 30s\n");
    struct dconf *d = load_site("vote = 1\n");
    struct policy *p = calloc(1, sizeof(*p));
    struct policy_req q;
    const int64_t now = 1795588656000LL; /* 2026-11-25T06:37:36Z */
    char err[256];
    const char *forged = "{\"ts\":\"2099-01-01T00:00:00.000Z\",\"request\":\"drain\","
                         "\"seq\":9007199254740991}";
    (void)state;

    assert_int_equal(d->sites[0].max_skew_ms, 5 * 60 * 1000); /* the default */
    assert_int_equal(c->sites[0].max_skew_ms, 30000);
    policy_init(p, &c->sites[0]);

    assert_int_equal(policy_parse_request("a1", "b3", forged, strlen(forged), &q, err, sizeof(err)),
                     0);
    err[0] = '\0';
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), -ERANGE);
    assert_non_null(strstr(err, "dated 2099-01-01T00:00:00.000Z"));
    assert_non_null(strstr(err, "(max_skew 30 s)"));
    /* Within the skew, in the past, or undated: admitted. */
    q.ts_ms = now + 30000;
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    q.ts_ms = now + 30001;
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), -ERANGE);
    q.ts_ms = 978307205000LL; /* 2001 */
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    q.ts_ms = 0;
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);

    /* agents = a1:b3, a2:b4+b5, a3 */
    strcpy(q.zone, "b4");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), -EPERM);
    assert_string_equal(err, "agent a1 may not request a drain for zone b4 (site lab: agents)");
    strcpy(q.agent, "a2");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    strcpy(q.zone, "b5");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    strcpy(q.zone, "b3");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), -EPERM);
    /* An agent listed without zones may request any of the site's. */
    strcpy(q.agent, "a3");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    /* Zones and agents the site does not list are left to the vote, which
     * does not count them. */
    strcpy(q.agent, "a1");
    strcpy(q.zone, "b9");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    strcpy(q.agent, "stranger");
    strcpy(q.zone, "b4");
    assert_int_equal(policy_admit(p, &q, now, err, sizeof(err)), 0);
    free(p);
    dconf_free(c);
    dconf_free(d);
}

static void
test_offline(void **state)
{
    struct policy_result r;
    (void)state;

    /* hold (default): an offline agent's last request stands. */
    {
        struct dconf *c = load_site("vote = 1\n");
        struct policy *p = calloc(1, sizeof(*p));
        policy_init(p, &c->sites[0]);
        req(p, "a1", "b3", "{\"request\":\"drain\",\"seq\":1}");
        assert_int_equal(policy_agent_status(p, "a1", AGENT_OFFLINE), 1);
        assert_int_equal(policy_agent_status(p, "a1", AGENT_OFFLINE), 0);
        policy_eval(p, &r);
        assert_true(r.drain);
        free(p);
        dconf_free(c);
    }
    /* ignore: it no longer counts. */
    {
        struct dconf *c = load_site("vote = 1\noffline = ignore\n");
        struct policy *p = calloc(1, sizeof(*p));
        policy_init(p, &c->sites[0]);
        req(p, "a1", "b3", "{\"request\":\"drain\",\"seq\":1}");
        policy_agent_status(p, "a1", AGENT_OFFLINE);
        policy_eval(p, &r);
        assert_false(r.drain);
        policy_agent_status(p, "a1", AGENT_ONLINE);
        policy_eval(p, &r);
        assert_true(r.drain);
        free(p);
        dconf_free(c);
    }
    /* vote: counts for its zones, only next to another agent's request. */
    {
        struct dconf *c = load_site("vote = 2\noffline = vote\nzones = b3, b4\n");
        struct policy *p = calloc(1, sizeof(*p));
        policy_init(p, &c->sites[0]);
        req(p, "a1", "b3", "{\"request\":\"drain\",\"seq\":1}");
        req(p, "a1", "b4", "{\"request\":\"none\",\"seq\":2}");
        req(p, "a2", "b4", "{\"request\":\"none\",\"seq\":1}");
        /* a1's own silence never adds to a1's own request. */
        policy_agent_status(p, "a1", AGENT_OFFLINE);
        policy_eval(p, &r);
        assert_false(r.drain);
        assert_int_equal(r.noffline_votes, 0);
        policy_agent_status(p, "a1", AGENT_ONLINE);
        /* a2 dies while a1's zone b3 requests: b4 counts. */
        policy_agent_status(p, "a2", AGENT_OFFLINE);
        policy_eval(p, &r);
        assert_true(r.drain);
        assert_int_equal(r.noffline_votes, 1);
        assert_non_null(strstr(r.cause, "offline agent a2 counted"));
        /* Without another real request, an offline agent alone: nothing. */
        req(p, "a1", "b3", "{\"request\":\"none\",\"seq\":3}");
        policy_eval(p, &r);
        assert_false(r.drain);
        assert_int_equal(r.votes, 0);
        free(p);
        dconf_free(c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),      cmocka_unit_test(test_zone_vote),
        cmocka_unit_test(test_agent_vote), cmocka_unit_test(test_stale),
        cmocka_unit_test(test_offline),    cmocka_unit_test(test_admit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
