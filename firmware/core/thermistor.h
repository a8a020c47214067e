/*
 * thermistor.h - NTC thermistor in a divider: ADC count -> resistance ->
 * temperature with the Beta or the Steinhart-Hart equation.
 *
 * The divider is r_fixed from the ADC reference to the pin and the NTC from
 * the pin to ground, so count / PORT_ADC_FULL = R / (R + r_fixed).  The ADC
 * and the divider share the reference, which makes the reading ratiometric:
 * the reference voltage itself drops out.
 */
#ifndef EMBER_THERMISTOR_H
#define EMBER_THERMISTOR_H

#include <stdint.h>

enum thermistor_model { THERMISTOR_BETA = 0, THERMISTOR_STEINHART_HART };

struct thermistor {
    enum thermistor_model model;
    float r0;      /* nominal resistance (ohm) at t0 */
    float t0;      /* nominal temperature (K), usually 298.15 */
    float beta;    /* Beta model: B (K) */
    float a, b, c; /* Steinhart-Hart: 1/T = a + b ln R + c (ln R)^3 */
    float r_fixed; /* the divider's fixed resistor (ohm) */
};

/* Natural logarithm for x > 0 (normal floats), without libm: a
 * few hundred bytes of flash less than newlib's logf on a Cortex-M with no
 * FPU.  Relative error below 2e-7. */
float thermistor_ln(float x);

/* NTC resistance for an ADC count.  -ERANGE for 0 and for PORT_ADC_FULL-1
 * or more, where the divider gives no usable answer (shorted or open). */
int thermistor_ohms(const struct thermistor *t, int count, float *ohms);

/* Temperature in 0.01 C, rounded to nearest, for a resistance > 0.
 * -ERANGE when it does not fit an int16 or ohms is not positive. */
int thermistor_centi_c(const struct thermistor *t, float ohms, int16_t *centi);

#endif
