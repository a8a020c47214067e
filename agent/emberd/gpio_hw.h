/*
 * gpio_hw.h - what gpio.c shares with its chip backend (not a public
 * interface: only gpio.c and the backend include it, and unit tests that
 * drive the backend through a fake).
 *
 * Exactly one backend is compiled, chosen by the Makefile from the installed
 * libgpiod: gpio_gpiod1.c (libgpiod 1.6) or gpio_gpiod2.c (libgpiod 2.x).
 * Both give the same behaviour through gpio.h; only they include <gpiod.h>.
 */
#ifndef EMBER_GPIO_HW_H
#define EMBER_GPIO_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "debounce.h"
#include "gpio.h"
#include "util.h"

/* Longest line accepted on the simulated FIFO. */
#define SIM_LINE_MAX 256

struct gpio_hw;      /* the backend's open chip */
struct gpio_hw_line; /* the backend's handle of one requested line */

struct gpio_in {
    char name[NAME_MAX_LEN + 1];
    int offset;
    bool active_low;
    int64_t debounce_ms;
    struct debounce db;
    struct gpio_hw_line *line; /* requested for events; NULL if not (yet) */
};

struct gpio_out {
    char name[NAME_MAX_LEN + 1];
    int offset;
    bool active_low;
    int value;
    struct gpio_hw_line *line;
};

struct gpio {
    bool sim;
    /* chip */
    struct gpio_hw *hw;
    int epfd; /* over the inputs' event fds, epoll data = input index */
    /* simulated */
    char *fifo;
    int fifo_fd;
    dev_t fifo_dev;
    ino_t fifo_ino;
    char buf[SIM_LINE_MAX + 1];
    size_t len;
    bool discarding; /* inside an over-long line */

    struct gpio_in *in;
    int nin;
    struct gpio_out *out;
    int nout;
};

/* ---- provided by gpio.c ---- */

void gpio_seterr(char *errbuf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* " (is the user in the gpio group?)" and the like for an open/request errno. */
const char *gpio_open_hint(int e);

/* ---- provided by the backend ---- */

/* libgpiod 2 backend: the directory whose gpiochip* devices are searched for
 * the label ("/dev"; unit tests point it at a directory of their own). */
extern const char *gpio_hw_dev_dir;

/* Opens the chip labelled `label` and requests every input (both-edge
 * events, ACTIVE_LOW and the pull-up where active_low) and output (logically
 * inactive); starts each input's debouncer at the line's level and adds its
 * event fd to g->epfd (already created).  On failure returns -errno with the
 * reason in errbuf; gpio_hw_close() then releases what was requested. */
int gpio_hw_open(struct gpio *g, const char *label, char *errbuf, size_t len);

/* Releases every requested line and closes the chip (g->hw may be NULL). */
void gpio_hw_close(struct gpio *g);

/* Reads one pending edge of input i without blocking: 1 with *active (the
 * logical level after the edge) and *ts_ns (the kernel's timestamp), 0 when
 * none is pending, -errno on failure. */
int gpio_hw_read_edge(struct gpio *g, int i, int *active, int64_t *ts_ns);

/* Logical level of input i (0 or 1), or -errno. */
int gpio_hw_get(const struct gpio *g, int i);

/* Drives output o to logical value (0 or 1): 0 or -errno. */
int gpio_hw_set(struct gpio *g, int o, int value);

#endif
