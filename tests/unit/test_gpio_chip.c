/*
 * test_gpio_chip.c - the libgpiod backend of agent/emberd/gpio.c against the
 * link-time fake chip of fake_chip.h (no GPIO chip exists on build hosts).
 *
 * One set of cases holds both backends to one behaviour: the Makefile links
 * it with fake_chip.o and the fake of the installed libgpiod, as
 * test_gpio_libgpiod (1.6: fake_chip.c, gpio_gpiod1.c) or
 * test_gpio_libgpiod2 (2.x: fake_gpiod2.c, gpio_gpiod2.c).  The fake's chip
 * is "pinctrl-bcm2711"; its lines' event fds are pipes that fake_chip_edge()
 * writes the backend's event records into, so gpio.c's epoll, poll and read
 * path run for real.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_chip.h"
#include "gpio.h"
#include "gpio_recorder.h"
#include "util.h"

#define NS_PER_MS 1000000LL

static char errbuf[512];

/* Dry contacts to GND (active low, pulled up) and a plain active-high input. */
static const struct gpio_input_def inputs[] = {
    {.name = "contact1", .offset = 17, .active_low = true, .debounce_ms = 20},
    {.name = "door", .offset = 4, .active_low = false, .debounce_ms = 0},
};
static const struct gpio_output_def outputs[] = {
    {.name = "buzzer", .offset = 22, .active_low = false},
    {.name = "relay", .offset = 23, .active_low = true},
};

static int64_t
clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
setup(void **state)
{
    (void)state;
    fake_chip_reset();
    /* Contacts open: the pulled-up line reads high (inactive). */
    fake_chip_set_level(17, 1);
    fake_chip_set_level(4, 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    fake_chip_reset();
    return 0;
}

static struct gpio *
open_chip(void)
{
    struct gpio *g = NULL;
    int rc =
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, inputs, 2, outputs, 2, errbuf, sizeof(errbuf));
    if (rc != 0)
        print_error("gpio_open_err: %d %s\n", rc, errbuf);
    assert_int_equal(rc, 0);
    return g;
}

/* All resources given back: every request released, every chip closed. */
static void
assert_all_released(void)
{
    assert_int_equal(fake_chip.chip_closes, fake_chip.chip_opens);
    assert_int_equal(fake_chip.line_releases, fake_chip.line_requests);
    for (int i = 0; i < FAKE_CHIP_NLINES; i++) {
        assert_false(fake_chip.lines[i].requested);
        assert_int_equal(fake_chip.lines[i].rfd, -1);
    }
    fake_chip_assert_backend_released();
}

static void
test_wrong_label(void **state)
{
    (void)state;
    struct gpio *g = NULL;

    /* A Pi 5 board file on a Pi 4. */
    assert_int_equal(
        gpio_open_err(&g, "pinctrl-rp1", NULL, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
        -ENOENT);
    assert_null(g);
    assert_non_null(strstr(errbuf, "GPIO chip 'pinctrl-rp1'"));
    assert_non_null(strstr(errbuf, "no GPIO chip has that label"));
    fake_chip_assert_looked_for_label();
    assert_int_equal(fake_chip.line_requests, 0);
    /* gpio_open() logs the same line and returns the same error. */
    assert_int_equal(gpio_open(&g, "pinctrl-rp1", NULL, inputs, 2, outputs, 2), -ENOENT);
    assert_null(g);

    fake_chip.open_errno = EACCES;
    assert_int_equal(
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
        -EACCES);
    assert_non_null(strstr(errbuf, "GPIO chip 'pinctrl-bcm2711': cannot open: Permission denied"));
    assert_non_null(strstr(errbuf, "gpio group"));
}

static void
test_requests(void **state)
{
    (void)state;
    struct gpio *g = open_chip();
    const struct fake_chip_line *c1 = &fake_chip.lines[17], *door = &fake_chip.lines[4];
    const struct fake_chip_line *bz = &fake_chip.lines[22], *relay = &fake_chip.lines[23];

    assert_false(gpio_is_simulated(g));
    fake_chip_assert_label_opened_once();
    /* Any other chip looked at was closed again; ours stays open. */
    assert_int_equal(fake_chip.chip_opens - fake_chip.chip_closes, 1);
    assert_int_equal(fake_chip.line_requests, 4);
    /* Inputs: both-edge events, active-low plus the pull-up for the contact. */
    assert_true(c1->requested);
    assert_string_equal(c1->consumer, GPIO_CONSUMER);
    fake_chip_assert_input(17, true, true);
    assert_true(door->requested);
    assert_string_equal(door->consumer, GPIO_CONSUMER);
    fake_chip_assert_input(4, false, false);
    /* Outputs: requested as outputs, logically inactive: the active-low
     * relay's line is high. */
    fake_chip_assert_output(22, false);
    assert_int_equal(bz->phys, 0);
    fake_chip_assert_output(23, true);
    assert_int_equal(relay->phys, 1);
    assert_string_equal(relay->consumer, GPIO_CONSUMER);
    /* Nothing else was touched. */
    for (int i = 0; i < FAKE_CHIP_NLINES; i++)
        if (i != 17 && i != 4 && i != 22 && i != 23)
            assert_int_equal(fake_chip.lines[i].requests, 0);
    gpio_close(g);
    assert_all_released();
}

static void
test_initial_levels(void **state)
{
    (void)state;
    struct recorder r = {.n = 0};
    struct gpio *g;
    int v;

    /* The contact is already closed (line pulled to GND) at start-up, and
     * the door input is high. */
    fake_chip_set_level(17, 0);
    fake_chip_set_level(4, 1);
    g = open_chip();
    assert_int_equal(gpio_get(g, 0, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(gpio_get(g, 1, &v), 0);
    assert_int_equal(v, 1);
    /* ... without an event for it. */
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(gpio_deadline_ms(g), -1);
    gpio_close(g);
    assert_all_released();
}

/* Lets time pass up to CLOCK_MONOTONIC t_ns.  Edge stamps must lie between
 * gpio_open() (or the previous dispatch) and the dispatch that reads them,
 * as the kernel's do, so the tests stamp edges just after a known instant
 * and then wait. */
static void
sleep_until(int64_t t_ns)
{
    int64_t left;

    while ((left = t_ns - clock_ns(CLOCK_MONOTONIC)) > 0)
        poll(NULL, 0, (int)(left / NS_PER_MS) + 1);
}

static void
test_edges(void **state)
{
    (void)state;
    struct gpio *g = open_chip();
    struct recorder r = {.n = 0};
    struct pollfd pfd = {.fd = gpio_fd(g), .events = POLLIN};
    int64_t t0 = clock_ns(CLOCK_MONOTONIC), real0 = clock_ns(CLOCK_REALTIME);
    int64_t t1;
    int v;

    assert_true(pfd.fd >= 0);
    assert_int_equal(poll(&pfd, 1, 0), 0);

    /* The contact closes (line goes low) and bounces for 4 ms. */
    assert_int_equal(fake_chip_edge(17, 0, t0 + 1 * NS_PER_MS), 0);
    assert_int_equal(fake_chip_edge(17, 1, t0 + 2 * NS_PER_MS), 0);
    assert_int_equal(fake_chip_edge(17, 0, t0 + 3 * NS_PER_MS), 0);
    assert_int_equal(fake_chip_edge(17, 1, t0 + 4 * NS_PER_MS), 0);
    assert_int_equal(fake_chip_edge(17, 0, t0 + 5 * NS_PER_MS), 0);
    /* Read only after its 20 ms lockout is over. */
    sleep_until(t0 + 30 * NS_PER_MS);
    /* The epoll fd shows it. */
    assert_int_equal(poll(&pfd, 1, 1000), 1);
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    /* One debounced change: active (the line is low, active_low), stamped
     * with the kernel's time of the first edge. */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].input, 0);
    assert_int_equal(r.ev[0].value, 1);
    assert_int_equal(r.ev[0].mono_us, (t0 + 1 * NS_PER_MS) / 1000);
    assert_true(r.ev[0].ts_ms >= real0 / NS_PER_MS - 1 && r.ev[0].ts_ms <= real0 / NS_PER_MS + 3);
    /* The line is still active at the end of the lockout: nothing more. */
    assert_int_equal(gpio_deadline_ms(g), -1);
    assert_int_equal(gpio_get(g, 0, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(poll(&pfd, 1, 0), 0);

    /* It opens again: inactive. */
    r.n = 0;
    t1 = clock_ns(CLOCK_MONOTONIC);
    assert_int_equal(fake_chip_edge(17, 1, t1 + 1 * NS_PER_MS), 0);
    sleep_until(t1 + 30 * NS_PER_MS);
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].value, 0);
    assert_int_equal(r.ev[0].mono_us, (t1 + 1 * NS_PER_MS) / 1000);
    assert_int_equal(gpio_deadline_ms(g), -1);

    /* The active-high door input without debounce: every edge counts. */
    r.n = 0;
    t1 = clock_ns(CLOCK_MONOTONIC);
    assert_int_equal(fake_chip_edge(4, 1, t1 + 1 * NS_PER_MS), 0);
    assert_int_equal(fake_chip_edge(4, 0, t1 + 2 * NS_PER_MS), 0);
    assert_int_equal(fake_chip_edge(4, 1, t1 + 3 * NS_PER_MS), 0);
    sleep_until(t1 + 4 * NS_PER_MS);
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.ev[i].input, 1);
        assert_int_equal(r.ev[i].value, i % 2 == 0);
        assert_int_equal(r.ev[i].mono_us, (t1 + (1 + i) * NS_PER_MS) / 1000);
    }
    assert_int_equal(gpio_get(g, 1, &v), 0);
    assert_int_equal(v, 1);
    gpio_close(g);
    assert_all_released();
}

static void
test_final_level_after_lockout(void **state)
{
    (void)state;
    struct gpio *g;
    struct recorder r = {.n = 0};
    struct pollfd pfd = {.events = POLLIN};
    int64_t t0, dl;
    int v;

    for (int attempt = 1;; attempt++) {
        g = open_chip();
        pfd.fd = gpio_fd(g);
        t0 = clock_ns(CLOCK_MONOTONIC);
        /* A short close-open pulse: closed at t0 + 1 ms, open again 5 ms later. */
        assert_int_equal(fake_chip_edge(17, 0, t0 + 1 * NS_PER_MS), 0);
        assert_int_equal(fake_chip_edge(17, 1, t0 + 6 * NS_PER_MS), 0);
        sleep_until(t0 + 7 * NS_PER_MS);
        /* The first read must fall inside the 20 ms lockout, or this test
         * shows nothing: a run slowed that much (valgrind on a loaded
         * machine) starts the pulse again. */
        if (clock_ns(CLOCK_MONOTONIC) < t0 + 15 * NS_PER_MS)
            break;
        gpio_close(g);
        teardown(NULL);
        setup(NULL);
        if (attempt == 20)
            skip(); /* never inside the lockout in 20 tries: say so, not pass */
    }
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].value, 1);
    /* The loop must come back when the 20 ms lockout ends (rounded up). */
    dl = gpio_deadline_ms(g);
    assert_int_equal(dl, ((t0 + 21 * NS_PER_MS) / 1000 + 999) / 1000);
    /* Waiting as the loop does: nothing to read, then the deadline. */
    while (r.n < 2 && mono_ms() < dl + 1000) {
        int64_t left = gpio_deadline_ms(g) - mono_ms();
        assert_true(poll(&pfd, 1, left > 0 ? (int)left : 0) >= 0);
        assert_int_equal(gpio_dispatch(g, record, &r), 0);
    }
    /* The level the line re-reads at the end is reported, stamped then. */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[1].input, 0);
    assert_int_equal(r.ev[1].value, 0);
    assert_int_equal(r.ev[1].mono_us, (t0 + 21 * NS_PER_MS) / 1000);
    assert_int_equal(gpio_get(g, 0, &v), 0);
    assert_int_equal(v, 0);
    gpio_close(g);
    assert_all_released();
}

static void
test_realtime_stamps(void **state)
{
    (void)state;
    struct gpio *g = open_chip();
    struct recorder r = {.n = 0};
    int64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME);

    /* Kernels before 5.7 stamp events with CLOCK_REALTIME. */
    assert_int_equal(fake_chip_edge(4, 1, real + 5 * NS_PER_MS), 0);
    sleep_until(mono + 40 * NS_PER_MS);
    assert_int_equal(gpio_dispatch(g, record, &r), 0);
    assert_int_equal(r.n, 1);
    assert_true(r.ev[0].ts_ms >= (real + 5 * NS_PER_MS) / NS_PER_MS - 2 &&
                r.ev[0].ts_ms <= (real + 5 * NS_PER_MS) / NS_PER_MS + 2);
    assert_true(r.ev[0].mono_us >= (mono + 3 * NS_PER_MS) / 1000 &&
                r.ev[0].mono_us <= (mono + 7 * NS_PER_MS) / 1000);
    gpio_close(g);
}

static void
test_outputs(void **state)
{
    (void)state;
    struct gpio *g = open_chip();
    int v = -1;

    assert_int_equal(gpio_set(g, 0, 1), 0);
    assert_int_equal(fake_chip.lines[22].phys, 1);
    assert_int_equal(gpio_get_output(g, 0, &v), 0);
    assert_int_equal(v, 1);
    /* Logical 1 on the active-low relay drives its line low. */
    assert_int_equal(gpio_set(g, 1, 1), 0);
    assert_int_equal(fake_chip.lines[23].phys, 0);
    assert_int_equal(gpio_get_output(g, 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(gpio_set(g, 1, 0), 0);
    assert_int_equal(fake_chip.lines[23].phys, 1);
    assert_int_equal(gpio_set(g, 0, 0), 0);
    assert_int_equal(fake_chip.lines[22].phys, 0);
    assert_int_equal(gpio_set(g, 2, 1), -EINVAL);
    gpio_close(g);
    assert_all_released();
}

static void
test_bias_fallback(void **state)
{
    (void)state;
    struct gpio *g;

    /* A kernel without bias support (before 5.5) rejects the pull-up: the
     * contact is requested again without it. */
    fake_chip_refuse_bias();
    g = open_chip();
    assert_int_equal(fake_chip.rejected, 1);
    assert_true(fake_chip.lines[17].requested);
    fake_chip_assert_input(17, true, false);
    gpio_close(g);
    assert_all_released();
}

static void
test_line_errors(void **state)
{
    (void)state;
    struct gpio *g = NULL;
    struct gpio_output_def o[2] = {outputs[0], outputs[1]};
    struct gpio_input_def in[2] = {inputs[0], inputs[1]};

    /* Someone else holds the buzzer line: the error names it, and what was
     * already requested is given back. */
    fake_chip.lines[22].busy = true;
    assert_int_equal(
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
        -EBUSY);
    assert_null(g);
    assert_non_null(strstr(errbuf, "GPIO output buzzer (line 22 on pinctrl-bcm2711): request as "
                                   "output failed: Device or resource busy"));
    fake_chip_assert_label_opened_once();
    assert_all_released();
    fake_chip.lines[22].busy = false;

    fake_chip.lines[4].busy = true;
    assert_int_equal(
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
        -EBUSY);
    assert_non_null(strstr(errbuf, "GPIO input door (line 4 on pinctrl-bcm2711): request for "
                                   "edge events failed"));
    assert_all_released();
    fake_chip.lines[4].busy = false;

    /* A line the chip does not have. */
    o[1].offset = 99;
    assert_int_equal(
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, inputs, 2, o, 2, errbuf, sizeof(errbuf)), -EINVAL);
    assert_non_null(strstr(errbuf, "GPIO output relay: chip 'pinctrl-bcm2711' has no line 99"));
    assert_all_released();

    /* Two names on one line are refused before touching the chip. */
    in[1].offset = 22;
    fake_chip_reset();
    assert_int_equal(
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, in, 2, outputs, 2, errbuf, sizeof(errbuf)),
        -EINVAL);
    assert_non_null(strstr(errbuf, "output buzzer: line 22 is already input door"));
    assert_int_equal(fake_chip.chip_opens, 0);

    /* No GPIO chip at all. */
    fake_chip_none(true);
    assert_int_equal(
        gpio_open_err(&g, FAKE_CHIP_LABEL, NULL, inputs, 2, outputs, 2, errbuf, sizeof(errbuf)),
        -ENOENT);
    assert_null(g);
    fake_chip_none(false);
}

static int
group_setup(void **state)
{
    (void)state;
    return fake_chip_group_setup();
}

static int
group_teardown(void **state)
{
    (void)state;
    return fake_chip_group_teardown();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrong_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_level_after_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_realtime_stamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bias_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
