/*
 * bus.h - Modbus polling, one worker thread per [bus].
 *
 * libmodbus calls block, so each bus (a serial line or a TCP endpoint) has
 * its own thread with its own schedule: a dead slave costs its own bus some
 * timeouts and never delays another bus.  Workers hand readings to the main
 * loop through one mailbox (agent/lib/mailbox.h).
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "sensor.h"

struct bus_reading {
    int sensor; /* index into conf.sensors */
    enum poll_status status;
    double value;
    int64_t ts_ms;   /* real time the answer (or failure) came */
    int64_t mono_us; /* same instant on the monotonic clock */
};

struct bus_stats {
    uint64_t polls;    /* device polls attempted */
    uint64_t failures; /* device polls that failed */
    uint64_t late;     /* polls started later than a tenth of their interval */
    uint64_t alert_polls; /* polls made at the alert interval */
    int64_t busy_us;   /* time spent in Modbus transactions */
    int64_t since_us;  /* when counting started */
};

struct bus_set;

/* Starts one thread per bus, polling each device with the read plan
 * conf_load built (conf_device.blocks); c must outlive the set.  Returns 0
 * or -errno. */
int bus_start(struct bus_set **out, const struct conf *c);
/* Index of a worker that has made no progress for longer than any
 * legitimate cycle (a hung Modbus call), or -1.  The watchdog stops its
 * pings while one is stalled, so systemd restarts emberd. */
int bus_stalled(struct bus_set *bs, int64_t now_ms);

/* Asks every worker to stop after its current transaction (they stop
 * posting readings soon after); returns at once.  Safe on NULL. */
void bus_signal_stop(struct bus_set *bs);
/* Stops and joins every worker and frees the set; safe on NULL. */
void bus_stop(struct bus_set *bs);
/* Readable when readings are queued. */
int bus_fd(const struct bus_set *bs);
/* Moves up to max queued readings to out; returns how many. */
size_t bus_drain(struct bus_set *bs, struct bus_reading *out, size_t max);
void bus_get_stats(struct bus_set *bs, int bus, struct bus_stats *st);

/* Adaptive polling: while `on`, the device is polled at its alert interval
 * (TCP default 100 ms; on RTU back to back but never more than half of the
 * bus's time, so other devices keep their schedule).  Safe from the loop
 * thread; wakes the worker.  Goes straight to the device's plan; the ingest
 * calls it only when the wanted rate changes. */
void bus_set_alert(struct bus_set *bs, int device, bool on);

#endif
