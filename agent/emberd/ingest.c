/*
 * ingest.c - reading -> sensor -> alarm -> publish, one path for Modbus and
 * GPIO readings.
 *
 * Owns: the sensor states, the alarm engine (its transitions go to
 * outbox_transition), per-sensor message thinning and each device's alert
 * flag.  May call: sensor_*, alarm_*, outbox_sensor/outbox_bind/
 * outbox_restore, bus_drain/bus_set_alert/bus_fd, loop_add_fd/
 * loop_remove_fd.  The wanted poll rate of a device is computed from that
 * device's own sensors (conf_device.sensors, built at load) after its
 * readings, and the bus worker is told only when it changes.
 */
#include "ingest.h"

#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define DRAIN_BATCH 256

struct ingest {
    const struct conf *conf;
    struct outbox *outbox;
    struct alarm_engine *engine;
    struct sensor_state *sensors;
    int64_t *published_ms; /* per sensor: when its last message went out */
    bool *pending;         /* per sensor: a thinned value waits to go out */
    bool *listed;          /* per sensor: in pending_list */
    int *pending_list;     /* every sensor with pending set (and maybe others) */
    int npending;
    bool *dev_alert; /* per device: alert polling requested */
    struct bus_set *buses;
};

static void
alloc_states(struct ingest *in, const struct conf *c)
{
    in->sensors = xcalloc((size_t)c->nsensors + 1, sizeof(*in->sensors));
    in->published_ms = xcalloc((size_t)c->nsensors + 1, sizeof(int64_t));
    in->pending = xcalloc((size_t)c->nsensors + 1, sizeof(bool));
    in->listed = xcalloc((size_t)c->nsensors + 1, sizeof(bool));
    in->pending_list = xcalloc((size_t)c->nsensors + 1, sizeof(int));
    in->npending = 0;
    in->dev_alert = xcalloc((size_t)c->ndevices + 1, sizeof(bool));
}

static void
free_states(struct ingest *in)
{
    free(in->sensors);
    free(in->published_ms);
    free(in->pending);
    free(in->listed);
    free(in->pending_list);
    free(in->dev_alert);
}

int
ingest_init(struct ingest **out, const struct conf *c, struct outbox *ob)
{
    struct ingest *in = xcalloc(1, sizeof(*in));
    int rc;

    in->conf = c;
    in->outbox = ob;
    alloc_states(in, c);
    for (int i = 0; i < c->nsensors; i++)
        sensor_init(&in->sensors[i]);
    in->engine = alarm_engine_new(c->alarm_defs, c->nalarms, c->zone_defs, c->nzones,
                                  c->nsensors, outbox_first_seq(ob), outbox_transition, ob);
    outbox_bind(ob, c, in->engine);
    if ((rc = outbox_restore(ob, in->engine, mono_ms(), real_ms())) < 0) {
        ingest_free(in);
        return rc;
    }
    *out = in;
    return 0;
}

void
ingest_free(struct ingest *in)
{
    if (in == NULL)
        return;
    alarm_engine_free(in->engine);
    free_states(in);
    free(in);
}

/* The one path.  Alarms first: an alarm is what a subscriber is waiting
 * for.  The sensor message goes out now when the quality changed or the
 * period since the last one has passed, else when the period ends. */
static void
take(struct ingest *in, int i, enum poll_status st, double value, int comms_lost_after,
     int64_t ts_ms, int64_t now_mono)
{
    const struct conf_sensor *cs = &in->conf->sensors[i];
    struct sensor_state *s = &in->sensors[i];
    bool changed = sensor_update(s, st, value, comms_lost_after, ts_ms);

    if (changed) {
        if (s->quality == Q_GOOD)
            log_info("sensor %s: good", cs->name);
        else if (cs->device >= 0)
            log_warnx("sensor %s: %s (device %s)", cs->name, quality_name(s->quality),
                      in->conf->devices[cs->device].name);
        else
            log_warnx("sensor %s: %s", cs->name, quality_name(s->quality));
    }
    alarm_reading(in->engine, i, s, now_mono, ts_ms);
    if (changed || ts_ms - in->published_ms[i] >= INGEST_SENSOR_PERIOD_MS) {
        outbox_sensor(in->outbox, i, s);
        in->published_ms[i] = ts_ms;
        in->pending[i] = false; /* dropped from the list at the next tick */
    } else {
        in->pending[i] = true;
        if (!in->listed[i]) {
            in->listed[i] = true;
            in->pending_list[in->npending++] = i;
        }
    }
}

/* Adaptive polling: the device's own sensors decide its rate. */
static void
update_alert(struct ingest *in, int device)
{
    const struct conf_device *dev = &in->conf->devices[device];
    bool want = false;

    if (dev->adaptive_off)
        return;
    for (int k = 0; k < dev->sensors.n && !want; k++)
        want = alarm_wants_fast(in->engine, dev->sensors.v[k], dev->interval_ms);
    if (want != in->dev_alert[device]) {
        in->dev_alert[device] = want;
        log_debug("device %s: %s polling", dev->name, want ? "alert" : "normal");
        bus_set_alert(in->buses, device, want);
    }
}

void
ingest_readings(struct ingest *in, const struct bus_reading *r, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int i = r[k].sensor, dev;
        if (i < 0 || i >= in->conf->nsensors)
            continue;
        dev = in->conf->sensors[i].device;
        if (dev < 0)
            continue;
        take(in, i, r[k].status, r[k].value, in->conf->devices[dev].comms_lost_after,
             r[k].ts_ms, r[k].mono_us / 1000);
        if (k + 1 == n || r[k + 1].sensor < 0 || r[k + 1].sensor >= in->conf->nsensors ||
            in->conf->sensors[r[k + 1].sensor].device != dev)
            update_alert(in, dev);
    }
}

void
ingest_gpio(void *arg, const struct gpio_event *ev)
{
    struct ingest *in = arg;
    const struct conf_index *ix;

    if (ev->input < 0 || ev->input >= in->conf->ninputs)
        return;
    ix = &in->conf->input_sensors[ev->input];
    log_debug("gpio %s: %d", in->conf->inputs[ev->input]->name, ev->value);
    /* A contact either reads or does not: one reading is the whole story. */
    for (int k = 0; k < ix->n; k++)
        take(in, ix->v[k], POLL_OK, ev->value, 1, ev->ts_ms, ev->mono_us / 1000);
}

void
ingest_tick(struct ingest *in, int64_t now_mono, int64_t now_real)
{
    int kept = 0;

    alarm_tick(in->engine, now_mono, now_real);
    for (int k = 0; k < in->npending; k++) {
        int i = in->pending_list[k];
        if (in->pending[i] && now_real - in->published_ms[i] >= INGEST_SENSOR_PERIOD_MS) {
            outbox_sensor(in->outbox, i, &in->sensors[i]);
            in->published_ms[i] = now_real;
            in->pending[i] = false;
        }
        if (in->pending[i])
            in->pending_list[kept++] = i;
        else
            in->listed[i] = false;
    }
    in->npending = kept;
}

static void
on_readings(void *arg, short revents)
{
    struct ingest *in = arg;
    struct bus_reading r[DRAIN_BATCH];
    (void)revents;

    outbox_batch(in->outbox, true);
    ingest_readings(in, r, bus_drain(in->buses, r, DRAIN_BATCH));
    outbox_batch(in->outbox, false);
}

void
ingest_attach_bus(struct ingest *in, struct loop *l, struct bus_set *bs)
{
    in->buses = bs;
    loop_add_fd(l, bus_fd(bs), POLLIN, on_readings, in);
}

struct bus_set *
ingest_detach_bus(struct ingest *in, struct loop *l)
{
    struct bus_set *bs = in->buses;

    if (bs != NULL)
        loop_remove_fd(l, bus_fd(bs));
    in->buses = NULL;
    return bs;
}

struct bus_set *
ingest_bus(const struct ingest *in)
{
    return in->buses;
}

void
ingest_reload(struct ingest *in, const struct conf *nc, int64_t now_mono, int64_t now_real)
{
    const struct conf *oc = in->conf;
    struct ingest old = *in;
    struct alarm_engine *ne;

    alloc_states(in, nc);
    for (int i = 0; i < nc->nsensors; i++) {
        int o = conf_sensor_find(oc, nc->sensors[i].name);
        if (o >= 0)
            in->sensors[i] = old.sensors[o];
        else
            sensor_init(&in->sensors[i]);
    }
    ne = alarm_engine_new(nc->alarm_defs, nc->nalarms, nc->zone_defs, nc->nzones, nc->nsensors,
                          alarm_next_seq(old.engine), outbox_transition, in->outbox);
    for (int a = 0; a < nc->nalarms; a++) {
        int o = conf_alarm_find(oc, nc->alarm_defs[a].name);
        const struct alarm_def *od, *nd = &nc->alarm_defs[a];
        const struct alarm_state *st;
        if (o < 0)
            continue;
        od = &oc->alarm_defs[o];
        st = alarm_get(old.engine, o);
        if (od->kind == nd->kind &&
            strcmp(oc->sensors[od->sensor].name, nc->sensors[nd->sensor].name) == 0)
            alarm_set_state(ne, a, st);
        else
            alarm_restore(ne, a, st->active, st->acked,
                          alarm_shelve_end_real(st, now_mono, now_real), st->since_ms, st->seq,
                          now_mono, now_real);
    }
    for (int z = 0; z < nc->nzones; z++) {
        int o = conf_zone_find(oc, nc->zone_defs[z].name);
        if (o >= 0)
            alarm_zone_set_state(ne, z, alarm_zone_get(old.engine, o));
    }
    alarm_engine_free(old.engine);
    free_states(&old);
    in->engine = ne;
    in->conf = nc;
    outbox_bind(in->outbox, nc, ne);
    /* A new zone, or one whose members changed, says where it stands. */
    alarm_zones_settle(ne, real_ms());
}

const struct conf *
ingest_conf(const struct ingest *in)
{
    return in->conf;
}

struct alarm_engine *
ingest_engine(const struct ingest *in)
{
    return in->engine;
}

const struct sensor_state *
ingest_sensor(const struct ingest *in, int sensor)
{
    return &in->sensors[sensor];
}
