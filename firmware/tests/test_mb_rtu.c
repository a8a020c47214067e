/*
 * test_mb_rtu.c - the RTU slave against a stub register table: framing by
 * the 3.5-character silence from an injected clock, CRC, addressing,
 * broadcasts, every function code and every exception.
 *
 * The slave replies through the host port, which captures the bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mb_rtu.h"
#include "port_host.h"
#include "testutil.h"

/* ---- stub register table: 0x0000-0x00FF; holding registers start at
 * 100 + address, input registers read address * 3; writing 0x000E is
 * write-protected (-EACCES), values above 1000 are out of range ---------- */
#define NREGS 256
static uint16_t regs[NREGS];
static unsigned reads, writes;

static int
stub_read(void *ctx, enum mb_table table, uint16_t addr, uint16_t count, uint16_t *out)
{
    (void)ctx;
    reads++;
    if ((unsigned)addr + count > NREGS)
        return -ENXIO;
    for (unsigned i = 0; i < count; i++)
        out[i] = (uint16_t)(table == MB_TABLE_INPUT ? (addr + i) * 3 : regs[addr + i]);
    return 0;
}

static int
stub_write(void *ctx, uint16_t addr, uint16_t count, const uint16_t *vals)
{
    (void)ctx;
    writes++;
    if ((unsigned)addr + count > NREGS)
        return -ENXIO;
    for (unsigned i = 0; i < count; i++) {
        if (addr + i == 0x0E)
            return -EACCES;
        if (vals[i] > 1000)
            return -EINVAL;
    }
    for (unsigned i = 0; i < count; i++)
        regs[addr + i] = vals[i];
    return 0;
}

static const struct mb_handler stub = {stub_read, stub_write};
static struct mb_rtu m;
static uint8_t rsp[512];

/* 19200 baud: a character is 573 us, t1.5 859 us, t3.5 2005 us. */
#define TCHAR 573u
#define T35 2005u

static int
setup(void **state)
{
    (void)state;
    host_port_reset();
    memset(regs, 0, sizeof(regs));
    for (unsigned i = 0; i < NREGS; i++)
        regs[i] = (uint16_t)(100 + i);
    reads = writes = 0;
    mb_rtu_init(&m, &port_host, &stub, NULL);
    mb_rtu_set_line(&m, 17, 19200, 0, false);
    return 0;
}

/* Delivers a frame byte by byte, back to back from t (a byte's timestamp is
 * the end of its stop bit); returns the time of its last byte. */
static uint32_t
deliver(const uint8_t *f, size_t n, uint32_t t)
{
    for (size_t i = 0; i < n; i++)
        mb_rtu_rx(&m, f[i], t + (uint32_t)i * TCHAR);
    return t + (uint32_t)(n - 1) * TCHAR;
}

/* Delivers a frame and polls once its t3.5 has passed; returns the reply
 * length (0 for none). */
static size_t
transact(const uint8_t *f, size_t n, uint32_t t)
{
    uint32_t last = deliver(f, n, t);

    mb_rtu_poll(&m, last + T35);
    return host_port_tx(rsp, sizeof(rsp));
}

static void
expect_exception(const uint8_t *f, size_t n, uint8_t fc, uint8_t ex)
{
    size_t r = transact(f, n, 1000);

    assert_int_equal(r, 5);
    assert_true(rtu_crc_ok(rsp, r));
    assert_int_equal(rsp[0], 17);
    assert_int_equal(rsp[1], fc | 0x80);
    assert_int_equal(rsp[2], ex);
}

static void
test_timing_constants(void **state)
{
    (void)state;
    assert_int_equal(m.tchar_us, TCHAR);
    assert_int_equal(m.t15_us, 859);
    assert_int_equal(m.t35_us, T35);
    mb_rtu_set_line(&m, 17, 9600, 0, false);
    assert_int_equal(m.t35_us, 4011);
    /* Above 19200 baud the spec fixes 750 / 1750 us. */
    mb_rtu_set_line(&m, 17, 115200, 0, false);
    assert_int_equal(m.t15_us, 750);
    assert_int_equal(m.t35_us, 1750);
    /* A floor for coarse clocks. */
    mb_rtu_set_line(&m, 17, 115200, 5000, false);
    assert_int_equal(m.t35_us, 5000);
}

static void
test_fc03_read_holding(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x02, 0x00, 0x03);
    size_t r = transact(f, n, 1000);

    (void)state;
    assert_int_equal(r, 3 + 6 + 2);
    assert_true(rtu_crc_ok(rsp, r));
    assert_int_equal(rsp[0], 17);
    assert_int_equal(rsp[1], 0x03);
    assert_int_equal(rsp[2], 6);
    assert_int_equal(be16(rsp + 3), 102);
    assert_int_equal(be16(rsp + 5), 103);
    assert_int_equal(be16(rsp + 7), 104);
    assert_int_equal(m.stats.frames, 1);
    assert_int_equal(m.stats.exceptions, 0);
}

static void
test_fc04_read_input(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x04, 0x00, 0x0F, 0x00, 0x01);
    size_t r = transact(f, n, 1000);

    (void)state;
    assert_int_equal(r, 7);
    assert_true(rtu_crc_ok(rsp, r));
    assert_int_equal(rsp[1], 0x04);
    assert_int_equal(rsp[2], 2);
    assert_int_equal(be16(rsp + 3), 45);
}

static void
test_fc06_write_single(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x06, 0x00, 0x05, 0x01, 0xF4);
    size_t r = transact(f, n, 1000);

    (void)state;
    /* The reply echoes the request. */
    assert_int_equal(r, n);
    assert_memory_equal(rsp, f, n);
    assert_int_equal(regs[5], 500);
}

static void
test_fc16_write_multiple(void **state)
{
    uint8_t f[32];
    size_t n = rtu_frame(f, 17, 10, 0x10, 0x00, 0x03, 0x00, 0x02, 0x04, 0x00, 0x07, 0x03, 0xE8);
    size_t r = transact(f, n, 1000);

    (void)state;
    assert_int_equal(r, 8);
    assert_true(rtu_crc_ok(rsp, r));
    assert_memory_equal(rsp, f, 6); /* slave, fc, address, quantity */
    assert_int_equal(regs[3], 7);
    assert_int_equal(regs[4], 1000);
}

static void
test_exception_illegal_function(void **state)
{
    uint8_t f[16];
    static const uint8_t fcs[] = {0x01, 0x02, 0x05, 0x08, 0x0F, 0x17, 0x2B, 0x41};

    (void)state;
    for (size_t i = 0; i < sizeof(fcs); i++) {
        size_t n = rtu_frame(f, 17, 5, fcs[i], 0x00, 0x00, 0x00, 0x01);
        expect_exception(f, n, fcs[i], MB_EX_ILLEGAL_FUNCTION);
    }
    assert_int_equal(m.stats.exceptions, sizeof(fcs));
    assert_int_equal(reads + writes, 0);
}

static void
test_exception_illegal_address(void **state)
{
    uint8_t f[32];
    size_t n;

    (void)state;
    n = rtu_frame(f, 17, 5, 0x03, 0x00, 0xFF, 0x00, 0x02); /* runs past 0x00FF */
    expect_exception(f, n, 0x03, MB_EX_ILLEGAL_ADDRESS);
    n = rtu_frame(f, 17, 5, 0x04, 0x10, 0x00, 0x00, 0x01);
    expect_exception(f, n, 0x04, MB_EX_ILLEGAL_ADDRESS);
    n = rtu_frame(f, 17, 5, 0x06, 0x01, 0x00, 0x00, 0x01);
    expect_exception(f, n, 0x06, MB_EX_ILLEGAL_ADDRESS);
    n = rtu_frame(f, 17, 10, 0x10, 0x00, 0xFF, 0x00, 0x02, 0x04, 0x00, 0x01, 0x00, 0x02);
    expect_exception(f, n, 0x10, MB_EX_ILLEGAL_ADDRESS);
    /* Address + quantity beyond 0xFFFF is refused before the handler. */
    reads = 0;
    n = rtu_frame(f, 17, 5, 0x03, 0xFF, 0xFF, 0x00, 0x02);
    expect_exception(f, n, 0x03, MB_EX_ILLEGAL_ADDRESS);
    assert_int_equal(reads, 0);
}

static void
test_exception_illegal_value(void **state)
{
    uint8_t f[300];
    size_t n;

    (void)state;
    n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x00); /* quantity 0 */
    expect_exception(f, n, 0x03, MB_EX_ILLEGAL_VALUE);
    n = rtu_frame(f, 17, 5, 0x04, 0x00, 0x00, 0x00, 126); /* more than 125 */
    expect_exception(f, n, 0x04, MB_EX_ILLEGAL_VALUE);
    n = rtu_frame(f, 17, 4, 0x03, 0x00, 0x00, 0x00); /* PDU too short */
    expect_exception(f, n, 0x03, MB_EX_ILLEGAL_VALUE);
    n = rtu_frame(f, 17, 6, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00); /* PDU too long */
    expect_exception(f, n, 0x06, MB_EX_ILLEGAL_VALUE);
    /* FC16: byte count disagrees with the quantity, or with the data. */
    n = rtu_frame(f, 17, 10, 0x10, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x01, 0x00, 0x02);
    expect_exception(f, n, 0x10, MB_EX_ILLEGAL_VALUE);
    n = rtu_frame(f, 17, 8, 0x10, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x01);
    expect_exception(f, n, 0x10, MB_EX_ILLEGAL_VALUE);
    /* FC16 quantity 0 and above 123 (124 registers would not even fit a
     * frame, so a master can only send the header). */
    n = rtu_frame(f, 17, 6, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00);
    expect_exception(f, n, 0x10, MB_EX_ILLEGAL_VALUE);
    n = rtu_frame(f, 17, 6, 0x10, 0x00, 0x00, 0x00, 0x7C, 0x00);
    expect_exception(f, n, 0x10, MB_EX_ILLEGAL_VALUE);
    /* The handler's own range check. */
    n = rtu_frame(f, 17, 5, 0x06, 0x00, 0x01, 0x03, 0xE9); /* 1001 */
    expect_exception(f, n, 0x06, MB_EX_ILLEGAL_VALUE);
    assert_int_equal(regs[1], 101);
}

static void
test_exception_write_protect(void **state)
{
    uint8_t f[32];
    size_t n;

    (void)state;
    n = rtu_frame(f, 17, 5, 0x06, 0x00, 0x0E, 0x00, 0x01);
    expect_exception(f, n, 0x06, MB_EX_DEVICE_FAILURE);
    /* All or nothing: register 0x0D is not changed either. */
    n = rtu_frame(f, 17, 10, 0x10, 0x00, 0x0D, 0x00, 0x02, 0x04, 0x00, 0x09, 0x00, 0x09);
    expect_exception(f, n, 0x10, MB_EX_DEVICE_FAILURE);
    assert_int_equal(regs[0x0D], 113);
}

static void
test_bad_crc(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);

    (void)state;
    f[n - 1] ^= 0x01;
    assert_int_equal(transact(f, n, 1000), 0);
    assert_int_equal(m.stats.crc_errors, 1);
    assert_int_equal(m.stats.frames, 0);
    assert_int_equal(reads, 0);
    /* A corrupted address is a CRC error too, not "another slave". */
    n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);
    f[0] = 18;
    assert_int_equal(transact(f, n, 10000), 0);
    assert_int_equal(m.stats.crc_errors, 2);
}

static void
test_wrong_slave(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 18, 5, 0x06, 0x00, 0x01, 0x00, 0x05);

    (void)state;
    assert_int_equal(transact(f, n, 1000), 0);
    assert_int_equal(writes, 0);
    assert_int_equal(regs[1], 101);
    assert_int_equal(m.stats.frames, 0);
    assert_int_equal(m.stats.crc_errors, 0);
    /* Reserved addresses 248-255 are nobody. */
    n = rtu_frame(f, 248, 5, 0x03, 0x00, 0x01, 0x00, 0x01);
    assert_int_equal(transact(f, n, 10000), 0);
}

static void
test_broadcast(void **state)
{
    uint8_t f[32];
    size_t n;

    (void)state;
    /* Writes are executed and never answered. */
    n = rtu_frame(f, 0, 5, 0x06, 0x00, 0x02, 0x00, 0x2A);
    assert_int_equal(transact(f, n, 1000), 0);
    assert_int_equal(regs[2], 42);
    n = rtu_frame(f, 0, 10, 0x10, 0x00, 0x03, 0x00, 0x02, 0x04, 0x00, 0x01, 0x00, 0x02);
    assert_int_equal(transact(f, n, 10000), 0);
    assert_int_equal(regs[3], 1);
    assert_int_equal(regs[4], 2);
    /* Failing broadcast writes: no exception reply either. */
    n = rtu_frame(f, 0, 5, 0x06, 0x00, 0x0E, 0x00, 0x01);
    assert_int_equal(transact(f, n, 20000), 0);
    /* Reads and unknown functions are not even executed. */
    n = rtu_frame(f, 0, 5, 0x03, 0x00, 0x00, 0x00, 0x01);
    assert_int_equal(transact(f, n, 30000), 0);
    n = rtu_frame(f, 0, 5, 0x01, 0x00, 0x00, 0x00, 0x01);
    assert_int_equal(transact(f, n, 40000), 0);
    assert_int_equal(reads, 0);
    assert_int_equal(m.stats.broadcasts, 5);
    assert_int_equal(m.stats.exceptions, 0);
    assert_int_equal(host_port_count(HOST_UART_WRITE), 0);
}

/* The frame ends only after t3.5 of silence, measured from the end of the
 * last byte, by the injected clock. */
static void
test_frame_end_needs_t35(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);
    uint32_t last = deliver(f, n, 5000);

    (void)state;
    assert_int_equal(mb_rtu_wait_us(&m, last), T35);
    assert_int_equal(mb_rtu_wait_us(&m, last + 1000), T35 - 1000);
    assert_int_equal(mb_rtu_poll(&m, last + T35 - 1), 0);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 0);
    assert_int_equal(mb_rtu_wait_us(&m, last + T35), 0);
    assert_int_equal(mb_rtu_poll(&m, last + T35), 1);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 7);
    /* Idle: nothing to wait for. */
    assert_int_equal(mb_rtu_wait_us(&m, last + T35 + 1), UINT32_MAX);
    assert_int_equal(mb_rtu_poll(&m, last + 10 * T35), 0);
}

/* Two frames arrive before the core polls at all (a busy main loop): the
 * silence between them, seen in the byte timestamps, splits them. */
static void
test_split_by_gap(void **state)
{
    uint8_t f1[16], f2[16];
    size_t n1 = rtu_frame(f1, 17, 5, 0x03, 0x00, 0x01, 0x00, 0x01);
    size_t n2 = rtu_frame(f2, 17, 5, 0x04, 0x00, 0x02, 0x00, 0x01);
    uint32_t last = deliver(f1, n1, 1000);
    size_t r;

    (void)state;
    /* Exactly t3.5 of silence after the first frame: a new frame. */
    last = deliver(f2, n2, last + TCHAR + T35);
    r = host_port_tx(rsp, sizeof(rsp));
    assert_int_equal(r, 7); /* the first frame was answered when the second began */
    assert_int_equal(be16(rsp + 3), 101);
    mb_rtu_poll(&m, last + T35);
    r = host_port_tx(rsp, sizeof(rsp));
    assert_int_equal(r, 7);
    assert_int_equal(rsp[1], 0x04);
    assert_int_equal(be16(rsp + 3), 6);

    /* One microsecond less: the bytes are one frame, whose CRC fails. */
    last = deliver(f1, n1, 100000);
    last = deliver(f2, n2, last + TCHAR + T35 - 1);
    mb_rtu_poll(&m, last + T35);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 0);
    assert_int_equal(m.stats.crc_errors, 1);
}

/* Silences shorter than t3.5 inside a frame: accepted by default (USB
 * adapters pause), dropped by a strict slave when longer than t1.5. */
static void
test_t15_gap(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);
    uint32_t t = 1000;

    (void)state;
    for (size_t i = 0; i < n; i++, t += TCHAR + (i == 3 ? 1500 : 0))
        mb_rtu_rx(&m, f[i], t);
    mb_rtu_poll(&m, t + T35);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 7);

    mb_rtu_set_line(&m, 17, 19200, 0, true);
    t = 100000;
    for (size_t i = 0; i < n; i++, t += TCHAR + (i == 3 ? 1500 : 0))
        mb_rtu_rx(&m, f[i], t);
    mb_rtu_poll(&m, t + T35);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 0);
    assert_int_equal(m.stats.line_errors, 1);

    /* A silence of exactly t1.5 is still inside the frame. */
    t = 200000;
    for (size_t i = 0; i < n; i++, t += TCHAR + (i == 3 ? 859 : 0))
        mb_rtu_rx(&m, f[i], t);
    mb_rtu_poll(&m, t + T35);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 7);
}

/* Bytes delivered in one burst with one timestamp (a pty read) are one
 * frame. */
static void
test_burst_timestamps(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);

    (void)state;
    mb_rtu_set_line(&m, 17, 19200, 3000, true);
    for (size_t i = 0; i < n; i++)
        mb_rtu_rx(&m, f[i], 777);
    assert_int_equal(mb_rtu_poll(&m, 777 + 2999), 0);
    assert_int_equal(mb_rtu_poll(&m, 777 + 3000), 1);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 7);
}

static void
test_line_error_drops_frame(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);
    uint32_t t = 1000;

    (void)state;
    for (size_t i = 0; i < n; i++, t += TCHAR)
        mb_rtu_rx(&m, i == 2 ? -EIO : f[i], t);
    mb_rtu_poll(&m, t + T35);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 0);
    assert_int_equal(m.stats.line_errors, 1);
    /* The next frame is fine. */
    assert_int_equal(transact(f, n, t + 10 * T35), 7);
}

static void
test_short_and_long_frames(void **state)
{
    uint8_t f[300];

    (void)state;
    /* Three bytes: noise, not a frame. */
    f[0] = 17;
    f[1] = 3;
    f[2] = 0;
    assert_int_equal(transact(f, 3, 1000), 0);
    assert_int_equal(m.stats.line_errors, 1);
    /* 300 bytes of anything: longer than any RTU frame. */
    memset(f, 17, sizeof(f));
    assert_int_equal(transact(f, sizeof(f), 100000), 0);
    assert_int_equal(m.stats.line_errors, 2);
    assert_int_equal(m.stats.crc_errors, 0);
}

/* The clock wraps at 2^32 us (71.6 min); a frame across the wrap works. */
static void
test_clock_wrap(void **state)
{
    uint8_t f[16];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x00, 0x00, 0x01);
    uint32_t last = deliver(f, n, UINT32_MAX - 3 * TCHAR);

    (void)state;
    assert_true(last < 10000); /* wrapped */
    assert_int_equal(mb_rtu_poll(&m, last + T35 - 1), 0);
    assert_int_equal(mb_rtu_poll(&m, last + T35), 1);
    assert_int_equal(host_port_tx(rsp, sizeof(rsp)), 7);
    /* A poll with a clock reading older than the last byte waits. */
    last = deliver(f, n, 50000);
    assert_int_equal(mb_rtu_poll(&m, last - 10), 0);
    assert_int_equal(mb_rtu_wait_us(&m, last - 10), T35);
}

/* The largest read and write: 125 registers in a 255-byte reply, 123 in a
 * 255-byte request. */
static void
test_max_sizes(void **state)
{
    uint8_t f[MB_ADU_MAX];
    size_t n = rtu_frame(f, 17, 5, 0x03, 0x00, 0x02, 0x00, 125), r;
    uint16_t crc;

    (void)state;
    r = transact(f, n, 1000);
    assert_int_equal(r, 255);
    assert_true(rtu_crc_ok(rsp, r));
    assert_int_equal(rsp[2], 250);
    assert_int_equal(be16(rsp + 3), 102);
    assert_int_equal(be16(rsp + 3 + 2 * 124), 226);

    f[0] = 17;
    f[1] = 0x10;
    f[2] = 0x00;
    f[3] = 0x10; /* from 0x0010, clear of the protected 0x000E */
    f[4] = 0x00;
    f[5] = 123;
    f[6] = 246;
    for (unsigned i = 0; i < 123; i++) {
        f[7 + 2 * i] = 0;
        f[8 + 2 * i] = (uint8_t)i;
    }
    crc = crc16(f, 253);
    f[253] = (uint8_t)crc;
    f[254] = (uint8_t)(crc >> 8);
    r = transact(f, 255, 100000);
    assert_int_equal(r, 8);
    assert_int_equal(be16(rsp + 4), 123);
    assert_int_equal(regs[0x10], 0);
    assert_int_equal(regs[0x10 + 122], 122);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_timing_constants, setup),
        cmocka_unit_test_setup(test_fc03_read_holding, setup),
        cmocka_unit_test_setup(test_fc04_read_input, setup),
        cmocka_unit_test_setup(test_fc06_write_single, setup),
        cmocka_unit_test_setup(test_fc16_write_multiple, setup),
        cmocka_unit_test_setup(test_exception_illegal_function, setup),
        cmocka_unit_test_setup(test_exception_illegal_address, setup),
        cmocka_unit_test_setup(test_exception_illegal_value, setup),
        cmocka_unit_test_setup(test_exception_write_protect, setup),
        cmocka_unit_test_setup(test_bad_crc, setup),
        cmocka_unit_test_setup(test_wrong_slave, setup),
        cmocka_unit_test_setup(test_broadcast, setup),
        cmocka_unit_test_setup(test_frame_end_needs_t35, setup),
        cmocka_unit_test_setup(test_split_by_gap, setup),
        cmocka_unit_test_setup(test_t15_gap, setup),
        cmocka_unit_test_setup(test_burst_timestamps, setup),
        cmocka_unit_test_setup(test_line_error_drops_frame, setup),
        cmocka_unit_test_setup(test_short_and_long_frames, setup),
        cmocka_unit_test_setup(test_clock_wrap, setup),
        cmocka_unit_test_setup(test_max_sizes, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
