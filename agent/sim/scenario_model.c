/*
 * scenario_model.c - the signal model of ember-sim: what a read at time t sees.
 *
 * Owns the evaluation of signals (initial value, step, ramp and
 * thermal-runaway events, per-read noise), the fault windows of devices, and
 * the holds that control commands and peer writes put on them.  Every
 * function is pure in the injected time t (seconds since the start): no
 * clock, no I/O, no printing.  The loader sorts each signal's events and
 * calls scenario_signal_prepare() once per signal it fills in; after that
 * only the queries below run.
 *
 * May call: libm only.  The profile's points are read through the signals,
 * never loaded here.
 */
#include "scenario.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scenario_priv.h"

/* Curvature of the thermal-runaway curve: with k = 4 the last fifth of the
 * interval carries about 55 % of the rise, like a cell that self-heats
 * faster and faster. */
#define RUNAWAY_K 4.0

static double
eval_event(const struct scn_event *e, double t)
{
    double u;

    switch (e->kind) {
    case SCN_STEP:
        return e->to;
    case SCN_RAMP:
        if (t >= e->end)
            return e->to;
        return e->base + (e->to - e->base) * (t - e->start) / (e->end - e->start);
    case SCN_RUNAWAY:
    default:
        if (t >= e->end)
            return e->to;
        u = (t - e->start) / (e->end - e->start);
        /* expm1 keeps precision near u = 0, where the curve is flat. */
        return e->from + (e->to - e->from) * expm1(RUNAWAY_K * u) / expm1(RUNAWAY_K);
    }
}

/* The value given the first n events: the latest-started one decides, from
 * where the signal was when it started. */
static double
eval_events(const struct scn_signal *s, size_t n, double t)
{
    while (n > 0 && s->events[n - 1].start > t)
        n--;
    if (n == 0)
        return s->initial;
    return eval_event(&s->events[n - 1], t);
}

void
scenario_signal_prepare(struct scn_signal *s)
{
    for (size_t k = 0; k < s->nevents; k++)
        s->events[k].base = eval_events(s, k, s->events[k].start);
}

int
scenario_signal_find(const struct scenario *sc, const char *name)
{
    const char *dot = strchr(name, '.');
    size_t dlen;

    if (dot == NULL)
        return -ENOENT;
    dlen = (size_t)(dot - name);
    for (size_t i = 0; i < sc->nsignals; i++) {
        const struct scn_device *d = &sc->devices[sc->signals[i].device];
        if (strlen(d->name) == dlen && strncmp(d->name, name, dlen) == 0 &&
            strcmp(sc->signals[i].point->name, dot + 1) == 0)
            return (int)i;
    }
    return -ENOENT;
}

void
scenario_signal_name(const struct scenario *sc, size_t sig, char *buf, size_t len)
{
    const struct scn_signal *s = &sc->signals[sig];
    snprintf(buf, len, "%s.%s", sc->devices[s->device].name, s->point->name);
}

/* Position on the timeline: loops wrap, time before the start is the start. */
static double
timeline_t(const struct scenario *sc, double t)
{
    if (!(t > 0))
        return 0;
    if (sc->loop > 0)
        return fmod(t, sc->loop);
    return t;
}

double
scenario_timeline(const struct scenario *sc, size_t sig, double t)
{
    const struct scn_signal *s = &sc->signals[sig];
    return eval_events(s, s->nevents, timeline_t(sc, t));
}

/* splitmix64's finaliser: a cheap, well-mixed 64-bit hash. */
static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

double
scenario_value(const struct scenario *sc, size_t sig, double t)
{
    const struct scn_signal *s = &sc->signals[sig];
    double v, u;
    uint64_t h;
    int64_t ms;

    if (s->held)
        return s->held_value;
    v = scenario_timeline(sc, sig, t);
    if (s->noise > 0) {
        /* A hash of the instant rather than a running generator, so the
         * value at t does not depend on how many reads came before (a
         * delayed reply re-encodes the same instant and sees the same
         * noise).  The absolute time is used, so loops do not repeat it. */
        ms = t > 0 ? (int64_t)llround(t * 1000.0) : 0;
        h = mix64(mix64(mix64(sc->seed) ^ (uint64_t)(sig + 1)) ^ (uint64_t)ms);
        u = (double)(h >> 11) * 0x1.0p-53; /* [0, 1) */
        v += s->noise * (2.0 * u - 1.0);
    }
    return v;
}

enum scn_fault
scenario_fault(const struct scenario *sc, size_t dev, double t, int64_t *delay_ms)
{
    const struct scn_device *d = &sc->devices[dev];
    const struct scn_fault_window *best = NULL;
    double tt;

    *delay_ms = 0;
    if (d->fault_held) {
        *delay_ms = d->held_fault == SCN_FAULT_SLOW ? d->held_delay_ms : 0;
        return d->held_fault;
    }
    tt = timeline_t(sc, t);
    for (size_t i = 0; i < d->nfaults; i++) {
        const struct scn_fault_window *w = &d->faults[i];
        if (tt >= w->start && tt < w->start + w->length &&
            (best == NULL || w->start >= best->start))
            best = w;
    }
    if (best == NULL)
        return SCN_FAULT_NONE;
    *delay_ms = best->delay_ms;
    return best->kind;
}

const char *
scenario_fault_name(enum scn_fault f)
{
    static const char *names[] = {"none", "dropout", "slow", "exception", "garbage"};
    return names[f];
}

void
scenario_hold(struct scenario *sc, size_t sig, double value)
{
    sc->signals[sig].held = true;
    sc->signals[sig].held_value = value;
}

void
scenario_release(struct scenario *sc, size_t sig)
{
    sc->signals[sig].held = false;
}
