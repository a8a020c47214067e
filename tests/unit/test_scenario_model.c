/*
 * test_scenario_model.c - unit tests of agent/sim/scenario_model.c: signal
 * values, noise and device faults at an injected time.
 *
 * Expected values are worked out by hand in the comments (not by calling the
 * code's own formulas), so a wrong curve or an off-by-one window fails.
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

/* ---- values ---- */

static void
test_step(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 10\n"
                                       "step = 30s 35\n"
                                       "step = 1m 12.5\n");
    static const struct want_value want[] = {
        {0, 10, 0},    {29.999, 10, 0}, {30, 35, 0},
        {59.9, 35, 0}, {60, 12.5, 0},   {1e6, 12.5, 0}, /* no loop: holds */
        {-5, 10, 0},                                    /* before the start */
    };

    assert_values(sc, sig(sc, "d.temp"), want, ARRAY_LEN(want));
    scenario_free(sc);
}

static void
test_ramp(void **state)
{
    (void)state;
    /* Events are listed out of order on purpose: they apply in time order. */
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 20\n"
                                       "ramp = 60s 90s 45\n"
                                       "step = 10s 30\n"
                                       "[signal d.hum]\n"
                                       "initial = 50\n"
                                       "ramp = 0 100s 0\n");
    static const struct want_value temp[] = {
        {5, 20, 0},
        {30, 30, 0},
        /* From its value at 60 s (30, set by the step) to 45 at 90 s. */
        {60, 30, 1e-12},
        {75, 37.5, 1e-12},
        {84, 42, 1e-12},
        {90, 45, 1e-12},
        {500, 45, 0},
    };
    /* A ramp downwards from the initial value. */
    static const struct want_value hum[] = {{25, 37.5, 1e-12}, {100, 0, 0}};

    assert_values(sc, sig(sc, "d.temp"), temp, ARRAY_LEN(temp));
    assert_values(sc, sig(sc, "d.hum"), hum, ARRAY_LEN(hum));
    scenario_free(sc);
}

static void
test_runaway(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 25\n"
                                       "runaway = 120s 300s 30 150\n"
                                       "ramp = 400s 410s 100\n");
    static const struct want_value want[] = {
        {119.9, 25, 0},
        {120, 30, 1e-12},
        /* u = 0.5: (e^2 - 1) / (e^4 - 1) = 1 / (e^2 + 1) = 0.11920292;
         * 30 + 120 * 0.11920292 = 44.30435 */
        {210, 44.304350, 1e-5},
        /* u = 0.25: (e - 1) / (e^4 - 1) = 1.7182818 / 53.598150 = 0.03205860;
         * 30 + 120 * 0.03205860 = 33.847032 */
        {165, 33.847032, 1e-5},
        /* u = 0.75: (e^3 - 1) / (e^4 - 1) = 19.085537 / 53.598150 = 0.35608570;
         * 30 + 120 * 0.35608570 = 72.730284 */
        {255, 72.730284, 1e-5},
        {300, 150, 1e-12},
        {399, 150, 0},
        /* A later ramp starts from where the runaway ended: 150 -> 100. */
        {405, 125, 1e-9},
    };
    int s = sig(sc, "d.temp");
    double prev = -1, v;

    assert_values(sc, s, want, ARRAY_LEN(want));
    /* Accelerating: every 10 s adds more than the 10 s before. */
    double prev_rise = 0;
    for (double t = 120; t <= 300; t += 10) {
        v = scenario_value(sc, s, t);
        if (prev >= 0) {
            assert_true(v - prev > prev_rise);
            prev_rise = v - prev;
        }
        prev = v;
    }
    scenario_free(sc);
}

static void
test_loop(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 10\n"
                                       "step = 30s 35\n"
                                       "[fault d]\n"
                                       "dropout = 50s 10s\n"
                                       "[sim]\n"
                                       "loop = 100s\n");
    static const struct want_value values[] = {
        {40, 35, 0},  {99.9, 35, 0}, {100, 10, 0}, /* replayed from the start */
        {129, 10, 0}, {130, 35, 0},  {1030.5, 35, 0},
    };
    static const struct want_fault faults[] = {
        {255, SCN_FAULT_DROPOUT, 0},
        {265, SCN_FAULT_NONE, 0},
    };

    assert_values(sc, sig(sc, "d.temp"), values, ARRAY_LEN(values));
    assert_faults(sc, 0, faults, ARRAY_LEN(faults));
    scenario_free(sc);
}

static void
test_noise(void **state)
{
    (void)state;
    const char *text = HEAD "[sim]\n"
                            "seed = 42\n"
                            "[signal d.temp]\n"
                            "initial = 24\n"
                            "noise = 0.2\n"
                            "[signal d.hum]\n"
                            "initial = 24\n"
                            "noise = 0.2\n";
    struct scenario *a = load_ok(text);
    struct scenario *b = load_ok(text);
    struct scenario *c;
    int s = sig(a, "d.temp"), h = sig(a, "d.hum");
    double lo = 1e9, hi = -1e9, sum = 0, v;
    int n = 0, differ_seed = 0, differ_sig = 0;
    char *other;

    other = strdup(text);
    memcpy(strstr(other, "seed = 42"), "seed = 43", 9);
    c = load_ok(other);
    free(other);

    for (int ms = 0; ms < 20000; ms++) {
        double t = ms / 1000.0;
        v = scenario_value(a, s, t);
        /* Bounded by the noise half-width. */
        assert_true(v >= 24 - 0.2 && v <= 24 + 0.2);
        /* Same seed, same instant: the same value, however often it is read. */
        assert_true(v == scenario_value(b, s, t));
        assert_true(v == scenario_value(a, s, t));
        differ_seed += v != scenario_value(c, s, t);
        differ_sig += v != scenario_value(a, h, t);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
        n++;
    }
    /* Uniform over +-0.2: 20000 samples reach close to both ends and average 24. */
    assert_true(lo < 24 - 0.19 && hi > 24 + 0.19);
    assert_near(sum / n, 24, 0.01);
    assert_true(differ_seed > 19900);
    assert_true(differ_sig > 19900); /* signals do not share one noise */
    /* The timeline itself has no noise. */
    assert_near(scenario_timeline(a, s, 3.3), 24, 0);
    scenario_free(a);
    scenario_free(b);
    scenario_free(c);
}

/* ---- faults ---- */

static void
test_fault_windows(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[fault d]\n"
                                       "dropout = 200s 10s\n"
                                       "slow = 220s 5s 400ms\n"
                                       "exception = 240s 5s\n"
                                       "garbage = 260s 5s\n"
                                       "exception = 400s 100s\n"
                                       "dropout = 450s 10s\n");
    static const struct want_fault want[] = {
        {199.999, SCN_FAULT_NONE, 0},
        {200, SCN_FAULT_DROPOUT, 0},
        {209.999, SCN_FAULT_DROPOUT, 0},
        {210, SCN_FAULT_NONE, 0},
        {222, SCN_FAULT_SLOW, 400},
        {225, SCN_FAULT_NONE, 0},
        {242, SCN_FAULT_EXCEPTION, 0},
        {264.9, SCN_FAULT_GARBAGE, 0},
        {265, SCN_FAULT_NONE, 0},
        /* Overlapping windows: the one that started last wins while it lasts. */
        {449, SCN_FAULT_EXCEPTION, 0},
        {455, SCN_FAULT_DROPOUT, 0},
        {461, SCN_FAULT_EXCEPTION, 0},
        {500, SCN_FAULT_NONE, 0},
    };

    assert_faults(sc, 0, want, ARRAY_LEN(want));
    scenario_free(sc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step),    cmocka_unit_test(test_ramp),
        cmocka_unit_test(test_runaway), cmocka_unit_test(test_loop),
        cmocka_unit_test(test_noise),   cmocka_unit_test(test_fault_windows),
    };
    return cmocka_run_group_tests(tests, scenario_setup, scenario_teardown);
}
