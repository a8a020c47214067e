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

/* Input (output false) or output i names a line the chip lacks (errno e):
 * the reason in errbuf; returns -e. */
int gpio_no_line(const struct gpio *g, bool output, int i, const char *label, int e, char *errbuf,
                 size_t len);

/* The request of input or output i failed with errno e: the reason in
 * errbuf; returns -e. */
int gpio_request_failed(const struct gpio *g, bool output, int i, const char *label, int e,
                        char *errbuf, size_t len);

/* ---- provided by the backend ---- */

/* libgpiod 2 backend: the directory whose gpiochip* devices are searched for
 * the label ("/dev"; unit tests point it at a directory of their own). */
extern const char *gpio_hw_dev_dir;

/* Opens the chip labelled `label` into g->hw: 0, or -errno (-ENOENT when no
 * chip has that label).  gpio.c words the error. */
int gpio_hw_open(struct gpio *g, const char *label);

/* Requests input i of the open chip for both-edge events (ACTIVE_LOW and the
 * pull-up where active_low; without the pull-up where the chip refuses bias
 * settings) into g->in[i].line.  gpio.c then reads its level
 * (gpio_hw_get()) and watches its event fd (gpio_hw_event_fd()).
 * On failure returns -errno with the reason in errbuf (naming the line and
 * the chip `label`); gpio_hw_close() then releases what was requested. */
int gpio_hw_open_input(struct gpio *g, int i, const char *label, char *errbuf, size_t len);

/* Requests output o as an output, logically inactive, into g->out[o].line;
 * errors as gpio_hw_open_input(). */
int gpio_hw_open_output(struct gpio *g, int o, const char *label, char *errbuf, size_t len);

/* The event fd of requested input i (for g->epfd), or -errno. */
int gpio_hw_event_fd(const struct gpio *g, int i);

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
