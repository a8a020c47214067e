/*
 * alarm.h - the alarm engine: readings in, ISA-18.2 alarm states and zone
 * drain requests out.
 *
 * Pure logic with the time passed in (monotonic ms for every duration:
 * delays, shelves, tests; real ms for timestamps and for what is persisted
 * for a restart), so every transition is unit tested and a step of the wall
 * clock changes no duration.  The engine never does
 * I/O: each state change is reported through a callback, which the daemon
 * turns into MQTT messages and journal entries.
 *
 * States (ISA-18.2): an alarm is active or cleared, acknowledged or not, and
 * may be shelved (suppressed until an expiry) or under test.  Normal is
 * cleared + acknowledged.  Activation makes it unacknowledged; clearing an
 * unacknowledged alarm leaves it "return to normal, unacknowledged".  A
 * latched alarm stays active after its condition clears until it is
 * acknowledged.
 */
#ifndef EMBER_ALARM_H
#define EMBER_ALARM_H

#include <stdbool.h>
#include <stdint.h>

#include "sensor.h"
#include "util.h"

/* The longest shelve, from a command or restored from the journal. */
#define ALARM_SHELVE_MAX_MS (7LL * 24 * 3600 * 1000)

enum alarm_kind { AK_HIGH, AK_LOW, AK_RATE, AK_CONTACT, AK_COMMS_LOSS, AK_STALE };
enum severity { SEV_WARNING, SEV_CRITICAL };

/* What happened to an alarm or a zone; names are the "transition" field. */
enum transition {
    TR_ACTIVATED,
    TR_CLEARED,
    TR_ACKED,
    TR_SHELVED,
    TR_UNSHELVED,
    TR_TEST,
    TR_TEST_END,
    TR_DRAIN, /* zone request changed (drain or none) */
};

struct alarm_def {
    char name[NAME_MAX_LEN + 1];
    int sensor; /* index of the sensor it watches */
    int zone;   /* zone index, -1 for none */
    int kind;   /* enum alarm_kind */
    double setpoint; /* high/low: value; rate: units per minute */
    double deadband;
    int64_t window_ms;    /* rate: measurement window */
    int64_t stale_ms;     /* stale: unchanged this long */
    int64_t on_delay_ms;  /* condition must hold this long before activating */
    int64_t off_delay_ms; /* condition must be gone this long before clearing */
    int severity;         /* enum severity */
    bool latch;
    int nc; /* contact: 0 normally open (alarm when closed), 1 normally closed */
    char *message;
    int line;
};

struct zone_def {
    char name[NAME_MAX_LEN + 1];
    int vote; /* distinct sensors with an active critical alarm needed to drain */
    int *members; /* alarm indices */
    int nmembers;
    char *drain; /* targets, for the drain controller (informational here) */
    int line;
};

#define RATE_SAMPLES 256

struct alarm_state {
    bool cond;               /* raw condition, after deadband */
    bool cond_known;         /* a usable reading has been seen */
    int64_t cond_since_mono; /* when cond last changed */
    bool active;
    bool acked;
    int64_t shelve_end_mono; /* mono ms the shelve ends; 0 when not shelved */
    int64_t test_until;    /* mono ms; 0 when not under test */
    int64_t since_ms;      /* real ms of the last activation or clearing */
    bool has_value;
    double value;
    uint64_t seq; /* seq of this alarm's latest event */
    /* rate of rise: ring of recent good samples */
    int rs_head, rs_len;
    int64_t rs_t[RATE_SAMPLES];
    double rs_v[RATE_SAMPLES];
    double rate; /* latest estimate, units per minute */
    bool has_rate;
    /* stale: reference value and when it was last seen to change */
    bool st_has_ref;
    double st_ref;
    int64_t st_since_mono;
};

struct zone_state {
    bool request; /* real drain request */
    bool test;    /* a test drain request is being shown */
    int votes;    /* distinct sensors counted */
    int64_t since_ms;
    uint64_t seq;
};

struct alarm_engine;

/* Reports one transition.  alarm >= 0 for alarm transitions, zone >= 0 for
 * TR_DRAIN.  The daemon publishes and journals it; `seq` is already assigned. */
typedef void (*alarm_event_fn)(void *arg, enum transition tr, int alarm, int zone, uint64_t seq);

/* defs/zones are borrowed and must outlive the engine.  next_seq is the
 * first sequence number to hand out. */
struct alarm_engine *alarm_engine_new(const struct alarm_def *defs, int ndefs,
                                      const struct zone_def *zones, int nzones,
                                      int nsensors, uint64_t next_seq, alarm_event_fn cb,
                                      void *arg);
void alarm_engine_free(struct alarm_engine *e);

/* Feeds one sensor reading (its state after sensor_update()). */
void alarm_reading(struct alarm_engine *e, int sensor, const struct sensor_state *s,
                   int64_t now_mono, int64_t now_real);
/* Runs delays, shelve expiry, test expiry and stale checks; call often
 * (every 50-100 ms).  Shelves and tests end by now_mono alone. */
void alarm_tick(struct alarm_engine *e, int64_t now_mono, int64_t now_real);

/* Operator actions.  Return 0, or -ENOENT (unknown), -EALREADY (nothing to
 * do: already acknowledged, not shelved...) or -EINVAL. */
int alarm_ack(struct alarm_engine *e, int alarm, int64_t now_real);
/* A shelve lasts duration_ms (1 ms .. ALARM_SHELVE_MAX_MS) of the monotonic
 * clock, whatever the wall clock does meanwhile. */
int alarm_shelve(struct alarm_engine *e, int alarm, int64_t duration_ms, int64_t now_mono,
                 int64_t now_real);
int alarm_unshelve(struct alarm_engine *e, int alarm, int64_t now_real);
/* Shows a test activation on every critical member of the zone (and a test
 * drain request) for duration_ms.  Test activations never count as votes. */
int alarm_test_zone(struct alarm_engine *e, int zone, int64_t duration_ms, int64_t now_mono,
                    int64_t now_real);

const struct alarm_state *alarm_get(const struct alarm_engine *e, int alarm);
const struct zone_state *alarm_zone_get(const struct alarm_engine *e, int zone);
/* Restores persisted state at start-up (before any reading).  shelved_until
 * is the persisted wall-clock end of a shelve (0: none), read against
 * now_real and bounded: one already past ends at the next alarm_tick() (with
 * its TR_UNSHELVED), one further ahead than ALARM_SHELVE_MAX_MS is clamped to
 * it.  Returns 1 when it clamped, else 0. */
int alarm_restore(struct alarm_engine *e, int alarm, bool active, bool acked, int64_t shelved_until,
                  int64_t since_ms, uint64_t seq, int64_t now_mono, int64_t now_real);
/* The wall-clock end of the alarm's shelve as of now, to persist for a
 * restart (0 when not shelved). */
int64_t alarm_shelve_end_real(const struct alarm_state *st, int64_t now_mono, int64_t now_real);
/* Brings every zone in line with its alarms without a reading: a zone
 * whose request differs from the restored one (a test that ended with the
 * restart, a journal from before zones were kept), or that has never
 * announced a request (seq 0), emits TR_DRAIN with a new seq.  A zone whose
 * restored request still holds stays silent and keeps its seq.  Call once
 * after restoring (start-up, reload). */
void alarm_zones_settle(struct alarm_engine *e, int64_t now_real);
uint64_t alarm_next_seq(const struct alarm_engine *e);
/* Hands out the next seq for an event the engine does not make itself (the
 * journal self-alarm), so one counter numbers every event of the agent. */
uint64_t alarm_take_seq(struct alarm_engine *e);
/* Carries states across a configuration reload, and restores a zone's
 * last announced request at start-up (after its alarms' alarm_restore,
 * before alarm_zones_settle); no events are emitted. */
void alarm_set_state(struct alarm_engine *e, int alarm, const struct alarm_state *st);
void alarm_zone_set_state(struct alarm_engine *e, int zone, const struct zone_state *zs);

/* True when the alarm is shown active: really active, or under test. */
bool alarm_shown_active(const struct alarm_state *st);
/* True from alarm_shelve() (or a restore) until the TR_UNSHELVED transition:
 * alarm_unshelve(), or the alarm_tick() that sees the end pass. */
bool alarm_shelved(const struct alarm_state *st);

/* Adaptive polling: true when a sensor is close enough to one of its alarms
 * that its device should be polled at the fast alert interval: within
 * `margin` of a high/low setpoint (margin = max(deadband, 5% of |setpoint|,
 * 0.5)), heading across it at its current rate within two base intervals
 * (at least 10 s),
 * or rising faster than half a rate-of-rise setpoint. */
bool alarm_wants_fast(const struct alarm_engine *e, int sensor, int64_t interval_ms);

const char *alarm_kind_name(int kind);
const char *severity_name(int sev);
const char *transition_name(enum transition tr);

#endif
