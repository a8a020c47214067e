/*
 * sampling.h - from raw inputs to readings: thermistor temperatures with a
 * moving average, open/short detection, hottest module, rate of rise, the
 * smoke/heat contact and the 4-20 mA off-gas loop.
 *
 * Pure computation: the node fetches the inputs through the port and hands
 * them in once per sample period, so tests feed exact sequences.
 */
#ifndef EMBER_SAMPLING_H
#define EMBER_SAMPLING_H

#include <stdbool.h>
#include <stdint.h>

#include "mavg.h"
#include "port.h"
#include "thermistor.h"

#define SAMPLING_MODULES 4
#define SAMPLING_INVALID ((int16_t)-32768) /* 0x8000 on the wire: no reading */
#define ROR_SLOTS 13                       /* history points: 12 intervals */

/* Fault bits, as in input register 0x0003. */
#define FAULT_OPEN(i) (1u << (i))        /* bits 0-3: module i+1 open */
#define FAULT_SHORT(i) (1u << (4 + (i))) /* bits 4-7: module i+1 shorted */
#define FAULT_GAS (1u << 8)
#define FAULT_SELFTEST (1u << 15)

struct sampling_config {
    struct thermistor therm;
    uint16_t open_count;  /* a count at or above this is an open thermistor */
    uint16_t short_count; /* a count at or below this is a shorted one */
    uint16_t gas_4ma;     /* ADC counts at 4 mA (0 ppm) and 20 mA (full range) */
    uint16_t gas_20ma;
    uint16_t gas_low;        /* below this the loop is broken (< 3.6 mA) */
    uint16_t gas_high;       /* above this the transmitter reports a fault (> 21 mA) */
    uint16_t gas_range;      /* ppm at 20 mA */
    uint8_t filter_len;      /* moving-average window, samples */
    uint8_t fault_samples;   /* samples in a row to raise or clear a sensor fault */
    uint8_t contact_samples; /* samples in a row to change the contact state */
    uint16_t sample_ms;      /* sample period */
    uint16_t ror_slot_s;     /* seconds between rate-of-rise history points */
};

/* A sensor's confirmed state and the one it may be changing to. */
struct debounce {
    uint8_t state;
    uint8_t next;
    uint8_t count;
};

struct sampling_channel {
    struct mavg filt;
    struct debounce fault; /* 0, FAULT_OPEN or FAULT_SHORT (as class values) */
    int16_t centi;         /* filtered temperature, or SAMPLING_INVALID */
    uint8_t ror_n, ror_pos;
    int16_t ror_hist[ROR_SLOTS];
};

/* Fetched inputs of one sample period.  A negative raw value is a failed
 * conversion (-errno); a negative contact a failed read. */
struct sampling_input {
    int raw[PORT_ADC_COUNT];
    int contact;
};

struct sampling {
    struct sampling_config cfg;
    struct sampling_channel ch[SAMPLING_MODULES];
    struct mavg gas_filt;
    struct debounce gas_fault;
    struct debounce contact;
    uint16_t ror_every; /* samples per history point */
    uint16_t ror_tick;
    /* Readings, refreshed by sampling_update(). */
    int16_t hottest; /* SAMPLING_INVALID when no module reads */
    int16_t ror;     /* 0.01 C/min, the steepest module */
    uint16_t faults; /* FAULT_OPEN/SHORT/GAS bits */
    uint16_t gas_ppm;
    uint16_t gas_alarm;
    bool adc_error; /* a conversion failed in the last sample */
};

/* Clears every reading (temperatures invalid until the first sample). */
void sampling_init(struct sampling *s, const struct sampling_config *cfg);

/* Takes one sample period's inputs.  gas_setpoint is the alarm threshold in
 * ppm; the alarm clears 10% below it. */
void sampling_update(struct sampling *s, const struct sampling_input *in, uint16_t gas_setpoint);

/* Module i's filtered temperature (0.01 C) or SAMPLING_INVALID. */
int16_t sampling_temp(const struct sampling *s, unsigned i);

#endif
