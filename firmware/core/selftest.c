/*
 * selftest.c - checks that need no test equipment.
 *
 * The thermistor check converts the nominal resistance and expects the
 * nominal temperature back within 0.5 C, then checks the curve's slope.
 * Besides the arithmetic that catches board data that does not describe
 * the fitted NTC: Steinhart-Hart coefficients of another thermistor, or a
 * Beta with a wrong sign or unit.  A
 * platform without its own check (-ENOSYS) is not a failure.
 */
#include "selftest.h"

#include <errno.h>

#include "crc16.h"

uint16_t
selftest_run(const struct port *port, const struct thermistor *therm)
{
    static const uint8_t check[] = "123456789";
    uint16_t bits = 0;
    int16_t centi;
    int32_t want;
    int rc;

    if (crc16(check, 9) != 0x4B37)
        bits |= SELFTEST_CRC;

    /* t0 at r0, and an NTC's slope: at half of r0 it must read 5-50 C
     * warmer (a Beta of roughly 1400-12000 K). */
    want = (int32_t)((therm->t0 - 273.15f) * 100.0f + 0.5f);
    if (thermistor_centi_c(therm, therm->r0, &centi) < 0 || centi < want - 50 || centi > want + 50)
        bits |= SELFTEST_THERMISTOR;
    else if (thermistor_centi_c(therm, therm->r0 * 0.5f, &centi) < 0 || centi < want + 500 ||
             centi > want + 5000)
        bits |= SELFTEST_THERMISTOR;

    rc = port->selftest();
    if (rc < 0 && rc != -ENOSYS)
        bits |= SELFTEST_PORT;

    for (unsigned ch = 0; ch < PORT_ADC_COUNT; ch++)
        if (port->adc_read(ch) < 0)
            bits |= SELFTEST_ADC;
    return bits;
}
