/* Unit tests: reload.c's check - which changes a reload applies and which
 * it refuses, and the messages naming the key. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "conf.h"
#include "reload.h"

static int
setup(void **state)
{
    (void)state;
    return tmpdir_make("reload");
}

static int
teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

/* The running configuration: a Pi 4 with one contact and the buzzer, one
 * Modbus sensor; `agent` and `body` are appended to [agent] and the end. */
static struct conf *
load(const char *name, const char *agent, const char *mqtt, const char *body)
{
    char path[128];
    struct cfgerr err = {0};
    struct conf *c = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[agent]\nsite = s1\nid = a1\nprofile_dir = %s\nboard_dir = %s\nboard = pi4\n"
            "alarm_outputs = buzzer\n%s\n"
            "[mqtt]\n%s\n"
            "[bus gw]\ntype = tcp\nhost = 127.0.0.1\n\n"
            "[device room]\nbus = gw\nprofile = xy-md02\n\n"
            "[sensor room-temp]\ndevice = room\npoint = temperature\n\n"
            "[sensor smoke]\ngpio = contact1\n\n"
            "[alarm smoke]\nsensor = smoke\nkind = contact\nseverity = critical\n\n%s",
            profiles, boards, agent, mqtt, body);
    fclose(f);
    if (conf_load(path, &c, &err) != 0)
        fail_msg("%s: %s", path, err.text ? err.text : "?");
    cfgerr_free(&err);
    return c;
}

/* Runs the check from `base` to a configuration differing by the given
 * parts; returns its result and fills plan and err. */
static int
check(const char *agent, const char *mqtt, const char *body, struct reload_plan *plan,
      char *err, size_t errlen)
{
    struct conf *o = load("running.conf", "", "", "");
    struct conf *n = load("new.conf", agent, mqtt, body);
    int rc;

    err[0] = '\0';
    rc = reload_check(o, n, plan, err, errlen);
    conf_free(o);
    conf_free(n);
    return rc;
}

static void
test_nothing_changed(void **state)
{
    struct reload_plan p;
    char err[256];
    (void)state;

    assert_int_equal(check("", "", "", &p, err, sizeof(err)), 0);
    assert_string_equal(p.refused, "");
    assert_false(p.log_level);
    assert_false(p.journal_max);
    assert_false(p.control_mode);
    assert_string_equal(p.applied, "");
    assert_string_equal(err, "");
}

/* Devices, sensors, alarms and zones apply through the bus restart; the
 * three [agent] values below are applied in place and named. */
static void
test_applied_in_place(void **state)
{
    struct reload_plan p;
    char err[256];
    (void)state;

    assert_int_equal(check("log_level = debug\njournal_max = 5000\ncontrol_mode = 0600\n", "",
                           "[alarm hot]\nsensor = room-temp\nkind = high\nsetpoint = 40\n", &p,
                           err, sizeof(err)),
                     0);
    assert_true(p.log_level);
    assert_true(p.journal_max);
    assert_true(p.control_mode);
    assert_string_equal(p.applied, "[agent] log_level, [agent] journal_max, [agent] control_mode");

    assert_int_equal(check("journal_max = 5000\n", "", "", &p, err, sizeof(err)), 0);
    assert_false(p.log_level);
    assert_true(p.journal_max);
    assert_false(p.control_mode);
    assert_string_equal(p.applied, "[agent] journal_max");

    /* A value equal to the default is no change. */
    assert_int_equal(check("log_level = info\ncontrol_mode = 0660\n", "", "", &p, err,
                           sizeof(err)),
                     0);
    assert_string_equal(p.applied, "");
}

static void
expect_refused(const char *agent, const char *mqtt, const char *body, const char *key)
{
    struct reload_plan p;
    char err[256], want[256];

    assert_int_equal(check(agent, mqtt, body, &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(p.refused, key);
    snprintf(want, sizeof(want), "reload refused: %s changed; restart emberd to apply it", key);
    assert_string_equal(err, want);
}

/* Every [agent] key of class CFG_RESTART, found from the table. */
static void
test_agent_restart_keys_refused(void **state)
{
    (void)state;
    expect_refused("gpio_sim = /tmp/other-fifo\n", "", "", "[agent] gpio_sim");
    expect_refused("journal = /tmp/other.db\n", "", "", "[agent] journal");
    expect_refused("control = /tmp/other.sock\n", "", "", "[agent] control");
}

static void
test_identity_refused(void **state)
{
    struct reload_plan p;
    char err[256];
    struct conf *o = load("running.conf", "", "", "");
    struct conf *n;
    (void)state;

    /* site and id are set in every file here: write them differently. */
    n = load("new.conf", "", "", "");
    strcpy(n->agent.site, "s2");
    assert_int_equal(reload_check(o, n, &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "reload refused: [agent] site changed; restart emberd to apply it");
    strcpy(n->agent.site, o->agent.site);
    strcpy(n->agent.id, "a2");
    assert_int_equal(reload_check(o, n, &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "reload refused: [agent] id changed; restart emberd to apply it");
    conf_free(n);
    conf_free(o);
}

static void
test_mqtt_session_refused(void **state)
{
    (void)state;
    /* Every [mqtt] key: the session is built from them at start. */
    expect_refused("", "host = 127.0.0.2\n", "", "[mqtt] host");
    expect_refused("", "port = 1884\n", "", "[mqtt] port");
    expect_refused("", "prefix = other\n", "", "[mqtt] prefix");
    expect_refused("", "keepalive = 30\n", "", "[mqtt] keepalive");
    expect_refused("", "client_id = other\n", "", "[mqtt] client_id");
    expect_refused("", "reconnect_max = 1m\n", "", "[mqtt] reconnect_max");
}

static void
test_gpio_lines_refused(void **state)
{
    char board[128], agent[256], cmd[PATH_MAX + 256];
    FILE *f;
    (void)state;

    /* Another contact is read. */
    expect_refused("", "", "[sensor door]\ngpio = contact2\n", "GPIO inputs/outputs");
    /* A second alarm output, on a board that has one. */
    snprintf(board, sizeof(board), "%s/pi4-beacon.conf", dir);
    snprintf(cmd, sizeof(cmd), "cp %s/pi4.conf %s", boards, board);
    assert_int_equal(system(cmd), 0);
    f = fopen(board, "a");
    assert_non_null(f);
    fputs("\n[output beacon]\nline = 23\n", f);
    fclose(f);
    snprintf(agent, sizeof(agent), "board = %s\nalarm_outputs = buzzer, beacon\n", board);
    expect_refused(agent, "", "", "GPIO inputs/outputs");
}

/* The hardware watchdog is opened at start: another device or timeout
 * takes a restart. */
static void
test_watchdog_refused(void **state)
{
    char board[128], agent[256], cmd[PATH_MAX + 256];
    (void)state;

    snprintf(board, sizeof(board), "%s/pi4-wd.conf", dir);
    snprintf(cmd, sizeof(cmd),
             "sed 's/^watchdog_timeout = .*/watchdog_timeout = 30s/' %s/pi4.conf >%s", boards,
             board);
    assert_int_equal(system(cmd), 0);
    snprintf(agent, sizeof(agent), "board = %s\n", board);
    expect_refused(agent, "", "", "[board] watchdog");
    snprintf(cmd, sizeof(cmd), "sed 's|^watchdog = .*|watchdog = /dev/watchdog1|' %s/pi4.conf >%s",
             boards, board);
    assert_int_equal(system(cmd), 0);
    expect_refused(agent, "", "", "[board] watchdog");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_changed),
        cmocka_unit_test(test_applied_in_place),
        cmocka_unit_test(test_agent_restart_keys_refused),
        cmocka_unit_test(test_identity_refused),
        cmocka_unit_test(test_mqtt_session_refused),
        cmocka_unit_test(test_gpio_lines_refused),
        cmocka_unit_test(test_watchdog_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
