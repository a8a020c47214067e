/*
 * gpio.h - contact inputs and outputs (buzzer, relay) on a GPIO chip or on a
 * simulated backend fed through a FIFO.
 *
 * Two backends behind one interface:
 *  - libgpiod (1.6 or 2.x, whichever the build found): the chip is opened
 *    by its label (pinctrl-bcm2711 on a Pi 4 / CM4, pinctrl-rp1 on a Pi 5),
 *    so the board file does not depend on the gpiochipN numbering, which
 *    changed between Pi 5 kernels.  Inputs are
 *    requested for both-edge events, with ACTIVE_LOW where the board says so
 *    (plus the internal pull-up, for dry contacts wired to GND, when the
 *    kernel accepts bias flags; without them it silently does without).
 *    Outputs are requested as outputs, initialised inactive.
 *  - simulated (bench, CI, ember-sim --gpio): gpio_open() creates a FIFO and
 *    reads lines "NAME VALUE" from it, VALUE 0 or 1 being the logical level.
 *    Output writes are only recorded (gpio_get_output()).
 *
 * Every value in this interface is logical: 1 = active (contact closed on an
 * active_low input), whatever the electrical level.  Inputs are debounced
 * (see debounce.h): a clean edge is reported at once with its own timestamp,
 * chatter gives at most one change per debounce window, and the level a
 * contact settles at is always reported.
 *
 * The module owns no loop: poll gpio_fd() for POLLIN and run gpio_dispatch()
 * when it is readable or when CLOCK_MONOTONIC reaches gpio_deadline_ms().
 * Only the chip backend (gpio_gpiod1.c or gpio_gpiod2.c) includes <gpiod.h>.
 * Functions return 0 or a negative errno and never print, except gpio_open()
 * (one error line on failure) and the log_warnx() for a bad line on the
 * simulated FIFO.
 */
#ifndef EMBER_GPIO_H
#define EMBER_GPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Name given to the kernel as the consumer of every requested line (shown by
 * gpioinfo). */
#define GPIO_CONSUMER "emberd"

struct gpio;

struct gpio_input_def {
    const char *name; /* 1-64 characters; the NAME of simulated lines */
    int offset;       /* line offset on the chip */
    bool active_low;
    int64_t debounce_ms; /* 0: no debounce */
};

struct gpio_output_def {
    const char *name;
    int offset;
    bool active_low;
};

/* A debounced change of an input: value is logical (1 = active/contact
 * closed, active_low applied). */
struct gpio_event {
    int input; /* index into the gpio_open() input array */
    int value;
    int64_t ts_ms;   /* CLOCK_REALTIME of the edge, ms */
    int64_t mono_us; /* CLOCK_MONOTONIC of the edge, us */
};

/* Called from gpio_dispatch() for every change, oldest first.  It may call
 * gpio_get(), gpio_set() and gpio_get_output(), but not gpio_close(). */
typedef void (*gpio_event_fn)(void *arg, const struct gpio_event *ev);

/* Opens the backend: the libgpiod chip labelled `chip_label`, or, when
 * chip_label is NULL, the simulated backend on the FIFO `sim_fifo`, which is
 * created with mode 0660 (a stale FIFO at that path is replaced; anything
 * else there is refused with -EEXIST).  Inputs start at their current level
 * (read from the line; 0 on the simulated backend) without an event.
 * On failure returns -errno and logs one error line (log_errx) naming the
 * chip, FIFO or line that failed; gpio_open_err() returns that text instead. */
int gpio_open(struct gpio **out, const char *chip_label, const char *sim_fifo,
              const struct gpio_input_def *in, int nin, const struct gpio_output_def *outs,
              int nout);

/* gpio_open() without logging: on failure the reason, naming the chip, FIFO
 * or line, is written to errbuf (always NUL-terminated when len > 0). */
int gpio_open_err(struct gpio **out, const char *chip_label, const char *sim_fifo,
                  const struct gpio_input_def *in, int nin, const struct gpio_output_def *outs,
                  int nout, char *errbuf, size_t len);

/* Releases every line and the chip, or closes and removes the FIFO that
 * gpio_open() created (unless something else has replaced it since).
 * NULL is a no-op. */
void gpio_close(struct gpio *g);

/* The one fd to poll for POLLIN: an epoll fd over the line event fds
 * (libgpiod) or the FIFO (simulated). */
int gpio_fd(const struct gpio *g);

/* CLOCK_MONOTONIC ms at which gpio_dispatch() must run again to end a
 * debounce lockout, or -1 when no lockout is running.  Rounded up, so a loop
 * that wakes at this instant finds the lockout over. */
int64_t gpio_deadline_ms(const struct gpio *g);

/* Reads every pending edge (or FIFO line), runs the debounce and calls cb for
 * each debounced change; then ends the lockouts that are due, re-reading the
 * line levels.  Call it when gpio_fd() is readable or the deadline passed;
 * calling it at other times is harmless.  Returns 0, or -errno when reading
 * the chip failed (the events that could be read were still delivered). */
int gpio_dispatch(struct gpio *g, gpio_event_fn cb, void *arg);

/* Current debounced logical value of input `input`.  -EINVAL for a bad index. */
int gpio_get(const struct gpio *g, int input, int *value);

/* Drives output `output` to logical `value` (any non-zero value is 1). */
int gpio_set(struct gpio *g, int output, int value);

/* The logical value last written to output `output` (0 after gpio_open()). */
int gpio_get_output(const struct gpio *g, int output, int *value);

/* Index of the input / output called `name`, or -ENOENT. */
int gpio_input_find(const struct gpio *g, const char *name);
int gpio_output_find(const struct gpio *g, const char *name);

/* True on the simulated backend. */
bool gpio_is_simulated(const struct gpio *g);

#endif
