/* Unit tests: profile.c loader, codec and read planner, on the shipped profiles. */
#include <errno.h>
#include <limits.h>
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

#include "profile.h"

static struct profile *
load(const char *name)
{
    struct cfgerr err = {0};
    struct profile *p = NULL;
    int rc = profile_load_ref("agent/profiles", name, NULL, &p, &err);
    if (rc < 0)
        fprintf(stderr, "%s", err.text ? err.text : "?");
    assert_int_equal(rc, 0);
    cfgerr_free(&err);
    return p;
}

static void
test_all_profiles_load(void **state)
{
    static const char *names[] = {"xy-md02", "sdm120", "sdm630", "apc-smart-ups", "rack-bms",
                                  "ember-node"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct profile *p = load(names[i]);
        assert_string_equal(p->name, names[i]);
        assert_true(p->npoints > 0);
        /* Every point's initial value survives an encode/decode round trip. */
        for (size_t k = 0; k < p->npoints; k++) {
            uint16_t w[2] = {0, 0};
            double v;
            point_encode(&p->points[k], p->points[k].initial, w);
            assert_int_equal(point_decode(&p->points[k], w, &v), 0);
            assert_true(fabs(v - p->points[k].initial) <= pow(10, -p->points[k].decimals));
        }
        profile_free(p);
    }
}

static void
test_xymd02(void **state)
{
    struct profile *p = load("xy-md02");
    const struct point *t = profile_point(p, "temperature");
    uint16_t w[1];
    double v;
    (void)state;
    assert_non_null(t);
    assert_int_equal(t->table, MB_INPUT);
    assert_int_equal(t->address, 1);
    w[0] = 245; /* 24.5 C */
    assert_int_equal(point_decode(t, w, &v), 0);
    assert_true(v == 24.5);
    w[0] = (uint16_t)-105; /* -10.5 C as int16 */
    assert_int_equal(point_decode(t, w, &v), 0);
    assert_true(v == -10.5);
    w[0] = 2000; /* 200 C: beyond the SHT20's range, so bad */
    assert_int_equal(point_decode(t, w, &v), -ERANGE);
    profile_free(p);
}

static void
test_apc(void **state)
{
    struct profile *p = load("apc-smart-ups");
    const struct point *t = profile_point(p, "battery_temperature");
    const struct point *onbatt = profile_point(p, "on_battery");
    const struct point *online = profile_point(p, "online");
    const struct point *vin = profile_point(p, "input_voltage");
    const struct point *rt = profile_point(p, "runtime");
    uint16_t w[2];
    double v;
    (void)state;

    w[0] = 25 * 128 + 64; /* 25.5 C at 2^7 */
    assert_int_equal(point_decode(t, w, &v), 0);
    assert_true(v == 25.5);
    w[0] = (uint16_t)(-5 * 128);
    assert_int_equal(point_decode(t, w, &v), 0);
    assert_true(v == -5.0);

    /* Status bits share registers 0-1 (big-endian 32-bit). */
    w[0] = 0;
    w[1] = (1u << 2) | (1u << 1);
    assert_int_equal(point_decode(onbatt, w, &v), 0);
    assert_true(v == 1);
    point_encode(onbatt, 0, w);
    assert_int_equal(w[1], 1u << 1); /* other bits untouched */
    assert_int_equal(point_decode(online, w, &v), 0);
    assert_true(v == 1);

    w[0] = 0xFFFF; /* "not available" */
    assert_int_equal(point_decode(vin, w, &v), -ERANGE);
    w[0] = 230 * 64;
    assert_int_equal(point_decode(vin, w, &v), 0);
    assert_true(v == 230.0);

    w[0] = 0x0001;
    w[1] = 0x0002; /* 65538 s, high word first */
    assert_int_equal(point_decode(rt, w, &v), 0);
    assert_true(v == 65538.0);
    profile_free(p);
}

static void
test_sdm_float_abcd(void **state)
{
    struct profile *p = load("sdm120");
    const struct point *volt = profile_point(p, "voltage");
    uint16_t w[2] = {0x4366, 0x0000}; /* 230.0f = 0x43660000 */
    double v;
    (void)state;
    assert_int_equal(point_decode(volt, w, &v), 0);
    assert_true(v == 230.0);
    w[0] = 0x7FC0; /* NaN */
    assert_int_equal(point_decode(volt, w, &v), -ERANGE);
    point_encode(volt, 229.5, w);
    assert_int_equal(w[0], 0x4365);
    {
        /* Integer points saturate at the right end, even for absurd input. */
        struct profile *x = load("xy-md02");
        const struct point *t = profile_point(x, "temperature");
        uint16_t r[1];
        point_encode(t, 1e19, r);
        assert_int_equal(r[0], 0x7FFF);
        point_encode(t, -1e19, r);
        assert_int_equal(r[0], 0x8000);
        point_encode(t, NAN, r);
        assert_int_equal(r[0], 0);
        profile_free(x);
    }
    point_encode(volt, 229.5, w);
    assert_int_equal(w[0], 0x4365);
    assert_int_equal(w[1], 0x8000);
    profile_free(p);
}

static void
test_node_fault_marker(void **state)
{
    struct profile *p = load("ember-node");
    const struct point *m = profile_point(p, "module_2");
    uint16_t w[1] = {0x8000};
    double v;
    (void)state;
    assert_int_equal(point_decode(m, w, &v), -ERANGE);
    w[0] = 15012; /* 150.12 C */
    assert_int_equal(point_decode(m, w, &v), 0);
    assert_true(fabs(v - 150.12) < 1e-9);
    profile_free(p);
}

static void
test_plan(void **state)
{
    struct profile *p = load("apc-smart-ups");
    const struct point *pts[5];
    struct read_block b[8];
    int bo[5], off[5];
    int n;
    (void)state;

    pts[0] = profile_point(p, "battery_temperature"); /* 135 */
    pts[1] = profile_point(p, "online");              /* 0-1 */
    pts[2] = profile_point(p, "charge");              /* 130 */
    pts[3] = profile_point(p, "runtime");             /* 128-129 */
    pts[4] = profile_point(p, "on_battery");          /* 0-1 */
    n = profile_plan(pts, 5, 0, b, 8, bo, off);
    /* 0-1, 128-130, 135: three requests with no gap merging. */
    assert_int_equal(n, 3);
    assert_int_equal(b[bo[1]].start, 0);
    assert_int_equal(b[bo[1]].count, 2);
    assert_int_equal(bo[1], bo[4]);
    assert_int_equal(b[bo[3]].start, 128);
    assert_int_equal(b[bo[3]].count, 3);
    assert_int_equal(off[2], 2);
    assert_int_equal(b[bo[0]].start, 135);

    /* With a gap of 8 the 128..135 points share one request. */
    n = profile_plan(pts, 5, 8, b, 8, bo, off);
    assert_int_equal(n, 2);
    assert_int_equal(b[bo[0]].start, 128);
    assert_int_equal(b[bo[0]].count, 8);
    assert_int_equal(off[0], 7);
    /* Bit blocks are capped at 125 like registers (one buffer size):
     * coils every 30 bits merge with a gap of 32 until the cap. */
    {
        struct point coils[6];
        const struct point *cp[6];
        int cbo[6], coff[6];
        memset(coils, 0, sizeof(coils));
        for (int i = 0; i < 6; i++) {
            coils[i].table = MB_COIL;
            coils[i].type = PT_BOOL;
            coils[i].bit = -1;
            coils[i].address = (uint16_t)(30 * i);
            cp[i] = &coils[i];
        }
        n = profile_plan(cp, 6, 32, b, 8, cbo, coff);
        assert_int_equal(n, 2);
        assert_int_equal(b[0].count, 121);
        assert_int_equal(b[cbo[5]].start + coff[5], 150);
        assert_true(b[1].count <= 125);
    }
    /* Too few block slots is reported, not overflowed. */
    assert_int_equal(profile_plan(pts, 5, 0, b, 2, bo, off), -ENOSPC);
    profile_free(p);
}

static const char *
write_tmp(const char *text)
{
    static char path[64];
    FILE *f;
    strcpy(path, "/tmp/ember-profile-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_profile_errors(void **state)
{
    struct cfgerr err = {0};
    struct profile *p = NULL;
    const char *path = write_tmp("[profile]\n"
                                 "name = broken\n"
                                 "\n"
                                 "[point a]\n"
                                 "table = flash\n"
                                 "address = 70000\n"
                                 "\n"
                                 "[point b]\n"
                                 "table = input\n"
                                 "type = int16\n"
                                 "bit = 20\n"
                                 "colour = red\n");
    (void)state;
    assert_int_equal(profile_load(path, &p, &err), -EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.text, ":5: table: 'flash'"));
    assert_non_null(strstr(err.text, ":6: address: '70000'"));
    assert_non_null(strstr(err.text, ":12: [point b]: unknown key 'colour'"));
    assert_non_null(strstr(err.text, ":8: [point b]: missing key 'address'"));
    assert_non_null(strstr(err.text, ":8: [point b]: bit 20 needs a 32-bit type"));
    cfgerr_free(&err);
    unlink(path);
}

/* Devices naming one profile share one copy while the file is unchanged;
 * the last holder frees it, and an edited file is read again. */
static void
test_profile_shared(void **state)
{
    static const char text[] = "[profile]\nname = shared\n\n[point t]\ntable = input\n"
                               "address = 1\ntype = int16\n";
    struct cfgerr err = {0};
    struct profile *a = NULL, *b = NULL, *c = NULL, *x = load("xy-md02");
    char path[64];
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s", write_tmp(text));
    assert_int_equal(profile_load_ref(NULL, path, NULL, &a, &err), 0);
    assert_int_equal(profile_load_ref(NULL, path, NULL, &b, &err), 0);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, x);
    assert_int_equal(a->npoints, 1);
    assert_string_equal(a->points[0].name, "t");
    profile_free(a);
    /* b still holds it: its points are intact. */
    assert_string_equal(b->points[0].name, "t");

    /* Edited (another size): a new load, not the held copy. */
    f = fopen(path, "a");
    assert_non_null(f);
    fputs("\n[point u]\ntable = input\naddress = 2\ntype = int16\n", f);
    fclose(f);
    assert_int_equal(profile_load_ref(NULL, path, NULL, &c, &err), 0);
    assert_ptr_not_equal(b, c);
    assert_int_equal(c->npoints, 2);
    assert_int_equal(b->npoints, 1);
    profile_free(b);
    profile_free(c);
    profile_free(x);
    assert_null(err.text);
    unlink(path);
}

/* A name with no NAME.ini says where it looked and what is there. */
static void
test_profile_not_found(void **state)
{
    struct cfgerr err = {0};
    struct profile *p = NULL;
    char list[1024];
    (void)state;

    assert_int_equal(profile_list("agent/profiles", list, sizeof(list)), 0);
    assert_non_null(strstr(list, "apc-smart-ups, "));
    assert_non_null(strstr(list, "xy-md02"));
    assert_null(strstr(list, ".ini"));
    assert_true(profile_load_ref("agent/profiles", "xy-md03", NULL, &p, &err) < 0);
    assert_non_null(err.text);
    assert_non_null(strstr(err.text, "profile 'xy-md03' not found; profiles in agent/profiles: "));
    assert_non_null(strstr(err.text, "xy-md02"));
    cfgerr_free(&err);
    assert_true(profile_load_ref("/nonexistent-dir", "xy-md02", NULL, &p, &err) < 0);
    assert_non_null(
        strstr(err.text, "profile 'xy-md02' not found (/nonexistent-dir: No such file"));
    cfgerr_free(&err);
}

/* EMBER_PROFILE_DIR first; else, for a program in build/ or build/test/
 * (this test), the checkout's agent/profiles. */
static void
test_profile_default_dir(void **state)
{
    char dir[PATH_MAX], want[PATH_MAX];
    const char *why;
    (void)state;

    setenv("EMBER_PROFILE_DIR", "/somewhere", 1);
    why = profile_default_dir(dir, sizeof(dir));
    assert_string_equal(dir, "/somewhere");
    assert_string_equal(why, "$EMBER_PROFILE_DIR");
    unsetenv("EMBER_PROFILE_DIR");
    profile_default_dir(dir, sizeof(dir));
    assert_non_null(realpath("agent/profiles", want));
    assert_string_equal(dir, want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_profiles_load),
        cmocka_unit_test(test_xymd02),
        cmocka_unit_test(test_apc),
        cmocka_unit_test(test_sdm_float_abcd),
        cmocka_unit_test(test_node_fault_marker),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_profile_errors),
        cmocka_unit_test(test_profile_shared),
        cmocka_unit_test(test_profile_not_found),
        cmocka_unit_test(test_profile_default_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
