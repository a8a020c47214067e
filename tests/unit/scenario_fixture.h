/*
 * scenario_fixture.h - what the unit tests of agent/sim/scenario_*.c share.
 *
 * Every test binary writes its own profile and scenario files into a private
 * temporary directory (made by scenario_setup(), removed by
 * scenario_teardown()), so it depends on nothing but the code under test.
 * The helpers fail the calling test through cmocka; they are static inline
 * so that a test file uses only those it needs.  Include after <cmocka.h>.
 */
#ifndef EMBER_TEST_SCENARIO_FIXTURE_H
#define EMBER_TEST_SCENARIO_FIXTURE_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "util.h"

static char tmpdir[64];

/* A small profile: input int16 0.1 C, input uint16, a holding status word. */
static const char *const profile_text = "[profile]\n"
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

/* The common head of the scenario files in the tests: lines 1-7. */
#define HEAD                                                                                       \
    "[sim]\n"                                                                                      \
    "profile_dir = .\n"                                                                            \
    "[listen tcp0]\n"                                                                              \
    "tcp = 127.0.0.1:1502\n"                                                                       \
    "[device d]\n"                                                                                 \
    "listen = tcp0\n"                                                                              \
    "profile = tdev\n"

static inline void
check_near(double got, double want, double eps, const char *expr, const char *file, int line)
{
    if (fabs(got - want) > eps) {
        print_error("%s = %.9g, expected %.9g (+- %g)\n", expr, got, want, eps);
        _fail(file, line);
    }
}
#define assert_near(got, want, eps) check_near((got), (want), (eps), #got, __FILE__, __LINE__)

static inline char *
tpath(const char *name)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

static inline void
write_file(const char *name, const char *text)
{
    FILE *fp = fopen(tpath(name), "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Loads `text` as scen.scn; fails the test unless it loads and passes
 * scenario_check(). */
static inline struct scenario *
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

/* Loads `text` as bad.scn expecting failure, at load or at check; returns
 * the error text (caller frees) and how many errors in *count. */
static inline char *
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

static inline void
assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL) {
        print_error("'%s' not found in:\n%s", needle, text);
        fail();
    }
}

/* One error a bad file must give: "bad.scn:LINE: MSG...". */
struct want_error {
    int line;
    const char *msg;
};

/* Checks that `text`, holding `count` errors, has each of want[] at its
 * line of bad.scn, and no other errors but `others` (which the caller
 * checks itself). */
static inline void
assert_errors(const char *text, int count, const struct want_error *want, size_t nwant, int others)
{
    char line[256];

    for (size_t i = 0; i < nwant; i++) {
        snprintf(line, sizeof(line), "%s:%d: %s", tpath("bad.scn"), want[i].line, want[i].msg);
        assert_has(text, line);
    }
    assert_int_equal(count, (int)nwant + others);
}

/* Index of signal `name`; fails the test when there is none. */
static inline int
sig(const struct scenario *sc, const char *name)
{
    int i = scenario_signal_find(sc, name);
    if (i < 0)
        print_error("no signal %s\n", name);
    assert_true(i >= 0);
    return i;
}

/* What signal `sig` must read at t seconds, within eps. */
struct want_value {
    double t, value, eps;
};

static inline void
assert_values(const struct scenario *sc, int sig, const struct want_value *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double got = scenario_value(sc, (size_t)sig, want[i].t);
        if (fabs(got - want[i].value) > want[i].eps) {
            print_error("signal %d at t = %g s: %.9g, expected %.9g (+- %g)\n", sig, want[i].t, got,
                        want[i].value, want[i].eps);
            fail();
        }
    }
}

/* What device `dev` must do at t seconds: its fault and, for every fault,
 * the delay (0 unless slow). */
struct want_fault {
    double t;
    enum scn_fault fault;
    int64_t delay_ms;
};

static inline void
assert_faults(const struct scenario *sc, size_t dev, const struct want_fault *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t delay = -1;
        enum scn_fault got = scenario_fault(sc, dev, want[i].t, &delay);
        if (got != want[i].fault || delay != want[i].delay_ms) {
            print_error("device %zu at t = %g s: %s delay %lld, expected %s delay %lld\n", dev,
                        want[i].t, scenario_fault_name(got), (long long)delay,
                        scenario_fault_name(want[i].fault), (long long)want[i].delay_ms);
            fail();
        }
    }
}

/* A function of a [gpio] timeline at t_ms (scenario_gpio_value of one
 * input, or scenario_gpio_next) and what it must return there. */
struct want_at_ms {
    int64_t t_ms, want;
};

static inline void
assert_gpio_values(const struct scenario *sc, size_t gpio, const struct want_at_ms *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = scenario_gpio_value(sc, gpio, want[i].t_ms);
        if (got != want[i].want) {
            print_error("[gpio %s] at %lld ms: %d, expected %lld\n", sc->gpios[gpio].name,
                        (long long)want[i].t_ms, got, (long long)want[i].want);
            fail();
        }
    }
}

static inline void
assert_gpio_next(const struct scenario *sc, const struct want_at_ms *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t got = scenario_gpio_next(sc, want[i].t_ms);
        if (got != want[i].want) {
            print_error("next [gpio] change after %lld ms: %lld, expected %lld\n",
                        (long long)want[i].t_ms, (long long)got, (long long)want[i].want);
            fail();
        }
    }
}

/* A command that must be refused: -EINVAL with a reason. */
static inline void
assert_refused(const char *command, int rc, const char *msg)
{
    if (rc != -EINVAL)
        print_error("'%s' gave %d\n", command, rc);
    assert_int_equal(rc, -EINVAL);
    assert_true(msg[0] != '\0');
}

static inline int
scenario_setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_scenario.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    write_file("tdev.ini", profile_text);
    return 0;
}

static inline int
scenario_teardown(void **state)
{
    const char *names[] = {"tdev.ini", "scen.scn", "bad.scn"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(tpath(names[i]));
    rmdir(tmpdir);
    return 0;
}

#endif
