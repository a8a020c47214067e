/*
 * test_selftest.c - each self-test check, pass and fail.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "board_node.h"
#include "port_host.h"
#include "selftest.h"

static struct node_config cfg;

static int
setup(void **state)
{
    (void)state;
    host_port_reset();
    board_node_config(&cfg);
    return 0;
}

static void
test_all_pass(void **state)
{
    (void)state;
    assert_int_equal(selftest_run(&port_host, &cfg.sampling.therm), 0);
    assert_int_equal(host_port_count(HOST_SELFTEST), 1);
    /* Every ADC channel was tried once. */
    assert_int_equal(host_port_count(HOST_ADC_READ), PORT_ADC_COUNT);
}

static void
test_port_check(void **state)
{
    (void)state;
    host_port_set_selftest(-EIO);
    assert_int_equal(selftest_run(&port_host, &cfg.sampling.therm), SELFTEST_PORT);
    /* A platform without a check of its own passes. */
    host_port_set_selftest(-ENOSYS);
    assert_int_equal(selftest_run(&port_host, &cfg.sampling.therm), 0);
}

static void
test_adc_check(void **state)
{
    (void)state;
    host_port_set_adc(PORT_ADC_GAS, -ETIMEDOUT);
    assert_int_equal(selftest_run(&port_host, &cfg.sampling.therm), SELFTEST_ADC);
}

static void
test_thermistor_data(void **state)
{
    struct thermistor t = cfg.sampling.therm;

    (void)state;
    /* The board's Steinhart-Hart coefficients belong to its 10 kOhm NTC. */
    t.model = THERMISTOR_STEINHART_HART;
    assert_int_equal(selftest_run(&port_host, &t), 0);
    /* Coefficients of some other thermistor (a 100 kOhm curve): caught. */
    t.a = 0.8272069e-3f;
    t.b = 2.087897e-4f;
    t.c = 0.8062123e-7f;
    assert_int_equal(selftest_run(&port_host, &t), SELFTEST_THERMISTOR);
    /* Nonsense Beta data: a PTC slope, or B in the wrong unit. */
    t = cfg.sampling.therm;
    t.beta = -3950;
    assert_int_equal(selftest_run(&port_host, &t), SELFTEST_THERMISTOR);
    t.beta = 3.95f;
    assert_int_equal(selftest_run(&port_host, &t), SELFTEST_THERMISTOR);
    t.beta = 3380; /* another plausible NTC: fine */
    assert_int_equal(selftest_run(&port_host, &t), 0);
}

static void
test_several(void **state)
{
    (void)state;
    host_port_set_selftest(-EIO);
    host_port_set_adc(0, -EIO);
    assert_int_equal(selftest_run(&port_host, &cfg.sampling.therm), SELFTEST_PORT | SELFTEST_ADC);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_all_pass, setup),
        cmocka_unit_test_setup(test_port_check, setup),
        cmocka_unit_test_setup(test_adc_check, setup),
        cmocka_unit_test_setup(test_thermistor_data, setup),
        cmocka_unit_test_setup(test_several, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
