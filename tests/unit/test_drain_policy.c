/* Unit tests: ember-drain's policy (agent/drain/policy.c): request parsing,
 * stale and repeated requests, zone and agent votes, test requests, and the
 * three offline modes. */
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

static void
test_stale(void **state)
{
    struct dconf *c = load_site("vote = 1\n");
    struct policy *p = calloc(1, sizeof(*p));
    struct policy_result r;
    struct policy_req q;
    char err[64];
    const char *newer = "{\"ts\":\"2026-11-25T07:00:00.000Z\",\"request\":\"none\",\"seq\":10}";
    const char *old = "{\"ts\":\"2026-11-25T06:59:00.000Z\",\"request\":\"drain\",\"seq\":9}";
    const char *reset = "{\"ts\":\"2026-11-25T07:01:00.000Z\",\"request\":\"drain\",\"seq\":1}";
    (void)state;

    policy_init(p, &c->sites[0]);
    policy_parse_request("a1", "b3", newer, strlen(newer), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), 1);
    assert_int_equal(policy_update(p, &q), 0); /* repeat */
    /* A journal replay of an older request is ignored. */
    policy_parse_request("a1", "b3", old, strlen(old), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), 0);
    policy_eval(p, &r);
    assert_false(r.drain);
    /* An agent whose seq restarted (new journal) gets through: newer ts. */
    policy_parse_request("a1", "b3", reset, strlen(reset), &q, err, sizeof(err));
    assert_int_equal(policy_update(p, &q), 1);
    policy_eval(p, &r);
    assert_true(r.drain);
    free(p);
    dconf_free(c);
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
        cmocka_unit_test(test_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
