/*
 * bus_modbus.c - per-bus worker threads built on libmodbus.
 *
 * This is the only file that includes <modbus.h>.  Each worker owns its
 * libmodbus context and its link (a serial line or a TCP connection) and
 * posts readings to the loop's mailbox; it calls libmodbus, the mailbox,
 * util and the log, nothing else.
 *
 * Late replies: on TCP a failed request closes the connection, so its
 * reply can never reach a later request.  RTU frames carry no transaction
 * id: after a failed request the line is kept silent until LATE_FACTOR
 * timeouts after the request went out, and whatever arrives meanwhile is
 * read and dropped (line_settle), so a reply up to that late is never
 * taken for the answer to a later request.
 */
#include "bus.h"

#include <errno.h>
#include <modbus.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "mailbox.h"
#include "util.h"

#define MAX_BLOCKS CONF_MAX_BLOCKS
#define QUEUE_MAX 65536
/* On RTU nothing is sent until this many timeouts after a failed request. */
#define LATE_FACTOR 4
/* Bytes in a read request (FC 01-04): slave, function, address, count, CRC. */
#define READ_REQUEST_BYTES 8

/* A device's schedule; what to read comes from the plan conf_load built
 * (dev->sensors, dev->pts, dev->blocks...). */
struct dev_plan {
    const struct conf_device *dev;
    int index; /* conf.devices index */
    atomic_bool alert;
    bool was_alert;
    int64_t alert_ms; /* 0: cost-based (RTU) */
    int64_t last_start_ms;
    int64_t last_cost_ms;
    int64_t next_due_ms;
};

struct bus_worker {
    struct bus_set *set;
    const struct conf_bus *cb;
    int index;
    struct dev_plan *devs;
    int ndevs;
    modbus_t *ctx;
    bool connected;
    bool warned_rs485;
    bool warned_connect; /* "cannot connect" said once per outage */
    int link_errno;      /* why the link is down, for the log */
    int64_t connect_after_ms; /* back-off: no connect attempt before this */
    int64_t backoff_ms;
    int wake_fd; /* eventfd: stop request */
    pthread_t thread;
    bool started;
    pthread_mutex_t stats_lock;
    struct bus_stats stats;
    _Atomic int64_t progress_ms; /* last time the worker went round its loop */
    int64_t stall_limit_ms;      /* longer than this without progress: hung */
};

struct bus_set {
    struct bus_worker *w;
    int n;
    /* conf.devices index -> its plan and worker (NULL: not polled), so an
     * alert request goes straight to its device. */
    struct dev_plan **plan_of;
    struct bus_worker **worker_of;
    int ndevices;
    struct mailbox *readings; /* struct bus_reading, from every worker */
    atomic_int stopping;
};

static void
post(struct bus_set *bs, const struct bus_reading *r, size_t n)
{
    int rc = mailbox_post(bs->readings, r, n);

    /* -ENOBUFS: the loop is wedged and readings are dropped (counted); the
     * watchdog will act. */
    if (rc < 0 && rc != -ENOBUFS)
        log_warnx("bus: wakeup: %s", strerror(-rc));
}

size_t
bus_drain(struct bus_set *bs, struct bus_reading *out, size_t max)
{
    return mailbox_take(bs->readings, out, max);
}

void
bus_set_alert(struct bus_set *bs, int device, bool on)
{
    uint64_t one = 1;
    struct dev_plan *dp;
    struct bus_worker *w;

    if (bs == NULL || device < 0 || device >= bs->ndevices || bs->plan_of[device] == NULL)
        return;
    dp = bs->plan_of[device];
    w = bs->worker_of[device];
    if (atomic_load(&dp->alert) == on)
        return;
    atomic_store(&dp->alert, on);
    if (on && write(w->wake_fd, &one, sizeof(one)) < 0)
        log_warn("bus %s: wake", w->cb->name);
}

int
bus_fd(const struct bus_set *bs)
{
    return mailbox_fd(bs->readings);
}

void
bus_get_stats(struct bus_set *bs, int bus, struct bus_stats *st)
{
    struct bus_worker *w;

    if (bs == NULL || bus < 0 || bus >= bs->n) {
        memset(st, 0, sizeof(*st));
        return;
    }
    w = &bs->w[bus];
    pthread_mutex_lock(&w->stats_lock);
    *st = w->stats;
    pthread_mutex_unlock(&w->stats_lock);
}

static modbus_t *
new_ctx(const struct conf_bus *b)
{
    static const char parity[] = {'N', 'E', 'O'};
    char port[8];

    if (b->type == BUS_TCP) {
        snprintf(port, sizeof(port), "%d", b->port);
        return modbus_new_tcp_pi(b->host, port);
    }
    return modbus_new_rtu(b->device, b->baud, parity[b->parity], b->data_bits, b->stop_bits);
}

/* Opens the link.  Called with back-off so a missing endpoint costs one
 * failed attempt per back-off period, not one per device poll. */
static int
link_open(struct bus_worker *w, int64_t now)
{
    const struct conf_bus *b = w->cb;

    if (w->connected)
        return 0;
    if (now < w->connect_after_ms)
        return -EAGAIN;
    if (modbus_connect(w->ctx) < 0) {
        int e = errno;
        if (!w->warned_connect)
            log_warnx("bus %s: cannot connect to %s: %s", b->name,
                      b->type == BUS_TCP ? b->host : b->device, modbus_strerror(e));
        w->warned_connect = true;
        w->link_errno = e;
        w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : 250;
        if (w->backoff_ms > b->backoff_max_ms)
            w->backoff_ms = b->backoff_max_ms;
        w->connect_after_ms = now + w->backoff_ms;
        return -e;
    }
    if (b->type == BUS_RTU) {
        if (b->rs485 && modbus_rtu_set_serial_mode(w->ctx, MODBUS_RTU_RS485) < 0 &&
            !w->warned_rs485) {
            /* A pty (bench) has no RS485 ioctl; a real transceiver needs it. */
            log_warnx("bus %s: RS485 mode not available on %s (%s); continuing", b->name,
                      b->device, modbus_strerror(errno));
            w->warned_rs485 = true;
        }
        if (b->rts != RTS_NONE) {
            modbus_rtu_set_rts(w->ctx, b->rts == RTS_UP ? MODBUS_RTU_RTS_UP : MODBUS_RTU_RTS_DOWN);
            if (b->rts_delay_us > 0)
                modbus_rtu_set_rts_delay(w->ctx, b->rts_delay_us);
        }
    }
    if (w->warned_connect)
        log_info("bus %s: connected", b->name);
    w->warned_connect = false;
    w->connected = true;
    w->backoff_ms = 0;
    w->connect_after_ms = 0;
    return 0;
}

/* Sleeps up to ms, returning early when the bus is being stopped. */
static void
pause_ms(struct bus_worker *w, int64_t ms)
{
    struct pollfd p = {.fd = w->wake_fd, .events = POLLIN};
    if (ms > 0 && !atomic_load(&w->set->stopping))
        poll(&p, 1, (int)ms);
}

/* Time on the wire of n bytes on an RTU line, rounded up (start, data,
 * parity and stop bits). */
static int64_t
frame_ms(const struct conf_bus *b, int n)
{
    int64_t bits = 1 + b->data_bits + (b->parity != 0) + b->stop_bits;

    return (n * bits * 1000 + b->baud - 1) / b->baud;
}

/* Silence that ends a frame on an RTU line.  USB serial adapters hand
 * bytes over in 16 ms batches: 20 ms plus four characters covers any of
 * them. */
static int64_t
quiet_ms(const struct conf_bus *b)
{
    return 20 + frame_ms(b, 4);
}

/*
 * Keeps an RTU line silent until deadline (monotonic ms), reading and
 * dropping whatever arrives, then flushes it.  A reply still coming in at
 * the deadline is drained to its end (the line quiet for a few character
 * times), for at most one more timeout, so a babbling device cannot hold
 * the bus.  An alert request does not cut the silence short: the worker
 * picks it up after the poll (pull_in_alerts).  Returns the bytes dropped.
 */
static long
line_settle(struct bus_worker *w, int64_t deadline)
{
    const struct conf_bus *b = w->cb;
    int64_t quiet = quiet_ms(b);
    int64_t hard = deadline + b->timeout_ms;
    int64_t last = 0; /* when bytes last came */
    int fd = modbus_get_socket(w->ctx);
    long dropped = 0;

    while (!atomic_load(&w->set->stopping)) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = w->wake_fd, .events = POLLIN}};
        int64_t now = mono_ms(), until;
        uint8_t buf[256];
        uint64_t v;

        if (now >= deadline && (now - last >= quiet || now >= hard))
            break;
        until = now < deadline ? deadline : last + quiet;
        if (until > hard)
            until = hard;
        if (poll(p, 2, (int)(until - now)) < 0) {
            if (errno == EINTR)
                continue;
            /* Cannot watch the line: still send nothing before the deadline. */
            pause_ms(w, deadline - mono_ms());
            break;
        }
        if ((p[1].revents & POLLIN) && read(w->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_warn("bus %s: wake", b->name);
        if (p[0].revents & POLLIN) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n > 0) {
                dropped += n;
                last = mono_ms();
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                fd = -1; /* the next request finds out why; keep the silence */
            }
        } else if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            fd = -1; /* poll() skips a negative fd: wait on the wake fd alone */
        }
    }
    modbus_flush(w->ctx);
    return dropped;
}

/* After a failed request: make sure its answer, if it is still coming,
 * cannot be taken for the next request's.  sent_ms is when the request
 * started going out. */
static void
link_reset(struct bus_worker *w, int e, int64_t sent_ms)
{
    const struct conf_bus *b = w->cb;

    if (b->type == BUS_TCP) {
        /* A late answer would otherwise be taken for the next request's. */
        modbus_close(w->ctx);
        w->connected = false;
    } else if (e == EIO || e == EBADF || e == ENXIO || e == ENODEV || e == EPIPE) {
        /* The serial device itself went away (USB adapter unplugged, pty
         * pair recreated): reopen it, with back-off. */
        log_warnx("bus %s: %s: %s; reopening", b->name, b->device, modbus_strerror(e));
        modbus_close(w->ctx);
        w->connected = false;
        w->warned_connect = true;
    } else {
        /* No answer, or a frame that was not the answer (a bad CRC, another
         * slave or function): the answer may still come.  Nothing goes out
         * until LATE_FACTOR timeouts after the request reached the line's
         * far end. */
        int64_t t0 = mono_us();
        long dropped =
            line_settle(w, sent_ms + frame_ms(b, READ_REQUEST_BYTES) + LATE_FACTOR * b->timeout_ms);

        pthread_mutex_lock(&w->stats_lock);
        w->stats.busy_us += mono_us() - t0;
        pthread_mutex_unlock(&w->stats_lock);
        if (dropped > 0)
            log_debug("bus %s: dropped %ld %s that came after a failed request", b->name, dropped,
                      plural(dropped, "byte", "bytes"));
    }
}

static bool
is_exception(int e)
{
    /* Gateway path/target errors mean the device did not answer at all. */
    return e >= EMBXILFUN && e <= EMBXMEMPAR && e != EMBXGPATH && e != EMBXGTAR;
}

/* One block read with retries.  Returns 0, or the errno of the last try. */
static int
read_block(struct bus_worker *w, const struct read_block *blk, uint16_t *words)
{
    uint8_t bits[2000];
    int rc = -1, e = 0;

    for (int attempt = 0; attempt <= w->cb->retries; attempt++) {
        int64_t t0;
        if (atomic_load(&w->set->stopping))
            return ECANCELED;
        if ((rc = link_open(w, mono_ms())) < 0)
            return rc == -EAGAIN ? (w->link_errno ? w->link_errno : ECONNREFUSED) : -rc;
        /* Bytes that came while nobody was asking (a reply later than
         * line_settle waits for, line noise) are no answer to this request. */
        if (w->cb->type == BUS_RTU)
            modbus_flush(w->ctx);
        t0 = mono_us();
        switch (blk->table) {
        case MB_HOLDING:
            rc = modbus_read_registers(w->ctx, blk->start, blk->count, words);
            break;
        case MB_INPUT:
            rc = modbus_read_input_registers(w->ctx, blk->start, blk->count, words);
            break;
        case MB_COIL:
            rc = modbus_read_bits(w->ctx, blk->start, blk->count, bits);
            break;
        case MB_DISCRETE:
            rc = modbus_read_input_bits(w->ctx, blk->start, blk->count, bits);
            break;
        }
        e = errno;
        pthread_mutex_lock(&w->stats_lock);
        w->stats.busy_us += mono_us() - t0;
        pthread_mutex_unlock(&w->stats_lock);
        pause_ms(w, w->cb->gap_ms);
        if (rc == blk->count) {
            if (blk->table == MB_COIL || blk->table == MB_DISCRETE)
                for (int i = 0; i < blk->count; i++)
                    words[i] = bits[i];
            return 0;
        }
        if (rc >= 0)
            e = EMBBADDATA;
        /* An exception, or a gateway saying its target did not answer, is a
         * well-formed reply: the link is fine, do not reset it. */
        if (is_exception(e) || e == EMBXGPATH || e == EMBXGTAR)
            return e;
        link_reset(w, e, t0 / 1000);
    }
    return e;
}

static void
poll_device(struct bus_worker *w, struct dev_plan *dp)
{
    struct bus_reading out[dp->dev->sensors.n];
    int status[MAX_BLOCKS];
    uint16_t words[MAX_BLOCKS][125];
    bool failed = false;
    int64_t ts, mono;

    if (modbus_set_slave(w->ctx, dp->dev->slave) < 0) {
        /* Config validation rules this out; never read another device. */
        log_warnx("bus %s: device %s: slave %d rejected by libmodbus", w->cb->name,
                  dp->dev->name, dp->dev->slave);
        failed = true;
    }
    for (int b = 0; b < dp->dev->nblocks; b++) {
        if (failed) {
            status[b] = ETIMEDOUT;
            continue;
        }
        status[b] = read_block(w, &dp->dev->blocks[b], words[b]);
        if (status[b] != 0 && !is_exception(status[b])) {
            /* The device is not answering: do not spend more timeouts on it
             * this poll.  Blocks already read stay good. */
            failed = true;
            log_debug("bus %s: device %s: %s", w->cb->name, dp->dev->name,
                      modbus_strerror(status[b]));
        }
    }
    ts = real_ms();
    mono = mono_us();
    for (int i = 0; i < dp->dev->sensors.n; i++) {
        int b = dp->dev->block_of[i];
        struct bus_reading *r = &out[i];
        r->sensor = dp->dev->sensors.v[i];
        r->ts_ms = ts;
        r->mono_us = mono;
        r->value = 0;
        if (status[b] != 0 && !is_exception(status[b]))
            r->status = POLL_FAILED;
        else if (status[b] != 0)
            r->status = POLL_EXCEPTION;
        else if (point_decode(dp->dev->pts[i], &words[b][dp->dev->offset_of[i]], &r->value) < 0)
            r->status = POLL_BAD_VALUE;
        else
            r->status = POLL_OK;
    }
    pthread_mutex_lock(&w->stats_lock);
    w->stats.polls++;
    if (failed)
        w->stats.failures++;
    pthread_mutex_unlock(&w->stats_lock);
    post(w->set, out, (size_t)dp->dev->sensors.n);
}

/* The alert period: the configured one, or where it is 0 (RTU), the
 * device's own poll cost again, so it takes at most half the bus. */
static int64_t
alert_period(const struct dev_plan *dp)
{
    if (dp->alert_ms > 0)
        return dp->alert_ms;
    /* 20 ms floor: a pty or a fast line would otherwise be polled hundreds
     * of times a second for nothing. */
    return dp->last_cost_ms > 20 ? dp->last_cost_ms : 20;
}

/* A device newly asked to poll fast gets its next poll pulled in. */
static void
pull_in_alerts(struct bus_worker *w)
{
    for (int i = 0; i < w->ndevs; i++) {
        struct dev_plan *dp = &w->devs[i];
        if (atomic_load(&dp->alert) && !dp->was_alert) {
            int64_t due = dp->last_start_ms + alert_period(dp);
            dp->was_alert = true;
            if (due < dp->next_due_ms)
                dp->next_due_ms = due;
        }
    }
}

#ifdef EMBER_FAULT_INJECTION
/* Test builds only (make check): EMBERD_FAULT=hang-bus:NAME makes that bus's
 * worker stop making progress for good, for the watchdog test.  Returns
 * when the bus is stopped; false at once for every other bus. */
static bool
fault_hang(struct bus_worker *w)
{
    const char *fault = getenv("EMBERD_FAULT");

    if (fault == NULL || strncmp(fault, "hang-bus:", 9) != 0 || strcmp(fault + 9, w->cb->name) != 0)
        return false;
    log_warnx("bus %s: EMBERD_FAULT: worker hangs", w->cb->name);
    while (!atomic_load(&w->set->stopping)) {
        struct pollfd p = {.fd = w->wake_fd, .events = POLLIN};
        poll(&p, 1, 1000);
    }
    return true;
}
#else
/* Installed builds carry no fault switch. */
static bool
fault_hang(struct bus_worker *w)
{
    (void)w;
    return false;
}
#endif

static void *
worker_main(void *arg)
{
    struct bus_worker *w = arg;
    int64_t t0 = mono_ms();

    /* Stagger devices over the first interval so one bus does not burst. */
    for (int i = 0; i < w->ndevs; i++)
        w->devs[i].next_due_ms = t0 + (w->devs[i].dev->interval_ms * i) / (w->ndevs + 1);

    if (fault_hang(w))
        return NULL;
    while (!w->set->stopping) {
        struct dev_plan *next = NULL;
        int64_t now = mono_ms();

        atomic_store(&w->progress_ms, now);
        for (int i = 0; i < w->ndevs; i++)
            if (next == NULL || w->devs[i].next_due_ms < next->next_due_ms)
                next = &w->devs[i];
        if (next == NULL)
            break;
        if (next->next_due_ms > now) {
            struct pollfd p = {.fd = w->wake_fd, .events = POLLIN};
            uint64_t v;
            if (poll(&p, 1, (int)(next->next_due_ms - now)) > 0 &&
                read(w->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                log_warn("bus %s: wake", w->cb->name);
            pull_in_alerts(w); /* woken for an alert request */
            continue;
        }
        if (now - next->next_due_ms > next->dev->interval_ms / 10 &&
            now - next->next_due_ms > 5) {
            pthread_mutex_lock(&w->stats_lock);
            w->stats.late++;
            pthread_mutex_unlock(&w->stats_lock);
        }
        next->last_start_ms = now;
        poll_device(w, next);
        now = mono_ms();
        next->last_cost_ms = now - next->last_start_ms;
        if (atomic_load(&next->alert)) {
            pthread_mutex_lock(&w->stats_lock);
            w->stats.alert_polls++;
            pthread_mutex_unlock(&w->stats_lock);
            next->was_alert = true;
            next->next_due_ms = next->last_start_ms + alert_period(next);
            if (next->next_due_ms < now && next->alert_ms > 0)
                next->next_due_ms = now;
        } else {
            if (next->was_alert) {
                /* Back to the base rate, counted from this poll. */
                next->was_alert = false;
                next->next_due_ms = next->last_start_ms;
            }
            /* Fixed-rate schedule; a cycle that overran skips ahead
             * instead of bursting to catch up. */
            next->next_due_ms += next->dev->interval_ms;
            if (next->next_due_ms <= now) {
                /* Whole cycles missed: count them, they were not on time. */
                int64_t missed = (now - next->next_due_ms) / next->dev->interval_ms + 1;
                pthread_mutex_lock(&w->stats_lock);
                w->stats.late += (uint64_t)missed;
                pthread_mutex_unlock(&w->stats_lock);
                next->next_due_ms = now + next->dev->interval_ms;
            }
        }
        pull_in_alerts(w); /* a request may have arrived while polling */
    }
    if (w->connected)
        modbus_close(w->ctx);
    return NULL;
}

static void
plan_device(const struct conf *c, const struct conf_device *d, struct dev_plan *dp)
{
    dp->dev = d;
    dp->index = (int)(d - c->devices);
    atomic_init(&dp->alert, false);
    dp->alert_ms = d->alert_interval_ms;
    if (dp->alert_ms == 0 && c->buses[d->bus].type == BUS_TCP)
        dp->alert_ms = 100;
}

static void
free_worker(struct bus_worker *w)
{
    free(w->devs);
    if (w->ctx)
        modbus_free(w->ctx);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    pthread_mutex_destroy(&w->stats_lock);
}

int
bus_start(struct bus_set **out, const struct conf *c)
{
    struct bus_set *bs = xcalloc(1, sizeof(*bs));
    sigset_t all, old;
    int rc = 0;

    rc = mailbox_init(&bs->readings, sizeof(struct bus_reading), QUEUE_MAX, MAILBOX_DROP_NEW, -1);
    if (rc < 0) {
        free(bs);
        return rc;
    }
    bs->w = xcalloc((size_t)c->nbuses + 1, sizeof(*bs->w));
    bs->n = c->nbuses;
    for (int i = 0; i < c->nbuses; i++) {
        bs->w[i].wake_fd = -1;
        pthread_mutex_init(&bs->w[i].stats_lock, NULL);
    }

    for (int i = 0; i < c->nbuses && rc == 0; i++) {
        struct bus_worker *w = &bs->w[i];
        w->set = bs;
        w->cb = &c->buses[i];
        w->index = i;
        w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->wake_fd < 0) {
            rc = -errno;
            break;
        }
        w->stats.since_us = mono_us();
        w->devs = xcalloc((size_t)c->ndevices + 1, sizeof(*w->devs));
        for (int d = 0; d < c->ndevices; d++) {
            /* A device with nothing to read is not polled at all. */
            if (c->devices[d].bus != i || c->devices[d].sensors.n == 0)
                continue;
            plan_device(c, &c->devices[d], &w->devs[w->ndevs++]);
        }
        w->ctx = new_ctx(w->cb);
        if (w->ctx == NULL)
            rc = -errno ? -errno : -ENOMEM;
        else
            modbus_set_response_timeout(w->ctx, (uint32_t)(w->cb->timeout_ms / 1000),
                                        (uint32_t)(w->cb->timeout_ms % 1000) * 1000);
    }
    if (rc < 0) {
        bus_stop(bs);
        return rc;
    }
    bs->ndevices = c->ndevices;
    bs->plan_of = xcalloc((size_t)c->ndevices + 1, sizeof(*bs->plan_of));
    bs->worker_of = xcalloc((size_t)c->ndevices + 1, sizeof(*bs->worker_of));
    for (int i = 0; i < bs->n; i++)
        for (int k = 0; k < bs->w[i].ndevs; k++) {
            bs->plan_of[bs->w[i].devs[k].index] = &bs->w[i].devs[k];
            bs->worker_of[bs->w[i].devs[k].index] = &bs->w[i];
        }
    /* A worker is hung when it has not gone round its loop for twice the
     * longest legitimate cycle: the longest interval plus every block of
     * every device timing out on every retry, plus the gaps. */
    {
        for (int i = 0; i < bs->n; i++) {
            struct bus_worker *w = &bs->w[i];
            int64_t cycle = 0, worst = 0, attempt_ms = w->cb->timeout_ms;
            /* On RTU a failed attempt also keeps the line silent
             * (line_settle): up to LATE_FACTOR + 1 timeouts in all. */
            if (w->cb->type == BUS_RTU)
                attempt_ms = (LATE_FACTOR + 1) * w->cb->timeout_ms +
                             frame_ms(w->cb, READ_REQUEST_BYTES) + quiet_ms(w->cb);
            for (int k = 0; k < w->ndevs; k++) {
                const struct dev_plan *dp = &w->devs[k];
                cycle += dp->dev->nblocks * (w->cb->retries + 1) * (attempt_ms + w->cb->gap_ms);
                if (dp->dev->interval_ms > worst)
                    worst = dp->dev->interval_ms;
            }
            w->stall_limit_ms = 2 * (cycle + worst) + 5000;
            atomic_store(&w->progress_ms, mono_ms());
        }
    }
    /* Workers must not take the daemon's signals. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < bs->n; i++) {
        struct bus_worker *w = &bs->w[i];
        if (w->ndevs == 0)
            continue;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            rc = -EAGAIN;
            break;
        }
        w->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        bus_stop(bs);
        return rc;
    }
    *out = bs;
    return 0;
}

int
bus_stalled(struct bus_set *bs, int64_t now_ms)
{
    for (int i = 0; bs != NULL && i < bs->n; i++) {
        struct bus_worker *w = &bs->w[i];
        if (w->started && now_ms - atomic_load(&w->progress_ms) > w->stall_limit_ms)
            return i;
    }
    return -1;
}

void
bus_signal_stop(struct bus_set *bs)
{
    uint64_t one = 1;

    if (bs == NULL || atomic_exchange(&bs->stopping, 1))
        return;
    for (int i = 0; i < bs->n; i++)
        if (bs->w[i].wake_fd >= 0 && write(bs->w[i].wake_fd, &one, sizeof(one)) < 0)
            log_warn("bus: wake");
}

void
bus_stop(struct bus_set *bs)
{
    if (bs == NULL)
        return;
    bus_signal_stop(bs);
    for (int i = 0; i < bs->n; i++) {
        if (bs->w[i].started)
            pthread_join(bs->w[i].thread, NULL);
        free_worker(&bs->w[i]);
    }
    free(bs->w);
    free(bs->plan_of);
    free(bs->worker_of);
    mailbox_fini(bs->readings);
    free(bs);
}
