/*
 * gpio_gpiod1.c - the chip backend of gpio.c on libgpiod 1.6 (see gpio_hw.h).
 *
 * One request per line: an input for both-edge events (its own event fd),
 * an output as an output.  The chip is found by its label with
 * gpiod_chip_open_by_label().
 */
#include <errno.h>
#include <gpiod.h>
#include <poll.h>
#include <string.h>

#include "gpio_hw.h"

/* The chip and the line handles are libgpiod's own: struct gpio_hw is
 * struct gpiod_chip, struct gpio_hw_line is struct gpiod_line. */
#define HW_CHIP(g) ((struct gpiod_chip *)(void *)(g)->hw)
#define HW_LINE(l) ((struct gpiod_line *)(void *)(l))

/* Requests an input for both-edge events; an active-low one (a dry contact
 * to GND) with the internal pull-up too.  Returns 0 or -1 with errno set. */
static int
request_input(struct gpiod_line *line, bool active_low)
{
    struct gpiod_line_request_config cfg = {
        .consumer = GPIO_CONSUMER,
        .request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES,
    };

    if (!active_low)
        return gpiod_line_request(line, &cfg, 0);
    cfg.flags = GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW | GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
    if (gpiod_line_request(line, &cfg, 0) == 0)
        return 0;
    /* Kernels before 5.5 reject bias flags: the contact then relies on an
     * external pull-up, as it would have to anyway. */
    cfg.flags = GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW;
    return gpiod_line_request(line, &cfg, 0);
}

int
gpio_hw_open_input(struct gpio *g, int i, const char *label, char *errbuf, size_t len)
{
    struct gpio_in *p = &g->in[i];
    struct gpiod_line *line;

    errno = 0;
    if ((line = gpiod_chip_get_line(HW_CHIP(g), (unsigned)p->offset)) == NULL)
        return gpio_no_line(g, false, i, label, errno ? errno : EINVAL, errbuf, len);
    errno = 0;
    if (request_input(line, p->active_low) < 0)
        return gpio_request_failed(g, false, i, label, errno ? errno : EIO, errbuf, len);
    p->line = (struct gpio_hw_line *)(void *)line;
    return 0;
}

int
gpio_hw_open_output(struct gpio *g, int o, const char *label, char *errbuf, size_t len)
{
    struct gpio_out *p = &g->out[o];
    struct gpiod_line_request_config cfg = {
        .consumer = GPIO_CONSUMER,
        .request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
        .flags = p->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
    };
    struct gpiod_line *line;

    errno = 0;
    if ((line = gpiod_chip_get_line(HW_CHIP(g), (unsigned)p->offset)) == NULL)
        return gpio_no_line(g, true, o, label, errno ? errno : EINVAL, errbuf, len);
    /* The initial value is logical too: inactive. */
    errno = 0;
    if (gpiod_line_request(line, &cfg, 0) < 0)
        return gpio_request_failed(g, true, o, label, errno ? errno : EIO, errbuf, len);
    p->line = (struct gpio_hw_line *)(void *)line;
    return 0;
}

int
gpio_hw_open(struct gpio *g, const char *label)
{
    struct gpiod_chip *chip;

    errno = 0;
    if ((chip = gpiod_chip_open_by_label(label)) == NULL)
        return -(errno ? errno : EIO);
    g->hw = (struct gpio_hw *)(void *)chip;
    return 0;
}

int
gpio_hw_event_fd(const struct gpio *g, int i)
{
    int fd = gpiod_line_event_get_fd(HW_LINE(g->in[i].line));

    return fd < 0 ? -(errno ? errno : EIO) : fd;
}

void
gpio_hw_close(struct gpio *g)
{
    for (int i = 0; i < g->nin; i++)
        if (g->in[i].line != NULL)
            gpiod_line_release(HW_LINE(g->in[i].line));
    for (int i = 0; i < g->nout; i++)
        if (g->out[i].line != NULL)
            gpiod_line_release(HW_LINE(g->out[i].line));
    if (g->hw != NULL)
        gpiod_chip_close(HW_CHIP(g));
}

int
gpio_hw_read_edge(struct gpio *g, int i, int *active, int64_t *ts_ns)
{
    struct gpiod_line *line = HW_LINE(g->in[i].line);
    struct pollfd pfd = {.fd = gpio_hw_event_fd(g, i), .events = POLLIN};
    struct gpiod_line_event le;

    /* gpiod_line_event_read() blocks on an empty queue. */
    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
        return 0;
    if (gpiod_line_event_read(line, &le) < 0)
        return -(errno ? errno : EIO);
    *active = le.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    *ts_ns = (int64_t)le.ts.tv_sec * 1000000000 + le.ts.tv_nsec;
    return 1;
}

int
gpio_hw_get(const struct gpio *g, int i)
{
    int v = gpiod_line_get_value(HW_LINE(g->in[i].line));

    return v < 0 ? -(errno ? errno : EIO) : v;
}

int
gpio_hw_set(struct gpio *g, int o, int value)
{
    /* Requested with ACTIVE_LOW, the kernel inverts for us. */
    if (gpiod_line_set_value(HW_LINE(g->out[o].line), value) < 0)
        return -(errno ? errno : EIO);
    return 0;
}
