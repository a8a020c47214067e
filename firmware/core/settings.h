/*
 * settings.h - the node's saved settings: slave address, serial line and
 * gas alarm setpoint, with their ranges and their non-volatile encoding.
 */
#ifndef EMBER_SETTINGS_H
#define EMBER_SETTINGS_H

#include <stdint.h>

#include "port.h"

struct settings {
    uint16_t slave;        /* 1-247 */
    uint16_t baud100;      /* baud / 100: 48, 96, 192, 384, 576 or 1152 */
    uint16_t parity;       /* enum port_parity */
    uint16_t gas_setpoint; /* ppm, 1-65535 */
};

/* Index of each setting, also its holding register address. */
enum settings_field {
    SETTINGS_SLAVE = 0,
    SETTINGS_BAUD,
    SETTINGS_PARITY,
    SETTINGS_GAS,
    SETTINGS_N
};

/* Bytes of the saved block: magic (2), version, the four fields (8),
 * CRC-16, one pad byte: an even size, as flash is written in half-words. */
#define SETTINGS_NV_SIZE 14

/* 0 when v is allowed for field, -EINVAL when out of range, -ENXIO when
 * field is not a setting. */
int settings_check(enum settings_field field, uint16_t v);

/* Sets field to v after settings_check(); returns its result. */
int settings_set(struct settings *s, enum settings_field field, uint16_t v);

/* Reads a field. */
uint16_t settings_get(const struct settings *s, enum settings_field field);

/* Baud rate in bits per second. */
uint32_t settings_baud(const struct settings *s);

/* Loads the saved block through the port.  Returns 0 and fills *s, or
 * leaves *s alone and returns -ENOENT (blank, torn or foreign block: bad
 * magic, version or CRC, or a value out of range), -ENOSYS (no storage on
 * this platform) or the port's error. */
int settings_load(struct settings *s, const struct port *port);

/* Saves *s through the port; 0 or the port's -errno. */
int settings_save(const struct settings *s, const struct port *port);

#endif
