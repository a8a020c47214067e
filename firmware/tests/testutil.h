/*
 * testutil.h - helpers shared by the firmware unit tests (header-only, so
 * every test binary stays "its own file + every object except main.o").
 */
#ifndef EMBER_TESTUTIL_H
#define EMBER_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crc16.h"

/* Builds an RTU frame: slave, the PDU bytes given as ints, CRC low byte
 * first.  Returns its length. */
static inline size_t
rtu_frame(uint8_t *out, uint8_t slave, size_t n, ...)
{
    va_list ap;
    uint16_t crc;

    out[0] = slave;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (uint8_t)va_arg(ap, int);
    va_end(ap);
    crc = crc16(out, n + 1);
    out[n + 1] = (uint8_t)crc;
    out[n + 2] = (uint8_t)(crc >> 8);
    return n + 3;
}

/* True when the n bytes at buf end with their correct CRC. */
static inline int
rtu_crc_ok(const uint8_t *buf, size_t n)
{
    return n >= 4 && crc16(buf, n - 2) == (uint16_t)(buf[n - 2] | buf[n - 1] << 8);
}

static inline uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
