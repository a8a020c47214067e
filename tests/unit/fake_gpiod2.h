/*
 * fake_gpiod2.h - a link-time fake of the libgpiod 2.x calls gpio_gpiod2.c
 * makes (the libgpiod 1.6 one is fake_gpiod.h).
 *
 * Linked with -Wl,--wrap=gpiod_chip_open,... (GPIOD2_WRAPPED in the
 * Makefile), gpio_gpiod2.o's calls reach the __wrap_gpiod_* functions of
 * fake_gpiod2.c.  The test points gpio_hw_dev_dir at a directory holding
 * files named gpiochip0 and gpiochip1: the fake opens "gpiochip0" as the
 * chip labelled "pinctrl-bcm2711" with FAKE_GPIOD_NLINES lines and
 * "gpiochip1" as "raspberrypi-exp-gpio" (8 lines, never requested).  A line
 * requested with edge detection gets a pipe as its request fd; the test
 * writes edge events into it (fake_gpiod_edge()) and
 * gpiod_line_request_read_edge_events() reads them back, so epoll, poll and
 * the read path run for real.  The settings of every request stay
 * inspectable, also after release.
 */
#ifndef EMBER_FAKE_GPIOD2_H
#define EMBER_FAKE_GPIOD2_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_GPIOD_LABEL "pinctrl-bcm2711"
#define FAKE_GPIOD_OTHER_LABEL "raspberrypi-exp-gpio"
#define FAKE_GPIOD_NLINES 58 /* the BCM2711 has 58 GPIOs */

struct fake_gpiod_line {
    bool requested;
    char consumer[32];
    int direction; /* enum gpiod_line_direction of the last request */
    int edge;      /* enum gpiod_line_edge */
    int bias;      /* enum gpiod_line_bias */
    int clock;     /* enum gpiod_line_clock */
    bool active_low;
    int output_value;          /* enum gpiod_line_value */
    unsigned long debounce_us; /* kernel debounce asked for */
    int phys;                  /* electrical level (what a voltmeter would show) */
    int rfd, wfd;              /* event pipe while requested with edges, else -1 */
    int requests;              /* successful requests */
    int releases;              /* gpiod_line_request_release() */
    bool busy;                 /* another consumer holds it: requests fail with EBUSY */
};

struct fake_gpiod {
    int chip_opens, chip_closes; /* successful opens, closes (any chip) */
    int label_opens;             /* opens of the FAKE_GPIOD_LABEL chip */
    int infos, info_frees;       /* gpiod_chip_get_info(), gpiod_chip_info_free() */
    int line_requests, line_releases;
    int open_errno;   /* non-zero: gpiod_chip_open() fails with it */
    bool reject_bias; /* requests setting a bias fail with EINVAL */
    int rejected;     /* requests refused because of reject_bias */
    struct fake_gpiod_line lines[FAKE_GPIOD_NLINES];
};

extern struct fake_gpiod fake_gpiod;

/* Forgets everything (closing pipes still open); all lines low and free. */
void fake_gpiod_reset(void);

/* Sets the electrical level of a line without an event (e.g. before open). */
void fake_gpiod_set_level(unsigned offset, int phys);

/* The line changes to electrical level `phys` at ts_ns: the level is set
 * and one edge event is queued, RISING when the line became logically
 * active (as the kernel's both-edges handler names it).  Returns 0, or -1
 * when the line is not requested with edge detection. */
int fake_gpiod_edge(unsigned offset, int phys, int64_t ts_ns);

#endif
