/*
 * test_scenario_load.c - unit tests of agent/sim/scenario_load.c: reading
 * scenario files, listener overrides and checks, the --profile quick mode.
 *
 * Error tests give a file with one mistake per marked line and expect every
 * mistake in one run, each at its file:line, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scenario_fixture.h"

/* ---- parsing ---- */

static void
test_parse_ok(void **state)
{
    (void)state;
    struct scenario *sc = load_ok("[sim]\n"
                                  "profile_dir = .\n"
                                  "seed = 7\n"
                                  "loop = 4m\n"
                                  "[listen tcp0]\n"
                                  "tcp = 127.0.0.1:1502\n"
                                  "[listen rtu0]\n"
                                  "rtu = /dev/ttyUSB0\n"
                                  "baud = 19200\n"
                                  "parity = even\n"
                                  "[device a]\n"
                                  "listen = tcp0\n"
                                  "slave = 3\n"
                                  "profile = tdev\n"
                                  "[device b]\n"
                                  "listen = rtu0\n"
                                  "slave = 5\n"
                                  "profile = ./tdev.ini\n");

    assert_int_equal(sc->seed, 7);
    assert_near(sc->loop, 240.0, 1e-9);
    assert_int_equal(sc->nlisteners, 2);
    assert_int_equal(sc->listeners[0].kind, SCN_TCP);
    assert_string_equal(sc->listeners[0].host, "127.0.0.1");
    assert_int_equal(sc->listeners[0].port, 1502);
    assert_int_equal(sc->listeners[1].kind, SCN_RTU);
    assert_string_equal(sc->listeners[1].device, "/dev/ttyUSB0");
    assert_int_equal(sc->listeners[1].baud, 19200);
    assert_int_equal(sc->listeners[1].parity, 'E');
    assert_int_equal(sc->ndevices, 2);
    assert_int_equal(sc->devices[1].listener, 1);
    assert_int_equal(sc->devices[0].slave, 3);
    /* 3 points per device, each a signal, with the profile's initial values. */
    assert_int_equal(sc->nsignals, 6);
    assert_int_equal(sig(sc, "b.hum"), 4);
    assert_near(scenario_value(sc, sig(sc, "a.temp"), 5), 21.5, 0);
    assert_near(scenario_value(sc, sig(sc, "b.hum"), 5), 40, 0);
    assert_int_equal(scenario_signal_find(sc, "a.nope"), -ENOENT);
    assert_int_equal(scenario_signal_find(sc, "zz.temp"), -ENOENT);
    scenario_free(sc);
}

static void
test_parse_errors_have_lines(void **state)
{
    (void)state;
    int n;
    char *text = load_fail(HEAD                    /* lines 1-7 */
                           "colour = red\n"        /* 8: unknown key in [device d] */
                           "[signal d.temp]\n"     /* 9 */
                           "step = 30s\n"          /* 10: missing value */
                           "ramp = 90s 60s 45\n"   /* 11: end before start */
                           "runaway = 1s 2s x 3\n" /* 12: not a number */
                           "noise = -1\n"          /* 13: negative */
                           "[gadget g]\n"          /* 14: unknown section */
                           "x = 1\n"               /* 15 */
                           "[signal d.pressure]\n" /* 16: no such point */
                           "initial = 3\n"         /* 17 */
                           "[fault ghost]\n"       /* 18: no such device */
                           "dropout = 1s 1s\n"     /* 19 */
                           "[fault d]\n"           /* 20 */
                           "slow = 1s 2s\n"        /* 21: missing delay */
                           "garbage = 5s 0s\n"     /* 22: zero length */
                           "[sim]\n"               /* 23 */
                           "loop = forever\n",     /* 24 */
                           &n);
    static const struct want_error expect[] = {
        {8, "[device d]: unknown key 'colour'"},
        {10, "step: '30s' is not 'TIME VALUE'"},
        {11, "ramp: end 60s is not after start 90s"},
        {12, "runaway: '1s 2s x 3' is not 'START END T0 T1'"},
        {13, "noise: '-1' is not a number >= 0"},
        {14, "unknown section [gadget g]"},
        {16, "[signal d.pressure]: profile tdev has no point 'pressure'"},
        {18, "[fault ghost]: no [device ghost]"},
        {21, "slow: '1s 2s' is not 'START LENGTH DELAY'"},
        {22, "garbage: length must be positive"},
        {24, "loop: 'forever' is not a positive duration"},
    };

    /* Every mistake is reported in one run, and nothing else. */
    assert_errors(text, n, expect, ARRAY_LEN(expect), 0);
    free(text);
}

static void
test_parse_errors_resolution(void **state)
{
    (void)state;
    int n;
    char *text = load_fail("[listen tcp0]\n"        /* 1 */
                           "tcp = localhost:1502\n" /* 2: not an IPv4 address */
                           "[listen l2]\n"          /* 3 */
                           "tcp = 127.0.0.1:502\n"  /* 4 */
                           "baud = 9600\n"          /* 5: TCP has no baud */
                           "[device a]\n"           /* 6: two listeners, none named */
                           "profile = ./tdev.ini\n" /* 7 */
                           "[device b]\n"           /* 8 */
                           "listen = nowhere\n"     /* 9: no such listener */
                           "profile = missing\n"    /* 10: no such profile */
                           "[device a]\n"           /* 11: duplicate */
                           "slave = 2\n"            /* 12 */
                           "[signal a.temp]\n"      /* 13 */
                           "initial = 1\n"          /* 14 */
                           "[signal a.temp]\n"      /* 15: duplicate */
                           "initial = 2\n",         /* 16 */
                           &n);
    static const struct want_error expect[] = {
        {2, "tcp: 'localhost:1502' is not IPV4-ADDRESS:PORT"},
        {1, "[listen tcp0]: needs 'tcp = HOST:PORT' or 'rtu = DEVICE'"},
        {5, "baud: [listen l2] is a TCP listener"},
        {6, "[device a]: missing key 'listen'"},
        {9, "listen: no [listen nowhere] section"},
        {10, "profile: cannot load 'missing'"},
        {11, "[device a] defined twice (first at line 6)"},
        {15, "[signal a.temp] defined twice (first at line 13)"},
    };

    /* Plus the profile loader's own error for missing.ini. */
    assert_errors(text, n, expect, ARRAY_LEN(expect), 1);
    assert_has(text, "missing.ini: profile 'missing' not found (/nonexistent: No such file");
    free(text);
}

static void
test_gpio_errors(void **state)
{
    (void)state;
    int n;
    char *text = load_fail(HEAD                /* lines 1-7 */
                           "[gpio contact1]\n" /* 8 */
                           "initial = 2\n"     /* 9: not 0/1 */
                           "step = 5s\n"       /* 10: no value */
                           "step = 5s on\n"    /* 11: not 0/1 */
                           "step = soon 1\n"   /* 12: not a time */
                           "step = 1s 1 2\n"   /* 13: too many words */
                           "level = 1\n"       /* 14: unknown key */
                           "[gpio contact1]\n" /* 15: duplicate */
                           "initial = 1\n"     /* 16 */
                           "[gpio bad/name]\n" /* 17 */
                           "initial = 1\n",    /* 18 */
                           &n);
    static const struct want_error expect[] = {
        {9, "initial: '2' is not 0 or 1"},
        {10, "step: '5s' is not 'TIME 0|1'"},
        {11, "step: '5s on' is not 'TIME 0|1'"},
        {12, "step: 'soon 1' is not 'TIME 0|1'"},
        {13, "step: '1s 1 2' is not 'TIME 0|1'"},
        {14, "[gpio contact1]: unknown key 'level' (expected initial, step)"},
        {15, "[gpio contact1] defined twice (first at line 8)"},
        {17, "[gpio bad/name]: name must be 1-64 of [A-Za-z0-9_.-]"},
    };

    assert_errors(text, n, expect, ARRAY_LEN(expect), 0);
    free(text);

    /* Neither devices nor [gpio]: nothing to do. */
    text = load_fail("[sim]\nseed = 3\n", &n);
    assert_has(text, "nothing to serve");
    free(text);
}

/* ---- listeners and the quick mode ---- */

static void
test_check_listener_rules(void **state)
{
    (void)state;
    int n;
    char *text = load_fail("[sim]\n"                /* 1 */
                           "profile_dir = .\n"      /* 2 */
                           "[listen r]\n"           /* 3 */
                           "rtu = /dev/ttyS0\n"     /* 4 */
                           "[listen t]\n"           /* 5 */
                           "tcp = 127.0.0.1:1502\n" /* 6 */
                           "[device a]\n"           /* 7 */
                           "listen = r\n"           /* 8 */
                           "profile = tdev\n"       /* 9 */
                           "[device b]\n"           /* 10: second device on RTU */
                           "listen = r\n"           /* 11 */
                           "slave = 2\n"            /* 12 */
                           "profile = tdev\n"       /* 13 */
                           "[device c]\n"           /* 14 */
                           "listen = t\n"           /* 15 */
                           "slave = 9\n"            /* 16 */
                           "profile = tdev\n"       /* 17 */
                           "[device e]\n"           /* 18: same unit id as c */
                           "listen = t\n"           /* 19 */
                           "slave = 9\n"            /* 20 */
                           "profile = tdev\n",      /* 21 */
                           &n);
    static const struct want_error expect[] = {
        {10, "[device b]: RTU listener r already serves [device a]; one device per RTU listener"},
        {18, "[device e]: slave 9 on listener t is already [device c]"},
    };

    assert_errors(text, n, expect, ARRAY_LEN(expect), 0);
    free(text);
}

static void
test_listener_override(void **state)
{
    (void)state;
    struct cfgerr err = {0};
    struct scenario *sc = load_ok(HEAD);

    assert_int_equal(scenario_set_listen(sc, "nope", "tcp:127.0.0.1:1"), -ENOENT);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "udp:1"), -EINVAL);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "tcp:127.0.0.1:70000"), -EINVAL);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "tcp:127.0.0.1:15020"), 0);
    assert_int_equal(sc->listeners[0].port, 15020);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "rtu:/tmp/pty-a"), 0);
    assert_int_equal(sc->listeners[0].kind, SCN_RTU);
    assert_string_equal(sc->listeners[0].device, "/tmp/pty-a");
    scenario_set_serial(sc, 38400, 'O');
    assert_int_equal(sc->listeners[0].baud, 38400);
    assert_int_equal(sc->listeners[0].parity, 'O');
    /* slave 1 is fine on RTU; 0 is not. */
    assert_int_equal(scenario_check(sc, &err), 0);
    sc->devices[0].slave = 0;
    assert_int_equal(scenario_check(sc, &err), -EINVAL);
    assert_has(err.text, "RTU slave ids are 1..247");
    cfgerr_free(&err);
    scenario_free(sc);
}

static void
test_quick(void **state)
{
    (void)state;
    struct cfgerr err = {0};
    struct scenario *sc = NULL;

    assert_int_equal(scenario_quick(tmpdir, "tdev", 7, "tcp:127.0.0.1:1502", &sc, &err), 0);
    assert_int_equal(sc->ndevices, 1);
    assert_string_equal(sc->devices[0].name, "tdev");
    assert_int_equal(sc->devices[0].slave, 7);
    assert_int_equal(sc->nsignals, 3);
    assert_near(scenario_value(sc, sig(sc, "tdev.temp"), 100), 21.5, 0);
    scenario_free(sc);
    assert_int_equal(scenario_quick(tmpdir, "tdev", 1, "tcp:nohost", &sc, &err), -EINVAL);
    assert_int_equal(scenario_quick(tmpdir, "nosuch", 1, "tcp:127.0.0.1:1", &sc, &err), -EINVAL);
    cfgerr_free(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors_have_lines),
        cmocka_unit_test(test_parse_errors_resolution),
        cmocka_unit_test(test_gpio_errors),
        cmocka_unit_test(test_check_listener_rules),
        cmocka_unit_test(test_listener_override),
        cmocka_unit_test(test_quick),
    };
    return cmocka_run_group_tests(tests, scenario_setup, scenario_teardown);
}
