/*
 * mb_rtu.c - Modbus RTU slave.
 *
 * Timestamps are taken when a byte has been received, i.e. at the end of its
 * stop bit, so the silence before a byte is the time since the previous one
 * minus one character time.  A frame ends after t3.5 of silence; its CRC is
 * checked before its address, so a corrupted address is counted as a CRC
 * error rather than taken for another slave's traffic.
 */
#include "mb_rtu.h"

#include <errno.h>
#include <string.h>

#include "crc16.h"

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void
mb_rtu_init(struct mb_rtu *m, const struct port *port, const struct mb_handler *h, void *ctx)
{
    memset(m, 0, sizeof(*m));
    m->port = port;
    m->handler = h;
    m->ctx = ctx;
}

void
mb_rtu_set_line(struct mb_rtu *m, uint8_t slave, uint32_t baud, uint32_t min_t35_us,
                bool strict_t15)
{
    /* Every RTU character is 11 bits: start, 8 data, parity or a second
     * stop bit, stop. */
    m->tchar_us = (11u * 1000000u + baud - 1) / baud;
    if (baud > 19200) {
        m->t15_us = 750;
        m->t35_us = 1750;
    } else {
        m->t15_us = m->tchar_us * 3 / 2;
        m->t35_us = m->tchar_us * 7 / 2;
    }
    if (m->t35_us < min_t35_us)
        m->t35_us = min_t35_us;
    m->slave = slave;
    m->strict_t15 = strict_t15;
    m->rx_len = 0;
    m->rx_bad = false;
}

/* Builds an exception PDU; returns its length. */
static int
exception(uint8_t *rsp, uint8_t fc, enum mb_exception ex)
{
    rsp[0] = (uint8_t)(fc | 0x80);
    rsp[1] = (uint8_t)ex;
    return 2;
}

static enum mb_exception
errno_to_exception(int rc)
{
    switch (rc) {
    case -ENXIO:
        return MB_EX_ILLEGAL_ADDRESS;
    case -EINVAL:
        return MB_EX_ILLEGAL_VALUE;
    case -ENOSYS:
        return MB_EX_ILLEGAL_FUNCTION;
    default: /* -EACCES (write-protected) and anything unexpected */
        return MB_EX_DEVICE_FAILURE;
    }
}

/* Handles one request PDU (function code first) into rsp.  Returns the
 * reply PDU's length; the caller drops it for broadcasts.  Broadcast reads
 * are never executed: nobody could receive the result. */
static int
pdu(struct mb_rtu *m, const uint8_t *req, unsigned len, uint8_t *rsp, bool broadcast)
{
    uint16_t words[MB_READ_MAX];
    uint8_t fc = req[0];
    uint16_t addr, count;
    int rc;

    switch (fc) {
    case 0x03:
    case 0x04:
        if (broadcast)
            return 0;
        if (len != 5)
            return exception(rsp, fc, MB_EX_ILLEGAL_VALUE);
        addr = get16(req + 1);
        count = get16(req + 3);
        if (count < 1 || count > MB_READ_MAX)
            return exception(rsp, fc, MB_EX_ILLEGAL_VALUE);
        if ((uint32_t)addr + count > 0x10000)
            return exception(rsp, fc, MB_EX_ILLEGAL_ADDRESS);
        rc = m->handler->read(m->ctx, fc == 0x03 ? MB_TABLE_HOLDING : MB_TABLE_INPUT, addr, count,
                              words);
        if (rc < 0)
            return exception(rsp, fc, errno_to_exception(rc));
        rsp[0] = fc;
        rsp[1] = (uint8_t)(count * 2);
        for (unsigned i = 0; i < count; i++)
            put16(rsp + 2 + 2 * i, words[i]);
        return 2 + 2 * count;

    case 0x06:
        if (len != 5)
            return exception(rsp, fc, MB_EX_ILLEGAL_VALUE);
        words[0] = get16(req + 3);
        rc = m->handler->write(m->ctx, get16(req + 1), 1, words);
        if (rc < 0)
            return exception(rsp, fc, errno_to_exception(rc));
        memcpy(rsp, req, 5); /* the reply echoes the request */
        return 5;

    case 0x10:
        if (len < 6)
            return exception(rsp, fc, MB_EX_ILLEGAL_VALUE);
        addr = get16(req + 1);
        count = get16(req + 3);
        if (count < 1 || count > MB_WRITE_MAX || req[5] != count * 2 || len != 6u + req[5])
            return exception(rsp, fc, MB_EX_ILLEGAL_VALUE);
        if ((uint32_t)addr + count > 0x10000)
            return exception(rsp, fc, MB_EX_ILLEGAL_ADDRESS);
        for (unsigned i = 0; i < count; i++)
            words[i] = get16(req + 6 + 2 * i);
        rc = m->handler->write(m->ctx, addr, count, words);
        if (rc < 0)
            return exception(rsp, fc, errno_to_exception(rc));
        memcpy(rsp, req, 5);
        return 5;

    default:
        return exception(rsp, fc, MB_EX_ILLEGAL_FUNCTION);
    }
}

/* Takes the buffered frame and handles it. */
static void
frame_end(struct mb_rtu *m)
{
    unsigned len = m->rx_len;
    bool bad = m->rx_bad, broadcast;
    int n;

    m->rx_len = 0;
    m->rx_bad = false;
    if (bad) {
        m->stats.line_errors++;
        return;
    }
    /* The shortest request is address, function code and CRC. */
    if (len < 4) {
        m->stats.line_errors++;
        return;
    }
    if (crc16(m->rx, len - 2) != (uint16_t)(m->rx[len - 2] | m->rx[len - 1] << 8)) {
        m->stats.crc_errors++;
        return;
    }
    broadcast = m->rx[0] == 0;
    if (!broadcast && m->rx[0] != m->slave)
        return;
    m->stats.frames++;
    if (broadcast)
        m->stats.broadcasts++;
    n = pdu(m, m->rx + 1, len - 3, m->tx + 1, broadcast);
    if (broadcast || n == 0)
        return;
    if (m->tx[1] & 0x80)
        m->stats.exceptions++;
    m->tx[0] = m->slave;
    uint16_t crc = crc16(m->tx, (size_t)n + 1);
    m->tx[n + 1] = (uint8_t)crc;
    m->tx[n + 2] = (uint8_t)(crc >> 8);
    /* A failed write leaves nothing to undo: the master times out and
     * retries, as it would after noise on the line. */
    (void)m->port->uart_write(m->tx, (size_t)n + 3);
}

/* Silence since the newest byte, or 0 if t is not after it. */
static uint32_t
since_last(const struct mb_rtu *m, uint32_t t)
{
    int32_t d = (int32_t)(t - m->last_us);

    return d > 0 ? (uint32_t)d : 0;
}

void
mb_rtu_rx(struct mb_rtu *m, int c, uint32_t t_us)
{
    if (m->rx_len > 0 || m->rx_bad) {
        uint32_t d = since_last(m, t_us);
        uint32_t silence = d > m->tchar_us ? d - m->tchar_us : 0;

        if (silence >= m->t35_us)
            frame_end(m);
        else if (silence > m->t15_us && m->strict_t15)
            m->rx_bad = true;
    }
    m->last_us = t_us;
    if (c < 0) {
        m->rx_bad = true;
        return;
    }
    if (m->rx_len == MB_ADU_MAX) {
        m->rx_bad = true; /* too long for RTU: noise or two frames run together */
        return;
    }
    m->rx[m->rx_len++] = (uint8_t)c;
}

int
mb_rtu_poll(struct mb_rtu *m, uint32_t now_us)
{
    if (m->rx_len == 0 && !m->rx_bad)
        return 0;
    if (since_last(m, now_us) < m->t35_us)
        return 0;
    frame_end(m);
    return 1;
}

uint32_t
mb_rtu_wait_us(const struct mb_rtu *m, uint32_t now_us)
{
    uint32_t d;

    if (m->rx_len == 0 && !m->rx_bad)
        return UINT32_MAX;
    d = since_last(m, now_us);
    return d >= m->t35_us ? 0 : m->t35_us - d;
}
