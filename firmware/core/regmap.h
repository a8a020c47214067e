/*
 * regmap.h - the node's register map, version 1.
 *
 * Input registers (FC04) are the published map that emberd's ember-node
 * profile reads; they are a plain array the node refreshes after each
 * sample, so a read is a copy.  Holding registers (FC03/06/16) carry the
 * settings behind a write-protect lock, the self-test and the line
 * counters.  firmware/README.md is the reference for both tables.
 */
#ifndef EMBER_REGMAP_H
#define EMBER_REGMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "mb_rtu.h"
#include "settings.h"

#define FW_VERSION_MAJOR 1
#define FW_VERSION_MINOR 0

/* Input registers.  Addresses between the named ones read as 0, so a
 * master may read the whole map (0x0000-0x0024) in one request. */
enum reg_input {
    REG_FW_VERSION = 0x0000, /* major * 256 + minor */
    REG_UPTIME_HI = 0x0001,  /* uint32 seconds, high word first */
    REG_UPTIME_LO = 0x0002,
    REG_FAULTS = 0x0003,  /* FAULT_* bits (sampling.h) */
    REG_MODULE1 = 0x0010, /* 0x0010-0x0013: int16 0.01 C, 0x8000 = fault */
    REG_HOTTEST = 0x0020, /* int16 0.01 C, 0x8000 when no module reads */
    REG_ROR = 0x0021,     /* int16 0.01 C/min */
    REG_CONTACT = 0x0022, /* 0 normal, 1 alarm */
    REG_GAS_PPM = 0x0023,
    REG_GAS_ALARM = 0x0024,
    REG_INPUT_COUNT
};

/* Holding registers.  0x0000-0x0003 are the settings (enum settings_field). */
enum reg_holding {
    HREG_SLAVE = 0x0000,
    HREG_BAUD = 0x0001,   /* baud / 100 */
    HREG_PARITY = 0x0002, /* 0 none (2 stop bits), 1 odd, 2 even */
    HREG_GAS_SETPOINT = 0x0003,
    HREG_LOCK = 0x0004,     /* reads 1 locked, 0 unlocked; see REG_UNLOCK_KEY */
    HREG_SELFTEST = 0x0005, /* write 1: run; reads SELFTEST_* bits (last run + since) */
    HREG_FRAMES = 0x0010,   /* 0x0010-0x0014: struct mb_stats, read-only */
    HREG_CRC_ERRORS = 0x0011,
    HREG_EXCEPTIONS = 0x0012,
    HREG_LINE_ERRORS = 0x0013,
    HREG_BROADCASTS = 0x0014,
    REG_HOLDING_COUNT
};

/* Writing REG_UNLOCK_KEY to HREG_LOCK unlocks the settings for
 * REG_UNLOCK_US (the window restarts with every accepted write).  Writing 1
 * commits the changed settings (saved, then applied once the reply has
 * gone out) and locks; writing 0 discards them and locks.  An expired
 * window discards, so a half-done change never sticks. */
#define REG_UNLOCK_KEY 0x5AA5
#define REG_UNLOCK_US (60u * 1000000u)

/* What the node must do after the current request has been answered. */
#define REGMAP_REQ_COMMIT (1u << 0)
#define REGMAP_REQ_SELFTEST (1u << 1)

struct regmap {
    uint16_t in[REG_INPUT_COUNT];
    struct settings saved;  /* in force */
    struct settings staged; /* what holding 0x0000-0x0003 read and write */
    bool unlocked;
    uint32_t unlocked_at;
    uint16_t selftest;
    uint8_t requests;
    const struct mb_stats *stats;
};

/* Starts locked with saved settings in force and every input 0. */
void regmap_init(struct regmap *m, const struct settings *saved, const struct mb_stats *stats);

/* Copies count registers from addr.  -ENXIO when any of them is outside the
 * table. */
int regmap_read(const struct regmap *m, enum mb_table table, uint16_t addr, uint16_t count,
                uint16_t *out);

/* Writes holding registers, all or none: -ENXIO outside the writable
 * registers (0x0000-0x0005), -EACCES for a setting while locked, -EINVAL
 * for a value out of range.  Registers are applied in address order, so a
 * request may stage settings and lock (commit) in one go. */
int regmap_write(struct regmap *m, uint16_t addr, uint16_t count, const uint16_t *vals,
                 uint32_t now_us);

/* Locks and discards staged settings once the unlock window has passed. */
void regmap_tick(struct regmap *m, uint32_t now_us);

/* Returns and clears the REGMAP_REQ_* bits. */
unsigned regmap_take_requests(struct regmap *m);

#endif
