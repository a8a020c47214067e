/*
 * ingest.h - one path for every reading, Modbus or GPIO:
 * reading -> sensor state -> alarm engine -> sensor message, and the
 * device's wanted poll rate back to its bus worker.
 *
 * The ingest owns the sensor states and the alarm engine of the running
 * configuration; a reload hands it the new configuration and it carries
 * every state over by name.
 */
#ifndef EMBER_INGEST_H
#define EMBER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "bus.h"
#include "conf.h"
#include "gpio.h"
#include "loop.h"
#include "outbox.h"
#include "sensor.h"

/* Sensor messages of one sensor go out at most once per this period (alert
 * polling can read a device many times a second); a quality change goes
 * out at once, and a thinned value is sent when the period ends.  The
 * alarm engine sees every reading. */
#define INGEST_SENSOR_PERIOD_MS 100

struct ingest;

/* Creates the sensor states and the alarm engine for c, restores the
 * journaled alarm states and binds the outbox to them.  Returns 0 or
 * -errno (logged). */
int ingest_init(struct ingest **out, const struct conf *c, struct outbox *ob);
/* Frees the states and the engine (not the bus set); safe on NULL. */
void ingest_free(struct ingest *in);

/* Starts reading the bus set's queue from the loop; the ingest tells bs
 * which devices want alert polling.  bs stays the caller's. */
void ingest_attach_bus(struct ingest *in, struct loop *l, struct bus_set *bs);
/* Stops reading it; returns the bus set attached (or NULL). */
struct bus_set *ingest_detach_bus(struct ingest *in, struct loop *l);
struct bus_set *ingest_bus(const struct ingest *in);

/* Readings from the bus workers (a device's readings come together). */
void ingest_readings(struct ingest *in, const struct bus_reading *r, size_t n);
/* A debounced contact change (gpio_event_fn; arg is the ingest): every
 * sensor bound to that input reads it, with the edge's timestamp. */
void ingest_gpio(void *arg, const struct gpio_event *ev);
/* Runs the alarm engine's timers and sends thinned sensor values whose
 * period has ended. */
void ingest_tick(struct ingest *in, int64_t now_mono, int64_t now_real);

/* Switches to configuration nc: new sensor states and engine, carrying
 * sensor, alarm and zone states over by name (no events are emitted), and
 * rebinds the outbox.  The caller frees the old configuration after. */
void ingest_reload(struct ingest *in, const struct conf *nc, int64_t now_mono, int64_t now_real);

const struct conf *ingest_conf(const struct ingest *in);
struct alarm_engine *ingest_engine(const struct ingest *in);
const struct sensor_state *ingest_sensor(const struct ingest *in, int sensor);

#endif
