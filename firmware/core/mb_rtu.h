/*
 * mb_rtu.h - Modbus RTU slave: framing by silent intervals, CRC, function
 * codes 03, 04, 06 and 16, exceptions and broadcasts.
 *
 * The slave knows nothing about registers: it decodes a request, asks a
 * handler (a const table of two functions) to read or write, and encodes
 * the reply or the exception.  Time comes in as arguments, so tests drive
 * the framing with an injected clock.
 */
#ifndef EMBER_MB_RTU_H
#define EMBER_MB_RTU_H

#include <stdbool.h>
#include <stdint.h>

#include "port.h"

#define MB_ADU_MAX 256 /* RTU frame: address + PDU (253) + CRC */
#define MB_READ_MAX 125
#define MB_WRITE_MAX 123

enum mb_exception {
    MB_EX_ILLEGAL_FUNCTION = 1,
    MB_EX_ILLEGAL_ADDRESS = 2,
    MB_EX_ILLEGAL_VALUE = 3,
    MB_EX_DEVICE_FAILURE = 4, /* also: the register is write-protected */
};

enum mb_table { MB_TABLE_HOLDING = 3, MB_TABLE_INPUT = 4 };

/* Register access for the slave.  Each returns 0 or a negative errno that
 * becomes the exception: -ENXIO illegal address, -EINVAL illegal value,
 * -EACCES write-protected (device failure), -ENOSYS illegal function,
 * anything else device failure.  write() must be all-or-nothing: check
 * every value before changing any. */
struct mb_handler {
    int (*read)(void *ctx, enum mb_table table, uint16_t addr, uint16_t count, uint16_t *out);
    int (*write)(void *ctx, uint16_t addr, uint16_t count, const uint16_t *vals);
};

/* Counters, wrapping at 2^16 like the Modbus diagnostics counters. */
struct mb_stats {
    uint16_t frames;      /* good CRC, for this slave or broadcast */
    uint16_t crc_errors;  /* any frame on the bus with a bad CRC */
    uint16_t exceptions;  /* exception replies sent */
    uint16_t line_errors; /* frames dropped: parity/framing/overrun, t1.5 gap, too long/short */
    uint16_t broadcasts;  /* good broadcast frames (address 0) */
};

struct mb_rtu {
    const struct port *port;
    const struct mb_handler *handler;
    void *ctx;
    uint8_t slave;
    bool strict_t15;
    uint32_t tchar_us, t15_us, t35_us;
    uint32_t last_us; /* arrival of the newest byte */
    uint16_t rx_len;
    bool rx_bad;
    struct mb_stats stats;
    uint8_t rx[MB_ADU_MAX];
    uint8_t tx[MB_ADU_MAX];
};

/* Sets up a slave with no line yet; call mb_rtu_set_line() before use. */
void mb_rtu_init(struct mb_rtu *m, const struct port *port, const struct mb_handler *h, void *ctx);

/* Slave address (1-247) and the line's character timing.  t1.5 and t3.5 are
 * 1.5 and 3.5 eleven-bit characters, fixed at 750 and 1750 us above 19200
 * baud as the serial line spec says; min_t35_us raises t3.5 for links with
 * coarse timestamps (a pty delivers bytes in bursts).  A strict slave also
 * drops frames with a silence between t1.5 and t3.5 inside them; many USB
 * RS485 adapters pause that long, so it is off unless asked for.  Discards
 * any half-received frame. */
void mb_rtu_set_line(struct mb_rtu *m, uint8_t slave, uint32_t baud, uint32_t min_t35_us,
                     bool strict_t15);

/* One byte (or -EIO for a byte received with a line error) that arrived at
 * t_us.  A silence of t3.5 or more before it completes the previous frame,
 * which is handled (and answered) first. */
void mb_rtu_rx(struct mb_rtu *m, int c, uint32_t t_us);

/* Completes the pending frame once t3.5 has passed since its last byte.
 * Returns 1 when a frame was handled, 0 otherwise.  now_us must not be
 * older than the newest byte passed to mb_rtu_rx(). */
int mb_rtu_poll(struct mb_rtu *m, uint32_t now_us);

/* Microseconds until mb_rtu_poll() has work, or UINT32_MAX when idle. */
uint32_t mb_rtu_wait_us(const struct mb_rtu *m, uint32_t now_us);

#endif
