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
#include <sys/epoll.h>

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

static int
open_input(struct gpio *g, int i, const char *label, char *errbuf, size_t len)
{
    struct gpio_in *p = &g->in[i];
    struct epoll_event ev = {.events = EPOLLIN};
    struct gpiod_line *line;
    int e, fd, v;

    errno = 0;
    line = gpiod_chip_get_line(HW_CHIP(g), (unsigned)p->offset);
    if (line == NULL) {
        e = errno ? errno : EINVAL;
        gpio_seterr(errbuf, len, "GPIO input %s: chip '%s' has no line %d: %s", p->name, label,
                    p->offset, strerror(e));
        return -e;
    }
    errno = 0;
    if (request_input(line, p->active_low) < 0) {
        e = errno ? errno : EIO;
        gpio_seterr(errbuf, len,
                    "GPIO input %s (line %d on %s): request for edge events failed: %s%s", p->name,
                    p->offset, label, strerror(e), gpio_open_hint(e));
        return -e;
    }
    p->line = (struct gpio_hw_line *)(void *)line;
    if ((v = gpiod_line_get_value(line)) < 0) {
        e = errno ? errno : EIO;
        gpio_seterr(errbuf, len, "GPIO input %s (line %d on %s): cannot read its level: %s",
                    p->name, p->offset, label, strerror(e));
        return -e;
    }
    debounce_init(&p->db, p->debounce_ms, v, mono_us());
    if ((fd = gpiod_line_event_get_fd(line)) < 0) {
        e = errno ? errno : EIO;
        gpio_seterr(errbuf, len, "GPIO input %s (line %d on %s): no event fd: %s", p->name,
                    p->offset, label, strerror(e));
        return -e;
    }
    ev.data.u32 = (uint32_t)i;
    if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        e = errno;
        gpio_seterr(errbuf, len, "GPIO input %s (line %d on %s): epoll_ctl: %s", p->name, p->offset,
                    label, strerror(e));
        return -e;
    }
    return 0;
}

static int
open_output(struct gpio *g, int i, const char *label, char *errbuf, size_t len)
{
    struct gpio_out *p = &g->out[i];
    struct gpiod_line_request_config cfg = {
        .consumer = GPIO_CONSUMER,
        .request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
        .flags = p->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0,
    };
    struct gpiod_line *line;
    int e;

    errno = 0;
    line = gpiod_chip_get_line(HW_CHIP(g), (unsigned)p->offset);
    if (line == NULL) {
        e = errno ? errno : EINVAL;
        gpio_seterr(errbuf, len, "GPIO output %s: chip '%s' has no line %d: %s", p->name, label,
                    p->offset, strerror(e));
        return -e;
    }
    /* The initial value is logical too: inactive. */
    errno = 0;
    if (gpiod_line_request(line, &cfg, 0) < 0) {
        e = errno ? errno : EIO;
        gpio_seterr(errbuf, len, "GPIO output %s (line %d on %s): request as output failed: %s%s",
                    p->name, p->offset, label, strerror(e), gpio_open_hint(e));
        return -e;
    }
    p->line = (struct gpio_hw_line *)(void *)line;
    return 0;
}

int
gpio_hw_open(struct gpio *g, const char *label, char *errbuf, size_t len)
{
    struct gpiod_chip *chip;
    int e, rc;

    errno = 0;
    chip = gpiod_chip_open_by_label(label);
    if (chip == NULL) {
        e = errno ? errno : EIO;
        if (e == ENOENT)
            gpio_seterr(errbuf, len,
                        "GPIO chip '%s': no GPIO chip has that label (wrong board file? "
                        "gpiodetect lists the chips)",
                        label);
        else
            gpio_seterr(errbuf, len, "GPIO chip '%s': cannot open: %s%s", label, strerror(e),
                        gpio_open_hint(e));
        return -e;
    }
    g->hw = (struct gpio_hw *)(void *)chip;
    for (int i = 0; i < g->nin; i++)
        if ((rc = open_input(g, i, label, errbuf, len)) < 0)
            return rc;
    for (int i = 0; i < g->nout; i++)
        if ((rc = open_output(g, i, label, errbuf, len)) < 0)
            return rc;
    return 0;
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
    struct pollfd pfd = {.fd = gpiod_line_event_get_fd(line), .events = POLLIN};
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
