/*
 * mavg.h - moving average over the last N samples, integer, fixed memory.
 */
#ifndef EMBER_MAVG_H
#define EMBER_MAVG_H

#include <stdint.h>

#define MAVG_MAX 16

struct mavg {
    int32_t sum;
    uint8_t len; /* window, 1..MAVG_MAX */
    uint8_t n;   /* samples held, up to len */
    uint8_t pos; /* next slot to overwrite */
    int16_t v[MAVG_MAX];
};

/* Empties the filter and sets its window (clamped to 1..MAVG_MAX). */
void mavg_init(struct mavg *f, unsigned len);

/* Forgets every sample; the window stays. */
void mavg_reset(struct mavg *f);

/* Adds a sample and returns the mean of the samples held (up to the
 * window), rounded half away from zero.  Until the window has filled the
 * mean is over the samples so far, so the first reading after a reset is
 * the sample itself rather than a pull towards zero. */
int16_t mavg_push(struct mavg *f, int16_t x);

/* Samples held. */
unsigned mavg_count(const struct mavg *f);

#endif
