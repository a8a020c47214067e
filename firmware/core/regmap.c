/*
 * regmap.c - register tables and the write-protect lock.
 */
#include "regmap.h"

#include <errno.h>
#include <string.h>

void
regmap_init(struct regmap *m, const struct settings *saved, const struct mb_stats *stats)
{
    memset(m, 0, sizeof(*m));
    m->saved = *saved;
    m->staged = *saved;
    m->stats = stats;
    m->in[REG_FW_VERSION] = FW_VERSION_MAJOR << 8 | FW_VERSION_MINOR;
}

static uint16_t
holding(const struct regmap *m, unsigned addr)
{
    switch (addr) {
    case HREG_SLAVE:
    case HREG_BAUD:
    case HREG_PARITY:
    case HREG_GAS_SETPOINT:
        return settings_get(&m->staged, (enum settings_field)addr);
    case HREG_LOCK:
        return m->unlocked ? 0 : 1;
    case HREG_SELFTEST:
        return m->selftest;
    case HREG_FRAMES:
        return m->stats->frames;
    case HREG_CRC_ERRORS:
        return m->stats->crc_errors;
    case HREG_EXCEPTIONS:
        return m->stats->exceptions;
    case HREG_LINE_ERRORS:
        return m->stats->line_errors;
    case HREG_BROADCASTS:
        return m->stats->broadcasts;
    default:
        return 0; /* a gap in the table */
    }
}

int
regmap_read(const struct regmap *m, enum mb_table table, uint16_t addr, uint16_t count,
            uint16_t *out)
{
    unsigned end = (unsigned)addr + count;

    if (table == MB_TABLE_INPUT) {
        if (end > REG_INPUT_COUNT)
            return -ENXIO;
        memcpy(out, &m->in[addr], count * sizeof(*out));
        return 0;
    }
    if (end > REG_HOLDING_COUNT)
        return -ENXIO;
    for (unsigned i = 0; i < count; i++)
        out[i] = holding(m, addr + i);
    return 0;
}

/* The checks for one register, given whether the lock is open at that
 * point of the request. */
static int
check(unsigned addr, uint16_t v, bool unlocked)
{
    switch (addr) {
    case HREG_SLAVE:
    case HREG_BAUD:
    case HREG_PARITY:
    case HREG_GAS_SETPOINT:
        if (settings_check((enum settings_field)addr, v) < 0)
            return -EINVAL;
        return unlocked ? 0 : -EACCES;
    case HREG_LOCK:
        return v == REG_UNLOCK_KEY || v == 0 || v == 1 ? 0 : -EINVAL;
    case HREG_SELFTEST:
        return v == 1 ? 0 : -EINVAL;
    default:
        return -ENXIO; /* gaps and the read-only counters */
    }
}

int
regmap_write(struct regmap *m, uint16_t addr, uint16_t count, const uint16_t *vals, uint32_t now_us)
{
    bool unlocked = m->unlocked;
    int rc;

    if ((unsigned)addr + count > REG_HOLDING_COUNT)
        return -ENXIO;
    /* First pass: check everything, following the lock through the
     * request, so nothing changes unless every register is acceptable. */
    for (unsigned i = 0; i < count; i++) {
        rc = check(addr + i, vals[i], unlocked);
        if (rc < 0)
            return rc;
        if (addr + i == HREG_LOCK)
            unlocked = vals[i] == REG_UNLOCK_KEY;
    }
    for (unsigned i = 0; i < count; i++) {
        unsigned a = addr + i;
        uint16_t v = vals[i];

        if (a <= HREG_GAS_SETPOINT) {
            settings_set(&m->staged, (enum settings_field)a, v);
        } else if (a == HREG_LOCK) {
            if (v == REG_UNLOCK_KEY) {
                m->unlocked = true;
            } else {
                if (m->unlocked && v == 1 && memcmp(&m->staged, &m->saved, sizeof(m->saved)) != 0) {
                    m->saved = m->staged;
                    m->requests |= REGMAP_REQ_COMMIT;
                }
                m->staged = m->saved;
                m->unlocked = false;
            }
        } else {
            m->requests |= REGMAP_REQ_SELFTEST;
        }
    }
    if (m->unlocked)
        m->unlocked_at = now_us;
    return 0;
}

void
regmap_tick(struct regmap *m, uint32_t now_us)
{
    /* Signed: a now_us a little older than the last write is not 71 min on. */
    if (m->unlocked && (int32_t)(now_us - m->unlocked_at) >= (int32_t)REG_UNLOCK_US) {
        m->unlocked = false;
        m->staged = m->saved;
    }
}

unsigned
regmap_take_requests(struct regmap *m)
{
    unsigned r = m->requests;

    m->requests = 0;
    return r;
}
