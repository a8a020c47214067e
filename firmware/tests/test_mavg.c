/*
 * test_mavg.c - the moving average.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mavg.h"

static void
test_fills_then_slides(void **state)
{
    struct mavg f;

    (void)state;
    mavg_init(&f, 4);
    /* Until the window is full the mean is over the samples so far. */
    assert_int_equal(mavg_push(&f, 100), 100);
    assert_int_equal(mavg_push(&f, 200), 150);
    assert_int_equal(mavg_push(&f, 300), 200);
    assert_int_equal(mavg_push(&f, 400), 250);
    assert_int_equal(mavg_count(&f), 4);
    /* Then the oldest sample leaves. */
    assert_int_equal(mavg_push(&f, 500), 350);
    assert_int_equal(mavg_push(&f, 500), 425);
    assert_int_equal(mavg_push(&f, 500), 475);
    assert_int_equal(mavg_push(&f, 500), 500);
    assert_int_equal(mavg_count(&f), 4);
}

static void
test_step_response(void **state)
{
    struct mavg f;
    int16_t out = 0;

    (void)state;
    /* A step from 25.00 C to 35.00 C through an 8-sample window reaches the
     * new value after exactly 8 samples and not before. */
    mavg_init(&f, 8);
    for (int i = 0; i < 8; i++)
        mavg_push(&f, 2500);
    for (int i = 1; i <= 8; i++) {
        out = mavg_push(&f, 3500);
        assert_int_equal(out, 2500 + 1000 * i / 8);
    }
    assert_int_equal(out, 3500);
}

static void
test_rounding(void **state)
{
    struct mavg f;

    (void)state;
    mavg_init(&f, 2);
    mavg_push(&f, 1);
    assert_int_equal(mavg_push(&f, 2), 2); /* 1.5 -> 2 */
    mavg_reset(&f);
    mavg_push(&f, -1);
    assert_int_equal(mavg_push(&f, -2), -2); /* -1.5 -> -2: half away from zero */
    mavg_init(&f, 3);
    mavg_push(&f, 1);
    mavg_push(&f, 1);
    assert_int_equal(mavg_push(&f, 2), 1); /* 1.33 -> 1 */
}

static void
test_reset_and_limits(void **state)
{
    struct mavg f;

    (void)state;
    mavg_init(&f, 0); /* clamped to 1: no filtering */
    assert_int_equal(mavg_push(&f, 7), 7);
    assert_int_equal(mavg_push(&f, -9), -9);
    mavg_init(&f, 100); /* clamped to MAVG_MAX */
    for (int i = 0; i < MAVG_MAX; i++)
        assert_int_equal(mavg_push(&f, INT16_MAX), INT16_MAX);
    assert_int_equal(mavg_count(&f), MAVG_MAX);
    for (int i = 0; i < MAVG_MAX; i++)
        mavg_push(&f, INT16_MIN);
    assert_int_equal(mavg_push(&f, INT16_MIN), INT16_MIN);
    mavg_reset(&f);
    assert_int_equal(mavg_count(&f), 0);
    assert_int_equal(mavg_push(&f, 42), 42);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_then_slides),
        cmocka_unit_test(test_step_response),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_reset_and_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
