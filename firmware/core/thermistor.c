/*
 * thermistor.c - NTC conversions in single-precision float.
 *
 * Float keeps the equations readable and is exact enough: an error of 1e-7
 * in ln R moves the result by about 2e-6 C (dT/dlnR = -T^2/B, ~22 K).  On
 * the Cortex-M3 the soft-float routines cost ~1.5 KiB of flash, and four
 * conversions ten times a second are a few hundred microseconds of CPU.
 */
#include "thermistor.h"

#include <errno.h>
#include <string.h>

#include "port.h"

#define LN2 0.693147180559945f
#define SQRT2 1.41421356237310f
#define KELVIN 273.15f

float
thermistor_ln(float x)
{
    uint32_t bits;
    float m, s, s2;
    int e;

    /* x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
     * ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1),
     * |s| <= 0.172: the s^11 term is below 1e-9. */
    memcpy(&bits, &x, sizeof(bits));
    e = (int)((bits >> 23) & 0xFF) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u;
    memcpy(&m, &bits, sizeof(m));
    if (m > SQRT2) {
        m *= 0.5f;
        e++;
    }
    s = (m - 1.0f) / (m + 1.0f);
    s2 = s * s;
    return (float)e * LN2 +
           s * (2.0f + s2 * (2.0f / 3 + s2 * (2.0f / 5 + s2 * (2.0f / 7 + s2 * (2.0f / 9)))));
}

int
thermistor_ohms(const struct thermistor *t, int count, float *ohms)
{
    if (count <= 0 || count >= PORT_ADC_FULL - 1)
        return -ERANGE;
    *ohms = t->r_fixed * (float)count / (float)(PORT_ADC_FULL - count);
    return 0;
}

int
thermistor_centi_c(const struct thermistor *t, float ohms, int16_t *centi)
{
    float inv, c;

    if (!(ohms > 0.0f))
        return -ERANGE;
    if (t->model == THERMISTOR_BETA) {
        inv = 1.0f / t->t0 + thermistor_ln(ohms / t->r0) / t->beta;
    } else {
        float l = thermistor_ln(ohms);
        inv = t->a + t->b * l + t->c * l * l * l;
    }
    if (!(inv > 0.0f))
        return -ERANGE;
    c = (1.0f / inv - KELVIN) * 100.0f;
    if (!(c > -32767.5f && c < 32767.5f))
        return -ERANGE;
    *centi = (int16_t)(c >= 0 ? c + 0.5f : c - 0.5f);
    return 0;
}
