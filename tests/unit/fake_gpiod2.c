/*
 * fake_gpiod2.c - link-time fake of libgpiod 2.x (the chip of fake_chip.h;
 * the libgpiod 1.6 one is fake_gpiod.c).
 *
 * Only the functions gpio_gpiod2.c calls are faked; each is __wrap_NAME,
 * reached through -Wl,--wrap=NAME (GPIOD2_WRAPPED in the Makefile).
 * Signatures and enums come from the real <gpiod.h>, so a change there
 * breaks this build instead of the test.  The handles, opaque in libgpiod,
 * are the fake's own.
 *
 * The group setup points gpio_hw_dev_dir at a scratch directory holding
 * files named gpiochip0 and gpiochip1: the fake opens "gpiochip0" as the
 * chip labelled FAKE_CHIP_LABEL with FAKE_CHIP_NLINES lines and "gpiochip1"
 * as "raspberrypi-exp-gpio" (8 lines, never requested).  The settings of
 * every request stay inspectable, also after release.
 */
#include "fake_chip.h"

#include <errno.h>
#include <gpiod.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpio.h"
#include "gpio_hw.h"
#include "tmpdir.h"
#include "util.h"

#define OTHER_LABEL "raspberrypi-exp-gpio"

struct gpiod_chip {
    const char *label;
    size_t nlines;
};

struct gpiod_chip_info {
    const char *label;
    size_t nlines;
};

struct gpiod_line_settings {
    enum gpiod_line_direction direction;
    enum gpiod_line_edge edge;
    enum gpiod_line_bias bias;
    enum gpiod_line_clock clock;
    bool active_low;
    enum gpiod_line_value output_value;
    unsigned long debounce_us;
};

struct gpiod_line_config {
    int n; /* the fake takes one line per request, as gpio_gpiod2.c asks */
    unsigned offset;
    struct gpiod_line_settings s;
};

struct gpiod_request_config {
    char consumer[32];
};

struct gpiod_line_request {
    unsigned offset;
};

struct gpiod_edge_event {
    enum gpiod_edge_event_type type;
    uint64_t ts_ns;
};

struct gpiod_edge_event_buffer {
    struct gpiod_edge_event ev;
};

/* What a line's last request asked for. */
struct v2_line {
    int direction; /* enum gpiod_line_direction */
    int edge;      /* enum gpiod_line_edge */
    int bias;      /* enum gpiod_line_bias */
    int clock;     /* enum gpiod_line_clock */
    bool active_low;
    int output_value;          /* enum gpiod_line_value */
    unsigned long debounce_us; /* kernel debounce asked for */
};

static struct v2_line v2[FAKE_CHIP_NLINES];
static int label_opens;       /* opens of the FAKE_CHIP_LABEL chip */
static int infos, info_frees; /* gpiod_chip_get_info(), gpiod_chip_info_free() */
static bool reject_bias;      /* requests setting a bias fail with EINVAL */

/* The wrapped functions, declared for -Wmissing-prototypes-style checks. */
struct gpiod_chip *__wrap_gpiod_chip_open(const char *path);
void __wrap_gpiod_chip_close(struct gpiod_chip *chip);
struct gpiod_chip_info *__wrap_gpiod_chip_get_info(struct gpiod_chip *chip);
const char *__wrap_gpiod_chip_info_get_label(struct gpiod_chip_info *info);
size_t __wrap_gpiod_chip_info_get_num_lines(struct gpiod_chip_info *info);
void __wrap_gpiod_chip_info_free(struct gpiod_chip_info *info);
struct gpiod_line_request *__wrap_gpiod_chip_request_lines(struct gpiod_chip *chip,
                                                           struct gpiod_request_config *req_cfg,
                                                           struct gpiod_line_config *line_cfg);
struct gpiod_line_settings *__wrap_gpiod_line_settings_new(void);
void __wrap_gpiod_line_settings_free(struct gpiod_line_settings *s);
int __wrap_gpiod_line_settings_set_direction(struct gpiod_line_settings *s,
                                             enum gpiod_line_direction d);
int __wrap_gpiod_line_settings_set_edge_detection(struct gpiod_line_settings *s,
                                                  enum gpiod_line_edge e);
int __wrap_gpiod_line_settings_set_bias(struct gpiod_line_settings *s, enum gpiod_line_bias b);
void __wrap_gpiod_line_settings_set_active_low(struct gpiod_line_settings *s, bool active_low);
int __wrap_gpiod_line_settings_set_output_value(struct gpiod_line_settings *s,
                                                enum gpiod_line_value v);
int __wrap_gpiod_line_settings_set_event_clock(struct gpiod_line_settings *s,
                                               enum gpiod_line_clock c);
struct gpiod_line_config *__wrap_gpiod_line_config_new(void);
void __wrap_gpiod_line_config_free(struct gpiod_line_config *c);
int __wrap_gpiod_line_config_add_line_settings(struct gpiod_line_config *c,
                                               const unsigned int *offsets, size_t n,
                                               struct gpiod_line_settings *s);
struct gpiod_request_config *__wrap_gpiod_request_config_new(void);
void __wrap_gpiod_request_config_free(struct gpiod_request_config *c);
void __wrap_gpiod_request_config_set_consumer(struct gpiod_request_config *c, const char *consumer);
void __wrap_gpiod_line_request_release(struct gpiod_line_request *req);
int __wrap_gpiod_line_request_get_fd(struct gpiod_line_request *req);
int __wrap_gpiod_line_request_read_edge_events(struct gpiod_line_request *req,
                                               struct gpiod_edge_event_buffer *buf, size_t max);
enum gpiod_line_value __wrap_gpiod_line_request_get_value(struct gpiod_line_request *req,
                                                          unsigned int offset);
int __wrap_gpiod_line_request_set_value(struct gpiod_line_request *req, unsigned int offset,
                                        enum gpiod_line_value v);
struct gpiod_edge_event_buffer *__wrap_gpiod_edge_event_buffer_new(size_t capacity);
void __wrap_gpiod_edge_event_buffer_free(struct gpiod_edge_event_buffer *buf);
struct gpiod_edge_event *
__wrap_gpiod_edge_event_buffer_get_event(struct gpiod_edge_event_buffer *buf, unsigned long index);
enum gpiod_edge_event_type __wrap_gpiod_edge_event_get_event_type(struct gpiod_edge_event *ev);
uint64_t __wrap_gpiod_edge_event_get_timestamp_ns(struct gpiod_edge_event *ev);

/* ---- the backend side of fake_chip.h ---- */

void
fake_backend_reset(void)
{
    memset(v2, 0, sizeof(v2));
    label_opens = infos = info_frees = 0;
    reject_bias = false;
}

bool
fake_backend_active_low(unsigned offset)
{
    return v2[offset].active_low;
}

size_t
fake_backend_event(bool rising, int64_t ts_ns, void *buf, size_t size)
{
    struct gpiod_edge_event ev;

    if (size < sizeof(ev))
        return 0;
    memset(&ev, 0, sizeof(ev));
    ev.ts_ns = (uint64_t)ts_ns;
    ev.type = rising ? GPIOD_EDGE_EVENT_RISING_EDGE : GPIOD_EDGE_EVENT_FALLING_EDGE;
    memcpy(buf, &ev, sizeof(ev));
    return sizeof(ev);
}

/* The chip directory: gpiochip0 and gpiochip1, plus a file to skip. */
int
fake_chip_group_setup(void)
{
    static const char *const names[] = {"gpiochip1", "gpiochip0", "gpiomem"};
    char path[PATH_MAX];

    if (tmpdir_make("gpiod2") < 0)
        return -1;
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        FILE *f;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if ((f = fopen(path, "w")) == NULL)
            return -1;
        fclose(f);
    }
    gpio_hw_dev_dir = dir;
    return 0;
}

int
fake_chip_group_teardown(void)
{
    return tmpdir_remove();
}

void
fake_chip_refuse_bias(void)
{
    reject_bias = true;
}

void
fake_chip_none(bool none)
{
    gpio_hw_dev_dir = none ? "/nonexistent" : dir;
}

/* Checks what both kinds of request have alike. */
static void
assert_requested(unsigned offset, int direction, bool active_low)
{
    const struct v2_line *l = &v2[offset];

    assert_true(fake_chip.lines[offset].requested);
    assert_string_equal(fake_chip.lines[offset].consumer, GPIO_CONSUMER);
    assert_int_equal(l->direction, direction);
    assert_int_equal(l->active_low, active_low);
    assert_int_equal(l->debounce_us, 0); /* gpio.c debounces */
}

void
fake_chip_assert_input(unsigned offset, bool active_low, bool pull_up)
{
    assert_requested(offset, GPIOD_LINE_DIRECTION_INPUT, active_low);
    assert_int_equal(v2[offset].edge, GPIOD_LINE_EDGE_BOTH);
    assert_int_equal(v2[offset].clock, GPIOD_LINE_CLOCK_MONOTONIC);
    assert_int_equal(v2[offset].bias, pull_up ? GPIOD_LINE_BIAS_PULL_UP : GPIOD_LINE_BIAS_AS_IS);
}

void
fake_chip_assert_output(unsigned offset, bool active_low)
{
    assert_requested(offset, GPIOD_LINE_DIRECTION_OUTPUT, active_low);
    assert_int_equal(v2[offset].edge, GPIOD_LINE_EDGE_NONE);
    assert_int_equal(v2[offset].output_value, GPIOD_LINE_VALUE_INACTIVE);
}

void
fake_chip_assert_looked_for_label(void)
{
    /* Both chips were looked at, and closed again. */
    assert_int_equal(fake_chip.chip_opens, 2);
    assert_int_equal(fake_chip.chip_closes, 2);
    assert_int_equal(info_frees, 2);
}

void
fake_chip_assert_label_opened_once(void)
{
    assert_int_equal(label_opens, 1);
}

void
fake_chip_assert_backend_released(void)
{
    assert_int_equal(info_frees, infos);
}

/* ---- chips ---- */

struct gpiod_chip *
__wrap_gpiod_chip_open(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    struct gpiod_chip *chip;

    if (fake_chip.open_errno != 0) {
        errno = fake_chip.open_errno;
        return NULL;
    }
    if (strcmp(base, "gpiochip0") != 0 && strcmp(base, "gpiochip1") != 0) {
        errno = ENOENT;
        return NULL;
    }
    if ((chip = calloc(1, sizeof(*chip))) == NULL)
        return NULL;
    if (strcmp(base, "gpiochip0") == 0) {
        chip->label = FAKE_CHIP_LABEL;
        chip->nlines = FAKE_CHIP_NLINES;
        label_opens++;
    } else {
        chip->label = OTHER_LABEL;
        chip->nlines = 8;
    }
    fake_chip.chip_opens++;
    return chip;
}

void
__wrap_gpiod_chip_close(struct gpiod_chip *chip)
{
    /* Unlike libgpiod 1.6, requests outlive the chip handle in 2.x. */
    fake_chip.chip_closes++;
    free(chip);
}

struct gpiod_chip_info *
__wrap_gpiod_chip_get_info(struct gpiod_chip *chip)
{
    struct gpiod_chip_info *info = calloc(1, sizeof(*info));

    if (info == NULL)
        return NULL;
    info->label = chip->label;
    info->nlines = chip->nlines;
    infos++;
    return info;
}

const char *
__wrap_gpiod_chip_info_get_label(struct gpiod_chip_info *info)
{
    return info->label;
}

size_t
__wrap_gpiod_chip_info_get_num_lines(struct gpiod_chip_info *info)
{
    return info->nlines;
}

void
__wrap_gpiod_chip_info_free(struct gpiod_chip_info *info)
{
    if (info != NULL)
        info_frees++;
    free(info);
}

/* ---- settings and configs ---- */

struct gpiod_line_settings *
__wrap_gpiod_line_settings_new(void)
{
    struct gpiod_line_settings *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->direction = GPIOD_LINE_DIRECTION_AS_IS;
    s->edge = GPIOD_LINE_EDGE_NONE;
    s->bias = GPIOD_LINE_BIAS_AS_IS;
    s->clock = GPIOD_LINE_CLOCK_MONOTONIC;
    s->output_value = GPIOD_LINE_VALUE_INACTIVE;
    return s;
}

void
__wrap_gpiod_line_settings_free(struct gpiod_line_settings *s)
{
    free(s);
}

int
__wrap_gpiod_line_settings_set_direction(struct gpiod_line_settings *s, enum gpiod_line_direction d)
{
    s->direction = d;
    return 0;
}

int
__wrap_gpiod_line_settings_set_edge_detection(struct gpiod_line_settings *s, enum gpiod_line_edge e)
{
    s->edge = e;
    return 0;
}

int
__wrap_gpiod_line_settings_set_bias(struct gpiod_line_settings *s, enum gpiod_line_bias b)
{
    s->bias = b;
    return 0;
}

void
__wrap_gpiod_line_settings_set_active_low(struct gpiod_line_settings *s, bool active_low)
{
    s->active_low = active_low;
}

int
__wrap_gpiod_line_settings_set_output_value(struct gpiod_line_settings *s, enum gpiod_line_value v)
{
    s->output_value = v;
    return 0;
}

int
__wrap_gpiod_line_settings_set_event_clock(struct gpiod_line_settings *s, enum gpiod_line_clock c)
{
    s->clock = c;
    return 0;
}

struct gpiod_line_config *
__wrap_gpiod_line_config_new(void)
{
    return calloc(1, sizeof(struct gpiod_line_config));
}

void
__wrap_gpiod_line_config_free(struct gpiod_line_config *c)
{
    free(c);
}

int
__wrap_gpiod_line_config_add_line_settings(struct gpiod_line_config *c, const unsigned int *offsets,
                                           size_t n, struct gpiod_line_settings *s)
{
    if (n != 1 || c->n != 0) {
        errno = EINVAL;
        return -1;
    }
    c->n = 1;
    c->offset = offsets[0];
    c->s = *s;
    return 0;
}

struct gpiod_request_config *
__wrap_gpiod_request_config_new(void)
{
    return calloc(1, sizeof(struct gpiod_request_config));
}

void
__wrap_gpiod_request_config_free(struct gpiod_request_config *c)
{
    free(c);
}

void
__wrap_gpiod_request_config_set_consumer(struct gpiod_request_config *c, const char *consumer)
{
    snprintf(c->consumer, sizeof(c->consumer), "%s", consumer ? consumer : "");
}

/* ---- requests ---- */

struct gpiod_line_request *
__wrap_gpiod_chip_request_lines(struct gpiod_chip *chip, struct gpiod_request_config *req_cfg,
                                struct gpiod_line_config *line_cfg)
{
    const struct gpiod_line_settings *s = &line_cfg->s;
    struct gpiod_line_request *req;
    unsigned off = line_cfg->offset;

    if (chip == NULL || line_cfg->n != 1 || off >= chip->nlines ||
        strcmp(chip->label, FAKE_CHIP_LABEL) != 0) {
        errno = EINVAL;
        return NULL;
    }
    if (fake_chip_line_claim(off) < 0)
        return NULL;
    if (reject_bias && s->bias != GPIOD_LINE_BIAS_AS_IS) {
        fake_chip.rejected++;
        errno = EINVAL;
        return NULL;
    }
    if ((req = calloc(1, sizeof(*req))) == NULL)
        return NULL;
    req->offset = off;
    if (fake_chip_line_grant(off, req_cfg && req_cfg->consumer[0] ? req_cfg->consumer : NULL,
                             s->edge != GPIOD_LINE_EDGE_NONE) < 0) {
        free(req);
        return NULL;
    }
    v2[off] = (struct v2_line){.direction = s->direction,
                               .edge = s->edge,
                               .bias = s->bias,
                               .clock = s->clock,
                               .active_low = s->active_low,
                               .output_value = s->output_value,
                               .debounce_us = s->debounce_us};
    if (s->direction == GPIOD_LINE_DIRECTION_OUTPUT)
        fake_chip.lines[off].phys = (s->output_value == GPIOD_LINE_VALUE_ACTIVE) ^ s->active_low;
    return req;
}

void
__wrap_gpiod_line_request_release(struct gpiod_line_request *req)
{
    if (req == NULL)
        return;
    fake_chip_line_drop(req->offset, false);
    free(req);
}

int
__wrap_gpiod_line_request_get_fd(struct gpiod_line_request *req)
{
    const struct fake_chip_line *l = &fake_chip.lines[req->offset];

    /* A real request always has an fd; this one is readable only with edges. */
    if (l->rfd < 0) {
        errno = EPERM;
        return -1;
    }
    return l->rfd;
}

int
__wrap_gpiod_line_request_read_edge_events(struct gpiod_line_request *req,
                                           struct gpiod_edge_event_buffer *buf, size_t max)
{
    const struct fake_chip_line *l = &fake_chip.lines[req->offset];
    ssize_t n;

    if (l->rfd < 0 || max < 1) {
        errno = EPERM;
        return -1;
    }
    n = read(l->rfd, &buf->ev, sizeof(buf->ev));
    if (n != (ssize_t)sizeof(buf->ev)) {
        if (n >= 0)
            errno = EIO;
        return -1;
    }
    return 1;
}

enum gpiod_line_value
__wrap_gpiod_line_request_get_value(struct gpiod_line_request *req, unsigned int offset)
{
    if (offset != req->offset) {
        errno = EINVAL;
        return GPIOD_LINE_VALUE_ERROR;
    }
    return fake_chip_logical(offset) ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
}

int
__wrap_gpiod_line_request_set_value(struct gpiod_line_request *req, unsigned int offset,
                                    enum gpiod_line_value v)
{
    if (offset != req->offset || v2[offset].direction != GPIOD_LINE_DIRECTION_OUTPUT) {
        errno = EPERM;
        return -1;
    }
    fake_chip.lines[offset].phys = (v == GPIOD_LINE_VALUE_ACTIVE) ^ v2[offset].active_low;
    return 0;
}

/* ---- edge events ---- */

struct gpiod_edge_event_buffer *
__wrap_gpiod_edge_event_buffer_new(size_t capacity)
{
    (void)capacity; /* the fake holds one event, gpio_gpiod2.c reads one */
    return calloc(1, sizeof(struct gpiod_edge_event_buffer));
}

void
__wrap_gpiod_edge_event_buffer_free(struct gpiod_edge_event_buffer *buf)
{
    free(buf);
}

struct gpiod_edge_event *
__wrap_gpiod_edge_event_buffer_get_event(struct gpiod_edge_event_buffer *buf, unsigned long index)
{
    return index == 0 ? &buf->ev : NULL;
}

enum gpiod_edge_event_type
__wrap_gpiod_edge_event_get_event_type(struct gpiod_edge_event *ev)
{
    return ev->type;
}

uint64_t
__wrap_gpiod_edge_event_get_timestamp_ns(struct gpiod_edge_event *ev)
{
    return ev->ts_ns;
}
