/*
 * payload.h - JSON payloads of the MQTT contract (cJSON), one function per
 * message kind.  Strings returned are malloc'd; the caller frees them.
 */
#ifndef EMBER_PAYLOAD_H
#define EMBER_PAYLOAD_H

#include <stdint.h>

#include "alarm.h"
#include "sensor.h"

/* {p}/{site}/{agent}/sensor/{sensor}:
 * {"ts","value","unit","quality"}; value is null when there is none. */
char *payload_sensor(const struct sensor_state *s, const char *unit);

/* What an alarm payload says beyond the alarm's state (contract v1.1). */
struct payload_alarm_extra {
    int64_t shelved_until; /* wall-clock end of the shelve; 0: not shelved */
    const char *by;        /* the operator of an ack, shelve, unshelve or test
                            * event ("" : none given); NULL: no "by" field */
};

/* {p}/{site}/{agent}/alarm/{alarm} (transition NULL) and .../event (with the
 * transition): {"ts","alarm","sensor","zone","kind","severity","state",
 * "acked","shelved","value","setpoint","unit","since","seq","epoch","test",
 * "message"[,"transition"],"shelved_until"[,"by"]}.  ts is now_real; state
 * is "active" while really active or under test, and test is true only for
 * a test activation; shelved_until is null when not shelved; by is the
 * operator (null when the command named none).  x may be NULL.  epoch is the
 * run of emberd that sends it (contract v1.1): consumers dedupe events on
 * (agent, epoch, seq). */
char *payload_alarm(const struct alarm_def *d, const struct alarm_state *st, const char *sensor,
                    const char *zone, const char *unit, const char *transition,
                    const struct payload_alarm_extra *x, int64_t now_real, uint64_t epoch);

/* The journal self-alarm (alarm/_journal and its events): the same fields,
 * with "sensor", "zone", "value", "setpoint" and "shelved_until" null,
 * "kind" "journal", "severity" "warning"; acked is true once cleared (it
 * clears itself and cannot be acknowledged or shelved).  since_ms 0 gives
 * null. */
char *payload_journal_alarm(bool active, int64_t since_ms, uint64_t seq, uint64_t epoch,
                            const char *message, const char *transition, int64_t now_real);

/* {p}/{site}/{agent}/drain/{zone}:
 * {"ts","zone","request":"drain|none","reason","alarms":[...],"votes","vote",
 *  "seq","epoch","test"}; alarms lists the members counted (or shown, for a
 * test). */
char *payload_drain(const struct zone_def *z, const struct zone_state *zs,
                    const char *const *alarms, int nalarms, int64_t now_real, uint64_t epoch);

#endif
