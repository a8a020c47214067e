/*
 * fake_gpiod.c - link-time fake of libgpiod 1.6 (the chip of fake_chip.h).
 *
 * Only the functions gpio_gpiod1.c calls are faked; each is __wrap_NAME,
 * reached through -Wl,--wrap=NAME (GPIOD1_WRAPPED in the Makefile).
 * Signatures and struct layouts come from the real <gpiod.h>, so a change
 * there breaks this build instead of the test.  The chip is found by its
 * label; what each request asked for (type, flags, default value) stays
 * inspectable, also after release.
 */
#include "fake_chip.h"

#include <errno.h>
#include <gpiod.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpio.h"

/* The handles libgpiod keeps opaque.  The lines are static so a test can
 * still look at them after the chip is closed. */
struct gpiod_chip {
    int open;
};

struct gpiod_line {
    unsigned offset;
    struct gpiod_chip *chip;
};

/* What a line's last request asked for. */
struct v1_line {
    int request_type; /* GPIOD_LINE_REQUEST_* */
    int flags;        /* GPIOD_LINE_REQUEST_FLAG_* */
    int default_val;
    int released_by_close; /* still requested when the chip was closed */
};

static struct gpiod_line line_objs[FAKE_CHIP_NLINES];
static struct v1_line v1[FAKE_CHIP_NLINES];
static int reject_flags; /* requests with any of these flags fail with EINVAL */
static bool no_chips;    /* fake_chip_none() */

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

/* ---- the backend side of fake_chip.h ---- */

void
fake_backend_reset(void)
{
    memset(v1, 0, sizeof(v1));
    reject_flags = 0;
    for (unsigned i = 0; i < FAKE_CHIP_NLINES; i++) {
        line_objs[i].offset = i;
        line_objs[i].chip = NULL;
    }
}

bool
fake_backend_active_low(unsigned offset)
{
    return (v1[offset].flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0;
}

size_t
fake_backend_event(bool rising, int64_t ts_ns, void *buf, size_t size)
{
    struct gpiod_line_event ev;

    if (size < sizeof(ev))
        return 0;
    memset(&ev, 0, sizeof(ev));
    ev.ts.tv_sec = ts_ns / 1000000000;
    ev.ts.tv_nsec = ts_ns % 1000000000;
    ev.event_type = rising ? GPIOD_LINE_EVENT_RISING_EDGE : GPIOD_LINE_EVENT_FALLING_EDGE;
    memcpy(buf, &ev, sizeof(ev));
    return sizeof(ev);
}

int
fake_chip_group_setup(void)
{
    return 0;
}

int
fake_chip_group_teardown(void)
{
    no_chips = false;
    return 0;
}

void
fake_chip_refuse_bias(void)
{
    reject_flags = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP | GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN |
                   GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
}

void
fake_chip_none(bool none)
{
    no_chips = none;
}

void
fake_chip_assert_input(unsigned offset, bool active_low, bool pull_up)
{
    assert_true(fake_chip.lines[offset].requested);
    assert_string_equal(fake_chip.lines[offset].consumer, GPIO_CONSUMER);
    assert_int_equal(v1[offset].request_type, GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES);
    assert_int_equal(v1[offset].flags, (active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0) |
                                           (pull_up ? GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP : 0));
}

void
fake_chip_assert_output(unsigned offset, bool active_low)
{
    assert_true(fake_chip.lines[offset].requested);
    assert_string_equal(fake_chip.lines[offset].consumer, GPIO_CONSUMER);
    assert_int_equal(v1[offset].request_type, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT);
    assert_int_equal(v1[offset].flags, active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0);
    assert_int_equal(v1[offset].default_val, 0);
}

void
fake_chip_assert_looked_for_label(void)
{
    /* libgpiod 1.6 looks for the label itself: no chip reached gpio.c. */
    assert_int_equal(fake_chip.chip_opens, 0);
}

void
fake_chip_assert_label_opened_once(void)
{
    assert_int_equal(fake_chip.chip_opens, 1);
}

void
fake_chip_assert_backend_released(void)
{
    /* gpio.c releases each line itself rather than leaving it to the close. */
    for (int i = 0; i < FAKE_CHIP_NLINES; i++)
        assert_int_equal(v1[i].released_by_close, 0);
}

/* ---- libgpiod 1.6 ---- */

struct gpiod_chip *
__wrap_gpiod_chip_open_by_label(const char *label)
{
    struct gpiod_chip *chip;

    if (fake_chip.open_errno != 0) {
        errno = fake_chip.open_errno;
        return NULL;
    }
    if (no_chips || label == NULL || strcmp(label, FAKE_CHIP_LABEL) != 0) {
        errno = ENOENT; /* what libgpiod 1.6 reports when no chip has the label */
        return NULL;
    }
    if ((chip = calloc(1, sizeof(*chip))) == NULL)
        return NULL;
    chip->open = 1;
    fake_chip.chip_opens++;
    return chip;
}

void
__wrap_gpiod_chip_close(struct gpiod_chip *chip)
{
    /* Like libgpiod 1.6, closing the chip releases its requested lines. */
    for (unsigned i = 0; i < FAKE_CHIP_NLINES; i++) {
        if (line_objs[i].chip != chip)
            continue;
        if (fake_chip.lines[i].requested) {
            fake_chip_line_drop(i, true);
            v1[i].released_by_close++;
        }
        line_objs[i].chip = NULL;
    }
    fake_chip.chip_closes++;
    free(chip);
}

struct gpiod_line *
__wrap_gpiod_chip_get_line(struct gpiod_chip *chip, unsigned int offset)
{
    if (chip == NULL || offset >= FAKE_CHIP_NLINES) {
        errno = EINVAL;
        return NULL;
    }
    line_objs[offset].chip = chip;
    return &line_objs[offset];
}

static bool
is_event_request(int type)
{
    return type == GPIOD_LINE_REQUEST_EVENT_RISING_EDGE ||
           type == GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE ||
           type == GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
}

int
__wrap_gpiod_line_request(struct gpiod_line *line, const struct gpiod_line_request_config *config,
                          int default_val)
{
    unsigned off = line->offset;

    if (fake_chip_line_claim(off) < 0)
        return -1;
    if (config->flags & reject_flags) {
        fake_chip.rejected++;
        errno = EINVAL;
        return -1;
    }
    if (fake_chip_line_grant(off, config->consumer, is_event_request(config->request_type)) < 0)
        return -1;
    v1[off].request_type = config->request_type;
    v1[off].flags = config->flags;
    v1[off].default_val = default_val;
    if (config->request_type == GPIOD_LINE_REQUEST_DIRECTION_OUTPUT)
        fake_chip.lines[off].phys = (default_val != 0) ^ fake_backend_active_low(off);
    return 0;
}

void
__wrap_gpiod_line_release(struct gpiod_line *line)
{
    if (fake_chip.lines[line->offset].requested)
        fake_chip_line_drop(line->offset, false);
}

int
__wrap_gpiod_line_event_get_fd(struct gpiod_line *line)
{
    const struct fake_chip_line *l = &fake_chip.lines[line->offset];

    if (!l->requested || l->rfd < 0) {
        errno = EPERM;
        return -1;
    }
    return l->rfd;
}

int
__wrap_gpiod_line_event_read(struct gpiod_line *line, struct gpiod_line_event *event)
{
    const struct fake_chip_line *l = &fake_chip.lines[line->offset];
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
    if (!fake_chip.lines[line->offset].requested) {
        errno = EPERM;
        return -1;
    }
    return fake_chip_logical(line->offset);
}

int
__wrap_gpiod_line_set_value(struct gpiod_line *line, int value)
{
    unsigned off = line->offset;

    if (!fake_chip.lines[off].requested ||
        v1[off].request_type != GPIOD_LINE_REQUEST_DIRECTION_OUTPUT) {
        errno = EPERM;
        return -1;
    }
    fake_chip.lines[off].phys = (value != 0) ^ fake_backend_active_low(off);
    return 0;
}
