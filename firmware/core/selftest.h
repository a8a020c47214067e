/*
 * selftest.h - the node's self-test, run at reset and on request (holding
 * register 0x0005).  Any failed check sets fault bit 15.
 */
#ifndef EMBER_SELFTEST_H
#define EMBER_SELFTEST_H

#include <stdint.h>

#include "port.h"
#include "thermistor.h"

/* Result bits, as read from holding register 0x0005 (0 = all passed). */
#define SELFTEST_CRC (1u << 0)        /* CRC-16 gives its check value */
#define SELFTEST_THERMISTOR (1u << 1) /* the thermistor data gives t0 at r0 */
#define SELFTEST_PORT (1u << 2)       /* the platform's own check (ADC reference) */
#define SELFTEST_ADC (1u << 3)        /* a conversion failed (also set while running) */
#define SELFTEST_NV (1u << 4)         /* saving the settings failed (set when it happens) */

/* Runs every check and returns the failed ones.  Reads each ADC channel
 * once; takes well under a millisecond on the MCU. */
uint16_t selftest_run(const struct port *port, const struct thermistor *therm);

#endif
