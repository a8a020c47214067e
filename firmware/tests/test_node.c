/*
 * test_node.c - the whole node on the host port: frames in through the
 * port's receive queue, replies out of its capture, time from the settable
 * clock, and the recorded port calls to check what happened and in which
 * order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "board_node.h"
#include "node.h"
#include "port_host.h"
#include "script.h"
#include "selftest.h"
#include "testutil.h"

#define T0 5000000u /* the clock at reset */

static struct node_config cfg;
static struct node n;
static uint8_t rsp[512];

static int
count_for(double celsius)
{
    return script_count_for_ohms(&cfg.sampling, script_ohms_for_celsius(&cfg.sampling, celsius));
}

static void
quiet_rack(void)
{
    for (unsigned i = 0; i < SAMPLING_MODULES; i++)
        host_port_set_adc(i, count_for(25.0));
    host_port_set_adc(PORT_ADC_GAS, board_gas_count(4000));
}

static int
setup(void **state)
{
    (void)state;
    host_port_reset();
    host_clock_set(T0);
    board_node_config(&cfg);
    quiet_rack();
    assert_int_equal(node_init(&n, &port_host, &cfg), 0);
    return 0;
}

/* Runs the node for ms milliseconds of clock in 5 ms steps. */
static void
run_ms(unsigned ms)
{
    for (unsigned i = 0; i < ms; i += 5) {
        host_clock_advance(5000);
        node_poll(&n);
    }
}

/* Sends a frame, lets t3.5 pass, returns the reply's length (0: none). */
static size_t
xfer(const uint8_t *f, size_t len)
{
    host_port_rx(f, len, port_host.now_us());
    node_poll(&n);
    host_clock_advance(n.rtu.t35_us);
    node_poll(&n);
    return host_port_tx(rsp, sizeof(rsp));
}

/* FC04 read from slave; returns 0 and fills out, or the exception code, or
 * -1 for no reply. */
static int
read_regs(uint8_t slave, uint8_t fc, uint16_t addr, uint16_t count, uint16_t *out)
{
    uint8_t f[16];
    size_t len = rtu_frame(f, slave, 5, fc, addr >> 8, addr & 0xFF, count >> 8, count & 0xFF);
    size_t r = xfer(f, len);

    if (r == 0)
        return -1;
    assert_true(rtu_crc_ok(rsp, r));
    assert_int_equal(rsp[0], slave);
    if (rsp[1] & 0x80)
        return rsp[2];
    assert_int_equal(r, 5 + 2 * count);
    for (unsigned i = 0; i < count; i++)
        out[i] = be16(rsp + 3 + 2 * i);
    return 0;
}

static uint16_t
input(uint16_t addr)
{
    uint16_t v;

    assert_int_equal(read_regs(node_settings(&n)->slave, 4, addr, 1, &v), 0);
    return v;
}

static int
write_reg(uint8_t slave, uint16_t addr, uint16_t v)
{
    uint8_t f[16];
    size_t len = rtu_frame(f, slave, 5, 6, addr >> 8, addr & 0xFF, v >> 8, v & 0xFF);
    size_t r = xfer(f, len);

    if (r == 0)
        return -1;
    assert_true(rtu_crc_ok(rsp, r));
    return rsp[1] & 0x80 ? rsp[2] : 0;
}

static void
test_reset_state(void **state)
{
    const struct host_call *c;
    uint16_t in[REG_INPUT_COUNT];

    (void)state;
    /* Factory line in force: nothing saved yet. */
    c = host_port_last(HOST_UART_CONFIG);
    assert_non_null(c);
    assert_int_equal(c->a, 19200);
    assert_int_equal(c->b, PORT_PARITY_EVEN);
    assert_int_equal(n.settings_rc, -ENOENT);
    assert_int_equal(host_port_count(HOST_NV_SAVE), 0);
    /* Self-test ran and passed; readings exist before the first request. */
    assert_int_equal(host_port_count(HOST_SELFTEST), 1);
    assert_int_equal(read_regs(1, 4, 0, REG_INPUT_COUNT, in), 0);
    assert_int_equal(in[REG_FW_VERSION], 256);
    assert_int_equal(in[REG_FAULTS], 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(in[REG_MODULE1 + i], 2500);
    assert_int_equal(in[REG_HOTTEST], 2500);
    assert_int_equal(in[REG_ROR], 0);
    assert_int_equal(in[REG_CONTACT], 0);
    assert_int_equal(in[REG_GAS_PPM], 0);
    assert_int_equal(in[REG_GAS_ALARM], 0);
}

/* The published map, register by register (agent/profiles/ember-node.ini). */
static void
test_published_map(void **state)
{
    (void)state;
    host_port_set_adc(PORT_ADC_MODULE2, count_for(-5.5));
    host_port_set_adc(PORT_ADC_MODULE3, PORT_ADC_FULL - 1);
    host_port_set_adc(PORT_ADC_GAS, board_gas_count(4000 + 16000 * 250 / 1000));
    host_port_set_input(PORT_IN_CONTACT, 1);
    run_ms(2000);
    assert_int_equal(input(0x0000), 0x0100);
    assert_int_equal(input(0x0003), FAULT_OPEN(2));
    assert_int_equal(input(0x0010), 2500);
    assert_true(abs((int16_t)input(0x0011) - -550) <= 3);
    assert_int_equal(input(0x0012), 0x8000);
    assert_int_equal(input(0x0013), 2500);
    assert_int_equal(input(0x0020), 2500);
    assert_int_equal(input(0x0022), 1);
    assert_true(abs(input(0x0023) - 250) <= 1);
    assert_int_equal(input(0x0024), 1);
    assert_int_equal(read_regs(1, 4, 0x0025, 1, NULL), MB_EX_ILLEGAL_ADDRESS);
}

static void
test_uptime(void **state)
{
    uint16_t v[2];

    (void)state;
    run_ms(3500);
    assert_int_equal(read_regs(1, 4, REG_UPTIME_HI, 2, v), 0);
    assert_int_equal(v[0], 0);
    assert_int_equal(v[1], 3);
    /* Across the 2^32 us wrap of the clock (every 71.6 min). */
    host_clock_set(UINT32_MAX - 200000);
    n.last_us = UINT32_MAX - 200000;
    n.next_sample = port_host.now_us();
    n.next_led = port_host.now_us();
    run_ms(2000);
    assert_int_equal(read_regs(1, 4, REG_UPTIME_HI, 2, v), 0);
    assert_int_equal(v[1], 5);
    /* High word first: 70000 s = 0x0001 0x1170. */
    n.uptime_s = 70000;
    run_ms(10);
    assert_int_equal(read_regs(1, 4, REG_UPTIME_HI, 2, v), 0);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 70000 - 65536);
}

/* Sampling runs every 100 ms from the clock, whatever the poll rate. */
static void
test_sample_schedule(void **state)
{
    unsigned before = host_port_count(HOST_ADC_READ);

    (void)state;
    run_ms(1000);
    assert_int_equal(host_port_count(HOST_ADC_READ) - before, 10 * PORT_ADC_COUNT);
    /* node_wait_us tells the main loop when to come back. */
    assert_true(node_wait_us(&n) <= 100000);
    /* A stall of 2 s (a flash erase, a debugger) does not cause a burst. */
    before = host_port_count(HOST_ADC_READ);
    host_clock_advance(2000000);
    node_poll(&n);
    node_poll(&n);
    assert_int_equal(host_port_count(HOST_ADC_READ) - before, PORT_ADC_COUNT);
}

static void
test_over_temperature(void **state)
{
    (void)state;
    run_ms(10000); /* a rate needs history: 10 s at 25 C */
    host_port_set_adc(PORT_ADC_MODULE2, count_for(75.0));
    run_ms(300);
    /* Still averaging. */
    assert_true((int16_t)input(REG_MODULE1 + 1) < 7400);
    run_ms(700);
    assert_true(abs((int16_t)input(REG_MODULE1 + 1) - 7500) <= 5);
    assert_int_equal(input(REG_HOTTEST), input(REG_MODULE1 + 1));
    /* 50 C in seconds: the rate of rise shows it (clamped to the register). */
    run_ms(5000);
    assert_true((int16_t)input(REG_ROR) > 10000);
}

static void
test_serial_settings_change(void **state)
{
    uint16_t v;
    const struct host_call *wr, *save, *cfgc;

    (void)state;
    assert_int_equal(write_reg(1, HREG_SLAVE, 7), MB_EX_DEVICE_FAILURE); /* locked */
    assert_int_equal(write_reg(1, HREG_LOCK, REG_UNLOCK_KEY), 0);
    assert_int_equal(write_reg(1, HREG_SLAVE, 0), MB_EX_ILLEGAL_VALUE);
    assert_int_equal(write_reg(1, HREG_BAUD, 385), MB_EX_ILLEGAL_VALUE);
    assert_int_equal(write_reg(1, HREG_SLAVE, 7), 0);
    assert_int_equal(write_reg(1, HREG_BAUD, 384), 0);
    /* Not in force yet: still slave 1, 19200. */
    assert_int_equal(read_regs(1, 3, HREG_SLAVE, 1, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(host_port_count(HOST_NV_SAVE), 0);
    /* Lock: the reply comes from slave 1, then the save, then the switch. */
    assert_int_equal(write_reg(1, HREG_LOCK, 1), 0);
    assert_int_equal(rsp[0], 1);
    wr = host_port_last(HOST_UART_WRITE);
    save = host_port_last(HOST_NV_SAVE);
    cfgc = host_port_last(HOST_UART_CONFIG);
    assert_non_null(save);
    assert_true(wr->seq < save->seq);
    assert_true(save->seq < cfgc->seq);
    assert_int_equal(cfgc->a, 38400);
    assert_int_equal(n.rtu.t35_us, 1750);
    /* Slave 1 is silent now; slave 7 answers. */
    assert_int_equal(read_regs(1, 4, 0, 1, &v), -1);
    assert_int_equal(read_regs(7, 4, 0, 1, &v), 0);
    assert_int_equal(v, 256);

    /* After a reset the saved settings are back. */
    assert_int_equal(node_init(&n, &port_host, &cfg), 0);
    assert_int_equal(n.settings_rc, 0);
    assert_int_equal(node_settings(&n)->slave, 7);
    assert_int_equal(host_port_last(HOST_UART_CONFIG)->a, 38400);
}

static void
test_factory_jumper(void **state)
{
    (void)state;
    assert_int_equal(write_reg(1, HREG_LOCK, REG_UNLOCK_KEY), 0);
    assert_int_equal(write_reg(1, HREG_SLAVE, 33), 0);
    assert_int_equal(write_reg(1, HREG_PARITY, PORT_PARITY_NONE), 0);
    assert_int_equal(write_reg(1, HREG_LOCK, 1), 0);
    assert_int_equal(host_port_last(HOST_UART_CONFIG)->b, PORT_PARITY_NONE);
    /* Reset with the jumper fitted: factory settings, and saved. */
    host_port_set_input(PORT_IN_FACTORY, 1);
    assert_int_equal(node_init(&n, &port_host, &cfg), 0);
    assert_true(n.factory_reset);
    assert_int_equal(node_settings(&n)->slave, 1);
    assert_int_equal(host_port_last(HOST_UART_CONFIG)->b, PORT_PARITY_EVEN);
    host_port_set_input(PORT_IN_FACTORY, 0);
    assert_int_equal(node_init(&n, &port_host, &cfg), 0);
    assert_int_equal(n.settings_rc, 0);
    assert_int_equal(node_settings(&n)->slave, 1);
}

static void
test_unlock_expires(void **state)
{
    uint16_t v;

    (void)state;
    assert_int_equal(write_reg(1, HREG_LOCK, REG_UNLOCK_KEY), 0);
    assert_int_equal(write_reg(1, HREG_SLAVE, 99), 0);
    run_ms(61000);
    assert_int_equal(read_regs(1, 3, HREG_SLAVE, 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(read_regs(1, 3, HREG_LOCK, 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(host_port_count(HOST_NV_SAVE), 0);
}

static void
test_broadcast_writes(void **state)
{
    uint8_t f[32];
    size_t len;
    unsigned tests = host_port_count(HOST_SELFTEST);

    (void)state;
    /* A broadcast self-test: run, never answered. */
    len = rtu_frame(f, 0, 5, 6, 0, HREG_SELFTEST, 0, 1);
    assert_int_equal(xfer(f, len), 0);
    assert_int_equal(host_port_count(HOST_SELFTEST), tests + 1);
    /* A lone node with a forgotten address: broadcast unlock, new address,
     * lock - in one FC16. */
    len = rtu_frame(f, 0, 16, 0x10, 0, 0, 0, 5, 10, 0, 12, 0, 192, 0, 2, 0, 100, 0x5A, 0xA5);
    assert_int_equal(xfer(f, len), 0); /* locked at the start: refused, silently */
    assert_int_equal(node_settings(&n)->slave, 1);
    len = rtu_frame(f, 0, 5, 6, 0, HREG_LOCK, 0x5A, 0xA5);
    assert_int_equal(xfer(f, len), 0);
    len = rtu_frame(f, 0, 16, 0x10, 0, 0, 0, 5, 10, 0, 12, 0, 192, 0, 2, 0, 100, 0, 1);
    assert_int_equal(xfer(f, len), 0);
    assert_int_equal(node_settings(&n)->slave, 12);
    assert_int_equal(n.rtu.stats.broadcasts, 4);
    assert_int_equal(host_port_count(HOST_UART_WRITE), 0);
    assert_int_equal(input(REG_FW_VERSION), 256);
}

static void
test_selftest_fault_bit(void **state)
{
    uint16_t v;

    (void)state;
    host_port_set_selftest(-EIO);
    assert_int_equal(write_reg(1, HREG_SELFTEST, 1), 0);
    run_ms(10);
    assert_int_equal(input(REG_FAULTS), FAULT_SELFTEST);
    assert_int_equal(read_regs(1, 3, HREG_SELFTEST, 1, &v), 0);
    assert_int_equal(v, SELFTEST_PORT);
    host_port_set_selftest(0);
    assert_int_equal(write_reg(1, HREG_SELFTEST, 1), 0);
    run_ms(10);
    assert_int_equal(input(REG_FAULTS), 0);
    /* A conversion failing at run time sets it too, until a self-test
     * passes again. */
    host_port_set_adc(PORT_ADC_MODULE4, -ETIMEDOUT);
    run_ms(200);
    assert_int_equal(input(REG_FAULTS), FAULT_SELFTEST);
    assert_int_equal(input(REG_MODULE1 + 3), 0x8000);
    quiet_rack();
    run_ms(200);
    assert_int_equal(input(REG_FAULTS), FAULT_SELFTEST);
    assert_int_equal(write_reg(1, HREG_SELFTEST, 1), 0);
    run_ms(10);
    assert_int_equal(input(REG_FAULTS), 0);
}

static void
test_save_failure(void **state)
{
    uint16_t v;

    (void)state;
    host_port_nv_fail(-EIO);
    assert_int_equal(write_reg(1, HREG_LOCK, REG_UNLOCK_KEY), 0);
    assert_int_equal(write_reg(1, HREG_GAS_SETPOINT, 400), 0);
    assert_int_equal(write_reg(1, HREG_LOCK, 1), 0);
    run_ms(10);
    /* In force until the next reset, and reported. */
    assert_int_equal(node_settings(&n)->gas_setpoint, 400);
    assert_int_equal(read_regs(1, 3, HREG_SELFTEST, 1, &v), 0);
    assert_int_equal(v, SELFTEST_NV);
    assert_int_equal(input(REG_FAULTS), FAULT_SELFTEST);
}

static void
test_counters(void **state)
{
    uint8_t f[16];
    uint16_t v[5];
    size_t len = rtu_frame(f, 1, 5, 4, 0, 0, 0, 1);

    (void)state;
    f[len - 1] ^= 0xFF;
    assert_int_equal(xfer(f, len), 0);
    host_port_rx_error(port_host.now_us());
    node_poll(&n);
    run_ms(10);
    assert_int_equal(read_regs(1, 1, 0, 1, NULL), MB_EX_ILLEGAL_FUNCTION);
    assert_int_equal(read_regs(1, 3, HREG_FRAMES, 5, v), 0);
    assert_int_equal(v[0], 2); /* the FC01 and this read */
    assert_int_equal(v[1], 1);
    assert_int_equal(v[2], 1);
    assert_int_equal(v[3], 1);
    assert_int_equal(v[4], 0);
}

static void
test_led_and_watchdog(void **state)
{
    unsigned kicks = host_port_count(HOST_WATCHDOG);
    unsigned leds = host_port_count(HOST_LED);

    (void)state;
    run_ms(2000);
    /* Every pass feeds the watchdog; a healthy node blinks at 1 Hz. */
    assert_int_equal(host_port_count(HOST_WATCHDOG) - kicks, 400);
    assert_int_equal(host_port_count(HOST_LED) - leds, 4);
    /* A fault: 5 Hz. */
    host_port_set_adc(PORT_ADC_MODULE1, 0);
    run_ms(1000);
    leds = host_port_count(HOST_LED);
    run_ms(2000);
    assert_int_equal(host_port_count(HOST_LED) - leds, 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_state, setup),
        cmocka_unit_test_setup(test_published_map, setup),
        cmocka_unit_test_setup(test_uptime, setup),
        cmocka_unit_test_setup(test_sample_schedule, setup),
        cmocka_unit_test_setup(test_over_temperature, setup),
        cmocka_unit_test_setup(test_serial_settings_change, setup),
        cmocka_unit_test_setup(test_factory_jumper, setup),
        cmocka_unit_test_setup(test_unlock_expires, setup),
        cmocka_unit_test_setup(test_broadcast_writes, setup),
        cmocka_unit_test_setup(test_selftest_fault_bit, setup),
        cmocka_unit_test_setup(test_save_failure, setup),
        cmocka_unit_test_setup(test_counters, setup),
        cmocka_unit_test_setup(test_led_and_watchdog, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
