/*
 * fake_gpiod2.c - link-time fake of libgpiod 2.x (see fake_gpiod2.h).
 *
 * Only the functions gpio_gpiod2.c calls are faked; each is __wrap_NAME,
 * reached through -Wl,--wrap=NAME.  Signatures and enums come from the real
 * <gpiod.h>, so a change there breaks this build instead of the test.  The
 * handles, opaque in libgpiod, are the fake's own.
 */
#include "fake_gpiod2.h"

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

struct fake_gpiod fake_gpiod;
static bool initialised; /* before the first reset the fds are 0, not -1 */

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
    for (unsigned i = 0; i < FAKE_GPIOD_NLINES; i++)
        fake_gpiod.lines[i].rfd = fake_gpiod.lines[i].wfd = -1;
}

void
fake_gpiod_set_level(unsigned offset, int phys)
{
    fake_gpiod.lines[offset].phys = phys != 0;
}

static int
logical(const struct fake_gpiod_line *l)
{
    return l->phys ^ (l->active_low ? 1 : 0);
}

int
fake_gpiod_edge(unsigned offset, int phys, int64_t ts_ns)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[offset];
    struct gpiod_edge_event ev;

    if (!l->requested || l->wfd < 0)
        return -1;
    l->phys = phys != 0;
    memset(&ev, 0, sizeof(ev));
    ev.ts_ns = (uint64_t)ts_ns;
    ev.type = logical(l) ? GPIOD_EDGE_EVENT_RISING_EDGE : GPIOD_EDGE_EVENT_FALLING_EDGE;
    return write(l->wfd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? 0 : -1;
}

/* ---- chips ---- */

struct gpiod_chip *
__wrap_gpiod_chip_open(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    struct gpiod_chip *chip;

    if (fake_gpiod.open_errno != 0) {
        errno = fake_gpiod.open_errno;
        return NULL;
    }
    if (strcmp(base, "gpiochip0") != 0 && strcmp(base, "gpiochip1") != 0) {
        errno = ENOENT;
        return NULL;
    }
    if ((chip = calloc(1, sizeof(*chip))) == NULL)
        return NULL;
    if (strcmp(base, "gpiochip0") == 0) {
        chip->label = FAKE_GPIOD_LABEL;
        chip->nlines = FAKE_GPIOD_NLINES;
        fake_gpiod.label_opens++;
    } else {
        chip->label = FAKE_GPIOD_OTHER_LABEL;
        chip->nlines = 8;
    }
    fake_gpiod.chip_opens++;
    return chip;
}

void
__wrap_gpiod_chip_close(struct gpiod_chip *chip)
{
    /* Unlike libgpiod 1.6, requests outlive the chip handle in 2.x. */
    fake_gpiod.chip_closes++;
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
    fake_gpiod.infos++;
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
        fake_gpiod.info_frees++;
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

static void
record_request(struct fake_gpiod_line *l, const struct gpiod_request_config *rc,
               const struct gpiod_line_settings *s)
{
    snprintf(l->consumer, sizeof(l->consumer), "%s", rc && rc->consumer[0] ? rc->consumer : "?");
    l->direction = s->direction;
    l->edge = s->edge;
    l->bias = s->bias;
    l->clock = s->clock;
    l->active_low = s->active_low;
    l->output_value = s->output_value;
    l->debounce_us = s->debounce_us;
}

struct gpiod_line_request *
__wrap_gpiod_chip_request_lines(struct gpiod_chip *chip, struct gpiod_request_config *req_cfg,
                                struct gpiod_line_config *line_cfg)
{
    struct fake_gpiod_line *l;
    struct gpiod_line_request *req;
    int fds[2];

    if (chip == NULL || line_cfg->n != 1 || line_cfg->offset >= chip->nlines ||
        strcmp(chip->label, FAKE_GPIOD_LABEL) != 0) {
        errno = EINVAL;
        return NULL;
    }
    l = &fake_gpiod.lines[line_cfg->offset];
    if (l->requested || l->busy) {
        errno = EBUSY;
        return NULL;
    }
    if (fake_gpiod.reject_bias && line_cfg->s.bias != GPIOD_LINE_BIAS_AS_IS) {
        fake_gpiod.rejected++;
        errno = EINVAL;
        return NULL;
    }
    if ((req = calloc(1, sizeof(*req))) == NULL)
        return NULL;
    req->offset = line_cfg->offset;
    record_request(l, req_cfg, &line_cfg->s);
    if (line_cfg->s.edge != GPIOD_LINE_EDGE_NONE) {
        if (pipe2(fds, O_CLOEXEC) < 0) {
            free(req);
            return NULL;
        }
        l->rfd = fds[0];
        l->wfd = fds[1];
    }
    if (line_cfg->s.direction == GPIOD_LINE_DIRECTION_OUTPUT)
        l->phys = (line_cfg->s.output_value == GPIOD_LINE_VALUE_ACTIVE) ^ line_cfg->s.active_low;
    l->requested = true;
    l->requests++;
    fake_gpiod.line_requests++;
    return req;
}

void
__wrap_gpiod_line_request_release(struct gpiod_line_request *req)
{
    struct fake_gpiod_line *l;

    if (req == NULL)
        return;
    l = &fake_gpiod.lines[req->offset];
    close_pipe(l);
    l->requested = false;
    l->releases++;
    fake_gpiod.line_releases++;
    free(req);
}

int
__wrap_gpiod_line_request_get_fd(struct gpiod_line_request *req)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[req->offset];

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
    struct fake_gpiod_line *l = &fake_gpiod.lines[req->offset];
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
    return logical(&fake_gpiod.lines[offset]) ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
}

int
__wrap_gpiod_line_request_set_value(struct gpiod_line_request *req, unsigned int offset,
                                    enum gpiod_line_value v)
{
    struct fake_gpiod_line *l = &fake_gpiod.lines[offset];

    if (offset != req->offset || l->direction != GPIOD_LINE_DIRECTION_OUTPUT) {
        errno = EPERM;
        return -1;
    }
    l->phys = (v == GPIOD_LINE_VALUE_ACTIVE) ^ l->active_low;
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
