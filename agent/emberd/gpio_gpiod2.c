/*
 * gpio_gpiod2.c - the chip backend of gpio.c on libgpiod 2.x (see gpio_hw.h).
 *
 * Behaves as gpio_gpiod1.c does: one request per line (an input for
 * both-edge events with its own event fd, an output as an output), and the
 * chip is found by its label.  libgpiod 2 has no open-by-label, so every
 * /dev/gpiochip* is opened in turn and its label compared.
 *
 * Debounce: the v2 uAPI can debounce in the kernel, but its debouncer
 * reports an edge only once the line has been stable for the whole period,
 * delaying every alarm by it.  gpio.c's debounce reports a clean edge at
 * once, so the kernel's is left off and both libgpiod versions behave alike.
 * Events are stamped on CLOCK_MONOTONIC, which gpio.c expects.
 */
#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio_hw.h"

const char *gpio_hw_dev_dir = "/dev";

struct gpio_hw {
    struct gpiod_chip *chip;
    size_t nlines;
    struct gpiod_edge_event_buffer *events; /* room for one event */
};

struct gpio_hw_line {
    struct gpiod_line_request *req;
    unsigned offset;
};

/* Opens `path` and keeps it in hw if its label is `label`: 1 if kept, 0 if
 * not that chip, -errno if it cannot be opened or read. */
static int
try_chip(struct gpio_hw *hw, const char *path, const char *label)
{
    struct gpiod_chip *chip;
    struct gpiod_chip_info *info;
    int found;

    errno = 0;
    if ((chip = gpiod_chip_open(path)) == NULL)
        return -(errno ? errno : EIO);
    if ((info = gpiod_chip_get_info(chip)) == NULL) {
        int e = errno ? errno : EIO;
        gpiod_chip_close(chip);
        return -e;
    }
    found = strcmp(gpiod_chip_info_get_label(info), label) == 0;
    if (found) {
        hw->chip = chip;
        hw->nlines = gpiod_chip_info_get_num_lines(info);
    } else {
        gpiod_chip_close(chip);
    }
    gpiod_chip_info_free(info);
    return found;
}

/* Finds the chip labelled `label` among gpio_hw_dev_dir's gpiochip*: 0, or
 * -ENOENT when none has it, or the error of a chip that could not be opened
 * (it may have been the one). */
static int
find_chip(struct gpio_hw *hw, const char *label)
{
    DIR *d = opendir(gpio_hw_dev_dir);
    struct dirent *de;
    int first_err = 0, r = 0;

    if (d == NULL)
        return -errno;
    while (r <= 0 && (de = readdir(d)) != NULL) {
        char path[PATH_MAX];

        if (strncmp(de->d_name, "gpiochip", 8) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", gpio_hw_dev_dir, de->d_name);
        r = try_chip(hw, path, label);
        if (r < 0 && first_err == 0)
            first_err = r;
    }
    closedir(d);
    if (r > 0)
        return 0;
    return first_err ? first_err : -ENOENT;
}

/* One request of line `offset` with `settings`: NULL with errno set on failure. */
static struct gpiod_line_request *
request_line(struct gpio_hw *hw, unsigned offset, struct gpiod_line_settings *settings)
{
    struct gpiod_line_config *lcfg = gpiod_line_config_new();
    struct gpiod_request_config *rcfg = gpiod_request_config_new();
    struct gpiod_line_request *req = NULL;
    int e;

    if (lcfg == NULL || rcfg == NULL) {
        errno = ENOMEM;
    } else if (gpiod_line_config_add_line_settings(lcfg, &offset, 1, settings) == 0) {
        gpiod_request_config_set_consumer(rcfg, GPIO_CONSUMER);
        req = gpiod_chip_request_lines(hw->chip, rcfg, lcfg);
    }
    e = errno;
    gpiod_request_config_free(rcfg);
    gpiod_line_config_free(lcfg);
    errno = e;
    return req;
}

/* Requests an input with settings `s`: an active-low one (a dry contact to
 * GND) with the internal pull-up too, or without it where the chip refuses
 * bias settings.  NULL with errno set on failure. */
static struct gpiod_line_request *
request_biased(struct gpio_hw *hw, unsigned offset, struct gpiod_line_settings *s, bool active_low)
{
    struct gpiod_line_request *req = NULL;

    if (active_low && gpiod_line_settings_set_bias(s, GPIOD_LINE_BIAS_PULL_UP) == 0)
        req = request_line(hw, offset, s);
    if (req == NULL && (!active_low || errno == EINVAL) &&
        gpiod_line_settings_set_bias(s, GPIOD_LINE_BIAS_AS_IS) == 0)
        req = request_line(hw, offset, s);
    return req;
}

/* Sets `s` up for an output driven logically inactive, or an input with
 * both-edge events stamped on CLOCK_MONOTONIC: whether it could. */
static bool
set_direction(struct gpiod_line_settings *s, bool output, bool active_low)
{
    gpiod_line_settings_set_active_low(s, active_low);
    if (output)
        return gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) == 0 &&
               gpiod_line_settings_set_output_value(s, GPIOD_LINE_VALUE_INACTIVE) == 0;
    return gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT) == 0 &&
           gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH) == 0 &&
           gpiod_line_settings_set_event_clock(s, GPIOD_LINE_CLOCK_MONOTONIC) == 0;
}

/* Requests an output or an input (see set_direction()).  NULL with errno
 * set on failure. */
static struct gpiod_line_request *
request(struct gpio_hw *hw, unsigned offset, bool output, bool active_low)
{
    struct gpiod_line_settings *s = gpiod_line_settings_new();
    struct gpiod_line_request *req = NULL;
    int e;

    if (s == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if (set_direction(s, output, active_low))
        req = output ? request_line(hw, offset, s) : request_biased(hw, offset, s, active_low);
    e = errno;
    gpiod_line_settings_free(s);
    errno = e;
    return req;
}

static struct gpio_hw_line *
line_new(struct gpiod_line_request *req, unsigned offset)
{
    struct gpio_hw_line *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        gpiod_line_request_release(req);
        return NULL;
    }
    l->req = req;
    l->offset = offset;
    return l;
}

/* Requests input or output i: 0, or -errno with the reason in errbuf. */
static int
open_line(struct gpio *g, bool output, int i, const char *label, char *errbuf, size_t len)
{
    int offset = output ? g->out[i].offset : g->in[i].offset;
    bool active_low = output ? g->out[i].active_low : g->in[i].active_low;
    struct gpiod_line_request *req;
    struct gpio_hw_line *l;

    if ((size_t)offset >= g->hw->nlines)
        return gpio_no_line(g, output, i, label, EINVAL, errbuf, len);
    errno = 0;
    if ((req = request(g->hw, (unsigned)offset, output, active_low)) == NULL)
        return gpio_request_failed(g, output, i, label, errno ? errno : EIO, errbuf, len);
    if ((l = line_new(req, (unsigned)offset)) == NULL)
        return -ENOMEM;
    if (output)
        g->out[i].line = l;
    else
        g->in[i].line = l;
    return 0;
}

int
gpio_hw_open_input(struct gpio *g, int i, const char *label, char *errbuf, size_t len)
{
    return open_line(g, false, i, label, errbuf, len);
}

int
gpio_hw_open_output(struct gpio *g, int o, const char *label, char *errbuf, size_t len)
{
    return open_line(g, true, o, label, errbuf, len);
}

int
gpio_hw_open(struct gpio *g, const char *label)
{
    int rc;

    if ((g->hw = calloc(1, sizeof(*g->hw))) == NULL)
        return -ENOMEM;
    if ((rc = find_chip(g->hw, label)) < 0)
        return rc;
    if ((g->hw->events = gpiod_edge_event_buffer_new(1)) == NULL)
        return -ENOMEM;
    return 0;
}

int
gpio_hw_event_fd(const struct gpio *g, int i)
{
    int fd = gpiod_line_request_get_fd(g->in[i].line->req);

    return fd < 0 ? -(errno ? errno : EIO) : fd;
}

static void
line_free(struct gpio_hw_line *l)
{
    if (l == NULL)
        return;
    gpiod_line_request_release(l->req);
    free(l);
}

void
gpio_hw_close(struct gpio *g)
{
    for (int i = 0; i < g->nin; i++)
        line_free(g->in[i].line);
    for (int i = 0; i < g->nout; i++)
        line_free(g->out[i].line);
    if (g->hw == NULL)
        return;
    if (g->hw->events != NULL)
        gpiod_edge_event_buffer_free(g->hw->events);
    if (g->hw->chip != NULL)
        gpiod_chip_close(g->hw->chip);
    free(g->hw);
}

int
gpio_hw_read_edge(struct gpio *g, int i, int *active, int64_t *ts_ns)
{
    struct gpiod_line_request *req = g->in[i].line->req;
    struct pollfd pfd = {.fd = gpio_hw_event_fd(g, i), .events = POLLIN};
    struct gpiod_edge_event *ev;

    /* gpiod_line_request_read_edge_events() blocks on an empty queue. */
    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
        return 0;
    if (gpiod_line_request_read_edge_events(req, g->hw->events, 1) < 1)
        return -(errno ? errno : EIO);
    if ((ev = gpiod_edge_event_buffer_get_event(g->hw->events, 0)) == NULL)
        return -EIO;
    *active = gpiod_edge_event_get_event_type(ev) == GPIOD_EDGE_EVENT_RISING_EDGE;
    *ts_ns = (int64_t)gpiod_edge_event_get_timestamp_ns(ev);
    return 1;
}

int
gpio_hw_get(const struct gpio *g, int i)
{
    const struct gpio_hw_line *l = g->in[i].line;
    enum gpiod_line_value v;

    errno = 0;
    v = gpiod_line_request_get_value(l->req, l->offset);
    if (v == GPIOD_LINE_VALUE_ERROR)
        return -(errno ? errno : EIO);
    return v == GPIOD_LINE_VALUE_ACTIVE;
}

int
gpio_hw_set(struct gpio *g, int o, int value)
{
    const struct gpio_hw_line *l = g->out[o].line;

    /* Requested with active_low, the kernel inverts for us. */
    if (gpiod_line_request_set_value(
            l->req, l->offset, value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0)
        return -(errno ? errno : EIO);
    return 0;
}
