/*
 * daemon.c - emberd core.
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
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "payload.h"
#include "sensor.h"
#include "util.h"

#define DRAIN_BATCH 256

volatile sig_atomic_t daemon_sig_stop;
volatile sig_atomic_t daemon_sig_hup;
static int wake_fd = -1;

struct daemon {
    struct conf *conf;
    struct loop *loop;
    struct bus_set *buses;
    struct mqtt *mqtt;
    struct sensor_state *sensors;
    char (*topics)[NAME_MAX_LEN + 8];
    uint64_t watchdog_usec;
    int stats_timer;
};

static void
on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;

    if (sig == SIGHUP)
        daemon_sig_hup = 1;
    else
        daemon_sig_stop = 1;
    if (wake_fd >= 0 && write(wake_fd, &c, 1) < 0) {
        /* Nothing safe to do here; the flag is set. */
    }
    errno = saved;
}

void
daemon_signals(struct daemon *d)
{
    struct sigaction sa;

    wake_fd = loop_wakeup_fd(d->loop);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void
publish_sensor(struct daemon *d, int i)
{
    const struct conf_sensor *cs = &d->conf->sensors[i];
    char *json = payload_sensor(&d->sensors[i], cs->unit);

    if (json == NULL)
        return;
    mqtt_publish(d->mqtt, d->topics[i], json, strlen(json), 0, false);
    free(json);
}

static void
on_readings(void *arg, short revents)
{
    struct daemon *d = arg;
    struct bus_reading r[DRAIN_BATCH];
    size_t n;
    (void)revents;

    n = bus_drain(d->buses, r, DRAIN_BATCH);
    for (size_t k = 0; k < n; k++) {
        int i = r[k].sensor;
        const struct conf_sensor *cs = &d->conf->sensors[i];
        const struct conf_device *dev = &d->conf->devices[cs->device];
        struct sensor_state *s = &d->sensors[i];

        if (sensor_update(s, r[k].status, r[k].value, dev->comms_lost_after, r[k].ts_ms)) {
            if (s->quality == Q_GOOD)
                log_info("sensor %s: good", cs->name);
            else
                log_warnx("sensor %s: %s (device %s)", cs->name, quality_name(s->quality),
                          dev->name);
        }
        publish_sensor(d, i);
    }
}

static void
watchdog_tick(void *arg)
{
    struct daemon *d = arg;

    /* Pinged from a loop timer, so a wedged loop stops the pings. */
    sd_notify(0, "WATCHDOG=1");
    loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
}

static void
stats_tick(void *arg)
{
    struct daemon *d = arg;

    for (int b = 0; b < d->conf->nbuses; b++) {
        struct bus_stats st;
        int64_t span;
        bus_get_stats(d->buses, b, &st);
        span = mono_us() - st.since_us;
        log_debug("bus %s: %llu polls, %llu failed, %llu late, utilisation %.1f%%",
                  d->conf->buses[b].name, (unsigned long long)st.polls,
                  (unsigned long long)st.failures, (unsigned long long)st.late,
                  span > 0 ? 100.0 * (double)st.busy_us / (double)span : 0.0);
    }
    d->stats_timer = loop_timer(d->loop, 60000, stats_tick, d);
}

int
daemon_init(struct daemon **out, struct conf *c)
{
    struct daemon *d = xcalloc(1, sizeof(*d));
    int rc;

    d->conf = c;
    d->sensors = xcalloc((size_t)c->nsensors + 1, sizeof(*d->sensors));
    d->topics = xcalloc((size_t)c->nsensors + 1, sizeof(*d->topics));
    for (int i = 0; i < c->nsensors; i++) {
        sensor_init(&d->sensors[i]);
        snprintf(d->topics[i], sizeof(d->topics[i]), "sensor/%s", c->sensors[i].name);
    }
    if ((rc = loop_init(&d->loop)) < 0)
        goto fail;
    if ((rc = mqtt_init(&d->mqtt, c, d->loop, NULL, d)) < 0) {
        log_errx("mqtt: cannot create client: %s", strerror(-rc));
        goto fail;
    }
    if ((rc = bus_start(&d->buses, c)) < 0) {
        log_errx("cannot start bus workers: %s", strerror(-rc));
        goto fail;
    }
    loop_add_fd(d->loop, bus_fd(d->buses), POLLIN, on_readings, d);
    if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec >= 2000)
        loop_timer(d->loop, (int64_t)(d->watchdog_usec / 2000), watchdog_tick, d);
    d->stats_timer = loop_timer(d->loop, 60000, stats_tick, d);
    *out = d;
    return 0;
fail:
    daemon_fini(d);
    return rc;
}

int
daemon_run(struct daemon *d)
{
    sd_notifyf(0, "READY=1\nSTATUS=polling %d devices on %d buses", d->conf->ndevices,
               d->conf->nbuses);
    log_info("running: site %s, agent %s, %d buses, %d devices, %d sensors", d->conf->agent.site,
             d->conf->agent.id, d->conf->nbuses, d->conf->ndevices, d->conf->nsensors);
    while (!daemon_sig_stop) {
        loop_run(d->loop);
        if (daemon_sig_hup) {
            daemon_sig_hup = 0;
            log_warnx("SIGHUP: live reload is not available in this version; restart emberd "
                      "to apply a new configuration");
        }
    }
    sd_notify(0, "STOPPING=1");
    log_info("stopping");
    return 0;
}

void
daemon_fini(struct daemon *d)
{
    if (d == NULL)
        return;
    /* Stop producers first so nothing is published after "offline". */
    bus_stop(d->buses);
    mqtt_fini(d->mqtt, 2000);
    loop_fini(d->loop);
    wake_fd = -1;
    conf_free(d->conf);
    free(d->sensors);
    free(d->topics);
    free(d);
}
