/*
 * test_scenario_gpio.c - unit tests of agent/sim/scenario_gpio.c: the
 * levels of [gpio] timelines and when the player must wake next.
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
test_gpio_timeline(void **state)
{
    (void)state;
    /* Steps out of order on purpose: they play in time order. */
    struct scenario *sc = load_ok(HEAD "[gpio contact1]\n"
                                       "initial = 0\n"
                                       "step = 100s 0\n"
                                       "step = 95s 1\n"
                                       "step = 1500ms 1\n"
                                       "step = 1s 1\n"
                                       "step = 1200ms 0\n"
                                       "[gpio door]\n"
                                       "initial = 1\n"
                                       "[gpio smoke.1]\n"
                                       "step = 0 1\n");
    int c = scenario_gpio_find(sc, "contact1");

    assert_int_equal(sc->ngpios, 3);
    assert_int_equal(c, 0);
    assert_int_equal(scenario_gpio_find(sc, "door"), 1);
    assert_int_equal(scenario_gpio_find(sc, "smoke.1"), 2);
    assert_int_equal(scenario_gpio_find(sc, "nope"), -ENOENT);
    assert_int_equal(sc->gpios[0].nsteps, 5);
    assert_int_equal(sc->gpios[0].steps[0].t_ms, 1000);
    assert_int_equal(sc->gpios[0].steps[4].t_ms, 100000);
    /* Closed at 1 s, open at 1.2 s, closed at 1.5 s (the step to 1 at 95 s
     * changes nothing), open at 100 s. */
    static const struct want_at_ms contact1[] = {
        {0, 0},    {999, 0},   {1000, 1},  {1199, 1},   {1200, 0},
        {1500, 1}, {94999, 1}, {99999, 1}, {100000, 0}, {100000000, 0}, /* no loop: holds */
        {-5, 0},
    };
    /* No steps: the initial level forever; a step at 0 applies at once. */
    static const struct want_at_ms door[] = {{0, 1}, {500000, 1}};
    static const struct want_at_ms smoke[] = {{0, 1}};
    /* When the player must wake next: every step of any [gpio], in order. */
    static const struct want_at_ms next[] = {
        {-1, 0},       {0, 1000},       {999, 1000},  {1000, 1200}, {1200, 1500},
        {1500, 95000}, {95000, 100000}, {100000, -1}, {200000, -1},
    };

    assert_gpio_values(sc, 0, contact1, ARRAY_LEN(contact1));
    assert_gpio_values(sc, 1, door, ARRAY_LEN(door));
    assert_gpio_values(sc, 2, smoke, ARRAY_LEN(smoke));
    assert_gpio_next(sc, next, ARRAY_LEN(next));
    scenario_free(sc);
}

static void
test_gpio_loop(void **state)
{
    (void)state;
    /* Only [gpio] sections: a scenario that drives emberd's inputs alone. */
    struct scenario *sc = load_ok("[sim]\n"
                                  "loop = 10s\n"
                                  "[gpio smoke]\n"
                                  "initial = 0\n"
                                  "step = 2s 1\n"
                                  "step = 5s 0\n"
                                  "step = 12s 1\n" /* beyond the loop: never plays */
                                  "[gpio door]\n"
                                  "initial = 1\n"
                                  "step = 0s 0\n");

    static const struct want_at_ms smoke[] = {
        {1999, 0},
        {2000, 1},
        {9999, 0},
        /* Replayed from the start every 10 s. */
        {10000, 0},
        {12000, 1},
        {1000000 + 4999, 1},
    };
    static const struct want_at_ms door[] = {{10000, 0}};
    static const struct want_at_ms next[] = {
        {0, 2000},
        {2000, 5000},
        /* After the last step: the start of the next loop (door's step at 0). */
        {5000, 10000},
        {9999, 10000},
        {10000, 12000},
        {1005000, 1010000},
    };

    assert_int_equal(sc->ndevices, 0);
    assert_gpio_values(sc, 0, smoke, ARRAY_LEN(smoke));
    assert_gpio_values(sc, 1, door, ARRAY_LEN(door));
    assert_gpio_next(sc, next, ARRAY_LEN(next));
    scenario_free(sc);

    /* Looping [gpio] sections without steps need no wake-ups. */
    sc = load_ok("[sim]\nloop = 10s\n[gpio a]\ninitial = 1\n");
    assert_int_equal(scenario_gpio_next(sc, 0), -1);
    scenario_free(sc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpio_timeline),
        cmocka_unit_test(test_gpio_loop),
    };
    return cmocka_run_group_tests(tests, scenario_setup, scenario_teardown);
}
