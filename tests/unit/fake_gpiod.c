/*
 * fake_gpiod.c - link-time fake of libgpiod 1.6 (see fake_gpiod.h).
 *
 * Only the functions gpio.c calls are faked; each is __wrap_NAME, reached
 * through -Wl,--wrap=NAME.  Signatures and struct layouts come from the real
 * <gpiod.h>, so a change there breaks this build instead of the test.
 */
#include "fake_gpiod.h"

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The handles libgpiod keeps opaque.  The lines are static so a test can
 * still look at them after the chip is closed. */
struct gpiod_chip {
    int open;
};

struct gpiod_line {
    unsigned offset;
    struct gpiod_chip *chip;
};

struct fake_gpiod fake_gpiod;
static struct gpiod_line line_objs[FAKE_GPIOD_NLINES];
static bool initialised; /* before the first reset the fds are 0, not -1 */

struct gpiod_chip *__wrap_gpiod_chip_open_by_label(const char *label);
void __wrap_gpiod_chip_close(struct gpiod_chip *chip);
struct gpiod_line *__wrap_gpiod_chip_get_line(struct gpiod_chip *chip, unsigned int offset);
int __wrap_gpiod_line_request(struct gpiod_line *line,
                              const struct gpiod_line_request_config *config, int default_val);
void __wrap_gpiod_line_release(struct gpiod_line *line);
int __wrap_gpiod_line_event_get_fd(struct gpiod_line *line);
int __wrap_gpiod_line_event_read(struct gpiod_line *line, struct gpiod_line_event *event);
int __wrap_gpiod_line_get_value(struct gpiod_line *line);
int __wrap_gpiod_line_set_value(struct gpiod_line *line, int value);

static void
close_pipe(struct fake_gpiod_line *l)
{
    if (l->rfd >= 0)
        close(l->rfd);
    if (l->wfd >= 0)
        close(l->wfd);
    l->rfd = l->wfd = -1;
}

void
fake_gpiod_reset(void)
{
    for (unsigned i = 0; initialised && i < FAKE_GPIOD_NLINES; i++)
        close_pipe(&fake_gpiod.lines[i]);
    initialised = true;
    memset(&fake_gpiod, 0, sizeof(fake_gpiod));
    for (unsigned i = 0; i < FAKE_GPIOD_NLINES; i++) {
        fake_gpiod.lines[i].rfd = fake_gpiod.lines[i].wfd = -1;
        line_objs[i].offset = i;
        line_objs[i].chip = NULL;
    }
}

void
fake_gpiod_set_level(unsigned offset, int phys)
{
    fake_gpiod.lines[offset].phys = phys != 0;
}

static bool
is_event_request(int type)
{
    return type == GPIOD_LINE_REQUEST_EVENT_RISING_EDGE ||
           type == GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE ||
           type == GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
}

static int
logical(const struct fake_gpiod_line *l)
{
    return l->phys ^ ((l->flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0);
}

int
fake_gpiod_edge(unsigned offset, int phys, int64_t ts_ns)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[offset];
    struct gpiod_line_event ev;

    if (!l->requested || l->wfd < 0)
        return -1;
    l->phys = phys != 0;
    memset(&ev, 0, sizeof(ev));
    ev.ts.tv_sec = ts_ns / 1000000000;
    ev.ts.tv_nsec = ts_ns % 1000000000;
    ev.event_type = logical(l) ? GPIOD_LINE_EVENT_RISING_EDGE : GPIOD_LINE_EVENT_FALLING_EDGE;
    return write(l->wfd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? 0 : -1;
}

struct gpiod_chip *
__wrap_gpiod_chip_open_by_label(const char *label)
{
    struct gpiod_chip *chip;

    if (fake_gpiod.open_errno != 0) {
        errno = fake_gpiod.open_errno;
        return NULL;
    }
    if (label == NULL || strcmp(label, FAKE_GPIOD_LABEL) != 0) {
        errno = ENOENT; /* what libgpiod 1.6 reports when no chip has the label */
        return NULL;
    }
    if ((chip = calloc(1, sizeof(*chip))) == NULL)
        return NULL;
    chip->open = 1;
    fake_gpiod.chip_opens++;
    return chip;
}

void
__wrap_gpiod_chip_close(struct gpiod_chip *chip)
{
    /* Like libgpiod 1.6, closing the chip releases its requested lines. */
    for (unsigned i = 0; i < FAKE_GPIOD_NLINES; i++) {
        struct fake_gpiod_line *l = &fake_gpiod.lines[i];
        if (line_objs[i].chip == chip && l->requested) {
            close_pipe(l);
            l->requested = false;
            l->released_by_close++;
        }
        if (line_objs[i].chip == chip)
            line_objs[i].chip = NULL;
    }
    fake_gpiod.chip_closes++;
    free(chip);
}

struct gpiod_line *
__wrap_gpiod_chip_get_line(struct gpiod_chip *chip, unsigned int offset)
{
    if (chip == NULL || offset >= FAKE_GPIOD_NLINES) {
        errno = EINVAL;
        return NULL;
    }
    line_objs[offset].chip = chip;
    return &line_objs[offset];
}

int
__wrap_gpiod_line_request(struct gpiod_line *line, const struct gpiod_line_request_config *config,
                          int default_val)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[line->offset];
    int fds[2];

    if (l->requested || l->busy) {
        errno = EBUSY;
        return -1;
    }
    if (config->flags & fake_gpiod.reject_flags) {
        fake_gpiod.rejected++;
        errno = EINVAL;
        return -1;
    }
    snprintf(l->consumer, sizeof(l->consumer), "%s", config->consumer ? config->consumer : "?");
    l->request_type = config->request_type;
    l->flags = config->flags;
    l->default_val = default_val;
    if (is_event_request(config->request_type)) {
        if (pipe2(fds, O_CLOEXEC) < 0)
            return -1;
        l->rfd = fds[0];
        l->wfd = fds[1];
    } else if (config->request_type == GPIOD_LINE_REQUEST_DIRECTION_OUTPUT) {
        l->phys = (default_val != 0) ^ ((config->flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0);
    }
    l->requested = true;
    l->requests++;
    fake_gpiod.line_requests++;
    return 0;
}

void
__wrap_gpiod_line_release(struct gpiod_line *line)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[line->offset];

    if (!l->requested)
        return;
    close_pipe(l);
    l->requested = false;
    l->releases++;
    fake_gpiod.line_releases++;
}

int
__wrap_gpiod_line_event_get_fd(struct gpiod_line *line)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[line->offset];

    if (!l->requested || l->rfd < 0) {
        errno = EPERM;
        return -1;
    }
    return l->rfd;
}

int
__wrap_gpiod_line_event_read(struct gpiod_line *line, struct gpiod_line_event *event)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[line->offset];
    ssize_t n;

    if (!l->requested || l->rfd < 0) {
        errno = EPERM;
        return -1;
    }
    n = read(l->rfd, event, sizeof(*event));
    if (n != (ssize_t)sizeof(*event)) {
        if (n >= 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

int
__wrap_gpiod_line_get_value(struct gpiod_line *line)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[line->offset];

    if (!l->requested) {
        errno = EPERM;
        return -1;
    }
    return logical(l);
}

int
__wrap_gpiod_line_set_value(struct gpiod_line *line, int value)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[line->offset];

    if (!l->requested || l->request_type != GPIOD_LINE_REQUEST_DIRECTION_OUTPUT) {
        errno = EPERM;
        return -1;
    }
    l->phys = (value != 0) ^ ((l->flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0);
    return 0;
}
