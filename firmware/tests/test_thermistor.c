/*
 * test_thermistor.c - conversion accuracy against the equations.
 *
 * The reference is the same equation in double precision (libm), so what
 * is measured is the firmware's own error: its float arithmetic, its libm-
 * free logarithm and its rounding to 0.01 C.  Bound, asserted for every
 * point: |firmware - equation| <= 0.0051 C, i.e. the half-LSB of the
 * register's rounding plus at most 0.0001 C of arithmetic error, from
 * -40 C to +150 C (the range an NTC on a battery module can see), for both
 * models and for every ADC count the node accepts as a valid reading.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "board_node.h"
#include "port.h"
#include "thermistor.h"

#define BOUND_CENTI 0.51 /* 0.0051 C */

/* A 10 kOhm, B = 3950 K NTC, and Steinhart-Hart coefficients fitted to a
 * 10 kOhm curve (the ones in boards/ember-node-f103.conf). */
static const struct thermistor beta = {THERMISTOR_BETA, 10000, 298.15f, 3950, 0, 0, 0, 10000};
static const struct thermistor sh = {
    THERMISTOR_STEINHART_HART, 10000,           298.15f,      0,
    1.125308852e-3f,           2.347125309e-4f, 8.566508e-8f, 10000};

static double
ref_celsius(const struct thermistor *t, double ohms)
{
    double inv;

    if (t->model == THERMISTOR_BETA) {
        inv = 1.0 / (double)t->t0 + log(ohms / (double)t->r0) / (double)t->beta;
    } else {
        double l = log(ohms);
        inv = (double)t->a + (double)t->b * l + (double)t->c * l * l * l;
    }
    return 1.0 / inv - 273.15;
}

/* Beta equation solved for R. */
static double
beta_ohms(double celsius)
{
    return 10000.0 * exp(3950.0 * (1.0 / (celsius + 273.15) - 1.0 / 298.15));
}

static void
test_ln(void **state)
{
    double worst = 0;

    (void)state;
    /* Relative error below 2e-7 over every resistance a divider can show,
     * and far beyond. */
    for (double x = 1e-3; x < 1e8; x *= 1.0137) {
        float got = thermistor_ln((float)x);
        double want = log((double)(float)x);
        double err = fabs(got - want) / (fabs(want) > 1 ? fabs(want) : 1);

        if (err > worst)
            worst = err;
    }
    printf("# thermistor_ln: worst relative error %.3g\n", worst);
    assert_true(worst < 2e-7);
    assert_true(thermistor_ln(1.0f) == 0.0f);
}

static void
check_point(const struct thermistor *t, double ohms, double *worst)
{
    int16_t centi;
    double want = ref_celsius(t, ohms) * 100.0, err;

    assert_int_equal(thermistor_centi_c(t, (float)ohms, &centi), 0);
    err = fabs(centi - want);
    if (err > *worst)
        *worst = err;
    if (err > BOUND_CENTI)
        fail_msg("R = %.3f ohm: firmware %d, equation %.4f (0.01 C)", ohms, centi, want);
}

static void
test_beta_accuracy(void **state)
{
    double worst = 0;

    (void)state;
    for (double c = -40.0; c <= 150.0; c += 0.00137)
        check_point(&beta, beta_ohms(c), &worst);
    printf("# beta: worst |firmware - equation| %.5f C (bound %.4f C)\n", worst / 100,
           BOUND_CENTI / 100);
    /* Spot values any NTC table agrees with. */
    int16_t centi;
    assert_int_equal(thermistor_centi_c(&beta, 10000.0f, &centi), 0);
    assert_int_equal(centi, 2500);
    assert_int_equal(thermistor_centi_c(&beta, (float)beta_ohms(60.0), &centi), 0);
    assert_int_equal(centi, 6000);
    assert_int_equal(thermistor_centi_c(&beta, (float)beta_ohms(-20.0), &centi), 0);
    assert_int_equal(centi, -2000);
}

static void
test_steinhart_hart_accuracy(void **state)
{
    double worst = 0;

    (void)state;
    /* -40 C to 150 C is about 340 kOhm down to 180 Ohm for this curve. */
    for (double r = 150.0; r < 400000.0; r *= 1.001)
        check_point(&sh, r, &worst);
    printf("# steinhart-hart: worst |firmware - equation| %.5f C (bound %.4f C)\n", worst / 100,
           BOUND_CENTI / 100);
}

/* Every count the node treats as a reading (between the short and open
 * thresholds of the board), converted through the divider. */
static void
test_adc_counts(void **state)
{
    struct node_config cfg;
    double worst_b = 0, worst_sh = 0;
    struct thermistor sh_board;

    (void)state;
    board_node_config(&cfg);
    sh_board = sh;
    sh_board.r_fixed = cfg.sampling.therm.r_fixed;
    for (int count = cfg.sampling.short_count + 1; count < cfg.sampling.open_count; count++) {
        double ohms = cfg.sampling.therm.r_fixed * count / (double)(PORT_ADC_FULL - count);
        float fo;
        int16_t centi;

        assert_int_equal(thermistor_ohms(&cfg.sampling.therm, count, &fo), 0);
        assert_true(fabs(fo - ohms) <= ohms * 2e-7);
        assert_int_equal(thermistor_centi_c(&cfg.sampling.therm, fo, &centi), 0);
        double err = fabs(centi - ref_celsius(&cfg.sampling.therm, ohms) * 100.0);
        if (err > worst_b)
            worst_b = err;
        assert_true(err <= BOUND_CENTI);
        if (ohms > 150.0 && ohms < 400000.0) {
            assert_int_equal(thermistor_ohms(&sh_board, count, &fo), 0);
            check_point(&sh_board, fo, &worst_sh);
        }
    }
    printf("# ADC counts %u-%u: worst %.5f C (beta), %.5f C (steinhart-hart)\n",
           cfg.sampling.short_count + 1, cfg.sampling.open_count - 1, worst_b / 100,
           worst_sh / 100);
}

static void
test_ranges(void **state)
{
    float ohms;
    int16_t centi;

    (void)state;
    assert_int_equal(thermistor_ohms(&beta, 0, &ohms), -ERANGE);
    assert_int_equal(thermistor_ohms(&beta, PORT_ADC_FULL - 1, &ohms), -ERANGE);
    assert_int_equal(thermistor_ohms(&beta, -5, &ohms), -ERANGE);
    assert_int_equal(thermistor_ohms(&beta, 2048, &ohms), 0);
    assert_true(ohms == 10000.0f);
    assert_int_equal(thermistor_centi_c(&beta, 0.0f, &centi), -ERANGE);
    assert_int_equal(thermistor_centi_c(&beta, -1.0f, &centi), -ERANGE);
    /* 0.001 Ohm would be thousands of degrees: does not fit int16. */
    assert_int_equal(thermistor_centi_c(&beta, 0.001f, &centi), -ERANGE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ln),
        cmocka_unit_test(test_beta_accuracy),
        cmocka_unit_test(test_steinhart_hart_accuracy),
        cmocka_unit_test(test_adc_counts),
        cmocka_unit_test(test_ranges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
