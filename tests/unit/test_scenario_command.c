/*
 * test_scenario_command.c - unit tests of agent/sim/scenario_command.c: the
 * control language (set, release, fault, gpio).
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

static void
test_commands(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 10\n"
                                       "noise = 1\n"
                                       "step = 30s 35\n"
                                       "[fault d]\n"
                                       "dropout = 100s 10s\n");
    int s = sig(sc, "d.temp");
    char msg[300];
    int64_t delay;

    assert_int_equal(scenario_command(sc, "set d.temp 55.5\r", msg, sizeof(msg)), 0);
    assert_has(msg, "d.temp = 55.5");
    /* Held exactly (no noise) at any time, until released. */
    assert_near(scenario_value(sc, s, 1), 55.5, 0);
    assert_near(scenario_value(sc, s, 40), 55.5, 0);
    assert_int_equal(scenario_command(sc, "release d.temp", msg, sizeof(msg)), 0);
    assert_near(scenario_value(sc, s, 40), 35, 1);
    assert_true(scenario_value(sc, s, 40) != 55.5);

    assert_int_equal(scenario_command(sc, "fault d slow 250", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_SLOW);
    assert_int_equal(delay, 250);
    assert_int_equal(scenario_command(sc, "fault d slow 1.5s", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_SLOW);
    assert_int_equal(delay, 1500);
    /* "none" holds the device healthy even inside a scenario fault window... */
    assert_int_equal(scenario_command(sc, "fault d none", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 105, &delay), SCN_FAULT_NONE);
    /* ...and "scenario" gives the timeline back. */
    assert_int_equal(scenario_command(sc, "fault d scenario", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 105, &delay), SCN_FAULT_DROPOUT);
    assert_int_equal(scenario_command(sc, "fault d garbage", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_GARBAGE);
    assert_int_equal(scenario_command(sc, "fault d exception", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_EXCEPTION);
    assert_int_equal(scenario_command(sc, "fault d dropout", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_DROPOUT);

    assert_int_equal(scenario_command(sc, "", msg, sizeof(msg)), -ENODATA);
    assert_int_equal(scenario_command(sc, "  # comment", msg, sizeof(msg)), -ENODATA);
    static const char *bad[] = {
        "set d.temp",       "set d.nope 1", "set d.temp abc",  "release",
        "release x.temp",   "fault d",      "fault x dropout", "fault d slow",
        "fault d slow zz",  "fault d melt", "fault d none 5",  "frobnicate d.temp",
        "set d.temp 1 2 3",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_refused(bad[i], scenario_command(sc, bad[i], msg, sizeof(msg)), msg);
    /* Bad commands change nothing. */
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_DROPOUT);
    assert_near(scenario_timeline(sc, s, 40), 35, 0);
    scenario_free(sc);
}

static void
test_gpio_command(void **state)
{
    (void)state;
    char name[NAME_MAX_LEN + 1], msg[300];
    int v = -1;

    assert_int_equal(
        scenario_gpio_command("gpio contact1 1", name, sizeof(name), &v, msg, sizeof(msg)), 0);
    assert_string_equal(name, "contact1");
    assert_int_equal(v, 1);
    assert_int_equal(
        scenario_gpio_command("  gpio\tdoor 0\r", name, sizeof(name), &v, msg, sizeof(msg)), 0);
    assert_string_equal(name, "door");
    assert_int_equal(v, 0);
    /* Other commands are not for it. */
    static const char *other[] = {"set d.temp 1", "", "# gpio x 1", "gpiox a 1"};
    for (size_t i = 0; i < ARRAY_LEN(other); i++)
        assert_int_equal(scenario_gpio_command(other[i], name, sizeof(name), &v, msg, sizeof(msg)),
                         -ENOENT);
    static const char *bad[] = {"gpio",      "gpio x",     "gpio x 2",
                                "gpio x on", "gpio x 1 2", "gpio a/b 1"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_refused(
            bad[i], scenario_gpio_command(bad[i], name, sizeof(name), &v, msg, sizeof(msg)), msg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_gpio_command),
    };
    return cmocka_run_group_tests(tests, scenario_setup, scenario_teardown);
}
