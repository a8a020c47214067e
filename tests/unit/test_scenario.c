/*
 * test_scenario.c - unit tests of agent/sim/scenario.c.
 *
 * Every test writes its own profile and scenario files into a private
 * temporary directory, so it depends on nothing but the code under test.
 * Expected values are worked out by hand in the comments (not by calling the
 * code's own formulas), so a wrong curve or an off-by-one window fails.
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

#include "../../agent/sim/scenario.h"

static char tmpdir[64];

/* A small profile: input int16 0.1 C, input uint16, a holding status word. */
static const char *profile_text = "[profile]\n"
                                  "name = tdev\n"
                                  "[point temp]\n"
                                  "table = input\n"
                                  "address = 1\n"
                                  "type = int16\n"
                                  "scale = 0.1\n"
                                  "initial = 21.5\n"
                                  "[point hum]\n"
                                  "table = input\n"
                                  "address = 2\n"
                                  "initial = 40\n"
                                  "[point status]\n"
                                  "table = holding\n"
                                  "address = 10\n"
                                  "initial = 0\n";

static void
check_near(double got, double want, double eps, const char *expr, const char *file, int line)
{
    if (fabs(got - want) > eps) {
        print_error("%s = %.9g, expected %.9g (+- %g)\n", expr, got, want, eps);
        _fail(file, line);
    }
}
#define assert_near(got, want, eps) check_near((got), (want), (eps), #got, __FILE__, __LINE__)

static void
write_file(const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *
tpath(const char *name)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

/* The common head of the scenario files below: lines 1-7. */
#define HEAD                                                                                       \
    "[sim]\n"                                                                                      \
    "profile_dir = .\n"                                                                            \
    "[listen tcp0]\n"                                                                              \
    "tcp = 127.0.0.1:1502\n"                                                                       \
    "[device d]\n"                                                                                 \
    "listen = tcp0\n"                                                                              \
    "profile = tdev\n"

/* Loads `text` as scen.scn; fails the test unless it loads. */
static struct scenario *
load_ok(const char *text)
{
    struct cfgerr err = {0};
    struct scenario *sc = NULL;
    int rc;

    write_file("scen.scn", text);
    rc = scenario_load(tpath("scen.scn"), NULL, "/nonexistent", &sc, &err);
    if (rc != 0)
        print_error("unexpected errors:\n%s", err.text ? err.text : "(none)");
    assert_int_equal(rc, 0);
    assert_int_equal(scenario_check(sc, &err), 0);
    cfgerr_free(&err);
    return sc;
}

/* Loads `text` expecting failure; returns the error text (caller frees). */
static char *
load_fail(const char *text, int *count)
{
    struct cfgerr err = {0};
    struct scenario *sc = NULL;
    int rc;

    write_file("bad.scn", text);
    rc = scenario_load(tpath("bad.scn"), NULL, "/nonexistent", &sc, &err);
    if (rc == 0)
        rc = scenario_check(sc, &err);
    scenario_free(sc);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(err.text);
    *count = err.count;
    return err.text;
}

static int
sig(const struct scenario *sc, const char *name)
{
    int i = scenario_signal_find(sc, name);
    if (i < 0)
        print_error("no signal %s\n", name);
    assert_true(i >= 0);
    return i;
}

static void
assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL) {
        print_error("'%s' not found in:\n%s", needle, text);
        fail();
    }
}

static int
setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_scenario.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    write_file("tdev.ini", profile_text);
    return 0;
}

static int
teardown(void **state)
{
    const char *names[] = {"tdev.ini", "scen.scn", "bad.scn"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(tpath(names[i]));
    rmdir(tmpdir);
    return 0;
}

/* ---- parsing ---- */

static void
test_parse_ok(void **state)
{
    (void)state;
    struct scenario *sc = load_ok("[sim]\n"
                                  "profile_dir = .\n"
                                  "seed = 7\n"
                                  "loop = 4m\n"
                                  "[listen tcp0]\n"
                                  "tcp = 127.0.0.1:1502\n"
                                  "[listen rtu0]\n"
                                  "rtu = /dev/ttyUSB0\n"
                                  "baud = 19200\n"
                                  "parity = even\n"
                                  "[device a]\n"
                                  "listen = tcp0\n"
                                  "slave = 3\n"
                                  "profile = tdev\n"
                                  "[device b]\n"
                                  "listen = rtu0\n"
                                  "slave = 5\n"
                                  "profile = ./tdev.ini\n");

    assert_int_equal(sc->seed, 7);
    assert_near(sc->loop, 240.0, 1e-9);
    assert_int_equal(sc->nlisteners, 2);
    assert_int_equal(sc->listeners[0].kind, SCN_TCP);
    assert_string_equal(sc->listeners[0].host, "127.0.0.1");
    assert_int_equal(sc->listeners[0].port, 1502);
    assert_int_equal(sc->listeners[1].kind, SCN_RTU);
    assert_string_equal(sc->listeners[1].device, "/dev/ttyUSB0");
    assert_int_equal(sc->listeners[1].baud, 19200);
    assert_int_equal(sc->listeners[1].parity, 'E');
    assert_int_equal(sc->ndevices, 2);
    assert_int_equal(sc->devices[1].listener, 1);
    assert_int_equal(sc->devices[0].slave, 3);
    /* 3 points per device, each a signal, with the profile's initial values. */
    assert_int_equal(sc->nsignals, 6);
    assert_int_equal(sig(sc, "b.hum"), 4);
    assert_near(scenario_value(sc, sig(sc, "a.temp"), 5), 21.5, 0);
    assert_near(scenario_value(sc, sig(sc, "b.hum"), 5), 40, 0);
    assert_int_equal(scenario_signal_find(sc, "a.nope"), -ENOENT);
    assert_int_equal(scenario_signal_find(sc, "zz.temp"), -ENOENT);
    scenario_free(sc);
}

static void
test_parse_errors_have_lines(void **state)
{
    (void)state;
    int n;
    char *text = load_fail(HEAD                    /* lines 1-7 */
                           "colour = red\n"        /* 8: unknown key in [device d] */
                           "[signal d.temp]\n"     /* 9 */
                           "step = 30s\n"          /* 10: missing value */
                           "ramp = 90s 60s 45\n"   /* 11: end before start */
                           "runaway = 1s 2s x 3\n" /* 12: not a number */
                           "noise = -1\n"          /* 13: negative */
                           "[gadget g]\n"          /* 14: unknown section */
                           "x = 1\n"               /* 15 */
                           "[signal d.pressure]\n" /* 16: no such point */
                           "initial = 3\n"         /* 17 */
                           "[fault ghost]\n"       /* 18: no such device */
                           "dropout = 1s 1s\n"     /* 19 */
                           "[fault d]\n"           /* 20 */
                           "slow = 1s 2s\n"        /* 21: missing delay */
                           "garbage = 5s 0s\n"     /* 22: zero length */
                           "[sim]\n"               /* 23 */
                           "loop = forever\n",     /* 24 */
                           &n);
    const char *p = tpath("bad.scn");
    char want[256];
    static const struct {
        int line;
        const char *msg;
    } expect[] = {
        {8, "[device d]: unknown key 'colour'"},
        {10, "step: '30s' is not 'TIME VALUE'"},
        {11, "ramp: end 60s is not after start 90s"},
        {12, "runaway: '1s 2s x 3' is not 'START END T0 T1'"},
        {13, "noise: '-1' is not a number >= 0"},
        {14, "unknown section [gadget g]"},
        {16, "[signal d.pressure]: profile tdev has no point 'pressure'"},
        {18, "[fault ghost]: no [device ghost]"},
        {21, "slow: '1s 2s' is not 'START LENGTH DELAY'"},
        {22, "garbage: length must be positive"},
        {24, "loop: 'forever' is not a positive duration"},
    };

    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        snprintf(want, sizeof(want), "%s:%d: %s", p, expect[i].line, expect[i].msg);
        assert_has(text, want);
    }
    /* Every mistake is reported in one run, and nothing else. */
    assert_int_equal(n, (int)(sizeof(expect) / sizeof(expect[0])));
    free(text);
}

static void
test_parse_errors_resolution(void **state)
{
    (void)state;
    int n;
    char *text = load_fail("[listen tcp0]\n"        /* 1 */
                           "tcp = localhost:1502\n" /* 2: not an IPv4 address */
                           "[listen l2]\n"          /* 3 */
                           "tcp = 127.0.0.1:502\n"  /* 4 */
                           "baud = 9600\n"          /* 5: TCP has no baud */
                           "[device a]\n"           /* 6: two listeners, none named */
                           "profile = ./tdev.ini\n" /* 7 */
                           "[device b]\n"           /* 8 */
                           "listen = nowhere\n"     /* 9: no such listener */
                           "profile = missing\n"    /* 10: no such profile */
                           "[device a]\n"           /* 11: duplicate */
                           "slave = 2\n"            /* 12 */
                           "[signal a.temp]\n"      /* 13 */
                           "initial = 1\n"          /* 14 */
                           "[signal a.temp]\n"      /* 15: duplicate */
                           "initial = 2\n",         /* 16 */
                           &n);
    const char *p = tpath("bad.scn");
    char want[256];
    static const struct {
        int line;
        const char *msg;
    } expect[] = {
        {2, "tcp: 'localhost:1502' is not IPV4-ADDRESS:PORT"},
        {1, "[listen tcp0]: needs 'tcp = HOST:PORT' or 'rtu = DEVICE'"},
        {5, "baud: [listen l2] is a TCP listener"},
        {6, "[device a]: missing key 'listen'"},
        {9, "listen: no [listen nowhere] section"},
        {10, "profile: cannot load 'missing'"},
        {11, "[device a] defined twice (first at line 6)"},
        {15, "[signal a.temp] defined twice (first at line 13)"},
    };

    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        snprintf(want, sizeof(want), "%s:%d: %s", p, expect[i].line, expect[i].msg);
        assert_has(text, want);
    }
    /* Plus the profile loader's own "cannot open" for missing.ini. */
    assert_has(text, "missing.ini: cannot open");
    assert_int_equal(n, (int)(sizeof(expect) / sizeof(expect[0])) + 1);
    free(text);
}

static void
test_check_listener_rules(void **state)
{
    (void)state;
    int n;
    char *text = load_fail("[sim]\n"                /* 1 */
                           "profile_dir = .\n"      /* 2 */
                           "[listen r]\n"           /* 3 */
                           "rtu = /dev/ttyS0\n"     /* 4 */
                           "[listen t]\n"           /* 5 */
                           "tcp = 127.0.0.1:1502\n" /* 6 */
                           "[device a]\n"           /* 7 */
                           "listen = r\n"           /* 8 */
                           "profile = tdev\n"       /* 9 */
                           "[device b]\n"           /* 10: second device on RTU */
                           "listen = r\n"           /* 11 */
                           "slave = 2\n"            /* 12 */
                           "profile = tdev\n"       /* 13 */
                           "[device c]\n"           /* 14 */
                           "listen = t\n"           /* 15 */
                           "slave = 9\n"            /* 16 */
                           "profile = tdev\n"       /* 17 */
                           "[device e]\n"           /* 18: same unit id as c */
                           "listen = t\n"           /* 19 */
                           "slave = 9\n"            /* 20 */
                           "profile = tdev\n",      /* 21 */
                           &n);
    const char *p = tpath("bad.scn");
    char want[256];

    snprintf(want, sizeof(want),
             "%s:10: [device b]: RTU listener r already serves [device a]; one device per "
             "RTU listener",
             p);
    assert_has(text, want);
    snprintf(want, sizeof(want), "%s:18: [device e]: slave 9 on listener t is already [device c]",
             p);
    assert_has(text, want);
    assert_int_equal(n, 2);
    free(text);
}

static void
test_listener_override(void **state)
{
    (void)state;
    struct cfgerr err = {0};
    struct scenario *sc = load_ok(HEAD);

    assert_int_equal(scenario_set_listen(sc, "nope", "tcp:127.0.0.1:1"), -ENOENT);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "udp:1"), -EINVAL);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "tcp:127.0.0.1:70000"), -EINVAL);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "tcp:127.0.0.1:15020"), 0);
    assert_int_equal(sc->listeners[0].port, 15020);
    assert_int_equal(scenario_set_listen(sc, "tcp0", "rtu:/tmp/pty-a"), 0);
    assert_int_equal(sc->listeners[0].kind, SCN_RTU);
    assert_string_equal(sc->listeners[0].device, "/tmp/pty-a");
    scenario_set_serial(sc, 38400, 'O');
    assert_int_equal(sc->listeners[0].baud, 38400);
    assert_int_equal(sc->listeners[0].parity, 'O');
    /* slave 1 is fine on RTU; 0 is not. */
    assert_int_equal(scenario_check(sc, &err), 0);
    sc->devices[0].slave = 0;
    assert_int_equal(scenario_check(sc, &err), -EINVAL);
    assert_has(err.text, "RTU slave ids are 1..247");
    cfgerr_free(&err);
    scenario_free(sc);
}

static void
test_quick(void **state)
{
    (void)state;
    struct cfgerr err = {0};
    struct scenario *sc = NULL;

    assert_int_equal(scenario_quick(tmpdir, "tdev", 7, "tcp:127.0.0.1:1502", &sc, &err), 0);
    assert_int_equal(sc->ndevices, 1);
    assert_string_equal(sc->devices[0].name, "tdev");
    assert_int_equal(sc->devices[0].slave, 7);
    assert_int_equal(sc->nsignals, 3);
    assert_near(scenario_value(sc, sig(sc, "tdev.temp"), 100), 21.5, 0);
    scenario_free(sc);
    assert_int_equal(scenario_quick(tmpdir, "tdev", 1, "tcp:nohost", &sc, &err), -EINVAL);
    assert_int_equal(scenario_quick(tmpdir, "nosuch", 1, "tcp:127.0.0.1:1", &sc, &err), -EINVAL);
    cfgerr_free(&err);
}

/* ---- values ---- */

static void
test_step(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 10\n"
                                       "step = 30s 35\n"
                                       "step = 1m 12.5\n");
    int s = sig(sc, "d.temp");

    assert_near(scenario_value(sc, s, 0), 10, 0);
    assert_near(scenario_value(sc, s, 29.999), 10, 0);
    assert_near(scenario_value(sc, s, 30), 35, 0);
    assert_near(scenario_value(sc, s, 59.9), 35, 0);
    assert_near(scenario_value(sc, s, 60), 12.5, 0);
    assert_near(scenario_value(sc, s, 1e6), 12.5, 0); /* no loop: holds */
    assert_near(scenario_value(sc, s, -5), 10, 0);    /* before the start */
    scenario_free(sc);
}

static void
test_ramp(void **state)
{
    (void)state;
    /* Events are listed out of order on purpose: they apply in time order. */
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 20\n"
                                       "ramp = 60s 90s 45\n"
                                       "step = 10s 30\n"
                                       "[signal d.hum]\n"
                                       "initial = 50\n"
                                       "ramp = 0 100s 0\n");
    int s = sig(sc, "d.temp"), h = sig(sc, "d.hum");

    assert_near(scenario_value(sc, s, 5), 20, 0);
    assert_near(scenario_value(sc, s, 30), 30, 0);
    /* From its value at 60 s (30, set by the step) to 45 at 90 s. */
    assert_near(scenario_value(sc, s, 60), 30, 1e-12);
    assert_near(scenario_value(sc, s, 75), 37.5, 1e-12);
    assert_near(scenario_value(sc, s, 84), 42, 1e-12);
    assert_near(scenario_value(sc, s, 90), 45, 1e-12);
    assert_near(scenario_value(sc, s, 500), 45, 0);
    /* A ramp downwards from the initial value. */
    assert_near(scenario_value(sc, h, 25), 37.5, 1e-12);
    assert_near(scenario_value(sc, h, 100), 0, 0);
    scenario_free(sc);
}

static void
test_runaway(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 25\n"
                                       "runaway = 120s 300s 30 150\n"
                                       "ramp = 400s 410s 100\n");
    int s = sig(sc, "d.temp");
    double prev = -1, v;

    assert_near(scenario_value(sc, s, 119.9), 25, 0);
    assert_near(scenario_value(sc, s, 120), 30, 1e-12);
    /* u = 0.5: (e^2 - 1) / (e^4 - 1) = 1 / (e^2 + 1) = 0.11920292;
     * 30 + 120 * 0.11920292 = 44.30435 */
    assert_near(scenario_value(sc, s, 210), 44.304350, 1e-5);
    /* u = 0.25: (e - 1) / (e^4 - 1) = 1.7182818 / 53.598150 = 0.03205860;
     * 30 + 120 * 0.03205860 = 33.847032 */
    assert_near(scenario_value(sc, s, 165), 33.847032, 1e-5);
    /* u = 0.75: (e^3 - 1) / (e^4 - 1) = 19.085537 / 53.598150 = 0.35608570;
     * 30 + 120 * 0.35608570 = 72.730284 */
    assert_near(scenario_value(sc, s, 255), 72.730284, 1e-5);
    assert_near(scenario_value(sc, s, 300), 150, 1e-12);
    assert_near(scenario_value(sc, s, 399), 150, 0);
    /* A later ramp starts from where the runaway ended: 150 -> 100. */
    assert_near(scenario_value(sc, s, 405), 125, 1e-9);
    /* Accelerating: every 10 s adds more than the 10 s before. */
    double prev_rise = 0;
    for (double t = 120; t <= 300; t += 10) {
        v = scenario_value(sc, s, t);
        if (prev >= 0) {
            assert_true(v - prev > prev_rise);
            prev_rise = v - prev;
        }
        prev = v;
    }
    scenario_free(sc);
}

static void
test_loop(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 10\n"
                                       "step = 30s 35\n"
                                       "[fault d]\n"
                                       "dropout = 50s 10s\n"
                                       "[sim]\n"
                                       "loop = 100s\n");
    int s = sig(sc, "d.temp");
    int64_t delay;

    assert_near(scenario_value(sc, s, 40), 35, 0);
    assert_near(scenario_value(sc, s, 99.9), 35, 0);
    assert_near(scenario_value(sc, s, 100), 10, 0); /* replayed from the start */
    assert_near(scenario_value(sc, s, 129), 10, 0);
    assert_near(scenario_value(sc, s, 130), 35, 0);
    assert_near(scenario_value(sc, s, 1030.5), 35, 0);
    assert_int_equal(scenario_fault(sc, 0, 255, &delay), SCN_FAULT_DROPOUT);
    assert_int_equal(scenario_fault(sc, 0, 265, &delay), SCN_FAULT_NONE);
    scenario_free(sc);
}

static void
test_noise(void **state)
{
    (void)state;
    const char *text = HEAD "[sim]\n"
                            "seed = 42\n"
                            "[signal d.temp]\n"
                            "initial = 24\n"
                            "noise = 0.2\n"
                            "[signal d.hum]\n"
                            "initial = 24\n"
                            "noise = 0.2\n";
    struct scenario *a = load_ok(text);
    struct scenario *b = load_ok(text);
    struct scenario *c;
    int s = sig(a, "d.temp"), h = sig(a, "d.hum");
    double lo = 1e9, hi = -1e9, sum = 0, v;
    int n = 0, differ_seed = 0, differ_sig = 0;
    char *other;

    other = strdup(text);
    memcpy(strstr(other, "seed = 42"), "seed = 43", 9);
    c = load_ok(other);
    free(other);

    for (int ms = 0; ms < 20000; ms++) {
        double t = ms / 1000.0;
        v = scenario_value(a, s, t);
        /* Bounded by the noise half-width. */
        assert_true(v >= 24 - 0.2 && v <= 24 + 0.2);
        /* Same seed, same instant: the same value, however often it is read. */
        assert_true(v == scenario_value(b, s, t));
        assert_true(v == scenario_value(a, s, t));
        differ_seed += v != scenario_value(c, s, t);
        differ_sig += v != scenario_value(a, h, t);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
        n++;
    }
    /* Uniform over +-0.2: 20000 samples reach close to both ends and average 24. */
    assert_true(lo < 24 - 0.19 && hi > 24 + 0.19);
    assert_near(sum / n, 24, 0.01);
    assert_true(differ_seed > 19900);
    assert_true(differ_sig > 19900); /* signals do not share one noise */
    /* The timeline itself has no noise. */
    assert_near(scenario_timeline(a, s, 3.3), 24, 0);
    scenario_free(a);
    scenario_free(b);
    scenario_free(c);
}

static void
test_fault_windows(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[fault d]\n"
                                       "dropout = 200s 10s\n"
                                       "slow = 220s 5s 400ms\n"
                                       "exception = 240s 5s\n"
                                       "garbage = 260s 5s\n"
                                       "exception = 400s 100s\n"
                                       "dropout = 450s 10s\n");
    int64_t delay = -1;

    assert_int_equal(scenario_fault(sc, 0, 199.999, &delay), SCN_FAULT_NONE);
    assert_int_equal(delay, 0);
    assert_int_equal(scenario_fault(sc, 0, 200, &delay), SCN_FAULT_DROPOUT);
    assert_int_equal(scenario_fault(sc, 0, 209.999, &delay), SCN_FAULT_DROPOUT);
    assert_int_equal(scenario_fault(sc, 0, 210, &delay), SCN_FAULT_NONE);
    assert_int_equal(scenario_fault(sc, 0, 222, &delay), SCN_FAULT_SLOW);
    assert_int_equal(delay, 400);
    assert_int_equal(scenario_fault(sc, 0, 225, &delay), SCN_FAULT_NONE);
    assert_int_equal(delay, 0);
    assert_int_equal(scenario_fault(sc, 0, 242, &delay), SCN_FAULT_EXCEPTION);
    assert_int_equal(scenario_fault(sc, 0, 264.9, &delay), SCN_FAULT_GARBAGE);
    assert_int_equal(scenario_fault(sc, 0, 265, &delay), SCN_FAULT_NONE);
    /* Overlapping windows: the one that started last wins while it lasts. */
    assert_int_equal(scenario_fault(sc, 0, 449, &delay), SCN_FAULT_EXCEPTION);
    assert_int_equal(scenario_fault(sc, 0, 455, &delay), SCN_FAULT_DROPOUT);
    assert_int_equal(scenario_fault(sc, 0, 461, &delay), SCN_FAULT_EXCEPTION);
    assert_int_equal(scenario_fault(sc, 0, 500, &delay), SCN_FAULT_NONE);
    scenario_free(sc);
}

/* ---- control commands ---- */

static void
test_commands(void **state)
{
    (void)state;
    struct scenario *sc = load_ok(HEAD "[signal d.temp]\n"
                                       "initial = 10\n"
                                       "noise = 1\n"
                                       "step = 30s 35\n"
                                       "[fault d]\n"
                                       "dropout = 100s 10s\n");
    int s = sig(sc, "d.temp");
    char msg[300];
    int64_t delay;

    assert_int_equal(scenario_command(sc, "set d.temp 55.5\r", msg, sizeof(msg)), 0);
    assert_has(msg, "d.temp = 55.5");
    /* Held exactly (no noise) at any time, until released. */
    assert_near(scenario_value(sc, s, 1), 55.5, 0);
    assert_near(scenario_value(sc, s, 40), 55.5, 0);
    assert_int_equal(scenario_command(sc, "release d.temp", msg, sizeof(msg)), 0);
    assert_near(scenario_value(sc, s, 40), 35, 1);
    assert_true(scenario_value(sc, s, 40) != 55.5);

    assert_int_equal(scenario_command(sc, "fault d slow 250", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_SLOW);
    assert_int_equal(delay, 250);
    assert_int_equal(scenario_command(sc, "fault d slow 1.5s", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_SLOW);
    assert_int_equal(delay, 1500);
    /* "none" holds the device healthy even inside a scenario fault window... */
    assert_int_equal(scenario_command(sc, "fault d none", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 105, &delay), SCN_FAULT_NONE);
    /* ...and "scenario" gives the timeline back. */
    assert_int_equal(scenario_command(sc, "fault d scenario", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 105, &delay), SCN_FAULT_DROPOUT);
    assert_int_equal(scenario_command(sc, "fault d garbage", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_GARBAGE);
    assert_int_equal(scenario_command(sc, "fault d exception", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_EXCEPTION);
    assert_int_equal(scenario_command(sc, "fault d dropout", msg, sizeof(msg)), 0);
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_DROPOUT);

    assert_int_equal(scenario_command(sc, "", msg, sizeof(msg)), -ENODATA);
    assert_int_equal(scenario_command(sc, "  # comment", msg, sizeof(msg)), -ENODATA);
    static const char *bad[] = {
        "set d.temp",       "set d.nope 1", "set d.temp abc",  "release",
        "release x.temp",   "fault d",      "fault x dropout", "fault d slow",
        "fault d slow zz",  "fault d melt", "fault d none 5",  "frobnicate d.temp",
        "set d.temp 1 2 3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = scenario_command(sc, bad[i], msg, sizeof(msg));
        if (rc != -EINVAL)
            print_error("'%s' gave %d\n", bad[i], rc);
        assert_int_equal(rc, -EINVAL);
        assert_true(msg[0] != '\0');
    }
    /* Bad commands change nothing. */
    assert_int_equal(scenario_fault(sc, 0, 1, &delay), SCN_FAULT_DROPOUT);
    assert_near(scenario_timeline(sc, s, 40), 35, 0);
    scenario_free(sc);
}

/* ---- [gpio] sections and the gpio command ---- */

static void
test_gpio_timeline(void **state)
{
    (void)state;
    /* Steps out of order on purpose: they play in time order. */
    struct scenario *sc = load_ok(HEAD "[gpio contact1]\n"
                                       "initial = 0\n"
                                       "step = 100s 0\n"
                                       "step = 95s 1\n"
                                       "step = 1500ms 1\n"
                                       "step = 1s 1\n"
                                       "step = 1200ms 0\n"
                                       "[gpio door]\n"
                                       "initial = 1\n"
                                       "[gpio smoke.1]\n"
                                       "step = 0 1\n");
    int c = scenario_gpio_find(sc, "contact1");

    assert_int_equal(sc->ngpios, 3);
    assert_int_equal(c, 0);
    assert_int_equal(scenario_gpio_find(sc, "door"), 1);
    assert_int_equal(scenario_gpio_find(sc, "smoke.1"), 2);
    assert_int_equal(scenario_gpio_find(sc, "nope"), -ENOENT);
    assert_int_equal(sc->gpios[0].nsteps, 5);
    assert_int_equal(sc->gpios[0].steps[0].t_ms, 1000);
    assert_int_equal(sc->gpios[0].steps[4].t_ms, 100000);
    /* Closed at 1 s, open at 1.2 s, closed at 1.5 s (the step to 1 at 95 s
     * changes nothing), open at 100 s. */
    assert_int_equal(scenario_gpio_value(sc, 0, 0), 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 999), 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 1000), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 1199), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 1200), 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 1500), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 94999), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 99999), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 100000), 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 100000000), 0); /* no loop: holds */
    assert_int_equal(scenario_gpio_value(sc, 0, -5), 0);
    /* No steps: the initial level forever; a step at 0 applies at once. */
    assert_int_equal(scenario_gpio_value(sc, 1, 0), 1);
    assert_int_equal(scenario_gpio_value(sc, 1, 500000), 1);
    assert_int_equal(scenario_gpio_value(sc, 2, 0), 1);

    /* When the player must wake next: every step of any [gpio], in order. */
    assert_int_equal(scenario_gpio_next(sc, -1), 0);
    assert_int_equal(scenario_gpio_next(sc, 0), 1000);
    assert_int_equal(scenario_gpio_next(sc, 999), 1000);
    assert_int_equal(scenario_gpio_next(sc, 1000), 1200);
    assert_int_equal(scenario_gpio_next(sc, 1200), 1500);
    assert_int_equal(scenario_gpio_next(sc, 1500), 95000);
    assert_int_equal(scenario_gpio_next(sc, 95000), 100000);
    assert_int_equal(scenario_gpio_next(sc, 100000), -1);
    assert_int_equal(scenario_gpio_next(sc, 200000), -1);
    scenario_free(sc);
}

static void
test_gpio_loop(void **state)
{
    (void)state;
    /* Only [gpio] sections: a scenario that drives emberd's inputs alone. */
    struct scenario *sc = load_ok("[sim]\n"
                                  "loop = 10s\n"
                                  "[gpio smoke]\n"
                                  "initial = 0\n"
                                  "step = 2s 1\n"
                                  "step = 5s 0\n"
                                  "step = 12s 1\n" /* beyond the loop: never plays */
                                  "[gpio door]\n"
                                  "initial = 1\n"
                                  "step = 0s 0\n");

    assert_int_equal(sc->ndevices, 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 1999), 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 2000), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 9999), 0);
    /* Replayed from the start every 10 s. */
    assert_int_equal(scenario_gpio_value(sc, 0, 10000), 0);
    assert_int_equal(scenario_gpio_value(sc, 0, 12000), 1);
    assert_int_equal(scenario_gpio_value(sc, 0, 1000000 + 4999), 1);
    assert_int_equal(scenario_gpio_value(sc, 1, 10000), 0);
    assert_int_equal(scenario_gpio_next(sc, 0), 2000);
    assert_int_equal(scenario_gpio_next(sc, 2000), 5000);
    /* After the last step: the start of the next loop (door's step at 0). */
    assert_int_equal(scenario_gpio_next(sc, 5000), 10000);
    assert_int_equal(scenario_gpio_next(sc, 9999), 10000);
    assert_int_equal(scenario_gpio_next(sc, 10000), 12000);
    assert_int_equal(scenario_gpio_next(sc, 1005000), 1010000);
    scenario_free(sc);

    /* Looping [gpio] sections without steps need no wake-ups. */
    sc = load_ok("[sim]\nloop = 10s\n[gpio a]\ninitial = 1\n");
    assert_int_equal(scenario_gpio_next(sc, 0), -1);
    scenario_free(sc);
}

static void
test_gpio_errors(void **state)
{
    (void)state;
    int n;
    char *text = load_fail(HEAD                /* lines 1-7 */
                           "[gpio contact1]\n" /* 8 */
                           "initial = 2\n"     /* 9: not 0/1 */
                           "step = 5s\n"       /* 10: no value */
                           "step = 5s on\n"    /* 11: not 0/1 */
                           "step = soon 1\n"   /* 12: not a time */
                           "step = 1s 1 2\n"   /* 13: too many words */
                           "level = 1\n"       /* 14: unknown key */
                           "[gpio contact1]\n" /* 15: duplicate */
                           "initial = 1\n"     /* 16 */
                           "[gpio bad/name]\n" /* 17 */
                           "initial = 1\n",    /* 18 */
                           &n);
    const char *p = tpath("bad.scn");
    char want[256];
    static const struct {
        int line;
        const char *msg;
    } expect[] = {
        {9, "initial: '2' is not 0 or 1"},
        {10, "step: '5s' is not 'TIME 0|1'"},
        {11, "step: '5s on' is not 'TIME 0|1'"},
        {12, "step: 'soon 1' is not 'TIME 0|1'"},
        {13, "step: '1s 1 2' is not 'TIME 0|1'"},
        {14, "[gpio contact1]: unknown key 'level' (expected initial, step)"},
        {15, "[gpio contact1] defined twice (first at line 8)"},
        {17, "[gpio bad/name]: name must be 1-64 of [A-Za-z0-9_.-]"},
    };

    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        snprintf(want, sizeof(want), "%s:%d: %s", p, expect[i].line, expect[i].msg);
        assert_has(text, want);
    }
    assert_int_equal(n, (int)(sizeof(expect) / sizeof(expect[0])));
    free(text);

    /* Neither devices nor [gpio]: nothing to do. */
    text = load_fail("[sim]\nseed = 3\n", &n);
    assert_has(text, "nothing to serve");
    free(text);
}

static void
test_gpio_command(void **state)
{
    (void)state;
    char name[NAME_MAX_LEN + 1], msg[300];
    int v = -1;

    assert_int_equal(
        scenario_gpio_command("gpio contact1 1", name, sizeof(name), &v, msg, sizeof(msg)), 0);
    assert_string_equal(name, "contact1");
    assert_int_equal(v, 1);
    assert_int_equal(
        scenario_gpio_command("  gpio\tdoor 0\r", name, sizeof(name), &v, msg, sizeof(msg)), 0);
    assert_string_equal(name, "door");
    assert_int_equal(v, 0);
    /* Other commands are not for it. */
    static const char *other[] = {"set d.temp 1", "", "# gpio x 1", "gpiox a 1"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        assert_int_equal(scenario_gpio_command(other[i], name, sizeof(name), &v, msg, sizeof(msg)),
                         -ENOENT);
    static const char *bad[] = {"gpio",      "gpio x",     "gpio x 2",
                                "gpio x on", "gpio x 1 2", "gpio a/b 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = scenario_gpio_command(bad[i], name, sizeof(name), &v, msg, sizeof(msg));
        if (rc != -EINVAL)
            print_error("'%s' gave %d\n", bad[i], rc);
        assert_int_equal(rc, -EINVAL);
        assert_true(msg[0] != '\0');
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors_have_lines),
        cmocka_unit_test(test_parse_errors_resolution),
        cmocka_unit_test(test_check_listener_rules),
        cmocka_unit_test(test_listener_override),
        cmocka_unit_test(test_quick),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_ramp),
        cmocka_unit_test(test_runaway),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_fault_windows),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_gpio_timeline),
        cmocka_unit_test(test_gpio_loop),
        cmocka_unit_test(test_gpio_errors),
        cmocka_unit_test(test_gpio_command),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
