/*
 * daemon.c - emberd's wiring: opens the modules in order (journal and
 * outbox, notifiers, ingest with the alarm engine, control socket, MQTT
 * session, GPIO, bus workers), closes them in reverse, and runs the timers
 * and signals.
 *
 * Owns: the loop, the GPIO backend, the bus set and the running
 * configuration.  May call every module's init/fini, gpio_* (open, arm,
 * dispatch into ingest_gpio), bus_start/bus_stop and reload_run.  Readings,
 * alarms, publishing and commands live in ingest.c, outbox.c and
 * control.c.
 */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bus.h"
#include "cmd.h"
#include "control.h"
#include "gpio.h"
#include "hwdog.h"
#include "ingest.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "reload.h"
#include "util.h"

#define TICK_MS 50


struct daemon {
    struct conf *conf;
    struct loop *loop;
    struct outbox *outbox;
    struct notify *notify; /* [notify] sections: programs run on events */
    struct ingest *ingest;
    struct control *control;
    struct metrics *metrics; /* [metrics] endpoint, or NULL */
    struct gpio *gpio;
    int gpio_timer;
    uint64_t watchdog_usec;
    bool stall_logged;
    struct hwdog *hwdog; /* the board's hardware watchdog, or NULL */
    bool hwdog_withheld;
};

/* ---- GPIO --------------------------------------------------------------- */

static void gpio_arm(struct daemon *d);

static void
gpio_deadline(void *arg)
{
    struct daemon *d = arg;
    d->gpio_timer = 0;
    gpio_dispatch(d->gpio, ingest_gpio, d->ingest);
    gpio_arm(d);
}

/* Debounce lockouts end on a timer: re-arm it after every dispatch. */
static void
gpio_arm(struct daemon *d)
{
    int64_t due = gpio_deadline_ms(d->gpio);

    if (d->gpio_timer > 0) {
        loop_timer_cancel(d->loop, d->gpio_timer);
        d->gpio_timer = 0;
    }
    if (due >= 0) {
        int64_t now = mono_ms();
        d->gpio_timer = loop_timer(d->loop, due > now ? due - now : 0, gpio_deadline, d);
    }
}

static void
on_gpio(void *arg, short revents)
{
    struct daemon *d = arg;
    (void)revents;
    gpio_dispatch(d->gpio, ingest_gpio, d->ingest);
    gpio_arm(d);
}

static int
gpio_start(struct daemon *d)
{
    const struct conf *c = d->conf;
    struct gpio_input_def *in;
    struct gpio_output_def *out;
    int rc;

    if (c->ninputs == 0 && c->noutputs == 0)
        return 0;
    in = xcalloc((size_t)c->ninputs + 1, sizeof(*in));
    out = xcalloc((size_t)c->noutputs + 1, sizeof(*out));
    for (int i = 0; i < c->ninputs; i++)
        in[i] = (struct gpio_input_def){c->inputs[i]->name, c->inputs[i]->offset,
                                        c->inputs[i]->active_low, c->inputs[i]->debounce_ms};
    for (int i = 0; i < c->noutputs; i++)
        out[i] = (struct gpio_output_def){c->outputs[i]->name, c->outputs[i]->offset,
                                          c->outputs[i]->active_low};
    rc = gpio_open(&d->gpio, c->board->gpio_chip, c->agent.gpio_sim, in, c->ninputs, out,
                   c->noutputs);
    free(in);
    free(out);
    if (rc < 0)
        return rc;
    if (gpio_is_simulated(d->gpio))
        log_info("gpio: simulated backend, write \"NAME 0|1\" lines to %s", c->agent.gpio_sim);
    outbox_set_outputs(d->outbox, d->gpio);
    control_set_gpio(d->control, d->gpio);
    loop_add_fd(d->loop, gpio_fd(d->gpio), POLLIN, on_gpio, d);
    /* The level at start counts as the first reading. */
    for (int i = 0; i < c->ninputs; i++) {
        struct gpio_event ev = {.input = i, .ts_ms = real_ms(), .mono_us = mono_us()};
        if (gpio_get(d->gpio, i, &ev.value) == 0)
            ingest_gpio(d->ingest, &ev);
    }
    return 0;
}

/* ---- timers ----------------------------------------------------------- */

static void
tick(void *arg)
{
    struct daemon *d = arg;
    ingest_tick(d->ingest, mono_ms(), real_ms());
    outbox_flush(d->outbox);
    loop_timer(d->loop, TICK_MS, tick, d);
}

/* The loop is healthy when it runs (the callers are its timers) and every
 * bus worker makes progress.  Returns -1, or the index of a stalled bus. */
static int
stalled_bus(struct daemon *d)
{
    return bus_stalled(ingest_bus(d->ingest), mono_ms());
}

static void
hwdog_tick(void *arg)
{
    struct daemon *d = arg;
    int stalled = stalled_bus(d);

    if (stalled < 0) {
        hwdog_keepalive(d->hwdog);
        d->hwdog_withheld = false;
    } else if (!d->hwdog_withheld) {
        log_errx("bus %s: worker has made no progress; withholding the hardware watchdog's "
                 "keepalive: the board resets within %llds",
                 d->conf->buses[stalled].name, (long long)(hwdog_timeout_ms(d->hwdog) / 1000));
        d->hwdog_withheld = true;
    }
    loop_timer(d->loop, hwdog_interval_ms(d->hwdog), hwdog_tick, d);
}

/* The board's watchdog, when its file names one.  Alarms matter more than
 * the watchdog: a device that cannot be opened is an error in the log, not
 * a reason to stop watching the room. */
static void
hwdog_start(struct daemon *d)
{
    const struct board *b = d->conf->board;

    if (b == NULL || b->watchdog == NULL)
        return;
    if (hwdog_open(&d->hwdog, b->watchdog, b->watchdog_timeout_ms) < 0) {
        log_errx("running without the hardware watchdog");
        return;
    }
    loop_timer(d->loop, hwdog_interval_ms(d->hwdog), hwdog_tick, d);
}

static void
watchdog_tick(void *arg)
{
    struct daemon *d = arg;

    /* Pinged from a loop timer, so a wedged loop stops the pings; a hung
     * bus worker stops them too. */
    int stalled = stalled_bus(d);
    if (stalled < 0) {
        sd_notify(0, "WATCHDOG=1");
        d->stall_logged = false;
    } else if (!d->stall_logged) {
        log_errx("bus %s: worker has made no progress; withholding the watchdog ping so "
                 "systemd restarts emberd",
                 d->conf->buses[stalled].name);
        sd_notifyf(0, "STATUS=bus %s worker hung", d->conf->buses[stalled].name);
        d->stall_logged = true;
    }
    loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
}

static void
stats_tick(void *arg)
{
    struct daemon *d = arg;

    for (int b = 0; b < d->conf->nbuses; b++) {
        struct bus_stats st;
        int64_t span;
        bus_get_stats(ingest_bus(d->ingest), b, &st);
        span = mono_us() - st.since_us;
        log_debug("bus %s: %llu polls, %llu failed, %llu late, %llu alert, utilisation %.1f%%",
                  d->conf->buses[b].name, (unsigned long long)st.polls,
                  (unsigned long long)st.failures, (unsigned long long)st.late,
                  (unsigned long long)st.alert_polls,
                  span > 0 ? 100.0 * (double)st.busy_us / (double)span : 0.0);
    }
    loop_timer(d->loop, 60000, stats_tick, d);
}

/* ---- life cycle ------------------------------------------------------- */

static int
reload(void *arg, char *err, size_t errlen)
{
    struct daemon *d = arg;
    return reload_run(&d->conf, d->loop, d->ingest, d->outbox, d->notify, d->control, err, errlen);
}

static void daemon_fini(void *arg);

static int
daemon_init(void **out, void *conf)
{
    struct conf *c = conf;
    struct daemon *d = xcalloc(1, sizeof(*d));
    struct bus_set *bs;
    int rc;

    d->conf = c;
    if ((rc = loop_init(&d->loop)) < 0)
        goto fail;
    loop_signals(d->loop, true); /* from here a stop request is a clean stop */
    if ((rc = outbox_open(&d->outbox, c)) < 0)
        goto fail;
    /* Before the engine: a zone that settles at start (its drain request
     * back to none while emberd was stopped) is notified too. */
    if ((rc = notify_open(&d->notify, c, d->loop)) < 0)
        goto fail;
    outbox_set_notify(d->outbox, d->notify);
    if ((rc = ingest_init(&d->ingest, c, d->outbox)) < 0)
        goto fail;
    if ((rc = control_open(&d->control, c, d->loop, d->ingest, d->outbox, reload, d)) < 0)
        goto fail;
    control_set_notify(d->control, d->notify);
    if ((rc = metrics_open(&d->metrics, c, d->loop, d->ingest, d->outbox)) < 0)
        goto fail;
    if ((rc = outbox_connect(d->outbox, d->loop, control_mqtt, d->control)) < 0)
        goto fail;
    if ((rc = gpio_start(d)) < 0)
        goto fail; /* gpio_open has said which chip or line failed */
    if ((rc = bus_start(&bs, c)) < 0) {
        log_errx("cannot start bus workers: %s", strerror(-rc));
        goto fail;
    }
    ingest_attach_bus(d->ingest, d->loop, bs);
    hwdog_start(d);
    if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec >= 2000)
        loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
    loop_timer(d->loop, 60000, stats_tick, d);
    loop_timer(d->loop, TICK_MS, tick, d);
    *out = d;
    return 0;
fail:
    daemon_fini(d);
    return rc < 0 ? rc : -EIO;
}

static void
daemon_run(void *arg)
{
    struct daemon *d = arg;

    char summary[160];

    sd_notifyf(0, "READY=1\nSTATUS=polling %d %s on %d %s", d->conf->ndevices,
               plural(d->conf->ndevices, "device", "devices"), d->conf->nbuses,
               plural(d->conf->nbuses, "bus", "buses"));
    conf_summary(d->conf, summary, sizeof(summary));
    log_info("running: site %s, agent %s, %s", d->conf->agent.site, d->conf->agent.id, summary);
    while (!loop_sig_stop) {
        loop_run(d->loop);
        if (loop_sig_hup) {
            char err[CMD_ERR_MAX] = "";
            loop_sig_hup = 0;
            log_info("SIGHUP: reloading %s", d->conf->path);
            reload(d, err, sizeof(err));
        }
    }
}

static void
daemon_fini(void *arg)
{
    struct daemon *d = arg;
    struct bus_set *bs;

    if (d == NULL)
        return;
    bs = d->ingest != NULL ? ingest_bus(d->ingest) : NULL;
    /* Say "offline" while the workers wind down: a worker in the middle of
     * a long timeout must not delay it.  The loop no longer runs, so nothing
     * is published after it. */
    bus_signal_stop(bs);
    outbox_disconnect(d->outbox);
    bus_stop(bs);
    /* A notifier still running is terminated, pending ones are dropped
     * (both logged): the MQTT events, journaled, are the record. */
    if (d->outbox != NULL)
        outbox_set_notify(d->outbox, NULL);
    notify_close(d->notify);
    metrics_close(d->metrics);
    control_close(d->control);
    if (d->gpio != NULL) {
        /* Leave the annunciators off when the agent stops. */
        for (int o = 0; o < d->conf->noutputs; o++)
            gpio_set(d->gpio, o, 0);
        gpio_close(d->gpio);
    }
    ingest_free(d->ingest);
    outbox_close(d->outbox);
    loop_fini(d->loop);
    /* Last: a stop that hangs on the way here leaves the watchdog armed. */
    hwdog_close(d->hwdog);
    conf_free(d->conf);
    free(d);
}

const struct prog_ops daemon_ops = {daemon_init, daemon_run, daemon_fini};
