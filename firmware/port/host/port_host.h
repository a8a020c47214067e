/*
 * port_host.h - the port on Linux: the bench simulator and the unit tests'
 * platform.
 *
 * It is a real port, not empty stubs: the serial line is a tty (one end of
 * a socat pty pair, or a USB RS485 adapter) or, in tests, an in-memory
 * queue; ADC counts and inputs are whatever the script, the control FIFO or
 * the test set; the settings live in memory or a file.  Every port call is
 * recorded (how often, the last arguments, a global sequence number), and
 * the clock is either CLOCK_MONOTONIC or set by hand, so a test can see
 * exactly what the core did and when.
 */
#ifndef EMBER_PORT_HOST_H
#define EMBER_PORT_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "port.h"

extern const struct port port_host;

enum host_op {
    HOST_UART_CONFIG,
    HOST_UART_WRITE,
    HOST_ADC_READ,
    HOST_INPUT_READ,
    HOST_NV_LOAD,
    HOST_NV_SAVE,
    HOST_SELFTEST,
    HOST_WATCHDOG,
    HOST_LED,
    HOST_OP_COUNT
};

/* One recorded call: seq orders calls across operations. */
struct host_call {
    unsigned long seq;
    uint32_t t_us;
    long a, b; /* uart_config: baud, parity; uart_write: length, first byte;
                  adc_read/input_read: channel, result; nv_*: length, result;
                  led: on */
};

/* Back to a fresh state: manual clock at 0, no tty, every ADC channel at
 * 2048 (a module at its nominal 25 C with r_fixed = r0), inputs inactive,
 * settings storage empty and in memory, nothing recorded. */
void host_port_reset(void);

/* Manual clock (tests): set or advance it.  Wraps like the real one. */
void host_clock_set(uint32_t us);
void host_clock_advance(uint32_t us);
/* Real clock from now on: CLOCK_MONOTONIC microseconds, truncated. */
void host_clock_real(void);

/* Serial line on an open, non-blocking tty fd (the caller keeps it and
 * closes it).  Bytes read from it are stamped with the clock when read. */
void host_port_attach(int fd);
/* Queues received bytes as if they arrived at t_us (tests). */
void host_port_rx(const uint8_t *buf, size_t len, uint32_t t_us);
/* Queues one byte received with a parity or framing error. */
void host_port_rx_error(uint32_t t_us);
/* Moves up to max bytes the node sent (since the last call) into buf. */
size_t host_port_tx(uint8_t *buf, size_t max);

/* Scripted inputs.  count may be -errno to make that conversion fail. */
void host_port_set_adc(unsigned ch, int count);
int host_port_adc(unsigned ch);
void host_port_set_input(enum port_input in, int v);
/* What the platform self-test returns (0, -EIO, -ENOSYS). */
void host_port_set_selftest(int rc);

/* Settings storage: a file (created on the first save), none at all
 * (-ENOSYS, like a platform without flash), or failing saves. */
int host_port_nv_file(const char *path);
void host_port_nv_none(void);
void host_port_nv_fail(int err);

/* Recorded calls of one operation: how many, and the last one (NULL if
 * none). */
unsigned host_port_count(enum host_op op);
const struct host_call *host_port_last(enum host_op op);

#endif
