/* Unit tests: ember-drain's command parsing (agent/drain/command.c) for the
 * control socket, MQTT and the command line, with the error texts
 * ember-drain(8) quotes; and its JSON (agent/drain/drain_json.c): drain/state,
 * audit entries, control answers, retained-state parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "cfgfile.h"
#include "../../agent/drain/command.h"
#include "../../agent/drain/dconf.h"
#include "../../agent/drain/drain_json.h"
#include "../../agent/drain/site.h"
#include "drain_fixture.h"

static struct dconf *
load(void)
{
    return drain_fixture_load("[drain]\nid = ctl1\nstate = none\n"
                              "[site lab]\ntargets = hx\nvote = 1\nhooks = h\n"
                              "[site far]\ntargets = hy\n"
                              "[haproxy hx]\nsocket = /nonexistent.sock\nservers = web/s1\n"
                              "[haproxy hy]\nsocket = /nonexistent2.sock\nservers = web/s2\n"
                              "[hook h]\nexec = /bin/true\n");
}

static int
ctl(const struct dconf *c, const char *req, struct command *cmd, char *err, size_t errlen)
{
    err[0] = '\0';
    return command_parse_ctl(c, req, strlen(req), 1000, cmd, err, errlen);
}

static void
test_ctl(void **state)
{
    struct dconf *c = load();
    struct command *cmd = calloc(1, sizeof(*cmd));
    char err[512];
    (void)state;

#define BAD(req, text)                                                                             \
    do {                                                                                           \
        assert_int_equal(ctl(c, req, cmd, err, sizeof(err)), -EINVAL);                             \
        assert_string_equal(err, text);                                                            \
    } while (0)
    BAD("not json", "malformed request (expected {\"cmd\":...})");
    BAD("[\"hold\"]", "malformed request (expected {\"cmd\":...})");
    BAD("{\"site\":\"lab\"}", "malformed request (expected {\"cmd\":...})");
    BAD("{\"cmd\":7,\"site\":\"lab\"}", "malformed request (expected {\"cmd\":...})");
    BAD("{\"cmd\":\"hold\"}", "hold: needs a site");
    BAD("{\"cmd\":\"explode\"}", "explode: needs a site");
    BAD("{\"cmd\":\"hold\",\"site\":\"nowhere\"}", "no site 'nowhere' in the configuration");
    BAD("{\"cmd\":\"explode\",\"site\":\"lab\"}", "unknown command 'explode'");
    assert_false(cmd->status);
    BAD("{\"cmd\":\"status\",\"site\":\"nowhere\"}", "no site 'nowhere' in the configuration");
    assert_true(cmd->status); /* a failed status is not logged as a rejected command */
#undef BAD

    assert_int_equal(ctl(c, "{\"cmd\":\"status\"}", cmd, err, sizeof(err)), 0);
    assert_true(cmd->status);
    assert_int_equal(cmd->site, -1);
    assert_int_equal(ctl(c, "{\"cmd\":\"status\",\"site\":\"far\"}", cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->site, 1);

    assert_int_equal(ctl(c,
                         "{\"cmd\":\"undrain\",\"site\":\"far\",\"by\":\"tester\","
                         "\"reason\":\"fire out\"}",
                         cmd, err, sizeof(err)),
                     0);
    assert_false(cmd->status);
    assert_int_equal(cmd->cmd, SITE_CMD_UNDRAIN);
    assert_int_equal(cmd->site, 1);
    assert_string_equal(cmd->by, "tester (uid 1000)");
    assert_string_equal(cmd->reason, "fire out");
    /* Without by, the peer's login name (or "?"), and no reason. */
    assert_int_equal(
        ctl(c, "{\"cmd\":\"hold\",\"site\":\"lab\",\"by\":\"\"}", cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_HOLD);
    assert_non_null(strstr(cmd->by, " (uid 1000)"));
    assert_string_equal(cmd->reason, "");
    assert_int_equal(ctl(c, "{\"cmd\":\"release\",\"site\":\"lab\"}", cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_RELEASE);
    assert_int_equal(ctl(c, "{\"cmd\":\"drain\",\"site\":\"lab\"}", cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_DRAIN);
    free(cmd);
    dconf_free(c);
}

static void
test_mqtt(void **state)
{
    struct command *cmd = calloc(1, sizeof(*cmd));
    char err[512];
    const char *p;
    (void)state;

    assert_int_equal(command_parse_mqtt("explode", "", 0, cmd, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "unknown MQTT command 'explode'");
    /* drain and status are not MQTT commands. */
    assert_int_equal(command_parse_mqtt("drain", "", 0, cmd, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "unknown MQTT command 'drain'");
    assert_int_equal(command_parse_mqtt("status", "", 0, cmd, err, sizeof(err)), -ENOENT);
    p = "not json";
    assert_int_equal(command_parse_mqtt("undrain", p, strlen(p), cmd, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "payload is not a JSON object");
    p = "[1]";
    assert_int_equal(command_parse_mqtt("hold", p, strlen(p), cmd, err, sizeof(err)), -EINVAL);

    /* Strict payloads: a raw NUL byte, a key named twice, a bad id. */
    {
        static const char nul[] = "{\"by\":\"ops1\0x\"}";
        assert_int_equal(command_parse_mqtt("hold", nul, sizeof(nul) - 1, cmd, err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "payload contains a NUL byte");
    }
    p = "{\"by\":\"ops1\",\"by\":\"ops2\"}";
    assert_int_equal(command_parse_mqtt("hold", p, strlen(p), cmd, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "payload names a key twice");
    p = "{\"by\":\"ops1\",\"id\":[1]}";
    assert_int_equal(command_parse_mqtt("hold", p, strlen(p), cmd, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "\"id\" must be"));
    assert_string_equal(cmd->by_name, "ops1"); /* kept for the result */
    p = "{\"by\":\"ops1\",\"id\":\"h-1\"}";
    assert_int_equal(command_parse_mqtt("hold", p, strlen(p), cmd, err, sizeof(err)), 0);
    assert_string_equal(cmd->id, "h-1");
    assert_string_equal(cmd->by_name, "ops1");
    assert_string_equal(cmd->by, "ops1 (mqtt)");

    assert_int_equal(command_parse_mqtt("hold", "", 0, cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_HOLD);
    assert_string_equal(cmd->id, "");
    assert_string_equal(cmd->by_name, "");
    assert_string_equal(cmd->by, "unknown (mqtt)");
    assert_string_equal(cmd->reason, "");
    p = "{\"by\":\"ops1\",\"reason\":\"inspect\"}";
    assert_int_equal(command_parse_mqtt("release", p, strlen(p), cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_RELEASE);
    assert_string_equal(cmd->by, "ops1 (mqtt)");
    assert_string_equal(cmd->reason, "inspect");
    /* A by that is not a name is not recorded as one. */
    p = "{\"by\":\"ops 1; rm -rf\"}";
    assert_int_equal(command_parse_mqtt("undrain", p, strlen(p), cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_UNDRAIN);
    assert_string_equal(cmd->by, "unknown (mqtt)");
    free(cmd);
}

static void
test_cli(void **state)
{
    char *t;
    (void)state;

    assert_true(command_known("status"));
    assert_true(command_known("hold"));
    assert_true(command_known("release"));
    assert_true(command_known("undrain"));
    assert_true(command_known("drain"));
    assert_false(command_known("explode"));
    assert_false(command_needs_site("status"));
    assert_true(command_needs_site("hold"));

    t = command_request("hold", "lab", "tester", "fire drill");
    assert_string_equal(t, "{\"cmd\":\"hold\",\"site\":\"lab\",\"by\":\"tester\","
                           "\"reason\":\"fire drill\"}");
    free(t);
    t = command_request("status", NULL, "tester", NULL);
    assert_string_equal(t, "{\"cmd\":\"status\",\"by\":\"tester\"}");
    free(t);
}

/* What the command line sends, the control socket parses back. */
static void
test_cli_to_ctl(void **state)
{
    struct dconf *c = load();
    struct command *cmd = calloc(1, sizeof(*cmd));
    char err[256], *t = command_request("drain", "lab", "tester", "smoke");
    (void)state;

    assert_int_equal(command_parse_ctl(c, t, strlen(t), 42, cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd->cmd, SITE_CMD_DRAIN);
    assert_int_equal(cmd->site, 0);
    assert_string_equal(cmd->by, "tester (uid 42)");
    assert_string_equal(cmd->reason, "smoke");
    free(t);
    free(cmd);
    dconf_free(c);
}

static bool
starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static char *
print(void *o)
{
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

/* The audit entry a prints as, from its first character. */
static void
expect_audit(const struct dconf *c, const struct site_audit *a, const char *want, bool whole)
{
    char *t = print(djson_audit(c, a));

    if (whole)
        assert_string_equal(t, want);
    else
        assert_true(starts(t, want));
    free(t);
}

static void
test_json_state(void **state)
{
    struct dconf *c = load();
    struct site *s = calloc(1, sizeof(*s));
    struct hx_view *views = calloc(DCONF_MAX_HAPROXY, sizeof(*views));
    struct site_out o = {0};
    struct site_now now = {.mono_ms = 1000, .real_ms = 1795588656123LL};
    struct djson_state js;
    char *sig, *text, *t, err[128];
    (void)state;

    site_init(s, c, 0);
    views[0].reachable = true;
    views[0].nservers = 1;
    views[0].obs[0].known = true;
    views[0].obs[0].row.uweight = 0;
    snprintf(views[0].obs[0].state, sizeof(views[0].obs[0].state), "drain");
    views[1].reachable = false; /* the far site's HAProxy does not answer */
    views[1].nservers = 1;
    site_settle(s, &now, &o);
    assert_int_equal(
        site_command(s, &now, SITE_CMD_HOLD, "tester", "", "mqtt", err, sizeof(err), &o), 0);
    assert_int_equal(
        site_command(s, &now, SITE_CMD_DRAIN, "tester", "", "mqtt", err, sizeof(err), &o), 0);
    site_out_free(&o);

    assert_int_equal(djson_state(s, views, NULL, now.real_ms, &sig, &text), 0);
    assert_string_equal(
        sig, "{\"site\":\"lab\",\"state\":\"held\",\"held_state\":\"draining\","
             "\"targets\":[{\"name\":\"hx/web/s1\",\"kind\":\"haproxy\",\"state\":\"drain\","
             "\"weight\":0},{\"name\":\"h\",\"kind\":\"hook\",\"state\":\"running\"}],"
             "\"since\":\"2026-11-25T06:37:36.123Z\",\"cause\":\"drain by tester\","
             "\"by\":\"tester\",\"votes\":0,\"vote\":1,\"zones\":[],\"alarms\":[],\"tests\":[],"
             "\"drain_id\":1,\"dry_run\":false,\"controller\":\"ctl1\","
             "\"episode\":{\"controller\":\"ctl1\",\"drain_id\":1},\"hold_origin\":\"ctl1\"}");
    /* "ts" first, then the same fields. */
    assert_string_equal(text + strlen("{\"ts\":\"2026-11-25T06:37:36.123Z\","), sig + 1);
    assert_true(starts(text, "{\"ts\":\"2026-11-25T06:37:36.123Z\","));

    /* The published state is what a restart without a state file adopts. */
    assert_int_equal(djson_parse_state(text, strlen(text), &js), 0);
    assert_string_equal(js.state, "held");
    assert_true(js.has_held_state);
    assert_string_equal(js.held_state, "draining");
    assert_string_equal(js.cause, "drain by tester");
    assert_string_equal(js.by, "tester");
    assert_true(js.drain_id == 1);
    /* The same payload, from a peer's own topic. */
    {
        struct site_peer *p = calloc(1, sizeof(*p));
        assert_int_equal(djson_parse_peer(text, strlen(text), "ctl1", p), 0);
        assert_string_equal(p->id, "ctl1");
        assert_int_equal(p->state, SITE_DRAINING);
        assert_true(p->held);
        assert_string_equal(p->hold_origin, "ctl1");
        assert_string_equal(p->ep.ctl, "ctl1");
        assert_true(p->ep.id == 1);
        assert_int_equal(p->nundone, 0);
        assert_string_equal(p->by, "tester");
        /* Only the controller the topic names speaks on it. */
        assert_int_equal(djson_parse_peer(text, strlen(text), "ctl2", p), -EINVAL);
        const char *odd = "{\"controller\":\"ctl1\",\"state\":\"odd\"}";
        assert_int_equal(djson_parse_peer(odd, strlen(odd), "ctl1", p), -EINVAL);
        assert_int_equal(
            djson_parse_peer("{\"controller\":\"c2\",\"state\":\"serving\",\"undone\":"
                             "[{\"controller\":\"c1\",\"drain_id\":4},{\"controller\":1},"
                             "{\"controller\":\"c2\",\"drain_id\":2}]}",
                             strlen("{\"controller\":\"c2\",\"state\":\"serving\",\"undone\":"
                                    "[{\"controller\":\"c1\",\"drain_id\":4},{\"controller\":1},"
                                    "{\"controller\":\"c2\",\"drain_id\":2}]}"),
                             "c2", p),
            0);
        assert_int_equal(p->nundone, 2); /* the malformed entry is skipped */
        assert_string_equal(p->undone[1].ctl, "c2");
        assert_false(p->ep.ctl[0]);
        free(p);
    }
    assert_int_equal(djson_parse_state("[1]", 3, &js), -EINVAL);
    assert_int_equal(djson_parse_state("{\"state\":1}", 11, &js), -EINVAL);
    assert_int_equal(djson_parse_state("{\"state\":\"serving\"}", 19, &js), 0);
    assert_false(js.has_held_state);
    assert_false(js.has_cause);
    assert_true(js.drain_id == 0);
    free(sig);
    free(text);

    t = djson_answer_error("site lab is not held");
    assert_string_equal(t, "{\"ok\":false,\"error\":\"site lab is not held\"}");
    free(t);
    t = djson_answer_site(s, views, NULL);
    assert_true(starts(t, "{\"ok\":true,\"site\":{\"site\":\"lab\""));
    assert_non_null(strstr(t, "\"requests\":[],\"agents\":[],\"condition\":false,"
                              "\"condition_cause\":\"no drain requests\",\"undraining\":false}}"));
    free(t);
    {
        const struct site *all[2];
        struct site *far = calloc(1, sizeof(*far));
        site_init(far, c, 1);
        all[0] = s;
        all[1] = far;
        t = djson_answer_status(c, all, 1, views, NULL, true, false);
        assert_true(starts(t, "{\"sites\":[{\"site\":\"far\""));
        assert_non_null(strstr(t, "\"state\":\"unreachable\""));
        assert_null(strstr(t, "\"site\":\"lab\""));
        assert_non_null(strstr(t, "],\"ok\":true,\"controller\":\"ctl1\",\"mqtt\":true,"
                                  "\"settled\":false,\"dry_run\":false}"));
        free(t);
        t = djson_answer_status(c, all, -1, views, NULL, false, true);
        assert_non_null(strstr(t, "\"site\":\"lab\""));
        assert_non_null(strstr(t, "\"site\":\"far\""));
        free(t);
        free(far);
    }
    free(views);
    free(s);
    dconf_free(c);
}

static void
test_json_audit(void **state)
{
    struct dconf *c = load();
    struct site *s = calloc(1, sizeof(*s));
    struct site_audit *a = calloc(1, sizeof(*a));
    struct hx_log l = {.cmd = "set server web/s1 state drain", .result = "ok", .ok = true};
    char *t;
    (void)state;

    site_init(s, c, 0);
    site_audit_fill(s, "undrain", a);
    a->extra = SITE_AX_COMMAND;
    snprintf(a->by, sizeof(a->by), "ops1 (mqtt)");
    snprintf(a->via, sizeof(a->via), "mqtt");
    expect_audit(c, a,
                 "{\"by\":\"ops1 (mqtt)\",\"via\":\"mqtt\",\"state\":\"serving\","
                 "\"cause\":\"no drain requests\",\"drain_id\":0}",
                 true);

    site_audit_fill(s, "drain", a);
    a->extra = SITE_AX_VOTES;
    a->votes = 2;
    a->vote = 2;
    snprintf(a->zones, sizeof(a->zones), "b3,b4");
    snprintf(a->agents, sizeof(a->agents), "a1");
    snprintf(a->alarms, sizeof(a->alarms), "hot,,smoke");
    a->dry_run = true;
    expect_audit(c, a,
                 "{\"votes\":2,\"vote\":2,\"zones\":[\"b3\",\"b4\"],\"agents\":[\"a1\"],"
                 "\"alarms\":[\"hot\",\"smoke\"],\"state\":\"serving\","
                 "\"cause\":\"no drain requests\",\"drain_id\":0,\"dry_run\":true}",
                 true);

    site_audit_fill(s, "suppressed", a);
    a->extra = SITE_AX_CAUSE;
    snprintf(a->cause, sizeof(a->cause), "cleared");
    snprintf(a->by, sizeof(a->by), "tester");
    expect_audit(c, a,
                 "{\"cause\":\"cleared\",\"state\":\"serving\",\"by\":\"tester\","
                 "\"drain_id\":0}",
                 true);

    site_audit_fill(s, "hook", a);
    a->extra = SITE_AX_HOOK;
    a->hook = 0;
    snprintf(a->action, sizeof(a->action), "drain");
    snprintf(a->result, sizeof(a->result), "exit 3");
    expect_audit(c, a, "{\"hook\":\"h\",\"action\":\"drain\",\"result\":\"exit 3\",", false);

    site_audit_fill(s, "drained", a);
    a->extra = SITE_AX_ELAPSED;
    expect_audit(c, a, "{\"state\":", false); /* elapsed unknown: left out */
    a->elapsed_ms = 12;
    expect_audit(c, a, "{\"elapsed_ms\":12,", false);

    site_audit_fill(s, "haproxy", a);
    t = print(djson_audit_target(a, "haproxy", "hx", &l));
    assert_string_equal(t, "{\"haproxy\":\"hx\",\"command\":\"set server web/s1 state drain\","
                           "\"result\":\"ok\",\"ok\":true,\"state\":\"serving\","
                           "\"cause\":\"no drain requests\",\"drain_id\":0}");
    free(t);
    t = print(djson_audit_start("ctl1", 77, true));
    assert_string_equal(t, "{\"controller\":\"ctl1\",\"pid\":77,\"dry_run\":true}");
    free(t);
    free(a);
    free(s);
    dconf_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl),        cmocka_unit_test(test_mqtt),
        cmocka_unit_test(test_cli),        cmocka_unit_test(test_cli_to_ctl),
        cmocka_unit_test(test_json_state), cmocka_unit_test(test_json_audit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
