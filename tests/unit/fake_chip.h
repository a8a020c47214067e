/*
 * fake_chip.h - the GPIO chip that test_gpio_chip.c drives the libgpiod
 * backend of agent/emberd/gpio.c against, whichever libgpiod is installed.
 *
 * This machine has no /dev/gpiochip, gpio-sim or gpio-mockup, so the backend
 * is linked with -Wl,--wrap=gpiod_... (GPIOD1_WRAPPED / GPIOD2_WRAPPED in the
 * Makefile): its calls reach the __wrap_gpiod_* functions of fake_gpiod.c
 * (libgpiod 1.6) or fake_gpiod2.c (2.x) instead of the library.
 *
 * What both fakes keep alike lives here and in fake_chip.c: one chip
 * labelled FAKE_CHIP_LABEL with FAKE_CHIP_NLINES lines, each line's consumer,
 * electrical level, request counts and event pipe.  A line requested for
 * edge events gets a pipe as its event fd; fake_chip_edge() writes the
 * backend's event record into it and the backend's read call reads it back,
 * so epoll, poll and the read path of gpio.c run for real.  What a request
 * asked for in the backend's own terms (flags, enums) each fake keeps to
 * itself and checks through the fake_chip_assert_* functions below.
 */
#ifndef EMBER_FAKE_CHIP_H
#define EMBER_FAKE_CHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_CHIP_LABEL "pinctrl-bcm2711"
#define FAKE_CHIP_NLINES 58 /* the BCM2711 has 58 GPIOs */

struct fake_chip_line {
    bool requested;
    char consumer[32];
    int phys;     /* electrical level (what a voltmeter would show) */
    int rfd, wfd; /* event pipe while requested for events, else -1 */
    int requests; /* successful requests */
    int releases; /* requests given back */
    bool busy;    /* another consumer holds it: requests fail with EBUSY */
};

struct fake_chip {
    int chip_opens, chip_closes; /* successful opens, closes (any chip) */
    int line_requests, line_releases;
    int open_errno; /* non-zero: opening a chip fails with it */
    int rejected;   /* requests refused after fake_chip_refuse_bias() */
    struct fake_chip_line lines[FAKE_CHIP_NLINES];
};

extern struct fake_chip fake_chip;

/* ---- fake_chip.c: the same for both backends ---- */

/* Forgets everything (closing pipes still open); all lines low and free. */
void fake_chip_reset(void);

/* Sets the electrical level of a line without an event (e.g. before open). */
void fake_chip_set_level(unsigned offset, int phys);

/* The line changes to electrical level `phys` at ts_ns (on whichever clock
 * the test wants the kernel to use): the level is set and one edge event is
 * queued on the line's event fd, RISING when the line became logically
 * active, as the kernel's both-edges handler names it.  Returns 0, or -1
 * when the line is not requested for events. */
int fake_chip_edge(unsigned offset, int phys, int64_t ts_ns);

/* The line's logical level: its electrical one, inverted when active-low. */
int fake_chip_logical(unsigned offset);

/* A request of the line starts: -1 with errno EBUSY when it is held, else 0. */
int fake_chip_line_claim(unsigned offset);

/* The request of `offset` by `consumer` (NULL: "?") succeeded; with an event
 * pipe when `events`.  0, or -1 when no pipe can be made. */
int fake_chip_line_grant(unsigned offset, const char *consumer, bool events);

/* The line's request is given back (its pipe closed); `close` counts it as
 * given back by closing the chip (libgpiod 1.6) rather than by a release. */
void fake_chip_line_drop(unsigned offset, bool close);

/* ---- each backend's fake ---- */

/* Forgets what the backend records beyond struct fake_chip. */
void fake_backend_reset(void);

/* Whether the line's current request is active-low. */
bool fake_backend_active_low(unsigned offset);

/* Writes the backend's edge event record into buf (of `size` bytes):
 * its length, or 0 when it does not fit. */
size_t fake_backend_event(bool rising, int64_t ts_ns, void *buf, size_t size);

/* cmocka group setup and teardown: what the chips need around the tests. */
int fake_chip_group_setup(void);
int fake_chip_group_teardown(void);

/* The chip refuses any request that sets a bias (pull-up or -down), as a
 * kernel before 5.5 does. */
void fake_chip_refuse_bias(void);

/* No GPIO chip exists at all (true) or the fake's chips are back (false). */
void fake_chip_none(bool none);

/* Checks that the line is requested by GPIO_CONSUMER for both-edge events,
 * active-low or not, pulled up or with its bias as is, and nothing else. */
void fake_chip_assert_input(unsigned offset, bool active_low, bool pull_up);

/* Checks that the line is requested by GPIO_CONSUMER as an output, active-low
 * or not, logically inactive at first, and nothing else. */
void fake_chip_assert_output(unsigned offset, bool active_low);

/* After a chip label no chip has: checks which chips were opened to look,
 * and that each was closed again. */
void fake_chip_assert_looked_for_label(void);

/* Checks that the chip labelled FAKE_CHIP_LABEL was opened once. */
void fake_chip_assert_label_opened_once(void);

/* Checks what the backend gives back besides the lines and chips. */
void fake_chip_assert_backend_released(void);

#endif
