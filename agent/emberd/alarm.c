/*
 * alarm.c - ISA-18.2 alarm states, deadband, delays, latch, shelve, test,
 * rate of rise and zone voting.
 */
#include "alarm.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct alarm_engine {
    const struct alarm_def *defs;
    int ndefs;
    const struct zone_def *zones;
    int nzones;
    int nsensors;
    struct alarm_state *st;
    struct zone_state *zst;
    int **by_sensor; /* alarms watching each sensor, -1 terminated */
    uint64_t next_seq;
    alarm_event_fn cb;
    void *arg;
    /* Per-sensor last value/rate for adaptive polling. */
    double *last_v;
    bool *has_last;
    double *rate;
    bool *has_rate;
    int64_t *last_t;
};

const char *
alarm_kind_name(int kind)
{
    static const char *n[] = {"high", "low", "rate_of_rise", "contact", "comms_loss", "stale"};
    return n[kind];
}

const char *
severity_name(int sev)
{
    return sev == SEV_CRITICAL ? "critical" : "warning";
}

const char *
transition_name(enum transition tr)
{
    static const char *n[] = {"activated", "cleared", "acked",    "shelved",
                              "unshelved", "test",    "test_end", "drain"};
    return n[tr];
}

bool
alarm_shown_active(const struct alarm_state *st)
{
    return st->active || st->test_until != 0;
}

bool
alarm_shelved(const struct alarm_state *st)
{
    return st->shelve_end_mono != 0;
}

int64_t
alarm_shelve_end_real(const struct alarm_state *st, int64_t now_mono, int64_t now_real)
{
    if (!alarm_shelved(st))
        return 0;
    return now_real + (st->shelve_end_mono - now_mono);
}

static void
emit(struct alarm_engine *e, enum transition tr, int alarm, int zone)
{
    uint64_t seq = e->next_seq++;
    if (alarm >= 0)
        e->st[alarm].seq = seq;
    if (zone >= 0)
        e->zst[zone].seq = seq;
    e->cb(e->arg, tr, alarm, zone, seq);
}

/* Distinct sensors with a real, unshelved, critical alarm that may vote.
 * comms_loss and stale alarms never vote: a sensor that is merely silent or
 * stuck must not drain a site. */
static int
zone_votes(const struct alarm_engine *e, int z, bool shown)
{
    const struct zone_def *zd = &e->zones[z];
    int sensors[zd->nmembers > 0 ? zd->nmembers : 1];
    int n = 0;

    for (int i = 0; i < zd->nmembers; i++) {
        int a = zd->members[i];
        const struct alarm_def *d = &e->defs[a];
        const struct alarm_state *s = &e->st[a];
        bool on = shown ? alarm_shown_active(s) : s->active;
        bool dup = false;

        if (!on || d->severity != SEV_CRITICAL || alarm_shelved(s) || d->kind == AK_COMMS_LOSS ||
            d->kind == AK_STALE)
            continue;
        for (int k = 0; k < n; k++)
            dup |= sensors[k] == d->sensor;
        if (!dup)
            sensors[n++] = d->sensor;
    }
    return n;
}

/* Recomputes every zone's request; a zone whose request changed (or, with
 * announce, one that has never announced any: seq 0) emits TR_DRAIN. */
static void
zones_eval(struct alarm_engine *e, int64_t now_real, bool announce)
{
    for (int z = 0; z < e->nzones; z++) {
        struct zone_state *zs = &e->zst[z];
        int votes = zone_votes(e, z, false);
        bool req = votes >= e->zones[z].vote;
        bool test = !req && zone_votes(e, z, true) >= e->zones[z].vote;
        bool changed = req != zs->request || test != zs->test || (announce && zs->seq == 0);

        zs->votes = votes;
        if (!changed)
            continue;
        zs->request = req;
        zs->test = test;
        zs->since_ms = now_real;
        emit(e, TR_DRAIN, -1, z);
    }
}

static void
zones_update(struct alarm_engine *e, int64_t now_real)
{
    zones_eval(e, now_real, false);
}

void
alarm_zones_settle(struct alarm_engine *e, int64_t now_real)
{
    zones_eval(e, now_real, true);
}

/* Applies delays and latch to decide active/cleared.  Returns true if the
 * state changed. */
static bool
evaluate(struct alarm_engine *e, int a, int64_t now_mono, int64_t now_real)
{
    const struct alarm_def *d = &e->defs[a];
    struct alarm_state *s = &e->st[a];

    if (!s->cond_known)
        return false;
    if (!s->active && s->cond && now_mono - s->cond_since_mono >= d->on_delay_ms) {
        s->active = true;
        s->acked = false;
        s->since_ms = now_real;
        emit(e, TR_ACTIVATED, a, -1);
        return true;
    }
    if (s->active && !s->cond && now_mono - s->cond_since_mono >= d->off_delay_ms &&
        !(d->latch && !s->acked)) {
        s->active = false;
        s->since_ms = now_real;
        emit(e, TR_CLEARED, a, -1);
        return true;
    }
    return false;
}

static void
set_cond(struct alarm_state *s, bool cond, int64_t now_mono)
{
    if (!s->cond_known || cond != s->cond) {
        s->cond = cond;
        s->cond_since_mono = now_mono;
    }
    s->cond_known = true;
}

/* Rate of rise over the window, from the oldest sample still inside it.  A
 * span shorter than a quarter of the window is not trusted (noise over a
 * second looks like a steep slope). */
static void
rate_update(const struct alarm_def *d, struct alarm_state *s, double v, int64_t t)
{
    int oldest;

    s->rs_t[s->rs_head] = t;
    s->rs_v[s->rs_head] = v;
    s->rs_head = (s->rs_head + 1) % RATE_SAMPLES;
    if (s->rs_len < RATE_SAMPLES)
        s->rs_len++;
    while (s->rs_len > 1) {
        oldest = (s->rs_head - s->rs_len + RATE_SAMPLES) % RATE_SAMPLES;
        if (t - s->rs_t[oldest] <= d->window_ms)
            break;
        s->rs_len--;
    }
    oldest = (s->rs_head - s->rs_len + RATE_SAMPLES) % RATE_SAMPLES;
    if (s->rs_len < 2 || t - s->rs_t[oldest] < d->window_ms / 4) {
        s->has_rate = false;
        return;
    }
    s->rate = (v - s->rs_v[oldest]) * 60000.0 / (double)(t - s->rs_t[oldest]);
    s->has_rate = true;
}

static void
reading_one(struct alarm_engine *e, int a, const struct sensor_state *ss, int64_t now_mono)
{
    const struct alarm_def *d = &e->defs[a];
    struct alarm_state *s = &e->st[a];
    bool good = ss->quality == Q_GOOD;
    double v = ss->value;

    if (good) {
        s->has_value = true;
        s->value = v;
    }
    switch (d->kind) {
    case AK_HIGH:
        if (good)
            set_cond(s, s->cond_known && s->cond ? v >= d->setpoint - d->deadband
                                                 : v >= d->setpoint,
                     now_mono);
        break;
    case AK_LOW:
        if (good)
            set_cond(s, s->cond_known && s->cond ? v <= d->setpoint + d->deadband
                                                 : v <= d->setpoint,
                     now_mono);
        break;
    case AK_RATE:
        if (!good)
            break;
        rate_update(d, s, v, now_mono);
        if (s->has_rate) {
            s->value = s->rate;
            set_cond(s, s->cond_known && s->cond ? s->rate >= d->setpoint - d->deadband
                                                 : s->rate >= d->setpoint,
                     now_mono);
        }
        break;
    case AK_CONTACT:
        if (good)
            set_cond(s, d->nc ? v == 0 : v != 0, now_mono);
        break;
    case AK_COMMS_LOSS:
        /* One failed poll (stale) is not yet a loss; keep the condition. */
        if (ss->quality == Q_COMMS_LOST)
            set_cond(s, true, now_mono);
        else if (ss->quality != Q_STALE)
            set_cond(s, false, now_mono);
        break;
    case AK_STALE:
        if (!good)
            break;
        if (!s->st_has_ref || fabs(v - s->st_ref) > d->deadband) {
            s->st_has_ref = true;
            s->st_ref = v;
            s->st_since_mono = now_mono;
        }
        set_cond(s, now_mono - s->st_since_mono >= d->stale_ms, now_mono);
        break;
    }
}

void
alarm_reading(struct alarm_engine *e, int sensor, const struct sensor_state *ss, int64_t now_mono,
              int64_t now_real)
{
    bool changed = false;

    if (sensor < 0 || sensor >= e->nsensors)
        return;
    if (ss->quality == Q_GOOD) {
        /* Track the sensor's own rate for adaptive polling. */
        if (e->has_last[sensor] && now_mono > e->last_t[sensor]) {
            e->rate[sensor] = (ss->value - e->last_v[sensor]) * 60000.0 /
                              (double)(now_mono - e->last_t[sensor]);
            e->has_rate[sensor] = true;
        }
        e->last_v[sensor] = ss->value;
        e->last_t[sensor] = now_mono;
        e->has_last[sensor] = true;
    }
    for (int *p = e->by_sensor[sensor]; *p >= 0; p++) {
        reading_one(e, *p, ss, now_mono);
        changed |= evaluate(e, *p, now_mono, now_real);
    }
    if (changed)
        zones_update(e, now_real);
}

void
alarm_tick(struct alarm_engine *e, int64_t now_mono, int64_t now_real)
{
    bool changed = false;

    for (int a = 0; a < e->ndefs; a++) {
        const struct alarm_def *d = &e->defs[a];
        struct alarm_state *s = &e->st[a];

        if (d->kind == AK_STALE && s->st_has_ref)
            set_cond(s, now_mono - s->st_since_mono >= d->stale_ms, now_mono);
        changed |= evaluate(e, a, now_mono, now_real);
        if (alarm_shelved(s) && s->shelve_end_mono <= now_mono) {
            s->shelve_end_mono = 0;
            emit(e, TR_UNSHELVED, a, -1);
            changed = true;
        }
        if (s->test_until != 0 && s->test_until <= now_mono) {
            s->test_until = 0;
            emit(e, TR_TEST_END, a, -1);
            changed = true;
        }
    }
    if (changed)
        zones_update(e, now_real);
}

int
alarm_ack(struct alarm_engine *e, int a, int64_t now_real)
{
    struct alarm_state *s;

    if (a < 0 || a >= e->ndefs)
        return -ENOENT;
    s = &e->st[a];
    if (s->acked)
        return -EALREADY;
    s->acked = true;
    emit(e, TR_ACKED, a, -1);
    /* A latched alarm whose condition has gone clears on acknowledgement
     * (its off-delay has long been served while it waited). */
    if (s->active && e->defs[a].latch && s->cond_known && !s->cond) {
        s->active = false;
        s->since_ms = now_real;
        emit(e, TR_CLEARED, a, -1);
        zones_update(e, now_real);
    }
    return 0;
}

int
alarm_shelve(struct alarm_engine *e, int a, int64_t duration_ms, int64_t now_mono, int64_t now_real)
{
    if (a < 0 || a >= e->ndefs)
        return -ENOENT;
    if (duration_ms <= 0 || duration_ms > ALARM_SHELVE_MAX_MS)
        return -EINVAL;
    e->st[a].shelve_end_mono = now_mono + duration_ms;
    emit(e, TR_SHELVED, a, -1);
    zones_update(e, now_real);
    return 0;
}

int
alarm_unshelve(struct alarm_engine *e, int a, int64_t now_real)
{
    if (a < 0 || a >= e->ndefs)
        return -ENOENT;
    if (!alarm_shelved(&e->st[a]))
        return -EALREADY;
    e->st[a].shelve_end_mono = 0;
    emit(e, TR_UNSHELVED, a, -1);
    zones_update(e, now_real);
    return 0;
}

int
alarm_test_zone(struct alarm_engine *e, int z, int64_t duration_ms, int64_t now_mono,
                int64_t now_real)
{
    int n = 0;

    if (z < 0 || z >= e->nzones)
        return -ENOENT;
    if (duration_ms <= 0)
        return -EINVAL;
    for (int i = 0; i < e->zones[z].nmembers; i++) {
        int a = e->zones[z].members[i];
        struct alarm_state *s = &e->st[a];
        /* A really active alarm is left alone: a test must not mask it. */
        if (e->defs[a].severity != SEV_CRITICAL || s->active)
            continue;
        s->test_until = now_mono + duration_ms;
        emit(e, TR_TEST, a, -1);
        n++;
    }
    if (n == 0)
        return -EALREADY;
    zones_update(e, now_real);
    return 0;
}

const struct alarm_state *
alarm_get(const struct alarm_engine *e, int a)
{
    return &e->st[a];
}

const struct zone_state *
alarm_zone_get(const struct alarm_engine *e, int z)
{
    return &e->zst[z];
}

uint64_t
alarm_next_seq(const struct alarm_engine *e)
{
    return e->next_seq;
}

uint64_t
alarm_take_seq(struct alarm_engine *e)
{
    return e->next_seq++;
}

void
alarm_set_state(struct alarm_engine *e, int a, const struct alarm_state *st)
{
    e->st[a] = *st;
}

void
alarm_zone_set_state(struct alarm_engine *e, int z, const struct zone_state *zs)
{
    e->zst[z] = *zs;
}

int
alarm_restore(struct alarm_engine *e, int a, bool active, bool acked, int64_t shelved_until,
              int64_t since_ms, uint64_t seq, int64_t now_mono, int64_t now_real)
{
    struct alarm_state *s = &e->st[a];
    int clamped = 0;

    s->active = active;
    s->acked = acked;
    s->shelve_end_mono = 0;
    if (shelved_until != 0) {
        /* The wall clock is all that spans a restart; bound what it says.
         * A shelve that ended while the daemon was down ends now (the
         * monotonic clock is never 0, so the sentinel stays clear). */
        int64_t left = shelved_until - now_real;
        if (left < 0)
            left = 0;
        if (left > ALARM_SHELVE_MAX_MS) {
            left = ALARM_SHELVE_MAX_MS;
            clamped = 1;
        }
        s->shelve_end_mono = now_mono + left;
    }
    s->since_ms = since_ms;
    s->seq = seq;
    /* Until a reading says otherwise, the condition is what it was, so an
     * active alarm is not cleared (nor re-announced) by the restart itself. */
    s->cond = active;
    s->cond_since_mono = now_mono;
    return clamped;
}

bool
alarm_wants_fast(const struct alarm_engine *e, int sensor, int64_t interval_ms)
{
    if (sensor < 0 || sensor >= e->nsensors || !e->has_last[sensor])
        return false;
    for (int *p = e->by_sensor[sensor]; *p >= 0; p++) {
        const struct alarm_def *d = &e->defs[*p];
        double v = e->last_v[sensor];
        double rate = e->has_rate[sensor] ? e->rate[sensor] : 0; /* per minute */
        /* Look ahead at least 10 s: a ramp that began just before the last
         * poll shows only a fraction of its real slope there. */
        int64_t horizon = 2 * interval_ms > 10000 ? 2 * interval_ms : 10000;
        double ahead = rate * (double)horizon / 60000.0;
        double margin = fmax(fmax(d->deadband, 0.05 * fabs(d->setpoint)), 0.5);

        switch (d->kind) {
        case AK_HIGH:
            if (v >= d->setpoint - margin || v + ahead >= d->setpoint)
                return true;
            break;
        case AK_LOW:
            if (v <= d->setpoint + margin || v + ahead <= d->setpoint)
                return true;
            break;
        case AK_RATE:
            if (rate >= d->setpoint / 2)
                return true;
            break;
        default:
            break;
        }
    }
    return false;
}

struct alarm_engine *
alarm_engine_new(const struct alarm_def *defs, int ndefs, const struct zone_def *zones,
                 int nzones, int nsensors, uint64_t next_seq, alarm_event_fn cb, void *arg)
{
    struct alarm_engine *e = xcalloc(1, sizeof(*e));

    e->defs = defs;
    e->ndefs = ndefs;
    e->zones = zones;
    e->nzones = nzones;
    e->nsensors = nsensors;
    e->next_seq = next_seq ? next_seq : 1;
    e->cb = cb;
    e->arg = arg;
    e->st = xcalloc((size_t)ndefs + 1, sizeof(*e->st));
    e->zst = xcalloc((size_t)nzones + 1, sizeof(*e->zst));
    e->by_sensor = xcalloc((size_t)nsensors + 1, sizeof(*e->by_sensor));
    e->last_v = xcalloc((size_t)nsensors + 1, sizeof(double));
    e->rate = xcalloc((size_t)nsensors + 1, sizeof(double));
    e->has_last = xcalloc((size_t)nsensors + 1, sizeof(bool));
    e->has_rate = xcalloc((size_t)nsensors + 1, sizeof(bool));
    e->last_t = xcalloc((size_t)nsensors + 1, sizeof(int64_t));
    for (int a = 0; a < ndefs; a++)
        e->st[a].acked = true; /* normal: cleared and acknowledged */
    for (int sidx = 0; sidx < nsensors; sidx++) {
        int n = 0;
        e->by_sensor[sidx] = xcalloc((size_t)ndefs + 1, sizeof(int));
        for (int a = 0; a < ndefs; a++)
            if (defs[a].sensor == sidx)
                e->by_sensor[sidx][n++] = a;
        e->by_sensor[sidx][n] = -1;
    }
    return e;
}

void
alarm_engine_free(struct alarm_engine *e)
{
    if (e == NULL)
        return;
    for (int s = 0; s < e->nsensors; s++)
        free(e->by_sensor[s]);
    free(e->by_sensor);
    free(e->st);
    free(e->zst);
    free(e->last_v);
    free(e->rate);
    free(e->has_last);
    free(e->has_rate);
    free(e->last_t);
    free(e);
}
