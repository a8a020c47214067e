/*
 * gpio.c - contact inputs and outputs on a GPIO chip or on a simulated FIFO.
 *
 * The two backends share everything but where levels come from: struct gpio
 * holds one debouncer per input and the last value written to every output;
 * the chip backend (gpio_gpiod1.c or gpio_gpiod2.c, see gpio_hw.h) fills the
 * debouncers from line events (kernel timestamps), the simulated one from
 * "NAME VALUE" lines (timestamped when read).  The debounce runs here, in
 * software, whatever the libgpiod version, so it behaves the same on both.
 *
 * Clocks: the v1 GPIO character device stamps events with CLOCK_MONOTONIC
 * since Linux 5.7 and with CLOCK_REALTIME before; each timestamp is taken to
 * be on whichever of the two clocks it is closer to, so an old kernel gives
 * right times too.  Debouncing runs on CLOCK_MONOTONIC; the realtime stamp of
 * an event is derived from its age.
 */
#include "gpio.h"
#include "gpio_hw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "debounce.h"
#include "log.h"
#include "util.h"

/* Events read from one line per gpio_dispatch(), so a line chattering faster
 * than we read cannot keep us there. */
#define EVENTS_PER_DISPATCH 256

/* Both clocks read together, to turn ages into instants on either. */
struct clocks {
    int64_t mono_ns;
    int64_t real_ns;
};

static int64_t
ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void
clocks_now(struct clocks *c)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->mono_ns = ts_ns(&ts);
    clock_gettime(CLOCK_REALTIME, &ts);
    c->real_ns = ts_ns(&ts);
}

void
gpio_seterr(char *errbuf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, len, fmt, ap);
    va_end(ap);
}

/* ---- opening ---- */

static int
check_defs(const char *chip_label, const struct gpio_input_def *in, int nin,
           const struct gpio_output_def *outs, int nout, char *errbuf, size_t len)
{
    if (nin < 0 || nout < 0 || (nin > 0 && in == NULL) || (nout > 0 && outs == NULL)) {
        gpio_seterr(errbuf, len, "GPIO: bad input/output arrays");
        return -EINVAL;
    }
    for (int i = 0; i < nin + nout; i++) {
        bool is_in = i < nin;
        const char *kind = is_in ? "input" : "output";
        const char *name = is_in ? in[i].name : outs[i - nin].name;
        int offset = is_in ? in[i].offset : outs[i - nin].offset;

        if (name == NULL || !name_valid(name)) {
            gpio_seterr(errbuf, len, "GPIO %s %d: name '%s' is not 1-64 of [A-Za-z0-9_.-]", kind, i,
                        name ? name : "(null)");
            return -EINVAL;
        }
        if (is_in && in[i].debounce_ms < 0) {
            gpio_seterr(errbuf, len, "GPIO input %s: negative debounce", name);
            return -EINVAL;
        }
        if (chip_label != NULL && offset < 0) {
            gpio_seterr(errbuf, len, "GPIO %s %s: line offset %d is negative", kind, name, offset);
            return -EINVAL;
        }
        for (int j = 0; j < i; j++) {
            const char *oname = j < nin ? in[j].name : outs[j - nin].name;
            int ooffset = j < nin ? in[j].offset : outs[j - nin].offset;
            const char *okind = j < nin ? "input" : "output";

            if (strcmp(oname, name) == 0) {
                gpio_seterr(errbuf, len, "GPIO %s %s: name already used by %s %s", kind, name,
                            okind, oname);
                return -EINVAL;
            }
            /* Offsets only mean something on a chip. */
            if (chip_label != NULL && ooffset == offset) {
                gpio_seterr(errbuf, len, "GPIO %s %s: line %d is already %s %s", kind, name, offset,
                            okind, oname);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static struct gpio *
gpio_alloc(const struct gpio_input_def *in, int nin, const struct gpio_output_def *outs, int nout)
{
    struct gpio *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->epfd = -1;
    g->fifo_fd = -1;
    g->in = calloc(nin > 0 ? (size_t)nin : 1, sizeof(*g->in));
    g->out = calloc(nout > 0 ? (size_t)nout : 1, sizeof(*g->out));
    if (g->in == NULL || g->out == NULL) {
        free(g->in);
        free(g->out);
        free(g);
        return NULL;
    }
    g->nin = nin;
    g->nout = nout;
    for (int i = 0; i < nin; i++) {
        snprintf(g->in[i].name, sizeof(g->in[i].name), "%s", in[i].name);
        g->in[i].offset = in[i].offset;
        g->in[i].active_low = in[i].active_low;
        g->in[i].debounce_ms = in[i].debounce_ms;
        /* The simulated backend starts inactive; a chip's inputs are started
         * again at their level once requested. */
        debounce_init(&g->in[i].db, in[i].debounce_ms, 0, mono_us());
    }
    for (int i = 0; i < nout; i++) {
        snprintf(g->out[i].name, sizeof(g->out[i].name), "%s", outs[i].name);
        g->out[i].offset = outs[i].offset;
        g->out[i].active_low = outs[i].active_low;
    }
    return g;
}

const char *
gpio_open_hint(int e)
{
    if (e == EACCES || e == EPERM)
        return " (is the user in the gpio group?)";
    if (e == EBUSY)
        return " (another program holds the line: see gpioinfo)";
    return "";
}

/* Input or output i's name and line. */
static void
line_of(const struct gpio *g, bool output, int i, const char **name, int *offset)
{
    *name = output ? g->out[i].name : g->in[i].name;
    *offset = output ? g->out[i].offset : g->in[i].offset;
}

int
gpio_no_line(const struct gpio *g, bool output, int i, const char *label, int e, char *errbuf,
             size_t len)
{
    const char *name;
    int offset;

    line_of(g, output, i, &name, &offset);
    gpio_seterr(errbuf, len, "GPIO %s %s: chip '%s' has no line %d: %s",
                output ? "output" : "input", name, label, offset, strerror(e));
    return -e;
}

int
gpio_request_failed(const struct gpio *g, bool output, int i, const char *label, int e,
                    char *errbuf, size_t len)
{
    const char *name;
    int offset;

    line_of(g, output, i, &name, &offset);
    gpio_seterr(errbuf, len, "GPIO %s %s (line %d on %s): %s failed: %s%s",
                output ? "output" : "input", name, offset, label,
                output ? "request as output" : "request for edge events", strerror(e),
                gpio_open_hint(e));
    return -e;
}

/* Input i is requested: starts its debouncer at the line's level and adds
 * its event fd to g->epfd.  0, or -errno with the reason in errbuf. */
static int
watch_input(struct gpio *g, int i, const char *label, char *errbuf, size_t len)
{
    struct gpio_in *p = &g->in[i];
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    int e, fd, v;

    if ((v = gpio_hw_get(g, i)) < 0) {
        gpio_seterr(errbuf, len, "GPIO input %s (line %d on %s): cannot read its level: %s",
                    p->name, p->offset, label, strerror(-v));
        return v;
    }
    debounce_init(&p->db, p->debounce_ms, v, mono_us());
    if ((fd = gpio_hw_event_fd(g, i)) < 0) {
        gpio_seterr(errbuf, len, "GPIO input %s (line %d on %s): no event fd: %s", p->name,
                    p->offset, label, strerror(-fd));
        return fd;
    }
    if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        e = errno;
        gpio_seterr(errbuf, len, "GPIO input %s (line %d on %s): epoll_ctl: %s", p->name, p->offset,
                    label, strerror(e));
        return -e;
    }
    return 0;
}

static int
open_chip(struct gpio *g, const char *label, char *errbuf, size_t len)
{
    int e, rc;

    if ((g->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        e = errno;
        gpio_seterr(errbuf, len, "GPIO chip '%s': epoll_create1: %s", label, strerror(e));
        return -e;
    }
    if ((rc = gpio_hw_open(g, label)) < 0) {
        if (rc == -ENOENT)
            gpio_seterr(errbuf, len,
                        "GPIO chip '%s': no GPIO chip has that label (wrong board file? "
                        "gpiodetect lists the chips)",
                        label);
        else
            gpio_seterr(errbuf, len, "GPIO chip '%s': cannot open: %s%s", label, strerror(-rc),
                        gpio_open_hint(-rc));
        return rc;
    }
    for (int i = 0; i < g->nin; i++)
        if ((rc = gpio_hw_open_input(g, i, label, errbuf, len)) < 0 ||
            (rc = watch_input(g, i, label, errbuf, len)) < 0)
            return rc;
    for (int i = 0; i < g->nout; i++)
        if ((rc = gpio_hw_open_output(g, i, label, errbuf, len)) < 0)
            return rc;
    return 0;
}

static int
open_fifo(struct gpio *g, const char *path, char *errbuf, size_t len)
{
    struct stat st;
    int e;

    if ((g->fifo = strdup(path)) == NULL)
        return -ENOMEM;
    if (lstat(path, &st) == 0) {
        if (!S_ISFIFO(st.st_mode)) {
            gpio_seterr(errbuf, len, "GPIO FIFO %s: exists and is not a FIFO; not replacing it",
                        path);
            return -EEXIST;
        }
        /* A FIFO left behind by an emberd that did not exit cleanly. */
        if (unlink(path) < 0) {
            e = errno;
            gpio_seterr(errbuf, len, "GPIO FIFO %s: cannot remove the stale FIFO: %s", path,
                        strerror(e));
            return -e;
        }
    } else if (errno != ENOENT) {
        e = errno;
        gpio_seterr(errbuf, len, "GPIO FIFO %s: %s", path, strerror(e));
        return -e;
    }
    if (mkfifo(path, 0660) < 0) {
        e = errno;
        gpio_seterr(errbuf, len, "GPIO FIFO %s: cannot create: %s", path, strerror(e));
        return -e;
    }
    /* Read-write, so we are a writer ourselves: when the last external writer
     * closes, read() returns EAGAIN instead of an endless EOF. */
    g->fifo_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (g->fifo_fd < 0 || fstat(g->fifo_fd, &st) < 0) {
        e = errno;
        unlink(path);
        gpio_seterr(errbuf, len, "GPIO FIFO %s: cannot open: %s", path, strerror(e));
        return -e;
    }
    g->fifo_dev = st.st_dev;
    g->fifo_ino = st.st_ino;
    /* mkfifo() applied the umask; the group (ember-sim's user) may write. */
    if (fchmod(g->fifo_fd, 0660) < 0) {
        e = errno;
        gpio_seterr(errbuf, len, "GPIO FIFO %s: chmod: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

int
gpio_open_err(struct gpio **out, const char *chip_label, const char *sim_fifo,
              const struct gpio_input_def *in, int nin, const struct gpio_output_def *outs,
              int nout, char *errbuf, size_t len)
{
    struct gpio *g;
    int rc;

    gpio_seterr(errbuf, len, "%s", "");
    *out = NULL;
    if (chip_label == NULL && sim_fifo == NULL) {
        gpio_seterr(errbuf, len, "GPIO: neither a chip label nor a simulation FIFO");
        return -EINVAL;
    }
    if ((rc = check_defs(chip_label, in, nin, outs, nout, errbuf, len)) < 0)
        return rc;
    if ((g = gpio_alloc(in, nin, outs, nout)) == NULL) {
        gpio_seterr(errbuf, len, "GPIO: out of memory");
        return -ENOMEM;
    }
    g->sim = chip_label == NULL;
    rc = g->sim ? open_fifo(g, sim_fifo, errbuf, len) : open_chip(g, chip_label, errbuf, len);
    if (rc < 0) {
        if (rc == -ENOMEM)
            gpio_seterr(errbuf, len, "GPIO: out of memory");
        gpio_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

int
gpio_open(struct gpio **out, const char *chip_label, const char *sim_fifo,
          const struct gpio_input_def *in, int nin, const struct gpio_output_def *outs, int nout)
{
    char err[512];
    int rc = gpio_open_err(out, chip_label, sim_fifo, in, nin, outs, nout, err, sizeof(err));

    if (rc < 0)
        log_errx("%s", err);
    return rc;
}

void
gpio_close(struct gpio *g)
{
    struct stat st;

    if (g == NULL)
        return;
    if (!g->sim)
        gpio_hw_close(g);
    if (g->epfd >= 0)
        close(g->epfd);
    if (g->fifo_fd >= 0) {
        close(g->fifo_fd);
        /* Only our own FIFO: a newer emberd may have replaced it meanwhile. */
        if (stat(g->fifo, &st) == 0 && st.st_dev == g->fifo_dev && st.st_ino == g->fifo_ino)
            unlink(g->fifo);
    }
    free(g->fifo);
    free(g->in);
    free(g->out);
    free(g);
}

/* ---- running ---- */

int
gpio_fd(const struct gpio *g)
{
    return g->sim ? g->fifo_fd : g->epfd;
}

int64_t
gpio_deadline_ms(const struct gpio *g)
{
    int64_t best = -1;

    for (int i = 0; i < g->nin; i++) {
        int64_t d = debounce_deadline(&g->in[i].db);
        if (d >= 0 && (best < 0 || d < best))
            best = d;
    }
    return best < 0 ? -1 : (best + 999) / 1000;
}

static void
emit(const struct clocks *c, int input, const struct debounce_change *ch, int n, gpio_event_fn cb,
     void *arg)
{
    for (int k = 0; k < n; k++) {
        struct gpio_event ev = {.input = input, .value = ch[k].value, .mono_us = ch[k].t_us};
        int64_t age_ns = c->mono_ns - ch[k].t_us * 1000;

        ev.ts_ms = (c->real_ns - age_ns) / 1000000;
        if (cb != NULL)
            cb(arg, &ev);
    }
}

/* CLOCK_MONOTONIC us of a kernel event timestamp (see the top of the file). */
static int64_t
event_mono_us(struct clocks *c, int64_t ns)
{
    int64_t dm = c->mono_ns - ns, dr = c->real_ns - ns;
    bool realtime = (dr < 0 ? -dr : dr) < (dm < 0 ? -dm : dm);
    int64_t age = realtime ? dr : dm;

    if (age < 0) {
        /* The edge came after our snapshot of the clocks. */
        clocks_now(c);
        age = realtime ? c->real_ns - ns : c->mono_ns - ns;
        if (age < 0)
            age = 0;
    }
    return (c->mono_ns - age) / 1000;
}

static int
read_line_events(struct gpio *g, int i, struct clocks *c, gpio_event_fn cb, void *arg)
{
    struct gpio_in *p = &g->in[i];

    for (int k = 0; k < EVENTS_PER_DISPATCH; k++) {
        struct debounce_change ch[2];
        int64_t ts;
        int active, n, r;

        if ((r = gpio_hw_read_edge(g, i, &active, &ts)) <= 0)
            return r;
        /* For both-edge requests the kernel names the event after the
         * line's logical level read in its IRQ thread (ACTIVE_LOW applied):
         * "rising" means active now.  Chatter can give two of a kind in a
         * row, so events are treated as levels, never as toggles. */
        n = debounce_edge(&p->db, active, event_mono_us(c, ts), ch);
        emit(c, i, ch, n, cb, arg);
    }
    return 0;
}

static int
dispatch_chip(struct gpio *g, struct clocks *c, gpio_event_fn cb, void *arg)
{
    struct epoll_event evs[16];
    int n, rc = 0;

    n = epoll_wait(g->epfd, evs, (int)ARRAY_LEN(evs), 0);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int k = 0; k < n; k++) {
        int r = read_line_events(g, (int)evs[k].data.u32, c, cb, arg);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

/* Copy of s for a log line: non-printable bytes become '?'. */
static void
printable(const char *s, char *buf, size_t len)
{
    size_t i;

    for (i = 0; s[i] != '\0' && i + 1 < len; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[i] = '\0';
}

static void
sim_line(struct gpio *g, char *line, struct clocks *c, gpio_event_fn cb, void *arg)
{
    char *save = NULL, *name, *value, *extra;
    char shown[SIM_LINE_MAX + 1];
    struct debounce_change ch[2];
    int i, n;

    printable(line, shown, sizeof(shown));
    name = strtok_r(line, " \t\r", &save);
    if (name == NULL || name[0] == '#')
        return; /* blank line or comment */
    value = strtok_r(NULL, " \t\r", &save);
    extra = strtok_r(NULL, " \t\r", &save);
    if (value == NULL || extra != NULL || (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)) {
        log_warnx("GPIO FIFO %s: ignored '%s': expected 'NAME 0|1'", g->fifo, shown);
        return;
    }
    if ((i = gpio_input_find(g, name)) < 0) {
        log_warnx("GPIO FIFO %s: ignored '%s': no input called '%s'", g->fifo, shown, name);
        return;
    }
    n = debounce_edge(&g->in[i].db, value[0] == '1', c->mono_ns / 1000, ch);
    emit(c, i, ch, n, cb, arg);
}

/* One read() per call: at most SIM_LINE_MAX bytes of lines, then back to
 * the loop, which calls again while the FIFO stays readable.  A writer that
 * keeps the FIFO full (ember-sim, a test's burst) must not hold the loop:
 * MQTT acknowledgements, timers and the control socket wait behind it, as
 * they do not behind a chattering chip line (EVENTS_PER_DISPATCH).  Only a
 * partial line is kept between calls, and it needs more bytes anyway. */
static int
dispatch_fifo(struct gpio *g, struct clocks *c, gpio_event_fn cb, void *arg)
{
    ssize_t n = read(g->fifo_fd, g->buf + g->len, sizeof(g->buf) - 1 - g->len);
    char *start, *nl;

    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    if (n == 0)
        return 0;
    clocks_now(c);
    g->len += (size_t)n;
    g->buf[g->len] = '\0';
    start = g->buf;
    while ((nl = memchr(start, '\n', g->len - (size_t)(start - g->buf))) != NULL) {
        *nl = '\0';
        if (!g->discarding && strlen(start) == (size_t)(nl - start))
            sim_line(g, start, c, cb, arg);
        else if (!g->discarding)
            log_warnx("GPIO FIFO %s: ignored a line containing a NUL byte", g->fifo);
        g->discarding = false;
        start = nl + 1;
    }
    g->len -= (size_t)(start - g->buf);
    memmove(g->buf, start, g->len);
    if (g->len == sizeof(g->buf) - 1) {
        if (!g->discarding)
            log_warnx("GPIO FIFO %s: ignored a line longer than %d bytes", g->fifo, SIM_LINE_MAX);
        g->len = 0;
        g->discarding = true;
    }
    return 0;
}

int
gpio_dispatch(struct gpio *g, gpio_event_fn cb, void *arg)
{
    struct clocks c;
    int rc;

    clocks_now(&c);
    rc = g->sim ? dispatch_fifo(g, &c, cb, arg) : dispatch_chip(g, &c, cb, arg);

    /* Lockouts that are over: re-read the level each input settled at. */
    clocks_now(&c);
    for (int i = 0; i < g->nin; i++) {
        struct gpio_in *p = &g->in[i];
        int64_t d = debounce_deadline(&p->db);
        struct debounce_change ch;
        int level = p->db.raw;

        if (d < 0 || c.mono_ns / 1000 < d)
            continue;
        if (!g->sim) {
            int v = gpio_hw_get(g, i);
            if (v >= 0)
                level = v;
            else if (rc == 0)
                rc = v;
        }
        if (debounce_expire(&p->db, level, c.mono_ns / 1000, &ch) > 0)
            emit(&c, i, &ch, 1, cb, arg);
    }
    return rc;
}

int
gpio_get(const struct gpio *g, int input, int *value)
{
    if (input < 0 || input >= g->nin)
        return -EINVAL;
    *value = g->in[input].db.value;
    return 0;
}

int
gpio_set(struct gpio *g, int output, int value)
{
    struct gpio_out *p;

    if (output < 0 || output >= g->nout)
        return -EINVAL;
    p = &g->out[output];
    value = value != 0;
    /* Requested with ACTIVE_LOW, the kernel inverts for us. */
    if (!g->sim) {
        int r = gpio_hw_set(g, output, value);
        if (r < 0)
            return r;
    }
    p->value = value;
    return 0;
}

int
gpio_get_output(const struct gpio *g, int output, int *value)
{
    if (output < 0 || output >= g->nout)
        return -EINVAL;
    *value = g->out[output].value;
    return 0;
}

int
gpio_input_find(const struct gpio *g, const char *name)
{
    for (int i = 0; i < g->nin; i++)
        if (strcmp(g->in[i].name, name) == 0)
            return i;
    return -ENOENT;
}

int
gpio_output_find(const struct gpio *g, const char *name)
{
    for (int i = 0; i < g->nout; i++)
        if (strcmp(g->out[i].name, name) == 0)
            return i;
    return -ENOENT;
}

bool
gpio_is_simulated(const struct gpio *g)
{
    return g->sim;
}
