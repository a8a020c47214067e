/*
 * test_crc16.c - CRC-16/MODBUS against published values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crc16.h"

static void
test_check_value(void **state)
{
    (void)state;
    /* The catalogue check value of CRC-16/MODBUS. */
    assert_int_equal(crc16((const uint8_t *)"123456789", 9), 0x4B37);
    assert_int_equal(crc16(NULL, 0), 0xFFFF);
}

static void
test_modbus_frames(void **state)
{
    /* Frames from the Modbus over serial line guide and libmodbus traces:
     * the CRC is sent low byte first. */
    static const uint8_t read_input[] = {0x01, 0x04, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t read_holding[] = {0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
    uint16_t c;

    (void)state;
    c = crc16(read_input, sizeof(read_input));
    assert_int_equal(c & 0xFF, 0x31);
    assert_int_equal(c >> 8, 0xCA);
    c = crc16(read_holding, sizeof(read_holding));
    assert_int_equal(c & 0xFF, 0x76);
    assert_int_equal(c >> 8, 0x87);
}

/* A frame followed by its own CRC (low byte first) has a CRC of 0. */
static void
test_residue(void **state)
{
    uint8_t f[64];
    uint16_t c;

    (void)state;
    for (unsigned i = 0; i < 62; i++)
        f[i] = (uint8_t)(i * 37 + 11);
    c = crc16(f, 62);
    f[62] = (uint8_t)c;
    f[63] = (uint8_t)(c >> 8);
    assert_int_equal(crc16(f, 64), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_modbus_frames),
        cmocka_unit_test(test_residue),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
