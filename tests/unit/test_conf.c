/* Unit tests: conf.c and board.c - defaults, cross-checks, file:line errors. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static char dir[64];
static char profiles[PATH_MAX];
static char boards[PATH_MAX];

static int
setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/ember-conf-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_non_null(realpath("agent/profiles", profiles));
    assert_non_null(realpath("boards", boards));
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes a config whose [agent] points at the source tree's profiles and
 * boards, followed by `body`; returns its path. */
static const char *
write_conf(const char *name, const char *agent_extra, const char *body)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[agent]\nsite = s1\nid = a1\nprofile_dir = %s\nboard_dir = %s\n%s\n%s", profiles,
            boards, agent_extra, body);
    fclose(f);
    return path;
}

static const char *good_body = "[bus rtu0]\n"
                               "type = rtu\n"
                               "device = /dev/ttyUSB0\n"
                               "\n"
                               "[bus gw]\n"
                               "type = tcp\n"
                               "host = 127.0.0.1\n"
                               "timeout = 1s\n"
                               "\n"
                               "[device room]\n"
                               "bus = rtu0\n"
                               "profile = xy-md02\n"
                               "\n"
                               "[device ups]\n"
                               "bus = gw\n"
                               "slave = 2\n"
                               "profile = apc-smart-ups\n"
                               "interval = 250ms\n"
                               "\n"
                               "[sensor room-temp]\n"
                               "device = room\n"
                               "point = temperature\n"
                               "zone = b3\n"
                               "\n"
                               "[sensor batt]\n"
                               "device = ups\n"
                               "point = battery_temperature\n"
                               "unit = degC\n";

static void
test_good_and_defaults(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    (void)state;

    assert_int_equal(conf_load(write_conf("good.conf", "", good_body), &c, &err), 0);
    assert_null(err.text);
    assert_string_equal(c->agent.site, "s1");
    assert_int_equal(c->agent.control_mode, 0660);
    assert_int_equal(c->nbuses, 2);
    assert_int_equal(c->buses[0].type, BUS_RTU);
    assert_int_equal(c->buses[0].baud, 9600);
    assert_int_equal(c->buses[0].parity, PARITY_NONE);
    assert_int_equal(c->buses[0].data_bits, 8);
    assert_int_equal(c->buses[0].timeout_ms, 300);
    assert_int_equal(c->buses[0].retries, 1);
    assert_int_equal(c->buses[1].port, 502);
    assert_int_equal(c->buses[1].timeout_ms, 1000);
    assert_int_equal(c->devices[0].interval_ms, 1000);
    assert_int_equal(c->devices[0].slave, 1);
    assert_int_equal(c->devices[0].comms_lost_after, 2);
    assert_int_equal(c->devices[1].interval_ms, 250);
    assert_int_equal(c->devices[1].bus, 1);
    assert_int_equal(c->sensors[0].device, 0);
    assert_string_equal(c->sensors[0].unit, "C"); /* from the profile */
    assert_string_equal(c->sensors[0].zone, "b3");
    assert_string_equal(c->sensors[1].unit, "degC"); /* overridden */
    assert_string_equal(c->sensors[1].point->name, "battery_temperature");
    conf_free(c);
}

/* emberd -n, the start and a reload say "1 bus", never "1 buses". */
static void
test_summary_plurals(void **state)
{
    struct conf one = {0}, many = {0};
    char buf[160];
    (void)state;

    one.nbuses = one.ndevices = one.nsensors = one.nalarms = one.nzones = 1;
    conf_summary(&one, buf, sizeof(buf));
    assert_string_equal(buf, "1 bus, 1 device, 1 sensor, 1 alarm, 1 zone");
    many.nbuses = 3;
    many.ndevices = 4;
    many.nsensors = 7;
    many.nalarms = 5;
    conf_summary(&many, buf, sizeof(buf));
    assert_string_equal(buf, "3 buses, 4 devices, 7 sensors, 5 alarms, 0 zones");
    /* Notifiers are named only when there are some. */
    one.nnotifiers = 1;
    conf_summary(&one, buf, sizeof(buf));
    assert_string_equal(buf, "1 bus, 1 device, 1 sensor, 1 alarm, 1 zone, 1 notifier");
    many.nnotifiers = 2;
    conf_summary(&many, buf, sizeof(buf));
    assert_string_equal(buf, "3 buses, 4 devices, 7 sensors, 5 alarms, 0 zones, 2 notifiers");
}

static void
test_board_serial(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    const char *body = "[bus a]\ntype = rtu\nserial = rs485b\nbaud = 19200\n"
                       "[device d]\nbus = a\nprofile = xy-md02\n"
                       "[sensor t]\ndevice = d\npoint = temperature\n";
    (void)state;

    assert_int_equal(conf_load(write_conf("board.conf", "board = cm4-rs485\n", body), &c, &err),
                     0);
    assert_string_equal(c->board->name, "cm4-rs485");
    assert_string_equal(c->board->gpio_chip, "pinctrl-bcm2711");
    assert_string_equal(c->buses[0].device, "/dev/ttySC1");
    assert_true(c->buses[0].rs485);
    assert_int_equal(c->buses[0].baud, 19200);
    conf_free(c);

    /* Every shipped board file loads. */
    static const char *names[] = {"bench", "pi4", "pi5", "cm4-rs485"};
    for (size_t i = 0; i < 4; i++) {
        char p[PATH_MAX + 32];
        struct board *b = NULL;
        snprintf(p, sizeof(p), "%s/%s.conf", boards, names[i]);
        assert_int_equal(board_load(p, &b, &err), 0);
        assert_string_equal(b->name, names[i]);
        board_free(b);
    }
    assert_null(err.text);
}

static void
expect_error(const char *name, const char *agent_extra, const char *body, const char *needle)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    const char *path = write_conf(name, agent_extra, body);
    char want[512];

    assert_int_equal(conf_load(path, &c, &err), -EINVAL);
    assert_null(c);
    assert_non_null(err.text);
    snprintf(want, sizeof(want), "%s:%s", path, needle);
    if (strstr(err.text, want) == NULL)
        fail_msg("expected '%s' in:\n%s", want, err.text);
    cfgerr_free(&err);
}

static void
test_errors_name_file_line_key(void **state)
{
    (void)state;
    /* [mqtt] errors: test_mqttconf.c.  Header is lines 1-5 plus the agent_extra line (6);
     * body starts at 7. */
    expect_error("e1.conf", "", "[bus a]\ntype = rtu\nbaud = fast\n",
                 "9: [bus a] baud: 'fast' is not an integer");
    expect_error("e2.conf", "", "[bus a]\ntype = rtu\ndevice = /dev/x\nbaud = 50\n",
                 "10: [bus a] baud: 50 is out of range (300..4000000)");
    expect_error("e3.conf", "", "[bus a]\ntype = tcp\nhost = h\n[device d]\nbus = b\n",
                 "10: [device d] bus: no [bus b] in this file");
    expect_error("e4.conf", "", "[bus a]\ntype = tcp\nhost = h\n[device d]\nbus = a\n"
                                "profile = xy-md02\n[sensor s]\ndevice = d\npoint = nope\n",
                 "13: [sensor s] point: profile 'xy-md02' has no point 'nope'");
    expect_error("e7.conf", "", "[bus a]\ntype = tcp\nhost = h\n[bus a]\nport = 1\n",
                 "11: [bus a] defined twice (first at line 7)");
    expect_error("e8.conf", "", "[frobnicator x]\na = b\n", "8: [frobnicator x]: unknown section");
    expect_error("e9.conf", "", "just words\n",
                 "7: syntax error (expected [section] or key = value)");
    expect_error("e10.conf", "", "[bus a]\ntype = rtu\n", "7: [bus a]: missing key 'device'");
    expect_error("e11.conf", "", "[bus a]\ntype = rtu\ndevice = /dev/x\n[device d]\nbus = a\n"
                                 "slave = 250\nprofile = xy-md02\n",
                 "10: [device d] slave: 250 is out of range (1..247) on RTU");
    expect_error("e12.conf", "board = nosuchboard\n", "",
                 "6: [agent] board: cannot load");
    expect_error("e13.conf", "", "[bus a]\ntype = rtu\nserial = x\n",
                 "7: [bus a] serial: 'x' needs [agent] board");
    expect_error("e14.conf", "", "[device d]\ninterval = 5ms\n",
                 "8: [device d] interval: 5ms is out of range (100ms..1h)");
}

static void
test_long_line(void **state)
{
    char body[400];
    (void)state;
    memset(body, 'x', sizeof(body));
    memcpy(body, "[mqtt]\nhost = ", 14);
    body[sizeof(body) - 2] = '\n';
    body[sizeof(body) - 1] = '\0';
    expect_error("long.conf", "", body, "8: line longer than");
}

static void
test_every_syntax_error_reported(void **state)
{
    (void)state;
    /* inih itself stops counting after the first; each must be reported. */
    expect_error("syn1.conf", "", "one\n[mqtt]\nport = 1\ntwo\n", "7: syntax error");
    expect_error("syn2.conf", "", "one\n[mqtt]\nport = 1\ntwo\n", "10: syntax error");
    expect_error("syn3.conf", "", "[mqtt\nport = 1\n", "7: syntax error");
}

static const char *alarm_body = "[bus gw]\ntype = tcp\nhost = 127.0.0.1\n"
                                "[device ups]\nbus = gw\nprofile = apc-smart-ups\n"
                                "[sensor batt]\ndevice = ups\npoint = battery_temperature\n"
                                "zone = b3\n"
                                "[sensor smoke]\ngpio = contact1\nzone = b3\n"
                                "[alarm batt-hot]\nsensor = batt\nkind = high\nsetpoint = 45\n"
                                "deadband = 1\nseverity = critical\n"
                                "[alarm batt-ror]\nsensor = batt\nkind = rate_of_rise\n"
                                "setpoint = 8\nwindow = 2m\n"
                                "[alarm smoke]\nsensor = smoke\nkind = contact\ncontact = nc\n"
                                "severity = critical\nlatch = yes\n"
                                "[alarm batt-lost]\nsensor = batt\nkind = comms_loss\n"
                                "[zone b3]\nvote = 2\n"
                                "[zone other]\nmembers = batt-lost\nvote = 1\n";

static void
test_alarms_and_zones(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    const struct alarm_def *a;
    (void)state;

    if (conf_load(write_conf("alarms.conf", "board = pi4\n", alarm_body), &c, &err) < 0)
        fail_msg("%s", err.text);
    assert_int_equal(c->nalarms, 4);
    assert_int_equal(c->nzones, 2);
    a = &c->alarm_defs[0];
    assert_int_equal(a->kind, AK_HIGH);
    assert_true(a->setpoint == 45 && a->deadband == 1);
    assert_int_equal(a->severity, SEV_CRITICAL);
    assert_int_equal(a->sensor, 0);
    assert_int_equal(a->zone, 0); /* from the sensor's zone */
    a = &c->alarm_defs[1];
    assert_int_equal(a->window_ms, 120000);
    assert_int_equal(a->severity, SEV_WARNING); /* default */
    a = &c->alarm_defs[2];
    assert_int_equal(a->nc, 1);
    assert_true(a->latch);
    assert_int_equal(a->off_delay_ms, 2000); /* contact default against chatter */
    assert_int_equal(c->sensors[1].device, -1);
    assert_int_equal(c->sensors[1].gpio, 0);
    assert_int_equal(c->ninputs, 1);
    assert_string_equal(c->inputs[0]->name, "contact1");
    assert_true(c->inputs[0]->active_low);
    assert_int_equal(c->noutputs, 0); /* none unless alarm_outputs names them */
    /* Zone b3 has every alarm naming it except the one listed elsewhere. */
    assert_int_equal(c->zone_defs[0].nmembers, 3);
    assert_int_equal(c->zone_defs[0].vote, 2);
    assert_int_equal(c->zone_defs[1].nmembers, 1);
    assert_int_equal(c->zone_defs[1].members[0], 3);
    assert_int_equal(c->alarm_defs[3].zone, 1);
    assert_int_equal(c->alarm_defs[1].stale_ms, 600000);
    conf_free(c);
}

static void
test_alarm_errors(void **state)
{
    (void)state;
    expect_error("a1.conf", "", "[alarm x]\nkind = high\n",
                 "7: [alarm x]: missing key 'sensor'");
    expect_error("a2.conf", "",
                 "[bus gw]\ntype = tcp\nhost = h\n[device d]\nbus = gw\nprofile = xy-md02\n"
                 "[sensor t]\ndevice = d\npoint = temperature\n"
                 "[alarm x]\nsensor = t\nkind = high\n",
                 "16: [alarm x]: kind high needs a 'setpoint'");
    expect_error("a3.conf", "",
                 "[bus gw]\ntype = tcp\nhost = h\n[device d]\nbus = gw\nprofile = xy-md02\n"
                 "[sensor t]\ndevice = d\npoint = temperature\n"
                 "[alarm x]\nsensor = t\nkind = contact\nsetpoint = 1\n",
                 "16: [alarm x] setpoint: not used by kind contact");
    expect_error("a4.conf", "", "[alarm x]\nsensor = nope\nkind = stale\n",
                 "7: [alarm x] sensor: no [sensor nope] in this file");
    expect_error("a5.conf", "", "[alarm x]\nkind = warm\n",
                 "8: [alarm x] kind: 'warm' is not one of: high, low, rate_of_rise, contact,");
    expect_error("a6.conf", "", "[alarm x]\nseverity = panic\n",
                 "8: [alarm x] severity: 'panic' is not one of: warning, critical");
    expect_error("a7.conf", "", "[zone z]\nmembers = ghost\n",
                 "7: [zone z] members: no [alarm ghost] in this file");
    expect_error("a8.conf", "", "[zone z]\nvote = 0\n", "8: [zone z] vote: 0 is out of range");
    expect_error("a8j.conf", "", "[alarm _journal]\nkind = stale\n",
                 "8: [alarm _journal]: the name _journal is emberd's own journal alarm");
    expect_error("a9.conf", "", "[zone z]\ndrain = be/s1\n", "7: [zone z]: no member alarms");
    expect_error("a10.conf", "", "[sensor s]\ngpio = contact1\n",
                 "7: [sensor s] gpio: 'contact1' needs [agent] board");
    expect_error("a11.conf", "board = pi4\n", "[sensor s]\ngpio = buzzer\n",
                 "8: [sensor s] gpio: board 'pi4' has no [input buzzer]");
    expect_error("a13.conf", "",
                 "[bus gw]\ntype = tcp\nhost = h\n[device d]\nbus = gw\nslave = 250\n"
                 "profile = xy-md02\n",
                 "10: [device d] slave: 250 is not a TCP unit id (0..247 or 255)");
    expect_error("a14.conf", "", "[bus s]\ntype = rtu\ndevice = /dev/x\nbaud = 14400\n",
                 "7: [bus s] baud: 14400 is not a serial rate Linux supports");
    expect_error("a15.conf", "",
                 "[bus gw]\ntype = tcp\nhost = h\n[device d]\nbus = gw\nprofile = xy-md02\n"
                 "[sensor t]\ndevice = d\npoint = temperature\n"
                 "[alarm x]\nsensor = t\nkind = high\nsetpoint = 1\n"
                 "[zone z]\nmembers = x, x\n",
                 "20: [zone z] members: alarm x is listed twice");
    expect_error("a16.conf", "control_mode = 0680\n", "", "6: [agent] control_mode: '0680' is not an octal");
    expect_error("a12.conf", "", "[alarm x]\nsensor = s\nkind = high\nsetpoint = 1\n"
                                 "window = 1m\n",
                 "7: [alarm x] window: only for kind rate_of_rise");
}

static void
test_not_a_regular_file(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    (void)state;
    /* /dev/zero would never end; a FIFO or tty would block. */
    assert_int_equal(conf_load("/dev/zero", &c, &err), -EINVAL);
    assert_non_null(strstr(err.text, "/dev/zero: not a regular file"));
    cfgerr_free(&err);
    expect_error("devprof.conf", "",
                 "[bus gw]\ntype = tcp\nhost = h\n[device d]\nbus = gw\nprofile = /dev/zero\n",
                 "10: [device d] profile: cannot load '/dev/zero'");
}

static void
test_missing_file(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    (void)state;
    assert_int_equal(conf_load("/nonexistent/emberd.conf", &c, &err), -ENOENT);
    assert_non_null(strstr(err.text, "/nonexistent/emberd.conf: cannot open"));
    cfgerr_free(&err);
}

/* A file in the test directory with the given mode; returns its path. */
static const char *
make_file(const char *name, mode_t mode)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n", f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static const char *notify_sensor = "[bus b]\ntype = tcp\nhost = h\n"
                                   "[device d]\nbus = b\nprofile = xy-md02\n"
                                   "[sensor t]\ndevice = d\npoint = temperature\n"
                                   "[alarm hot]\nsensor = t\nkind = high\nsetpoint = 40\n";

static void
test_notify(void **state)
{
    struct cfgerr err = {0};
    struct conf *c = NULL;
    char body[2048], prog[128], summary[160];
    (void)state;

    snprintf(prog, sizeof(prog), "%s", make_file("notifier", 0755));
    snprintf(body, sizeof(body),
             "%s[notify page]\ncommand = %s  --to\tops@example.com\n"
             "[notify rel]\ncommand = notifier\non = cleared,acked shelved, undrain\n"
             "severity = critical\nalarms = hot, _journal\ntimeout = 1m\nretries = 0\n"
             "retry_delay = 0\nqueue = 0\n",
             notify_sensor, prog);
    assert_int_equal(conf_load(write_conf("n.conf", "", body), &c, &err), -EINVAL);
    /* undrain with alarms: a zone's event such a notifier never gets */
    assert_non_null(strstr(err.text, "[notify rel] on: drain and undrain are a zone's events"));
    cfgerr_free(&err);

    snprintf(body, sizeof(body),
             "%s[notify page]\ncommand = %s  --to\tops@example.com\n"
             "[notify rel]\ncommand = notifier\non = cleared,acked shelved\n"
             "severity = critical\nalarms = hot, _journal\ntimeout = 1m\nretries = 0\n"
             "retry_delay = 0\nqueue = 0\n",
             notify_sensor, prog);
    assert_int_equal(conf_load(write_conf("n.conf", "", body), &c, &err), 0);
    assert_null(err.text);
    assert_int_equal(c->nnotifiers, 2);
    /* Defaults. */
    assert_string_equal(c->notifiers[0].name, "page");
    assert_string_equal(c->notifiers[0].argv[0], prog);
    assert_string_equal(c->notifiers[0].argv[1], "--to");
    assert_string_equal(c->notifiers[0].argv[2], "ops@example.com");
    assert_null(c->notifiers[0].argv[3]);
    assert_int_equal(c->notifiers[0].on, 1u << NOTIFY_ACTIVATED | 1u << NOTIFY_DRAIN);
    assert_int_equal(c->notifiers[0].severity, SEV_WARNING);
    assert_null(c->notifiers[0].alarms);
    assert_int_equal(c->notifiers[0].timeout_ms, 10000);
    assert_int_equal(c->notifiers[0].retries, 2);
    assert_int_equal(c->notifiers[0].retry_delay_ms, 5000);
    assert_int_equal(c->notifiers[0].queue, 100);
    /* Set: a relative program is relative to the file, like any path. */
    assert_string_equal(c->notifiers[1].argv[0], prog);
    assert_null(c->notifiers[1].argv[1]);
    assert_int_equal(c->notifiers[1].on,
                     1u << NOTIFY_CLEARED | 1u << NOTIFY_ACKED | 1u << NOTIFY_SHELVED);
    assert_int_equal(c->notifiers[1].severity, SEV_CRITICAL);
    assert_string_equal(c->notifiers[1].alarms[0], "hot");
    assert_string_equal(c->notifiers[1].alarms[1], "_journal");
    assert_null(c->notifiers[1].alarms[2]);
    assert_int_equal(c->notifiers[1].timeout_ms, 60000);
    assert_int_equal(c->notifiers[1].retries, 0);
    assert_int_equal(c->notifiers[1].retry_delay_ms, 0);
    assert_int_equal(c->notifiers[1].queue, 0);
    assert_int_equal(conf_notify_find(c, "rel"), 1);
    conf_summary(c, summary, sizeof(summary));
    assert_string_equal(summary, "1 bus, 1 device, 1 sensor, 1 alarm, 0 zones, 2 notifiers");
    conf_free(c);

    /* The event names of `on`, both ways. */
    for (int ev = 0; ev < NOTIFY_NEVENTS; ev++)
        assert_int_equal(conf_notify_event(conf_notify_event_name(ev)), ev);
    assert_string_equal(conf_notify_event_name(NOTIFY_TEST_END), "test_end");
    assert_string_equal(conf_notify_event_name(NOTIFY_UNDRAIN), "undrain");
    assert_int_equal(conf_notify_event("drained"), -1);
}

static void
test_notify_errors(void **state)
{
    char body[1024], prog[128];
    (void)state;

    snprintf(prog, sizeof(prog), "%s", make_file("notifier", 0755));
    make_file("plain", 0644);
    /* Body lines: 7 [notify a], 8 the key under test. */
    expect_error("n1.conf", "", "[notify a]\ncommand = /nonexistent/prog arg\n",
                 "8: [notify a] command: /nonexistent/prog: No such file or directory");
    snprintf(body, sizeof(body), "8: [notify a] command: %s/plain is not an executable file", dir);
    expect_error("n2.conf", "", "[notify a]\ncommand = plain\n", body);
    expect_error("n4.conf", "", "[notify a]\ncommand = /tmp\n",
                 "8: [notify a] command: /tmp is not an executable file");
    expect_error("n5.conf", "", "[notify a]\ntimeout = 5s\n",
                 "7: [notify a]: missing key 'command' (the program to run)");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\non = activated, drained\n", prog);
    expect_error("n6.conf", "", body,
                 "9: [notify a] on: 'drained' is not one of: activated, cleared, acked, shelved, "
                 "unshelved, test, test_end, drain, undrain");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\non = ,\n", prog);
    expect_error("n7.conf", "", body, "9: [notify a] on: names no event");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\nalarms = ghost\n", prog);
    expect_error("n8.conf", "", body,
                 "9: [notify a] alarms: no [alarm ghost] in this file (nor is it _journal)");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\nalarms = _journal\non = drain\n",
             prog);
    expect_error("n9.conf", "", body,
                 "10: [notify a] on: drain and undrain are a zone's events, which a notifier "
                 "with 'alarms' never gets");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\nqueue = 1001\n", prog);
    expect_error("n10.conf", "", body, "9: [notify a] queue: 1001 is out of range (0..1000)");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\ntimeout = 50ms\n", prog);
    expect_error("n11.conf", "", body, "9: [notify a] timeout: ");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\nretries = 11\n", prog);
    expect_error("n12.conf", "", body, "9: [notify a] retries: 11 is out of range (0..10)");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\nseverity = major\n", prog);
    expect_error("n13.conf", "", body, "9: [notify a] severity: ");
    snprintf(body, sizeof(body), "[notify a]\ncommand = %s\nwhen = always\n", prog);
    expect_error("n14.conf", "", body, "9: [notify a]: unknown key 'when'");
    snprintf(body, sizeof(body),
             "[notify a]\ncommand = %s a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 "
             "4 5 6\n",
             prog);
    expect_error("n15.conf", "", body, "8: [notify a] command: more than 32 words");
    expect_error("n16.conf", "", "[notify]\ncommand = /bin/true\n",
                 "8: [notify]: unknown section (expected [agent], [mqtt], [metrics], [homeassistant], [bus NAME], "
                 "[device NAME], [sensor NAME], [alarm NAME], [zone NAME] or [notify NAME])");
}

static void
test_notify_limit(void **state)
{
    char body[4096], prog[128];
    size_t n = 0;
    (void)state;

    snprintf(prog, sizeof(prog), "%s", make_file("notifier", 0755));
    for (int i = 0; i <= CONF_MAX_NOTIFIERS; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "[notify n%d]\ncommand = %s\n", i, prog);
    /* The ninth starts at line 7 + 2 * 8; its first key is the next line. */
    expect_error("nmax.conf", "", body, "24: [notify n8]: too many sections of this kind (max 8)");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_plurals),
        cmocka_unit_test(test_good_and_defaults),
        cmocka_unit_test(test_board_serial),
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_every_syntax_error_reported),
        cmocka_unit_test(test_alarms_and_zones),
        cmocka_unit_test(test_alarm_errors),
        cmocka_unit_test(test_not_a_regular_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_notify_errors),
        cmocka_unit_test(test_notify_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
