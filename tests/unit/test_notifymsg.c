/* Unit tests: notifymsg.c - a notifier's EMBER_* environment from the event
 * JSON emberd publishes, its filters (on, severity, alarms), which events a
 * full queue keeps, and which one it drops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alarm.h"
#include "notifymsg.h"
#include "payload.h"
#include "util.h"

/* An event as payload_alarm() makes it, as outbox.c publishes it. */
static const char *hot_json =
    "{\"ts\":\"2026-11-25T07:16:48.257Z\",\"alarm\":\"rack1-cell-hot\",\"sensor\":\"rack1-max\","
    "\"zone\":\"b3\",\"kind\":\"high\",\"severity\":\"critical\",\"state\":\"active\","
    "\"acked\":false,\"shelved\":false,\"value\":61.25,\"setpoint\":60,\"unit\":\"C\","
    "\"since\":\"2026-11-25T07:16:48.257Z\",\"seq\":4294967301,\"epoch\":281474976710655,"
    "\"test\":false,\"message\":\"rack1-max at or above 60 C\",\"transition\":\"activated\","
    "\"shelved_until\":null}";
static const char *drain_json =
    "{\"ts\":\"2026-11-25T07:16:48.300Z\",\"zone\":\"b3\",\"request\":\"drain\","
    "\"reason\":\"2 of 2 required sensors in critical alarm\",\"alarms\":[\"hot1\",\"hot2\"],"
    "\"votes\":2,\"vote\":2,\"seq\":12,\"epoch\":7,\"test\":true}";

static size_t
count(char *const *v)
{
    size_t n = 0;
    while (v[n] != NULL)
        n++;
    return n;
}

static void
test_env_of_an_alarm_event(void **state)
{
    char **env = notify_env(NOTIFY_ACTIVATED, hot_json, "pangyo-a", "b3-agent1");
    (void)state;

    assert_non_null(env);
    assert_string_equal(notify_env_get(env, "EMBER_EVENT"), "activated");
    assert_string_equal(notify_env_get(env, "EMBER_SITE"), "pangyo-a");
    assert_string_equal(notify_env_get(env, "EMBER_AGENT"), "b3-agent1");
    assert_string_equal(notify_env_get(env, "EMBER_ALARM"), "rack1-cell-hot");
    assert_string_equal(notify_env_get(env, "EMBER_SENSOR"), "rack1-max");
    assert_string_equal(notify_env_get(env, "EMBER_ZONE"), "b3");
    assert_string_equal(notify_env_get(env, "EMBER_KIND"), "high");
    assert_string_equal(notify_env_get(env, "EMBER_SEVERITY"), "critical");
    assert_string_equal(notify_env_get(env, "EMBER_STATE"), "active");
    assert_string_equal(notify_env_get(env, "EMBER_VALUE"), "61.25");
    assert_string_equal(notify_env_get(env, "EMBER_SETPOINT"), "60");
    assert_string_equal(notify_env_get(env, "EMBER_UNIT"), "C");
    /* Past 32 bits and up to 48, as the JSON writes them. */
    assert_string_equal(notify_env_get(env, "EMBER_SEQ"), "4294967301");
    assert_string_equal(notify_env_get(env, "EMBER_EPOCH"), "281474976710655");
    assert_string_equal(notify_env_get(env, "EMBER_TS"), "2026-11-25T07:16:48.257Z");
    assert_string_equal(notify_env_get(env, "EMBER_MESSAGE"), "rack1-max at or above 60 C");
    assert_string_equal(notify_env_get(env, "EMBER_TEST"), "0");
    /* Absent fields are set, empty. */
    assert_string_equal(notify_env_get(env, "EMBER_BY"), "");
    assert_string_equal(notify_env_get(env, "EMBER_ALARMS"), "");
    /* Every variable, each once: 3 fixed, 16 from fields. */
    assert_int_equal(count(env), 19);
    for (size_t i = 0; env[i] != NULL; i++) {
        assert_int_equal(strncmp(env[i], "EMBER_", 6), 0);
        for (size_t k = i + 1; env[k] != NULL; k++)
            assert_false(strcspn(env[i], "=") == strcspn(env[k], "=") &&
                         strncmp(env[i], env[k], strcspn(env[i], "=")) == 0);
    }
    strv_free(env);
}

static void
test_env_of_a_drain_request(void **state)
{
    char **env = notify_env(NOTIFY_DRAIN, drain_json, "s", "a");
    (void)state;

    assert_non_null(env);
    assert_string_equal(notify_env_get(env, "EMBER_EVENT"), "drain");
    assert_string_equal(notify_env_get(env, "EMBER_ZONE"), "b3");
    assert_string_equal(notify_env_get(env, "EMBER_STATE"), "drain");
    assert_string_equal(notify_env_get(env, "EMBER_MESSAGE"),
                        "2 of 2 required sensors in critical alarm");
    assert_string_equal(notify_env_get(env, "EMBER_ALARMS"), "hot1,hot2");
    assert_string_equal(notify_env_get(env, "EMBER_TEST"), "1");
    assert_string_equal(notify_env_get(env, "EMBER_SEQ"), "12");
    assert_string_equal(notify_env_get(env, "EMBER_ALARM"), "");
    assert_string_equal(notify_env_get(env, "EMBER_SEVERITY"), "");
    assert_int_equal(count(env), 19);
    strv_free(env);
}

/* The payloads emberd makes, through payload.c: nulls and an operator. */
static void
test_env_of_real_payloads(void **state)
{
    struct alarm_def d = {.name = "door", .kind = AK_CONTACT, .severity = SEV_WARNING};
    struct alarm_state st = {.active = false, .acked = true, .seq = 9, .since_ms = 1};
    struct payload_alarm_extra x = {.by = "kim"};
    char *json = payload_alarm(&d, &st, "door-contact", "", "", "acked", &x, 1000, 3);
    char **env;
    (void)state;

    assert_non_null(json);
    env = notify_env(NOTIFY_ACKED, json, "s", "a");
    assert_non_null(env);
    assert_string_equal(notify_env_get(env, "EMBER_BY"), "kim");
    assert_string_equal(notify_env_get(env, "EMBER_ZONE"), "");     /* null */
    assert_string_equal(notify_env_get(env, "EMBER_VALUE"), "");    /* null */
    assert_string_equal(notify_env_get(env, "EMBER_SETPOINT"), ""); /* null */
    assert_string_equal(notify_env_get(env, "EMBER_STATE"), "cleared");
    assert_string_equal(notify_env_get(env, "EMBER_SEQ"), "9");
    strv_free(env);
    free(json);
}

static void
test_env_refuses_what_is_no_object(void **state)
{
    (void)state;
    assert_null(notify_env(NOTIFY_ACTIVATED, "not json", "s", "a"));
    assert_null(notify_env(NOTIFY_ACTIVATED, "[1,2]", "s", "a"));
    assert_null(notify_env(NOTIFY_ACTIVATED, "", "s", "a"));
    assert_string_equal(notify_env_get(NULL, "EMBER_SEQ"), "");
}

static char **
alarm_env(const char *alarm, const char *severity, const char *test)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"alarm\":\"%s\",\"severity\":\"%s\",\"test\":%s}", alarm,
             severity, test);
    return notify_env(NOTIFY_ACTIVATED, json, "s", "a");
}

static void
test_wants_on_severity_alarms(void **state)
{
    char *list[] = {"hot", "_journal", NULL};
    struct conf_notify nc = {.on = 1u << NOTIFY_ACTIVATED | 1u << NOTIFY_DRAIN,
                             .severity = SEV_WARNING};
    char **crit = alarm_env("hot", "critical", "false");
    char **warn = alarm_env("warm", "warning", "false");
    char **drain = notify_env(NOTIFY_DRAIN, drain_json, "s", "a");
    (void)state;

    /* on */
    assert_true(notify_wants(&nc, NOTIFY_ACTIVATED, crit));
    assert_true(notify_wants(&nc, NOTIFY_ACTIVATED, warn));
    assert_false(notify_wants(&nc, NOTIFY_CLEARED, crit));
    assert_true(notify_wants(&nc, NOTIFY_DRAIN, drain));
    assert_false(notify_wants(&nc, NOTIFY_UNDRAIN, drain));
    assert_false(notify_wants(&nc, -1, crit));
    assert_false(notify_wants(&nc, NOTIFY_NEVENTS, crit));
    /* severity = critical: warnings out; zone events have none and stay in */
    nc.severity = SEV_CRITICAL;
    assert_true(notify_wants(&nc, NOTIFY_ACTIVATED, crit));
    assert_false(notify_wants(&nc, NOTIFY_ACTIVATED, warn));
    assert_true(notify_wants(&nc, NOTIFY_DRAIN, drain));
    /* alarms: only those; never a zone's events */
    nc.severity = SEV_WARNING;
    nc.alarms = list;
    assert_true(notify_wants(&nc, NOTIFY_ACTIVATED, crit));
    assert_false(notify_wants(&nc, NOTIFY_ACTIVATED, warn));
    assert_false(notify_wants(&nc, NOTIFY_DRAIN, drain));
    strv_free(crit);
    strv_free(warn);
    strv_free(drain);
}

static void
test_critical(void **state)
{
    char **crit = alarm_env("hot", "critical", "false");
    char **warn = alarm_env("warm", "warning", "false");
    char **test_drain = notify_env(NOTIFY_DRAIN, drain_json, "s", "a");
    char **real_drain = notify_env(NOTIFY_DRAIN, "{\"zone\":\"b3\",\"test\":false}", "s", "a");
    (void)state;

    assert_true(notify_critical(NOTIFY_ACTIVATED, crit));
    assert_true(notify_critical(NOTIFY_CLEARED, crit)); /* any event of a critical alarm */
    assert_false(notify_critical(NOTIFY_ACTIVATED, warn));
    assert_true(notify_critical(NOTIFY_DRAIN, real_drain));
    assert_false(notify_critical(NOTIFY_DRAIN, test_drain));
    assert_false(notify_critical(NOTIFY_UNDRAIN, real_drain));
    strv_free(crit);
    strv_free(warn);
    strv_free(test_drain);
    strv_free(real_drain);
}

static void
test_drop_choice(void **state)
{
    const bool mixed[] = {true, false, true, false};
    const bool all[] = {true, true, true};
    const bool none[] = {false, false};
    (void)state;

    /* The oldest non-critical pending one, whatever the new one is. */
    assert_int_equal(notify_drop_choice(mixed, 4, false), 1);
    assert_int_equal(notify_drop_choice(mixed, 4, true), 1);
    assert_int_equal(notify_drop_choice(none, 2, true), 0);
    /* All critical: the new one, unless it is critical too (then the oldest). */
    assert_int_equal(notify_drop_choice(all, 3, false), -1);
    assert_int_equal(notify_drop_choice(all, 3, true), 0);
    /* Nothing pending (queue = 0): the new one. */
    assert_int_equal(notify_drop_choice(NULL, 0, true), -1);
    assert_int_equal(notify_drop_choice(NULL, 0, false), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_of_an_alarm_event),
        cmocka_unit_test(test_env_of_a_drain_request),
        cmocka_unit_test(test_env_of_real_payloads),
        cmocka_unit_test(test_env_refuses_what_is_no_object),
        cmocka_unit_test(test_wants_on_severity_alarms),
        cmocka_unit_test(test_critical),
        cmocka_unit_test(test_drop_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
