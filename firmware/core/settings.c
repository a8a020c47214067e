/*
 * settings.c - saved settings and their checks.
 *
 * The block is encoded byte by byte (big-endian fields) rather than copied
 * from the struct, so padding and byte order never reach the flash and a
 * block saved by one build loads in the next.
 */
#include "settings.h"

#include <errno.h>

#include "crc16.h"

#define NV_MAGIC0 'E'
#define NV_MAGIC1 'N'
#define NV_VERSION 1

static const uint16_t bauds[] = {48, 96, 192, 384, 576, 1152};

int
settings_check(enum settings_field field, uint16_t v)
{
    switch (field) {
    case SETTINGS_SLAVE:
        return v >= 1 && v <= 247 ? 0 : -EINVAL;
    case SETTINGS_BAUD:
        for (unsigned i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
            if (bauds[i] == v)
                return 0;
        return -EINVAL;
    case SETTINGS_PARITY:
        return v <= PORT_PARITY_EVEN ? 0 : -EINVAL;
    case SETTINGS_GAS:
        return v >= 1 ? 0 : -EINVAL;
    default:
        return -ENXIO;
    }
}

int
settings_set(struct settings *s, enum settings_field field, uint16_t v)
{
    int rc = settings_check(field, v);

    if (rc < 0)
        return rc;
    switch (field) {
    case SETTINGS_SLAVE:
        s->slave = v;
        break;
    case SETTINGS_BAUD:
        s->baud100 = v;
        break;
    case SETTINGS_PARITY:
        s->parity = v;
        break;
    default:
        s->gas_setpoint = v;
        break;
    }
    return 0;
}

uint16_t
settings_get(const struct settings *s, enum settings_field field)
{
    switch (field) {
    case SETTINGS_SLAVE:
        return s->slave;
    case SETTINGS_BAUD:
        return s->baud100;
    case SETTINGS_PARITY:
        return s->parity;
    default:
        return s->gas_setpoint;
    }
}

uint32_t
settings_baud(const struct settings *s)
{
    return (uint32_t)s->baud100 * 100u;
}

int
settings_load(struct settings *s, const struct port *port)
{
    uint8_t b[SETTINGS_NV_SIZE];
    struct settings t;
    int rc = port->nv_load(b, sizeof(b));

    if (rc < 0)
        return rc;
    if (b[0] != NV_MAGIC0 || b[1] != NV_MAGIC1 || b[2] != NV_VERSION)
        return -ENOENT;
    if (crc16(b, 11) != (uint16_t)(b[11] << 8 | b[12]))
        return -ENOENT;
    for (unsigned f = 0; f < SETTINGS_N; f++)
        if (settings_set(&t, (enum settings_field)f, (uint16_t)(b[3 + 2 * f] << 8 | b[4 + 2 * f])) <
            0)
            return -ENOENT;
    *s = t;
    return 0;
}

int
settings_save(const struct settings *s, const struct port *port)
{
    uint8_t b[SETTINGS_NV_SIZE];
    uint16_t crc;

    b[0] = NV_MAGIC0;
    b[1] = NV_MAGIC1;
    b[2] = NV_VERSION;
    for (unsigned f = 0; f < SETTINGS_N; f++) {
        uint16_t v = settings_get(s, (enum settings_field)f);
        b[3 + 2 * f] = (uint8_t)(v >> 8);
        b[4 + 2 * f] = (uint8_t)v;
    }
    crc = crc16(b, 11);
    b[11] = (uint8_t)(crc >> 8);
    b[12] = (uint8_t)crc;
    b[13] = 0xFF; /* pad to whole flash half-words, as erased */
    return port->nv_save(b, sizeof(b));
}
