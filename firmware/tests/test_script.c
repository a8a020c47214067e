/*
 * test_script.c - the host node's scripted inputs.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "board_node.h"
#include "port_host.h"
#include "script.h"

static struct node_config cfg;
static struct script sc;
static char err[512];

static int
setup(void **state)
{
    (void)state;
    host_port_reset();
    board_node_config(&cfg);
    script_init(&sc, &cfg.sampling);
    err[0] = '\0';
    return 0;
}

static int
cmd(const char *c)
{
    return script_command(&sc, c, 0.0, err, sizeof(err));
}

static double
celsius_of_count(const struct sampling_config *sc_cfg, int count)
{
    float ohms;
    int16_t centi;

    assert_int_equal(thermistor_ohms(&sc_cfg->therm, count, &ohms), 0);
    assert_int_equal(thermistor_centi_c(&sc_cfg->therm, ohms, &centi), 0);
    return centi / 100.0;
}

static void
test_inverse_equations(void **state)
{
    struct sampling_config sh = cfg.sampling;

    (void)state;
    sh.therm.model = THERMISTOR_STEINHART_HART;
    for (double c = -40; c <= 150; c += 0.7) {
        int16_t centi;

        assert_int_equal(thermistor_centi_c(&cfg.sampling.therm,
                                            (float)script_ohms_for_celsius(&cfg.sampling, c),
                                            &centi),
                         0);
        assert_true(fabs(centi - c * 100) <= 0.51);
        assert_int_equal(
            thermistor_centi_c(&sh.therm, (float)script_ohms_for_celsius(&sh, c), &centi), 0);
        assert_true(fabs(centi - c * 100) <= 0.51);
    }
    assert_int_equal(script_count_for_ohms(&cfg.sampling, 10000), 2048);
    assert_int_equal(script_count_for_ohms(&cfg.sampling, 0), 0);
    assert_int_equal(script_count_for_ohms(&cfg.sampling, 1e12), PORT_ADC_FULL - 1);
}

static void
test_commands(void **state)
{
    (void)state;
    assert_int_equal(cmd("raw 1 1234"), 0);
    assert_int_equal(host_port_adc(0), 1234);
    assert_int_equal(cmd("raw gas 800"), 0);
    assert_int_equal(host_port_adc(PORT_ADC_GAS), 800);
    assert_int_equal(cmd("ohm 2 10000"), 0);
    assert_int_equal(host_port_adc(1), 2048);
    assert_int_equal(cmd("temp 3 75"), 0);
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(2)) - 75.0) < 0.05);
    assert_int_equal(cmd("  temp\t4  -10.5 "), 0);
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(3)) - -10.5) < 0.05);
    assert_int_equal(cmd("open 1"), 0);
    assert_int_equal(host_port_adc(0), PORT_ADC_FULL - 1);
    assert_int_equal(cmd("short 1"), 0);
    assert_int_equal(host_port_adc(0), 0);
    assert_int_equal(cmd("ma 4"), 0);
    assert_int_equal(host_port_adc(PORT_ADC_GAS), cfg.sampling.gas_4ma);
    assert_int_equal(cmd("gas 1000"), 0);
    assert_int_equal(host_port_adc(PORT_ADC_GAS), cfg.sampling.gas_20ma);
    assert_int_equal(cmd("contact 1"), 0);
    assert_int_equal(port_host.input_read(PORT_IN_CONTACT), 1);
    assert_int_equal(cmd("adc-fail gas"), 0);
    assert_int_equal(port_host.adc_read(PORT_ADC_GAS), -ETIMEDOUT);
    assert_int_equal(cmd("selftest fail"), 0);
    assert_int_equal(port_host.selftest(), -EIO);
    assert_int_equal(cmd("selftest pass"), 0);
    assert_int_equal(port_host.selftest(), 0);
    assert_int_equal(cmd(""), 0);
}

static void
test_errors(void **state)
{
    static const char *bad[] = {
        "frobnicate",     "raw 5 100",    "raw 1 4096",     "raw 1 -1",   "raw 1 1.5",
        "raw 1",          "ohm gas 100",  "ohm 1 x",        "temp 0 20",  "temp 1 500",
        "temp 1 20C",     "open gas",     "ma 31",          "gas 1001",   "contact 2",
        "selftest maybe", "ramp 1 20 30", "ramp 1 20 30 0", "adc-fail 9", "temp 1 2 3 4 5 6",
    };

    (void)state;
    host_port_set_adc(0, 1111);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (cmd(bad[i]) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(host_port_adc(0), 1111); /* nothing changed */
    cmd("raw 9 1");
    assert_non_null(strstr(err, "'9' is not 1-4 or gas"));
}

static void
test_ramp(void **state)
{
    (void)state;
    assert_int_equal(script_command(&sc, "ramp 2 20 80 10", 100.0, err, sizeof(err)), 0);
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(1)) - 20) < 0.05);
    assert_true(script_wait_s(&sc, 100.0) > 0);
    assert_int_equal(script_run(&sc, 105.0, err, sizeof(err)), 0);
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(1)) - 50) < 0.05);
    assert_int_equal(script_run(&sc, 200.0, err, sizeof(err)), 0);
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(1)) - 80) < 0.05);
    assert_true(script_wait_s(&sc, 200.0) < 0); /* done */
    /* A later command on the channel stops a ramp. */
    script_command(&sc, "ramp 2 20 80 10", 300.0, err, sizeof(err));
    cmd("temp 2 30");
    script_run(&sc, 305.0, err, sizeof(err));
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(1)) - 30) < 0.05);
}

static void
test_script_file(void **state)
{
    char path[] = "/tmp/ember-script-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    (void)state;
    fprintf(f, "# a comment\n\n0 temp 1 30\n0.5 contact 1   # trailing comment\n"
               "2 bogus 1\n2 raw 2 100\nnot-a-time raw 3 5\n1 raw 4 7\n5 raw 4 9\n");
    fclose(f);
    assert_int_equal(script_open(&sc, path, 1000.0, err, sizeof(err)), 0);
    assert_true(script_pending(&sc));
    assert_true(fabs(script_wait_s(&sc, 999.0) - 1.0) < 1e-9);
    assert_int_equal(script_run(&sc, 1000.0, err, sizeof(err)), 0);
    assert_true(fabs(celsius_of_count(&cfg.sampling, host_port_adc(0)) - 30) < 0.05);
    assert_int_equal(port_host.input_read(PORT_IN_CONTACT), 0);
    assert_true(fabs(script_wait_s(&sc, 1000.0) - 0.5) < 1e-9);
    assert_int_equal(script_run(&sc, 1000.6, err, sizeof(err)), 0);
    assert_int_equal(port_host.input_read(PORT_IN_CONTACT), 1);
    /* A bad line is reported with file:line and skipped. */
    assert_int_equal(script_run(&sc, 1002.0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":5: unknown command"));
    assert_int_equal(script_run(&sc, 1002.0, err, sizeof(err)), -EINVAL);
    assert_int_equal(host_port_adc(1), 100);
    assert_non_null(strstr(err, ":7: expected SECONDS COMMAND"));
    /* Line 8 goes back in time. */
    assert_int_equal(script_run(&sc, 1002.0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":8: time goes backwards"));
    assert_int_equal(script_run(&sc, 1010.0, err, sizeof(err)), 0);
    assert_int_equal(host_port_adc(3), 9);
    assert_false(script_pending(&sc));
    script_fini(&sc);
    unlink(path);
    assert_int_equal(script_open(&sc, "/nonexistent/x", 0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "/nonexistent/x: No such file"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_inverse_equations, setup),
        cmocka_unit_test_setup(test_commands, setup),
        cmocka_unit_test_setup(test_errors, setup),
        cmocka_unit_test_setup(test_ramp, setup),
        cmocka_unit_test_setup(test_script_file, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
