/*
 * fake_gpiod.h - a link-time fake of the libgpiod 1.6 calls gpio.c makes.
 *
 * This machine has no /dev/gpiochip, gpio-sim or gpio-mockup, so the libgpiod
 * backend is tested by linking with
 *   -Wl,--wrap=gpiod_chip_open_by_label,--wrap=gpiod_chip_close,...
 * (see FAKE_GPIOD_WRAP in the Makefile): gpio.o's calls then reach the
 * __wrap_gpiod_* functions of fake_gpiod.c instead of the library.
 *
 * The fake is one chip labelled "pinctrl-bcm2711" with FAKE_GPIOD_NLINES
 * lines.  A line requested for edge events gets a pipe as its event fd; the
 * test writes struct gpiod_line_event records into it (fake_gpiod_edge())
 * and gpiod_line_event_read() reads them back, so epoll, poll and the read
 * path of gpio.c run for real.  Everything a request asked for (consumer,
 * type, flags, default value) stays inspectable, also after release.
 */
#ifndef EMBER_FAKE_GPIOD_H
#define EMBER_FAKE_GPIOD_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_GPIOD_LABEL "pinctrl-bcm2711"
#define FAKE_GPIOD_NLINES 58 /* the BCM2711 has 58 GPIOs */

struct fake_gpiod_line {
    bool requested;
    char consumer[32];
    int request_type; /* GPIOD_LINE_REQUEST_* of the last request */
    int flags;        /* GPIOD_LINE_REQUEST_FLAG_* of the last request */
    int default_val;
    int phys;              /* electrical level (what a voltmeter would show) */
    int rfd, wfd;          /* event pipe while requested for events, else -1 */
    int requests;          /* successful requests */
    int releases;          /* gpiod_line_release() of a requested line */
    int released_by_close; /* still requested when the chip was closed */
    bool busy;             /* another consumer holds it: requests fail with EBUSY */
};

struct fake_gpiod {
    int chip_opens, chip_closes; /* successful opens, closes */
    int line_requests, line_releases;
    int open_errno;   /* non-zero: gpiod_chip_open_by_label() fails with it */
    int reject_flags; /* requests with any of these flags fail with EINVAL (an old kernel) */
    int rejected;     /* requests refused because of reject_flags */
    struct fake_gpiod_line lines[FAKE_GPIOD_NLINES];
};

extern struct fake_gpiod fake_gpiod;

/* Forgets everything (closing pipes still open); all lines low and free. */
void fake_gpiod_reset(void);

/* Sets the electrical level of a line without an event (e.g. before open). */
void fake_gpiod_set_level(unsigned offset, int phys);

/* The line changes to electrical level `phys` at ts_ns (on whichever clock
 * the test wants the kernel to use): the level is set and one edge event is
 * queued on the line's event fd.  As the kernel's v1 both-edges handler
 * does, the event type is the line's logical level then (ACTIVE_LOW
 * applied): RISING when it became active.  Returns 0, or -1 when the line
 * is not requested for events. */
int fake_gpiod_edge(unsigned offset, int phys, int64_t ts_ns);

#endif
