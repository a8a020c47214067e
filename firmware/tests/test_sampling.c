/*
 * test_sampling.c - readings from exact input sequences: temperatures
 * through the moving average, open/short detection, hottest module, rate of
 * rise, the contact debounce and the 4-20 mA gas loop, with the board's
 * real front-end data.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "board_node.h"
#include "sampling.h"
#include "script.h"

static struct node_config cfg;
static struct sampling s;
static struct sampling_input in;

static int
count_for(double celsius)
{
    return script_count_for_ohms(&cfg.sampling, script_ohms_for_celsius(&cfg.sampling, celsius));
}

static int
setup(void **state)
{
    (void)state;
    board_node_config(&cfg);
    sampling_init(&s, &cfg.sampling);
    for (unsigned i = 0; i < SAMPLING_MODULES; i++)
        in.raw[i] = count_for(25.0);
    in.raw[PORT_ADC_GAS] = board_gas_count(4000);
    in.contact = 0;
    return 0;
}

static void
run(unsigned samples)
{
    for (unsigned i = 0; i < samples; i++)
        sampling_update(&s, &in, 100);
}

static void
test_defaults_from_board(void **state)
{
    (void)state;
    assert_int_equal(cfg.sampling.filter_len, 8);
    assert_int_equal(cfg.sampling.fault_samples, 3);
    assert_int_equal(cfg.sampling.sample_ms, 100);
    assert_int_equal(s.ror_every, 50); /* a history point every 5 s */
    /* 4 mA across 150 Ohm at 3.3 V: 0.6 V = 745 counts; 20 mA 3724. */
    assert_int_equal(cfg.sampling.gas_4ma, 745);
    assert_int_equal(cfg.sampling.gas_20ma, 3724);
    /* Nothing sampled yet: no readings. */
    for (unsigned i = 0; i < SAMPLING_MODULES; i++)
        assert_int_equal(sampling_temp(&s, i), SAMPLING_INVALID);
    assert_int_equal(s.hottest, SAMPLING_INVALID);
}

static void
test_temperatures(void **state)
{
    static const double t[SAMPLING_MODULES] = {-20.0, 25.0, 42.5, 75.0};

    (void)state;
    for (unsigned i = 0; i < SAMPLING_MODULES; i++)
        in.raw[i] = count_for(t[i]);
    run(1);
    /* The first sample is the reading (no pull towards zero). */
    for (unsigned i = 0; i < SAMPLING_MODULES; i++) {
        int err = abs(sampling_temp(&s, i) - (int)(t[i] * 100));
        /* One ADC count is at most ~0.07 C between -20 and 75 C. */
        if (err > 4)
            fail_msg("module %u: %d for %.2f C", i + 1, sampling_temp(&s, i), t[i]);
    }
    assert_int_equal(sampling_temp(&s, 1), 2500); /* count 2048: R = r_fixed = r0 */
    assert_int_equal(s.hottest, sampling_temp(&s, 3));
    assert_int_equal(s.faults, 0);
}

static void
test_moving_average(void **state)
{
    int16_t prev;

    (void)state;
    run(8);
    assert_int_equal(sampling_temp(&s, 0), 2500);
    in.raw[0] = count_for(35.0);
    int16_t target;
    {
        struct sampling t;
        sampling_init(&t, &cfg.sampling);
        sampling_update(&t, &in, 100);
        target = sampling_temp(&t, 0);
    }
    prev = 2500;
    for (int i = 1; i <= 8; i++) {
        run(1);
        int16_t now = sampling_temp(&s, 0);
        int want = 2500 + (target - 2500) * i / 8;
        assert_true(abs(now - want) <= 1);
        assert_true(now > prev);
        prev = now;
    }
    assert_int_equal(sampling_temp(&s, 0), target);
    /* One noisy sample moves the reading by only 1/8 of its deviation. */
    in.raw[0] = count_for(45.0);
    run(1);
    assert_true(sampling_temp(&s, 0) - target < 200);
}

static void
test_open_detection(void **state)
{
    (void)state;
    run(8);
    in.raw[2] = PORT_ADC_FULL - 1; /* module 3 disconnected */
    run(2);
    /* Not yet confirmed: no fault, and the reading holds (the open input
     * never enters the filter). */
    assert_int_equal(s.faults, 0);
    assert_int_equal(sampling_temp(&s, 2), 2500);
    run(1);
    assert_int_equal(s.faults, FAULT_OPEN(2));
    assert_int_equal(sampling_temp(&s, 2), SAMPLING_INVALID);
    assert_int_equal(s.hottest, 2500); /* the others still read */
    /* Reconnected: the fault clears after three good samples, and the
     * reading restarts from the sensor's own value. */
    in.raw[2] = count_for(30.0);
    run(2);
    assert_int_equal(s.faults, FAULT_OPEN(2));
    assert_int_equal(sampling_temp(&s, 2), SAMPLING_INVALID);
    run(1);
    assert_int_equal(s.faults, 0);
    assert_true(abs(sampling_temp(&s, 2) - 3000) <= 4);
    /* The threshold itself counts as open; one below does not. */
    in.raw[2] = cfg.sampling.open_count;
    run(3);
    assert_int_equal(s.faults, FAULT_OPEN(2));
    in.raw[2] = cfg.sampling.open_count - 1;
    run(3);
    assert_int_equal(s.faults, 0);
}

static void
test_short_detection(void **state)
{
    (void)state;
    run(4);
    in.raw[0] = 0;
    in.raw[3] = cfg.sampling.short_count;
    run(3);
    assert_int_equal(s.faults, FAULT_SHORT(0) | FAULT_SHORT(3));
    assert_int_equal(sampling_temp(&s, 0), SAMPLING_INVALID);
    assert_int_equal(sampling_temp(&s, 3), SAMPLING_INVALID);
    /* Every module faulted: no hottest reading either. */
    in.raw[1] = 0;
    in.raw[2] = PORT_ADC_FULL - 1;
    run(3);
    assert_int_equal(s.faults, FAULT_SHORT(0) | FAULT_SHORT(1) | FAULT_OPEN(2) | FAULT_SHORT(3));
    assert_int_equal(s.hottest, SAMPLING_INVALID);
    assert_int_equal(s.ror, 0);
}

static void
test_glitches_ignored(void **state)
{
    (void)state;
    run(8);
    /* Alternating open and good samples never confirm a fault. */
    for (int i = 0; i < 20; i++) {
        in.raw[1] = i % 2 ? PORT_ADC_FULL - 1 : count_for(25.0);
        run(1);
        assert_int_equal(s.faults, 0);
        assert_int_equal(sampling_temp(&s, 1), 2500);
    }
    /* Open then short in a row: neither has three in a row. */
    in.raw[1] = count_for(25.0);
    run(1);
    in.raw[1] = PORT_ADC_FULL - 1;
    run(2);
    in.raw[1] = 0;
    run(2);
    assert_int_equal(s.faults, 0);
    run(1);
    assert_int_equal(s.faults, FAULT_SHORT(1));
}

static void
test_adc_failure(void **state)
{
    (void)state;
    run(3);
    in.raw[1] = -ETIMEDOUT;
    run(1);
    assert_true(s.adc_error);
    assert_int_equal(sampling_temp(&s, 1), SAMPLING_INVALID);
    assert_int_equal(s.faults, 0); /* not a sensor fault: the node reports it */
    in.raw[1] = count_for(25.0);
    run(1);
    assert_false(s.adc_error);
    assert_int_equal(sampling_temp(&s, 1), 2500);
}

/* Module 4 heats at 0.2 C per second (12 C/min) from 25 C. */
static void
test_rate_of_rise(void **state)
{
    double c = 25.0;

    (void)state;
    /* Fewer than three history points: 0. */
    for (int i = 0; i < 100; i++) {
        in.raw[3] = count_for(c);
        run(1);
        c += 0.02;
    }
    assert_int_equal(s.ror, 0);
    for (int i = 0; i < 600; i++) {
        in.raw[3] = count_for(c);
        run(1);
        c += 0.02;
    }
    /* 12 C/min = 1200 in 0.01 C/min, within the ADC's resolution. */
    assert_true(abs(s.ror - 1200) <= 15);
    assert_int_equal(s.hottest, sampling_temp(&s, 3));
    /* Steady again: after a full minute the rate falls to 0. */
    for (int i = 0; i < 700; i++)
        run(1);
    assert_true(abs(s.ror) <= 2);
    /* Module 4 cooling at 6 C/min while the others are steady: the
     * register is the steepest rise, 0. */
    for (int i = 0; i < 700; i++) {
        in.raw[3] = count_for(c);
        run(1);
        c -= 0.01;
    }
    assert_true(abs(s.ror) <= 2);
    /* Every module cooling: negative. */
    for (int i = 0; i < 700; i++) {
        for (unsigned m = 0; m < SAMPLING_MODULES; m++)
            in.raw[m] = count_for(c);
        run(1);
        c -= 0.01;
    }
    if (abs(s.ror - -600) > 15)
        fail_msg("ror %d", s.ror);
    /* A fault empties the history: reconnected, a module has no rate until
     * it has three points of its own again. */
    for (unsigned m = 0; m < SAMPLING_MODULES; m++)
        in.raw[m] = 0;
    run(3);
    assert_int_equal(s.ror, 0);
    for (unsigned m = 0; m < SAMPLING_MODULES; m++)
        in.raw[m] = count_for(c + 10 * m);
    run(3 + 50);
    assert_int_equal(s.faults, 0);
    assert_int_equal(s.ror, 0);
}

/* The steepest module sets the rate, even if another is hotter. */
static void
test_rate_of_rise_steepest(void **state)
{
    double c = 25.0;

    (void)state;
    in.raw[0] = count_for(60.0); /* hot but steady */
    for (int i = 0; i < 700; i++) {
        in.raw[1] = count_for(c);
        run(1);
        c += 0.01; /* 6 C/min */
    }
    assert_int_equal(s.hottest, sampling_temp(&s, 0));
    assert_true(abs(s.ror - 600) <= 15);
}

static void
test_contact_debounce(void **state)
{
    (void)state;
    run(1);
    assert_int_equal(s.contact.state, 0);
    in.contact = 1;
    run(1);
    assert_int_equal(s.contact.state, 0);
    run(1);
    assert_int_equal(s.contact.state, 1);
    /* One bounce does not release it; a failed read changes nothing. */
    in.contact = 0;
    run(1);
    in.contact = 1;
    run(1);
    in.contact = -EIO;
    run(5);
    assert_int_equal(s.contact.state, 1);
    in.contact = 0;
    run(2);
    assert_int_equal(s.contact.state, 0);
}

static void
test_gas_loop(void **state)
{
    (void)state;
    run(8);
    assert_int_equal(s.gas_ppm, 0);
    assert_int_equal(s.gas_alarm, 0);
    in.raw[PORT_ADC_GAS] = board_gas_count(12000); /* mid-scale */
    run(8);
    assert_true(abs(s.gas_ppm - 500) <= 1);
    assert_int_equal(s.gas_alarm, 1); /* setpoint 100 ppm */
    in.raw[PORT_ADC_GAS] = board_gas_count(20000);
    run(8);
    assert_true(abs(s.gas_ppm - 1000) <= 1);
    /* Hysteresis: the alarm clears only below 90% of the setpoint. */
    in.raw[PORT_ADC_GAS] = board_gas_count(4000 + 16000 * 95 / 1000);
    run(8);
    assert_true(abs(s.gas_ppm - 95) <= 1);
    assert_int_equal(s.gas_alarm, 1);
    in.raw[PORT_ADC_GAS] = board_gas_count(4000 + 16000 * 85 / 1000);
    run(8);
    assert_int_equal(s.gas_alarm, 0);
    /* Below 4 mA but above 3.6 mA: 0 ppm, no fault. */
    in.raw[PORT_ADC_GAS] = board_gas_count(3800);
    run(8);
    assert_int_equal(s.gas_ppm, 0);
    assert_int_equal(s.faults, 0);
}

static void
test_gas_faults(void **state)
{
    (void)state;
    in.raw[PORT_ADC_GAS] = board_gas_count(12000);
    run(8);
    assert_int_equal(s.gas_alarm, 1);
    /* Broken loop (0 mA): fault after three samples, then 0 ppm and no
     * alarm, so the master sees a fault and not a stale reading. */
    in.raw[PORT_ADC_GAS] = 0;
    run(2);
    assert_int_equal(s.faults, 0);
    run(1);
    assert_int_equal(s.faults, FAULT_GAS);
    assert_int_equal(s.gas_ppm, 0);
    assert_int_equal(s.gas_alarm, 0);
    /* Transmitter fault signal above 21 mA. */
    in.raw[PORT_ADC_GAS] = board_gas_count(22000);
    run(5);
    assert_int_equal(s.faults, FAULT_GAS);
    /* A failing conversion is a gas fault too, and an ADC error. */
    in.raw[PORT_ADC_GAS] = -ETIMEDOUT;
    run(3);
    assert_int_equal(s.faults, FAULT_GAS);
    assert_true(s.adc_error);
    in.raw[PORT_ADC_GAS] = board_gas_count(4000);
    run(3);
    assert_int_equal(s.faults, 0);
    assert_int_equal(s.gas_ppm, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_from_board, setup),
        cmocka_unit_test_setup(test_temperatures, setup),
        cmocka_unit_test_setup(test_moving_average, setup),
        cmocka_unit_test_setup(test_open_detection, setup),
        cmocka_unit_test_setup(test_short_detection, setup),
        cmocka_unit_test_setup(test_glitches_ignored, setup),
        cmocka_unit_test_setup(test_adc_failure, setup),
        cmocka_unit_test_setup(test_rate_of_rise, setup),
        cmocka_unit_test_setup(test_rate_of_rise_steepest, setup),
        cmocka_unit_test_setup(test_contact_debounce, setup),
        cmocka_unit_test_setup(test_gas_loop, setup),
        cmocka_unit_test_setup(test_gas_faults, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
