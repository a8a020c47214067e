/*
 * daemon.c - emberd core: readings -> sensor states -> alarm engine ->
 * MQTT, plus operator commands from MQTT and the control socket.
 */
#include "daemon.h"

#include <cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "alarm.h"
#include "bus.h"
#include "cmd.h"
#include "ctlsock.h"
#include "gpio.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "payload.h"
#include "sensor.h"
#include "state.h"
#include "util.h"

#define DRAIN_BATCH 256
#define TICK_MS 50
/* Alert polling can read a device many times a second; its sensor
 * messages are thinned to one per this period (alarms see every reading). */
#define SENSOR_MIN_PERIOD_MS 100

volatile sig_atomic_t daemon_sig_stop;
volatile sig_atomic_t daemon_sig_hup;
static int wake_fd = -1;

struct daemon {
    struct conf *conf;
    struct loop *loop;
    struct bus_set *buses;
    struct mqtt *mqtt;
    struct state *state;
    struct alarm_engine *engine;
    struct ctlsock *ctl;
    struct gpio *gpio;
    int gpio_timer;
    bool outputs_on;
    struct sensor_state *sensors;
    int64_t *published_ms; /* per sensor: when its last message went out */
    uint64_t *mid_seq;     /* MQTT message id -> journal seq awaiting PUBACK */
    bool *dev_alert;
    uint64_t watchdog_usec;
    bool stall_logged;
    int64_t started_ms;
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

/* ---- publishing ------------------------------------------------------- */

static void update_outputs(struct daemon *d);
static void send_event(struct daemon *d, uint64_t seq, const char *topic, const char *payload,
                       bool retain, bool critical, const struct state_alarm *sa);

static const char *
alarm_zone_name(const struct daemon *d, int a)
{
    const struct alarm_def *def = &d->conf->alarm_defs[a];
    if (def->zone >= 0)
        return d->conf->zone_defs[def->zone].name;
    return d->conf->sensors[def->sensor].zone;
}

static char *
alarm_json(const struct daemon *d, int a, const char *transition)
{
    const struct alarm_def *def = &d->conf->alarm_defs[a];
    const struct conf_sensor *cs = &d->conf->sensors[def->sensor];
    return payload_alarm(def, alarm_get(d->engine, a), cs->name, alarm_zone_name(d, a), cs->unit,
                         transition, real_ms());
}

static void
publish_alarm_state(struct daemon *d, int a)
{
    char topic[NAME_MAX_LEN + 8];
    char *json = alarm_json(d, a, NULL);

    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "alarm/%s", d->conf->alarm_defs[a].name);
    mqtt_publish(d->mqtt, topic, json, strlen(json), 1, true);
    free(json);
}

/* Names of the member alarms that count (or, for a test, are shown). */
static int
zone_alarms(const struct daemon *d, int z, const char **names, int max)
{
    const struct zone_def *zd = &d->conf->zone_defs[z];
    const struct zone_state *zs = alarm_zone_get(d->engine, z);
    int n = 0;

    for (int i = 0; i < zd->nmembers && n < max; i++) {
        int a = zd->members[i];
        const struct alarm_def *def = &d->conf->alarm_defs[a];
        const struct alarm_state *st = alarm_get(d->engine, a);
        bool on = zs->request ? st->active : alarm_shown_active(st);
        if (on && def->severity == SEV_CRITICAL)
            names[n++] = def->name;
    }
    return n;
}

/* The zone's drain request; journaled when it is a new request (seq),
 * plainly republished (current state) on connect. */
static void
publish_drain(struct daemon *d, int z, bool journal)
{
    const struct zone_def *zd = &d->conf->zone_defs[z];
    const struct zone_state *zs = alarm_zone_get(d->engine, z);
    const char *names[zd->nmembers + 1];
    int n = zone_alarms(d, z, names, zd->nmembers);
    char topic[NAME_MAX_LEN + 8];
    char *json = payload_drain(zd, zs, names, n, real_ms());

    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "drain/%s", zd->name);
    if (journal)
        send_event(d, zs->seq, topic, json, true, zs->request, NULL);
    else
        mqtt_publish(d->mqtt, topic, json, strlen(json), 1, true);
    free(json);
}

#define MID_SLOTS 65536

static struct state_alarm
alarm_record(const struct daemon *d, int a)
{
    const struct alarm_state *st = alarm_get(d->engine, a);
    return (struct state_alarm){
        .name = d->conf->alarm_defs[a].name,
        .active = st->active,
        .acked = st->acked,
        .shelved_until = st->shelved_until,
        .since_ms = st->since_ms,
        .seq = st->seq,
    };
}

/* Publishes a journaled message and remembers which seq its PUBACK frees. */
static void
publish_journaled(struct daemon *d, uint64_t seq, const char *topic, const char *payload,
                  bool retain)
{
    int mid = 0;

    if (mqtt_publish_mid(d->mqtt, topic, payload, strlen(payload), 1, retain, &mid) == 0)
        d->mid_seq[(unsigned)mid % MID_SLOTS] = seq;
}

/* Journal first, then publish: if the broker is away or emberd dies before
 * the PUBACK, the message goes out again on the next connect. */
static void
send_event(struct daemon *d, uint64_t seq, const char *topic, const char *payload, bool retain,
           bool critical, const struct state_alarm *sa)
{
    state_journal_add(d->state, seq, topic, payload, retain, critical, sa);
    publish_journaled(d, seq, topic, payload, retain);
}

static void
on_acked(void *arg, int mid)
{
    struct daemon *d = arg;
    uint64_t *slot = &d->mid_seq[(unsigned)mid % MID_SLOTS];

    if (*slot != 0) {
        state_journal_done(d->state, *slot);
        *slot = 0;
    }
}

static void
replay_one(void *arg, uint64_t seq, const char *topic, const char *payload, bool retain)
{
    publish_journaled(arg, seq, topic, payload, retain);
}

/* Alarm engine callback: every transition becomes an event (QoS 1), the
 * alarm's retained state, and a state-file update. */
static void
on_transition(void *arg, enum transition tr, int a, int z, uint64_t seq)
{
    struct daemon *d = arg;

    state_use_seq(d->state, seq);
    if (tr == TR_DRAIN) {
        const struct zone_state *zs = alarm_zone_get(d->engine, z);
        log_info("zone %s: drain request %s%s (seq %llu)", d->conf->zone_defs[z].name,
                 zs->request || zs->test ? "drain" : "none", zs->test ? " (test)" : "",
                 (unsigned long long)seq);
        publish_drain(d, z, true);
        return;
    }
    {
        char *json = alarm_json(d, a, transition_name(tr));
        const struct alarm_def *def = &d->conf->alarm_defs[a];
        struct state_alarm sa = alarm_record(d, a);
        if (tr == TR_ACTIVATED)
            log_warnx("alarm %s: %s %s (seq %llu)", def->name, severity_name(def->severity),
                      transition_name(tr), (unsigned long long)seq);
        else
            log_info("alarm %s: %s (seq %llu)", def->name, transition_name(tr),
                     (unsigned long long)seq);
        if (json != NULL) {
            send_event(d, seq, "event", json, false, def->severity == SEV_CRITICAL, &sa);
            free(json);
        } else {
            state_save_alarm(d->state, &sa);
        }
    }
    publish_alarm_state(d, a);
    update_outputs(d);
}

/* Local annunciation: the alarm outputs (buzzer, beacon relay) are on while
 * any critical alarm is active, unacknowledged and not shelved. */
static void
update_outputs(struct daemon *d)
{
    bool on = false;
    int64_t now = real_ms();

    if (d->gpio == NULL || d->conf->noutputs == 0)
        return;
    for (int a = 0; a < d->conf->nalarms && !on; a++) {
        const struct alarm_state *st = alarm_get(d->engine, a);
        on = d->conf->alarm_defs[a].severity == SEV_CRITICAL && st->active && !st->acked &&
             !alarm_shelved(st, now);
    }
    if (on == d->outputs_on)
        return;
    d->outputs_on = on;
    for (int o = 0; o < d->conf->noutputs; o++)
        if (gpio_set(d->gpio, o, on) < 0)
            log_warnx("gpio: cannot set output %s", d->conf->outputs[o]->name);
    log_info("alarm outputs %s", on ? "on" : "off");
}

static void
publish_sensor(struct daemon *d, int i)
{
    const struct conf_sensor *cs = &d->conf->sensors[i];
    char topic[NAME_MAX_LEN + 8];
    char *json = payload_sensor(&d->sensors[i], cs->unit);

    if (json == NULL)
        return;
    snprintf(topic, sizeof(topic), "sensor/%s", cs->name);
    mqtt_publish(d->mqtt, topic, json, strlen(json), 0, false);
    free(json);
}

static void
on_connect(void *arg)
{
    struct daemon *d = arg;

    /* Everything not yet acknowledged, oldest first; then the current
     * retained states, which a broker restart may have lost. */
    int64_t pending = state_journal_pending(d->state);
    if (pending > 0)
        log_info("journal: replaying %lld unacknowledged messages", (long long)pending);
    state_journal_each(d->state, replay_one, d);
    for (int a = 0; a < d->conf->nalarms; a++)
        publish_alarm_state(d, a);
    for (int z = 0; z < d->conf->nzones; z++)
        publish_drain(d, z, false);
}

/* ---- readings --------------------------------------------------------- */

static void
update_alert(struct daemon *d, int device)
{
    const struct conf_device *dev = &d->conf->devices[device];
    bool want = false;

    if (dev->adaptive_off)
        return;
    for (int s = 0; s < d->conf->nsensors && !want; s++)
        if (d->conf->sensors[s].device == device)
            want = alarm_wants_fast(d->engine, s, dev->interval_ms);
    if (want != d->dev_alert[device]) {
        d->dev_alert[device] = want;
        log_debug("device %s: %s polling", dev->name, want ? "alert" : "normal");
        bus_set_alert(d->buses, device, want);
    }
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

        bool changed = sensor_update(s, r[k].status, r[k].value, dev->comms_lost_after,
                                     r[k].ts_ms);
        if (changed) {
            if (s->quality == Q_GOOD)
                log_info("sensor %s: good", cs->name);
            else
                log_warnx("sensor %s: %s (device %s)", cs->name, quality_name(s->quality),
                          dev->name);
        }
        /* Alarms first: an alarm is what a subscriber is waiting for. */
        alarm_reading(d->engine, i, s, r[k].mono_us / 1000, r[k].ts_ms);
        if (changed || r[k].ts_ms - d->published_ms[i] >= SENSOR_MIN_PERIOD_MS) {
            publish_sensor(d, i);
            d->published_ms[i] = r[k].ts_ms;
        }
        if (k + 1 == n || r[k + 1].sensor < 0 ||
            d->conf->sensors[r[k + 1].sensor].device != cs->device)
            update_alert(d, cs->device);
    }
}

/* A debounced contact change: the sensors bound to that input read it at
 * once, with the edge's own timestamp. */
static void
on_gpio_event(void *arg, const struct gpio_event *ev)
{
    struct daemon *d = arg;

    for (int i = 0; i < d->conf->nsensors; i++) {
        struct sensor_state *s = &d->sensors[i];
        if (d->conf->sensors[i].gpio != ev->input)
            continue;
        sensor_update(s, POLL_OK, ev->value, 1, ev->ts_ms);
        alarm_reading(d->engine, i, s, ev->mono_us / 1000, ev->ts_ms);
        publish_sensor(d, i);
        log_debug("gpio %s: %d", d->conf->inputs[ev->input]->name, ev->value);
    }
}

static void gpio_arm(struct daemon *d);

static void
gpio_deadline(void *arg)
{
    struct daemon *d = arg;
    d->gpio_timer = 0;
    gpio_dispatch(d->gpio, on_gpio_event, d);
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
    gpio_dispatch(d->gpio, on_gpio_event, d);
    gpio_arm(d);
}

static int
gpio_start(struct daemon *d)
{
    const struct conf *c = d->conf;
    struct gpio_input_def in[c->ninputs + 1];
    struct gpio_output_def out[c->noutputs + 1];
    int rc;

    if (c->ninputs == 0 && c->noutputs == 0)
        return 0;
    for (int i = 0; i < c->ninputs; i++)
        in[i] = (struct gpio_input_def){c->inputs[i]->name, c->inputs[i]->offset,
                                        c->inputs[i]->active_low, c->inputs[i]->debounce_ms};
    for (int i = 0; i < c->noutputs; i++)
        out[i] = (struct gpio_output_def){c->outputs[i]->name, c->outputs[i]->offset,
                                          c->outputs[i]->active_low};
    rc = gpio_open(&d->gpio, c->board->gpio_chip, c->agent.gpio_sim, in, c->ninputs, out,
                   c->noutputs);
    if (rc < 0)
        return rc;
    if (gpio_is_simulated(d->gpio))
        log_info("gpio: simulated backend, write \"NAME 0|1\" lines to %s", c->agent.gpio_sim);
    loop_add_fd(d->loop, gpio_fd(d->gpio), POLLIN, on_gpio, d);
    /* The level at start counts as the first reading. */
    for (int i = 0; i < c->nsensors; i++) {
        int v;
        if (c->sensors[i].gpio < 0 || gpio_get(d->gpio, c->sensors[i].gpio, &v) < 0)
            continue;
        sensor_update(&d->sensors[i], POLL_OK, v, 1, real_ms());
        alarm_reading(d->engine, i, &d->sensors[i], mono_ms(), real_ms());
    }
    return 0;
}

/* ---- commands --------------------------------------------------------- */

static int daemon_reload(struct daemon *d, char *err, size_t errlen);

static int
run_cmd(struct daemon *d, const struct cmd *c, char *err, size_t errlen)
{
    int a = -1, z = -1, rc = 0;
    int64_t now = real_ms();

    if (c->kind == CMD_ACK || c->kind == CMD_SHELVE || c->kind == CMD_UNSHELVE) {
        a = conf_alarm_find(d->conf, c->alarm);
        if (a < 0) {
            snprintf(err, errlen, "unknown alarm \"%s\"", c->alarm);
            return -ENOENT;
        }
    }
    switch (c->kind) {
    case CMD_ACK:
        rc = alarm_ack(d->engine, a, now);
        if (rc == -EALREADY)
            snprintf(err, errlen, "alarm %s is already acknowledged", c->alarm);
        break;
    case CMD_SHELVE:
        rc = alarm_shelve(d->engine, a, c->duration_ms, now);
        break;
    case CMD_UNSHELVE:
        rc = alarm_unshelve(d->engine, a, now);
        if (rc == -EALREADY)
            snprintf(err, errlen, "alarm %s is not shelved", c->alarm);
        break;
    case CMD_TEST:
        z = conf_zone_find(d->conf, c->zone);
        if (z < 0) {
            snprintf(err, errlen, "unknown zone \"%s\"", c->zone);
            return -ENOENT;
        }
        rc = alarm_test_zone(d->engine, z, c->duration_ms, mono_ms(), now);
        if (rc == -EALREADY)
            snprintf(err, errlen, "zone %s has no critical alarm that is not already active",
                     c->zone);
        break;
    case CMD_RELOAD:
        rc = daemon_reload(d, err, errlen);
        break;
    default:
        break;
    }
    if (rc < 0 && err[0] == '\0')
        snprintf(err, errlen, "%s", strerror(-rc));
    return rc;
}

static void
on_message(void *arg, const char *suffix, const void *payload, size_t len)
{
    struct daemon *d = arg;
    struct cmd c;
    char err[256] = "";

    if (strncmp(suffix, "cmd/", 4) != 0)
        return;
    if (cmd_parse(suffix + 4, payload, len, true, &c, err, sizeof(err)) < 0) {
        log_warnx("mqtt command %s rejected: %s", suffix, err);
        return;
    }
    if (run_cmd(d, &c, err, sizeof(err)) < 0) {
        log_warnx("mqtt command %s rejected: %s", suffix, err);
        return;
    }
    log_info("mqtt command %s %s%s%s done", cmd_name(c.kind), c.alarm[0] ? c.alarm : c.zone,
             c.by[0] ? " by " : "", c.by);
}

static cJSON *
status_json(struct daemon *d)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    char ts[32];

    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "site", d->conf->agent.site);
    cJSON_AddStringToObject(o, "agent", d->conf->agent.id);
    cJSON_AddStringToObject(o, "mqtt", mqtt_connected(d->mqtt) ? "connected" : "disconnected");
    cJSON_AddNumberToObject(o, "mqtt_dropped", (double)mqtt_dropped(d->mqtt));
    cJSON_AddNumberToObject(o, "journal_pending", (double)state_journal_pending(d->state));
    cJSON_AddNumberToObject(o, "journal_dropped", (double)state_journal_dropped(d->state));
    cJSON_AddNumberToObject(o, "uptime_s", (double)(mono_ms() - d->started_ms) / 1000.0);
    arr = cJSON_AddArrayToObject(o, "buses");
    for (int b = 0; b < d->conf->nbuses; b++) {
        struct bus_stats st;
        cJSON *x = cJSON_CreateObject();
        int64_t span;
        bus_get_stats(d->buses, b, &st);
        span = mono_us() - st.since_us;
        cJSON_AddStringToObject(x, "name", d->conf->buses[b].name);
        cJSON_AddNumberToObject(x, "polls", (double)st.polls);
        cJSON_AddNumberToObject(x, "failures", (double)st.failures);
        cJSON_AddNumberToObject(x, "late", (double)st.late);
        cJSON_AddNumberToObject(x, "alert_polls", (double)st.alert_polls);
        cJSON_AddNumberToObject(x, "utilisation",
                                span > 0 ? (double)st.busy_us / (double)span : 0.0);
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "sensors");
    for (int i = 0; i < d->conf->nsensors; i++) {
        const struct sensor_state *s = &d->sensors[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", d->conf->sensors[i].name);
        if (s->has_value)
            cJSON_AddNumberToObject(x, "value", s->value);
        else
            cJSON_AddNullToObject(x, "value");
        cJSON_AddStringToObject(x, "unit", d->conf->sensors[i].unit);
        cJSON_AddStringToObject(x, "quality", quality_name(s->quality));
        fmt_rfc3339_ms(s->ts_ms, ts, sizeof(ts));
        if (s->ts_ms > 0)
            cJSON_AddStringToObject(x, "ts", ts);
        else
            cJSON_AddNullToObject(x, "ts");
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "outputs");
    for (int i = 0; d->gpio != NULL && i < d->conf->noutputs; i++) {
        cJSON *x = cJSON_CreateObject();
        int v = 0;
        gpio_get_output(d->gpio, i, &v);
        cJSON_AddStringToObject(x, "name", d->conf->outputs[i]->name);
        cJSON_AddNumberToObject(x, "value", v);
        cJSON_AddItemToArray(arr, x);
    }
    arr = cJSON_AddArrayToObject(o, "zones");
    for (int z = 0; z < d->conf->nzones; z++) {
        const struct zone_state *zs = alarm_zone_get(d->engine, z);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", d->conf->zone_defs[z].name);
        cJSON_AddStringToObject(x, "request", zs->request || zs->test ? "drain" : "none");
        cJSON_AddNumberToObject(x, "votes", zs->votes);
        cJSON_AddNumberToObject(x, "vote", d->conf->zone_defs[z].vote);
        cJSON_AddBoolToObject(x, "test", zs->test && !zs->request);
        cJSON_AddItemToArray(arr, x);
    }
    return o;
}

static cJSON *
alarms_json(struct daemon *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "alarms");

    cJSON_AddBoolToObject(o, "ok", true);
    for (int a = 0; a < d->conf->nalarms; a++) {
        char *json = alarm_json(d, a, NULL);
        cJSON *x = json ? cJSON_Parse(json) : NULL;
        free(json);
        if (x != NULL)
            cJSON_AddItemToArray(arr, x);
    }
    return o;
}

/* A request is one command payload; a client has 2 s to send it and to
 * take the answer. */
static const struct ctlsock_limits ctl_limits = {CMD_MAX_PAYLOAD, 8, 2000};

static char *
ctl_request(void *arg, const char *req, size_t len, uid_t uid, pid_t pid)
{
    struct daemon *d = arg;
    struct cmd c;
    char err[256] = "";
    cJSON *o;
    char *out;
    (void)uid; /* access is by the socket's file mode */
    (void)pid;

    if (cmd_parse_request(req, len, &c, err, sizeof(err)) < 0 ||
        run_cmd(d, &c, err, sizeof(err)) < 0) {
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", false);
        cJSON_AddStringToObject(o, "error", err);
        log_warnx("control command rejected: %s", err);
    } else if (c.kind == CMD_STATUS) {
        o = status_json(d);
    } else if (c.kind == CMD_ALARMS) {
        o = alarms_json(d);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", true);
        log_info("control command %s %s%s%s done", cmd_name(c.kind), c.alarm[0] ? c.alarm : c.zone,
                 c.by[0] ? " by " : "", c.by);
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* ---- timers ----------------------------------------------------------- */

static void
tick(void *arg)
{
    struct daemon *d = arg;
    alarm_tick(d->engine, mono_ms(), real_ms());
    state_journal_flush(d->state);
    loop_timer(d->loop, TICK_MS, tick, d);
}

static void
watchdog_tick(void *arg)
{
    struct daemon *d = arg;

    /* Pinged from a loop timer, so a wedged loop stops the pings; a hung
     * bus worker stops them too. */
    int stalled = bus_stalled(d->buses, mono_ms());
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
        bus_get_stats(d->buses, b, &st);
        span = mono_us() - st.since_us;
        log_debug("bus %s: %llu polls, %llu failed, %llu late, %llu alert, utilisation %.1f%%",
                  d->conf->buses[b].name, (unsigned long long)st.polls,
                  (unsigned long long)st.failures, (unsigned long long)st.late,
                  (unsigned long long)st.alert_polls,
                  span > 0 ? 100.0 * (double)st.busy_us / (double)span : 0.0);
    }
    loop_timer(d->loop, 60000, stats_tick, d);
}

/* ---- reload ------------------------------------------------------------ */

static bool
str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* What a reload cannot change without dropping the MQTT session or the
 * control socket; returns the first such key or NULL. */
static const char *
needs_restart(const struct conf *o, const struct conf *n)
{
    if (strcmp(o->agent.site, n->agent.site) != 0)
        return "[agent] site";
    if (strcmp(o->agent.id, n->agent.id) != 0)
        return "[agent] id";
    if (str_differs(o->agent.journal, n->agent.journal))
        return "[agent] journal";
    if (str_differs(o->agent.control, n->agent.control))
        return "[agent] control";
    if (str_differs(o->mqtt.host, n->mqtt.host) || o->mqtt.port != n->mqtt.port)
        return "[mqtt] host/port";
    if (str_differs(o->mqtt.prefix, n->mqtt.prefix))
        return "[mqtt] prefix";
    if (o->ninputs != n->ninputs || o->noutputs != n->noutputs ||
        str_differs(o->board ? o->board->gpio_chip : NULL, n->board ? n->board->gpio_chip : NULL))
        return "GPIO inputs/outputs";
    for (int i = 0; i < o->ninputs; i++)
        if (strcmp(o->inputs[i]->name, n->inputs[i]->name) != 0 ||
            o->inputs[i]->offset != n->inputs[i]->offset ||
            o->inputs[i]->active_low != n->inputs[i]->active_low ||
            o->inputs[i]->debounce_ms != n->inputs[i]->debounce_ms)
            return "GPIO inputs/outputs";
    for (int i = 0; i < o->noutputs; i++)
        if (strcmp(o->outputs[i]->name, n->outputs[i]->name) != 0 ||
            o->outputs[i]->offset != n->outputs[i]->offset)
            return "GPIO inputs/outputs";
    if (str_differs(o->mqtt.cafile, n->mqtt.cafile) ||
        str_differs(o->mqtt.capath, n->mqtt.capath) ||
        str_differs(o->mqtt.certfile, n->mqtt.certfile) ||
        str_differs(o->mqtt.keyfile, n->mqtt.keyfile) ||
        str_differs(o->mqtt.username, n->mqtt.username) ||
        str_differs(o->mqtt.password, n->mqtt.password))
        return "[mqtt] TLS or login settings";
    if (str_differs(o->mqtt.client_id, n->mqtt.client_id) ||
        o->mqtt.keepalive_s != n->mqtt.keepalive_s || o->mqtt.protocol != n->mqtt.protocol)
        return "[mqtt] client_id/keepalive/protocol";
    return NULL;
}

/* SIGHUP or `emberctl reload`: re-read the configuration; if it is valid,
 * restart the bus workers with it and carry sensor, alarm and zone states
 * over by name, so nothing is re-announced and acknowledgements stay. */
static int
daemon_reload(struct daemon *d, char *err, size_t errlen)
{
    struct cfgerr ce = {0};
    struct conf *nc = NULL, *oc = d->conf;
    struct alarm_engine *ne;
    struct sensor_state *ns;
    const char *why;
    int rc;

    if (conf_load(oc->path, &nc, &ce) < 0) {
        log_warnx("reload: %s has errors; keeping the running configuration:\n%s", oc->path,
                  ce.text ? ce.text : "");
        snprintf(err, errlen, "configuration has %d error(s); first: %.180s", ce.count,
                 ce.text ? ce.text : "?");
        cfgerr_free(&ce);
        return -EINVAL;
    }
    cfgerr_free(&ce);
    if ((why = needs_restart(oc, nc)) != NULL) {
        snprintf(err, errlen, "%s changed: restart emberd to apply it", why);
        log_warnx("reload: %s", err);
        conf_free(nc);
        return -EINVAL;
    }

    /* Stop the old workers first: two contexts must never share a serial
     * line.  If the new ones cannot start, the old configuration resumes. */
    loop_remove_fd(d->loop, bus_fd(d->buses));
    bus_stop(d->buses);
    d->buses = NULL;
    if ((rc = bus_start(&d->buses, nc)) < 0) {
        snprintf(err, errlen, "cannot start bus workers: %s; keeping the running configuration",
                 strerror(-rc));
        log_errx("reload: %s", err);
        conf_free(nc);
        if (bus_start(&d->buses, oc) < 0)
            log_errx("reload: cannot restart the old bus workers either");
        else
            loop_add_fd(d->loop, bus_fd(d->buses), POLLIN, on_readings, d);
        return rc;
    }

    ns = xcalloc((size_t)nc->nsensors + 1, sizeof(*ns));
    for (int i = 0; i < nc->nsensors; i++) {
        int o = conf_sensor_find(oc, nc->sensors[i].name);
        if (o >= 0)
            ns[i] = d->sensors[o];
        else
            sensor_init(&ns[i]);
    }
    ne = alarm_engine_new(nc->alarm_defs, nc->nalarms, nc->zone_defs, nc->nzones, nc->nsensors,
                          alarm_next_seq(d->engine), on_transition, d);
    for (int a = 0; a < nc->nalarms; a++) {
        int o = conf_alarm_find(oc, nc->alarm_defs[a].name);
        if (o < 0)
            continue;
        const struct alarm_def *od = &oc->alarm_defs[o], *nd = &nc->alarm_defs[a];
        if (od->kind == nd->kind &&
            strcmp(oc->sensors[od->sensor].name, nc->sensors[nd->sensor].name) == 0) {
            alarm_set_state(ne, a, alarm_get(d->engine, o));
        } else {
            const struct alarm_state *st = alarm_get(d->engine, o);
            alarm_restore(ne, a, st->active, st->acked, st->shelved_until, st->since_ms, st->seq,
                          mono_ms());
        }
    }
    for (int z = 0; z < nc->nzones; z++) {
        int o = conf_zone_find(oc, nc->zone_defs[z].name);
        if (o >= 0)
            alarm_zone_set_state(ne, z, alarm_zone_get(d->engine, o));
    }

    alarm_engine_free(d->engine);
    d->engine = ne;
    free(d->sensors);
    d->sensors = ns;
    free(d->dev_alert);
    d->dev_alert = xcalloc((size_t)nc->ndevices + 1, sizeof(bool));
    free(d->published_ms);
    d->published_ms = xcalloc((size_t)nc->nsensors + 1, sizeof(int64_t));
    d->conf = nc;
    mqtt_set_conf(d->mqtt, nc);
    conf_free(oc);

    loop_add_fd(d->loop, bus_fd(d->buses), POLLIN, on_readings, d);
    on_connect(d); /* republish states under the new names */
    log_info("reloaded %s: %d buses, %d devices, %d sensors, %d alarms, %d zones", nc->path,
             nc->nbuses, nc->ndevices, nc->nsensors, nc->nalarms, nc->nzones);
    return 0;
}

/* ---- life cycle ------------------------------------------------------- */

static void
restore_one(void *arg, const struct state_alarm *sa)
{
    struct daemon *d = arg;
    int a = conf_alarm_find(d->conf, sa->name);

    if (a >= 0)
        alarm_restore(d->engine, a, sa->active, sa->acked, sa->shelved_until, sa->since_ms,
                      sa->seq, mono_ms());
}

int
daemon_init(struct daemon **out, struct conf *c)
{
    struct daemon *d = xcalloc(1, sizeof(*d));
    char err[512];
    int rc;

    d->conf = c;
    d->started_ms = mono_ms();
    d->sensors = xcalloc((size_t)c->nsensors + 1, sizeof(*d->sensors));
    d->dev_alert = xcalloc((size_t)c->ndevices + 1, sizeof(bool));
    d->published_ms = xcalloc((size_t)c->nsensors + 1, sizeof(int64_t));
    d->mid_seq = xcalloc(MID_SLOTS, sizeof(uint64_t));
    for (int i = 0; i < c->nsensors; i++)
        sensor_init(&d->sensors[i]);
    if ((rc = loop_init(&d->loop)) < 0)
        goto fail;
    if ((rc = state_open(&d->state, c->agent.journal, err, sizeof(err))) < 0) {
        log_errx("cannot open the journal %s ([agent] journal)", err);
        goto fail;
    }
    d->engine = alarm_engine_new(c->alarm_defs, c->nalarms, c->zone_defs, c->nzones,
                                 c->nsensors, state_first_seq(d->state), on_transition, d);
    if ((rc = state_load_alarms(d->state, restore_one, d)) < 0) {
        log_errx("cannot read alarm states from %s", c->agent.journal);
        goto fail;
    }
    if ((rc = ctlsock_open(&d->ctl, c->agent.control, c->agent.control_mode, &ctl_limits, d->loop,
                           ctl_request, d)) < 0) {
        log_errx("cannot create control socket %s ([agent] control): %s", c->agent.control,
                 rc == -EADDRINUSE ? "another emberd is listening on it" : strerror(-rc));
        goto fail;
    }
    state_set_journal_max(d->state, c->agent.journal_max);
    if ((rc = mqtt_init(&d->mqtt, c, d->loop, on_connect, on_message, d)) < 0) {
        log_errx("mqtt: cannot create client: %s", strerror(-rc));
        goto fail;
    }
    mqtt_set_acked_cb(d->mqtt, on_acked);
    if ((rc = gpio_start(d)) < 0)
        goto fail; /* gpio_open has said which chip or line failed */
    if ((rc = bus_start(&d->buses, c)) < 0) {
        log_errx("cannot start bus workers: %s", strerror(-rc));
        goto fail;
    }
    loop_add_fd(d->loop, bus_fd(d->buses), POLLIN, on_readings, d);
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

int
daemon_run(struct daemon *d)
{
    sd_notifyf(0, "READY=1\nSTATUS=polling %d devices on %d buses", d->conf->ndevices,
               d->conf->nbuses);
    log_info("running: site %s, agent %s, %d buses, %d devices, %d sensors, %d alarms, %d zones",
             d->conf->agent.site, d->conf->agent.id, d->conf->nbuses, d->conf->ndevices,
             d->conf->nsensors, d->conf->nalarms, d->conf->nzones);
    while (!daemon_sig_stop) {
        loop_run(d->loop);
        if (daemon_sig_hup) {
            char err[256] = "";
            daemon_sig_hup = 0;
            log_info("SIGHUP: reloading %s", d->conf->path);
            daemon_reload(d, err, sizeof(err));
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
    /* Say "offline" while the workers wind down: a worker in the middle of
     * a long timeout must not delay it.  The loop no longer runs, so nothing
     * is published after it. */
    bus_signal_stop(d->buses);
    mqtt_fini(d->mqtt, 2000);
    bus_stop(d->buses);
    ctlsock_close(d->ctl);
    if (d->gpio != NULL) {
        /* Leave the annunciators off when the agent stops. */
        for (int o = 0; o < d->conf->noutputs; o++)
            gpio_set(d->gpio, o, 0);
        gpio_close(d->gpio);
    }
    alarm_engine_free(d->engine);
    state_close(d->state);
    loop_fini(d->loop);
    wake_fd = -1;
    conf_free(d->conf);
    free(d->sensors);
    free(d->published_ms);
    free(d->mid_seq);
    free(d->dev_alert);
    free(d);
}
