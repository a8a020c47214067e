/*
 * test_regmap.c - the register tables and the write-protect lock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regmap.h"

static const struct settings factory = {1, 192, PORT_PARITY_EVEN, 100};
static struct mb_stats stats;
static struct regmap m;
static uint16_t out[128];

static int
setup(void **state)
{
    (void)state;
    stats = (struct mb_stats){11, 22, 33, 44, 55};
    regmap_init(&m, &factory, &stats);
    return 0;
}

static int
write1(uint16_t addr, uint16_t v, uint32_t t)
{
    return regmap_write(&m, addr, 1, &v, t);
}

static uint16_t
hold(uint16_t addr)
{
    assert_int_equal(regmap_read(&m, MB_TABLE_HOLDING, addr, 1, out), 0);
    return out[0];
}

static void
test_input_table(void **state)
{
    (void)state;
    m.in[REG_MODULE1 + 1] = 7500;
    m.in[REG_GAS_ALARM] = 1;
    /* The whole map in one read; gaps read 0. */
    assert_int_equal(regmap_read(&m, MB_TABLE_INPUT, 0, REG_INPUT_COUNT, out), 0);
    assert_int_equal(out[REG_FW_VERSION], 0x0100);
    assert_int_equal(out[0x0004], 0);
    assert_int_equal(out[0x000F], 0);
    assert_int_equal(out[REG_MODULE1 + 1], 7500);
    assert_int_equal(out[REG_GAS_ALARM], 1);
    assert_int_equal(REG_GAS_ALARM, 0x0024);
    assert_int_equal(REG_INPUT_COUNT, 0x0025);
    /* Anything reaching past 0x0024 is an illegal address. */
    assert_int_equal(regmap_read(&m, MB_TABLE_INPUT, 0x0024, 2, out), -ENXIO);
    assert_int_equal(regmap_read(&m, MB_TABLE_INPUT, 0x0025, 1, out), -ENXIO);
    assert_int_equal(regmap_read(&m, MB_TABLE_INPUT, 0x1000, 1, out), -ENXIO);
}

static void
test_holding_table(void **state)
{
    (void)state;
    assert_int_equal(regmap_read(&m, MB_TABLE_HOLDING, 0, REG_HOLDING_COUNT, out), 0);
    assert_int_equal(out[HREG_SLAVE], 1);
    assert_int_equal(out[HREG_BAUD], 192);
    assert_int_equal(out[HREG_PARITY], 2);
    assert_int_equal(out[HREG_GAS_SETPOINT], 100);
    assert_int_equal(out[HREG_LOCK], 1);
    assert_int_equal(out[HREG_SELFTEST], 0);
    assert_int_equal(out[0x0006], 0);
    assert_int_equal(out[HREG_FRAMES], 11);
    assert_int_equal(out[HREG_CRC_ERRORS], 22);
    assert_int_equal(out[HREG_EXCEPTIONS], 33);
    assert_int_equal(out[HREG_LINE_ERRORS], 44);
    assert_int_equal(out[HREG_BROADCASTS], 55);
    assert_int_equal(regmap_read(&m, MB_TABLE_HOLDING, HREG_BROADCASTS, 2, out), -ENXIO);
}

static void
test_locked_by_default(void **state)
{
    uint16_t v[4] = {5, 96, 0, 200};

    (void)state;
    for (uint16_t a = HREG_SLAVE; a <= HREG_GAS_SETPOINT; a++)
        assert_int_equal(write1(a, v[a], 0), -EACCES);
    assert_int_equal(regmap_write(&m, 0, 4, v, 0), -EACCES);
    assert_int_equal(hold(HREG_SLAVE), 1);
    assert_int_equal(regmap_take_requests(&m), 0);
    /* Out of range is reported as such even while locked. */
    assert_int_equal(write1(HREG_SLAVE, 0, 0), -EINVAL);
}

static void
test_unlock_stage_commit(void **state)
{
    uint16_t v[3] = {7, 384, PORT_PARITY_ODD};

    (void)state;
    assert_int_equal(write1(HREG_LOCK, 0x1234, 0), -EINVAL); /* not the key */
    assert_int_equal(hold(HREG_LOCK), 1);
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, 0), 0);
    assert_int_equal(hold(HREG_LOCK), 0);
    assert_int_equal(regmap_write(&m, HREG_SLAVE, 3, v, 1000), 0);
    /* Staged values read back; the ones in force are unchanged. */
    assert_int_equal(hold(HREG_SLAVE), 7);
    assert_int_equal(hold(HREG_BAUD), 384);
    assert_int_equal(m.saved.slave, 1);
    assert_int_equal(regmap_take_requests(&m), 0);
    /* Lock with 1: commit. */
    assert_int_equal(write1(HREG_LOCK, 1, 2000), 0);
    assert_int_equal(regmap_take_requests(&m), REGMAP_REQ_COMMIT);
    assert_int_equal(regmap_take_requests(&m), 0);
    assert_int_equal(m.saved.slave, 7);
    assert_int_equal(m.saved.baud100, 384);
    assert_int_equal(m.saved.parity, PORT_PARITY_ODD);
    assert_int_equal(hold(HREG_LOCK), 1);
    assert_int_equal(write1(HREG_SLAVE, 9, 3000), -EACCES);
}

static void
test_commit_without_change(void **state)
{
    (void)state;
    /* Unlock and lock again with nothing changed: no save. */
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, 0), 0);
    assert_int_equal(write1(HREG_SLAVE, 1, 0), 0);
    assert_int_equal(write1(HREG_LOCK, 1, 0), 0);
    assert_int_equal(regmap_take_requests(&m), 0);
    /* Locking while locked is harmless. */
    assert_int_equal(write1(HREG_LOCK, 1, 0), 0);
    assert_int_equal(regmap_take_requests(&m), 0);
}

static void
test_discard(void **state)
{
    (void)state;
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, 0), 0);
    assert_int_equal(write1(HREG_GAS_SETPOINT, 500, 0), 0);
    assert_int_equal(hold(HREG_GAS_SETPOINT), 500);
    assert_int_equal(write1(HREG_LOCK, 0, 0), 0);
    assert_int_equal(hold(HREG_GAS_SETPOINT), 100);
    assert_int_equal(m.saved.gas_setpoint, 100);
    assert_int_equal(regmap_take_requests(&m), 0);
}

static void
test_unlock_window(void **state)
{
    (void)state;
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, 1000), 0);
    /* Each accepted write restarts the 60 s window. */
    regmap_tick(&m, 1000 + REG_UNLOCK_US - 1);
    assert_int_equal(hold(HREG_LOCK), 0);
    assert_int_equal(write1(HREG_SLAVE, 5, 50000000), 0);
    regmap_tick(&m, 1000 + REG_UNLOCK_US + 10);
    assert_int_equal(hold(HREG_LOCK), 0);
    assert_int_equal(hold(HREG_SLAVE), 5);
    /* A tick with a slightly older clock than the last write is not a
     * wrap-around of 71 minutes. */
    regmap_tick(&m, 50000000 - 10);
    assert_int_equal(hold(HREG_LOCK), 0);
    /* Expired: locked and discarded. */
    regmap_tick(&m, 50000000 + REG_UNLOCK_US);
    assert_int_equal(hold(HREG_LOCK), 1);
    assert_int_equal(hold(HREG_SLAVE), 1);
    assert_int_equal(regmap_take_requests(&m), 0);
    /* The window works across the clock's wrap. */
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, UINT32_MAX - 1000), 0);
    regmap_tick(&m, REG_UNLOCK_US - 2000);
    assert_int_equal(hold(HREG_LOCK), 0);
    regmap_tick(&m, REG_UNLOCK_US);
    assert_int_equal(hold(HREG_LOCK), 1);
}

/* One FC16 request: unlock, stage and commit together, all or nothing. */
static void
test_multi_write(void **state)
{
    uint16_t bad[5] = {9, 96, 2, 0, 1}; /* gas setpoint 0 is out of range */
    uint16_t good[5] = {9, 96, 2, 300, 1};
    uint16_t unlock_first[6] = {9, 96, 2, 300, REG_UNLOCK_KEY, 1};

    (void)state;
    /* Settings before the unlock in the same request: still locked. */
    assert_int_equal(write1(HREG_LOCK, 0, 0), 0);
    assert_int_equal(regmap_write(&m, HREG_SLAVE, 5, good, 0), -EACCES);
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, 0), 0);
    assert_int_equal(regmap_write(&m, HREG_SLAVE, 5, bad, 0), -EINVAL);
    assert_int_equal(hold(HREG_SLAVE), 1); /* nothing changed */
    assert_int_equal(hold(HREG_LOCK), 0);
    assert_int_equal(regmap_write(&m, HREG_SLAVE, 5, good, 0), 0);
    assert_int_equal(regmap_take_requests(&m), REGMAP_REQ_COMMIT);
    assert_int_equal(m.saved.slave, 9);
    assert_int_equal(m.saved.gas_setpoint, 300);
    assert_int_equal(hold(HREG_LOCK), 1);
    /* The lock opens at 0x0004, after the settings in the same request:
     * those are refused.  Unlock and self-test together are fine. */
    assert_int_equal(regmap_write(&m, 0, 6, unlock_first, 0), -EACCES);
    assert_int_equal(hold(HREG_LOCK), 1);
    assert_int_equal(regmap_write(&m, HREG_LOCK, 2, unlock_first + 4, 0), 0);
    assert_int_equal(hold(HREG_LOCK), 0);
    assert_int_equal(regmap_take_requests(&m), REGMAP_REQ_SELFTEST);
}

static void
test_selftest_register(void **state)
{
    (void)state;
    assert_int_equal(write1(HREG_SELFTEST, 0, 0), -EINVAL);
    assert_int_equal(write1(HREG_SELFTEST, 2, 0), -EINVAL);
    /* Running the self-test needs no unlock. */
    assert_int_equal(write1(HREG_SELFTEST, 1, 0), 0);
    assert_int_equal(regmap_take_requests(&m), REGMAP_REQ_SELFTEST);
    m.selftest = 0x0004;
    assert_int_equal(hold(HREG_SELFTEST), 4);
}

static void
test_read_only_and_gaps(void **state)
{
    uint16_t v = 0;

    (void)state;
    assert_int_equal(write1(HREG_LOCK, REG_UNLOCK_KEY, 0), 0);
    /* Counters and gaps are not writable registers: illegal address. */
    for (uint16_t a = 0x0006; a < REG_HOLDING_COUNT; a++)
        assert_int_equal(regmap_write(&m, a, 1, &v, 0), -ENXIO);
    assert_int_equal(write1(REG_HOLDING_COUNT, 0, 0), -ENXIO);
    assert_int_equal(write1(0xFFFF, 0, 0), -ENXIO);
    assert_int_equal(stats.frames, 11);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_input_table, setup),
        cmocka_unit_test_setup(test_holding_table, setup),
        cmocka_unit_test_setup(test_locked_by_default, setup),
        cmocka_unit_test_setup(test_unlock_stage_commit, setup),
        cmocka_unit_test_setup(test_commit_without_change, setup),
        cmocka_unit_test_setup(test_discard, setup),
        cmocka_unit_test_setup(test_unlock_window, setup),
        cmocka_unit_test_setup(test_multi_write, setup),
        cmocka_unit_test_setup(test_selftest_register, setup),
        cmocka_unit_test_setup(test_read_only_and_gaps, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
