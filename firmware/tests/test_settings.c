/*
 * test_settings.c - ranges and the saved block.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "port_host.h"
#include "settings.h"

static const struct settings sample = {
    .slave = 42, .baud100 = 384, .parity = 1, .gas_setpoint = 250};

static int
setup(void **state)
{
    (void)state;
    host_port_reset();
    return 0;
}

static void
test_ranges(void **state)
{
    static const uint16_t bauds[] = {48, 96, 192, 384, 576, 1152};

    (void)state;
    assert_int_equal(settings_check(SETTINGS_SLAVE, 0), -EINVAL);
    assert_int_equal(settings_check(SETTINGS_SLAVE, 1), 0);
    assert_int_equal(settings_check(SETTINGS_SLAVE, 247), 0);
    assert_int_equal(settings_check(SETTINGS_SLAVE, 248), -EINVAL);
    for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
        assert_int_equal(settings_check(SETTINGS_BAUD, bauds[i]), 0);
    assert_int_equal(settings_check(SETTINGS_BAUD, 19200), -EINVAL);
    assert_int_equal(settings_check(SETTINGS_BAUD, 1), -EINVAL);
    assert_int_equal(settings_check(SETTINGS_PARITY, 2), 0);
    assert_int_equal(settings_check(SETTINGS_PARITY, 3), -EINVAL);
    assert_int_equal(settings_check(SETTINGS_GAS, 0), -EINVAL);
    assert_int_equal(settings_check(SETTINGS_GAS, 65535), 0);
    assert_int_equal(settings_check(SETTINGS_N, 1), -ENXIO);
}

static void
test_set_get(void **state)
{
    struct settings s = sample;

    (void)state;
    assert_int_equal(settings_set(&s, SETTINGS_SLAVE, 7), 0);
    assert_int_equal(settings_get(&s, SETTINGS_SLAVE), 7);
    assert_int_equal(settings_set(&s, SETTINGS_SLAVE, 300), -EINVAL);
    assert_int_equal(s.slave, 7);
    assert_int_equal(settings_baud(&s), 38400);
}

static void
test_roundtrip_memory(void **state)
{
    struct settings s = {0};

    (void)state;
    /* Never saved: erased flash, refused. */
    assert_int_equal(settings_load(&s, &port_host), -ENOENT);
    assert_int_equal(s.slave, 0);
    assert_int_equal(settings_save(&sample, &port_host), 0);
    assert_int_equal(host_port_last(HOST_NV_SAVE)->a, SETTINGS_NV_SIZE);
    assert_int_equal(settings_load(&s, &port_host), 0);
    assert_memory_equal(&s, &sample, sizeof(s));
}

static void
test_roundtrip_file_and_corruption(void **state)
{
    char path[] = "/tmp/ember-settings-XXXXXX";
    int fd = mkstemp(path);
    struct settings s = {0};
    unsigned char b[SETTINGS_NV_SIZE];
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(host_port_nv_file(path), 0);
    /* No file yet: like erased flash. */
    assert_int_equal(settings_load(&s, &port_host), -ENOENT);
    assert_int_equal(settings_save(&sample, &port_host), 0);
    assert_int_equal(settings_load(&s, &port_host), 0);
    assert_memory_equal(&s, &sample, sizeof(s));

    /* Flip each byte in turn: every corruption is caught (magic, version,
     * CRC or a field out of range), and s is left alone. */
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, sizeof(b), f), sizeof(b));
    fclose(f);
    for (size_t i = 0; i < 13; i++) {
        struct settings t = {.slave = 99};

        b[i] ^= 0x10;
        f = fopen(path, "wb");
        fwrite(b, 1, sizeof(b), f);
        fclose(f);
        assert_int_equal(settings_load(&t, &port_host), -ENOENT);
        assert_int_equal(t.slave, 99);
        b[i] ^= 0x10;
    }
    unlink(path);
}

static void
test_no_storage_and_failures(void **state)
{
    struct settings s = sample;

    (void)state;
    host_port_nv_none();
    assert_int_equal(settings_load(&s, &port_host), -ENOSYS);
    assert_int_equal(settings_save(&s, &port_host), -ENOSYS);
    host_port_reset();
    host_port_nv_fail(-EIO);
    assert_int_equal(settings_save(&s, &port_host), -EIO);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ranges, setup),
        cmocka_unit_test_setup(test_set_get, setup),
        cmocka_unit_test_setup(test_roundtrip_memory, setup),
        cmocka_unit_test_setup(test_roundtrip_file_and_corruption, setup),
        cmocka_unit_test_setup(test_no_storage_and_failures, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
