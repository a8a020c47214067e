/*
 * sensor.h - the per-sensor reading state and its quality.
 *
 * Pure logic with the time passed in, so every transition is unit tested:
 *   good       the device answered and the value decoded and is plausible
 *   bad        the device answered, but with a Modbus exception, a "not
 *              available" marker or an implausible value
 *   stale      the latest poll failed; the last good value is carried
 *   comms_lost comms_lost_after polls in a row failed; no value
 */
#ifndef EMBER_SENSOR_H
#define EMBER_SENSOR_H

#include <stdbool.h>
#include <stdint.h>

enum quality { Q_GOOD, Q_STALE, Q_COMMS_LOST, Q_BAD };

/* Outcome of one poll for one point, as the bus worker reports it. */
enum poll_status {
    POLL_OK,        /* value is valid */
    POLL_BAD_VALUE, /* answered, value out of range or marked not available */
    POLL_EXCEPTION, /* answered with a Modbus exception */
    POLL_FAILED,    /* no valid answer: timeout, connection refused, bad CRC, garbage */
};

struct sensor_state {
    enum quality quality;
    bool has_value; /* value is meaningful (good, or stale carrying the last good) */
    double value;
    int64_t ts_ms;  /* real time of the latest poll outcome */
    int fails;      /* consecutive failed polls */
    bool has_good;
    double last_good;
    int64_t last_good_ms;
};

void sensor_init(struct sensor_state *s);

/* Applies one poll outcome.  Returns true when the quality changed. */
bool sensor_update(struct sensor_state *s, enum poll_status st, double value, int comms_lost_after,
                   int64_t now_ms);

const char *quality_name(enum quality q);

#endif
