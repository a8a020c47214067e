/* Unit tests: conf.c at a large site - no fixed cap on devices or sensors,
 * the device index and read plans built at load, and the bounds that remain
 * (buses, alarms, zones) reported with file:line. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "conf.h"

static int
setup(void **state)
{
    (void)state;
    return tmpdir_make("size");
}

static int
teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

static FILE *
start(const char *name, char *path, size_t len)
{
    FILE *f;

    snprintf(path, len, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[agent]\nsite = s1\nid = a1\nprofile_dir = %s\n\n", profiles);
    return f;
}

/* 500 devices on 4 TCP buses, 20 sensors each (the xy-md02's two points,
 * ten times over), written device by device but with the sensors of
 * neighbouring devices interleaved, so the index must gather them. */
static void
test_ten_thousand_sensors(void **state)
{
    char path[128];
    FILE *f = start("big.conf", path, sizeof(path));
    struct cfgerr err = {0};
    struct conf *c = NULL;
    struct timespec t0, t1;
    int total = 0;
    (void)state;

    for (int b = 0; b < 4; b++)
        fprintf(f, "[bus b%d]\ntype = tcp\nhost = 127.0.0.1\nport = %d\n\n", b, 5020 + b);
    for (int d = 0; d < 500; d++)
        fprintf(f, "[device d%03d]\nbus = b%d\nslave = %d\nprofile = xy-md02\n\n", d, d % 4,
                1 + d % 247);
    for (int k = 0; k < 20; k++)
        for (int d = 0; d < 500; d++)
            fprintf(f, "[sensor s%03d-%02d]\ndevice = d%03d\npoint = %s\n\n", d, k, d,
                    k % 2 ? "humidity" : "temperature");
    fprintf(f, "[alarm hot]\nsensor = s499-19\nkind = high\nsetpoint = 40\n");
    fclose(f);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (conf_load(path, &c, &err) != 0)
        fail_msg("%s", err.text ? err.text : "?");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("loaded 10000 sensors in %.0f ms\n",
                  (double)(t1.tv_sec - t0.tv_sec) * 1000.0 +
                      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    assert_int_equal(c->ndevices, 500);
    assert_int_equal(c->nsensors, 10000);
    assert_int_equal(c->nalarms, 1);
    assert_int_equal(c->alarm_defs[0].sensor, conf_sensor_find(c, "s499-19"));
    for (int d = 0; d < c->ndevices; d++) {
        const struct conf_device *dev = &c->devices[d];
        assert_int_equal(dev->sensors.n, 20);
        /* Both points share one read; every sensor of the device is in it. */
        assert_int_equal(dev->nblocks, 1);
        for (int k = 0; k < dev->sensors.n; k++) {
            int s = dev->sensors.v[k];
            assert_int_equal(c->sensors[s].device, d);
            assert_ptr_equal(dev->pts[k], c->sensors[s].point);
            assert_int_equal(dev->block_of[k], 0);
            /* In file order: the k-th sensor of d is s<d>-<k>. */
            assert_int_equal(s, k * 500 + d);
        }
        total += dev->sensors.n;
    }
    assert_int_equal(total, 10000);
    conf_free(c);
}

/* The bounds that remain are reported at the line of the section that
 * passes them. */
static void
expect_limit(const char *kind, int max, const char *extra)
{
    char path[128], want[256];
    FILE *f = start("limit.conf", path, sizeof(path));
    struct cfgerr err = {0};
    struct conf *c = NULL;
    int line = 6; /* the [agent] block above is 5 lines */

    fputs(extra, f);
    for (const char *p = extra; *p; p++)
        line += *p == '\n';
    for (int i = 0; i <= max; i++) {
        if (strcmp(kind, "bus") == 0)
            fprintf(f, "[bus x%d]\ntype = tcp\nhost = 127.0.0.1\n\n", i);
        else if (strcmp(kind, "alarm") == 0)
            fprintf(f, "[alarm x%d]\nsensor = t\nkind = high\nsetpoint = %d\n\n", i, i);
        else
            fprintf(f, "[zone x%d]\nvote = 1\n\n", i);
        if (i < max)
            line += strcmp(kind, "zone") == 0 ? 3 : strcmp(kind, "bus") == 0 ? 4 : 5;
    }
    fclose(f);
    assert_int_equal(conf_load(path, &c, &err), -EINVAL);
    assert_null(c);
    snprintf(want, sizeof(want), "%s:%d: [%s x%d]: too many sections of this kind (max %d)", path,
             line + 1, kind, max, max);
    if (strstr(err.text, want) == NULL)
        fail_msg("want \"%s\" in:\n%s", want, err.text);
    cfgerr_free(&err);
}

static void
test_limits_reported_with_line(void **state)
{
    (void)state;
    expect_limit("bus", CONF_MAX_BUSES, "");
    expect_limit("alarm", CONF_MAX_ALARMS,
                 "[bus gw]\ntype = tcp\nhost = 127.0.0.1\n\n[device d]\nbus = gw\n"
                 "profile = xy-md02\n\n[sensor t]\ndevice = d\npoint = temperature\n\n");
    expect_limit("zone", CONF_MAX_ZONES, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_thousand_sensors),
        cmocka_unit_test(test_limits_reported_with_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
