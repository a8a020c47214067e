/*
 * port.h - the one contract between the portable core and a platform.
 *
 * The core (firmware/core/) never touches hardware, never includes a vendor
 * header and never allocates.  Everything it needs from the outside world
 * comes through one const struct port: the host port (port/host/) backs it
 * with a pty, a settable clock and scripted inputs; the STM32F103 port
 * (port/stm32f103/) with registers.  There is exactly one port per image, so
 * the operations take no context pointer.
 *
 * Every pointer is set.  An optional operation a platform cannot do returns
 * -ENOSYS, and the core treats that as "not available here", never as a
 * fault.  Operations return 0 (or a value >= 0) on success, -errno on error.
 */
#ifndef EMBER_PORT_H
#define EMBER_PORT_H

#include <stddef.h>
#include <stdint.h>

/* Logical ADC channels.  The board data maps them to pins and MCU channels. */
enum {
    PORT_ADC_MODULE1 = 0, /* thermistor dividers, one per battery module */
    PORT_ADC_MODULE2,
    PORT_ADC_MODULE3,
    PORT_ADC_MODULE4,
    PORT_ADC_GAS, /* 4-20 mA off-gas loop across a shunt */
    PORT_ADC_COUNT
};

/* Logical digital inputs, already corrected for polarity: 1 = active. */
enum port_input {
    PORT_IN_CONTACT = 0, /* smoke/heat detector contact: 1 = alarm */
    PORT_IN_FACTORY,     /* factory-settings jumper, read at reset only */
    PORT_IN_COUNT
};

enum port_parity { PORT_PARITY_NONE = 0, PORT_PARITY_ODD = 1, PORT_PARITY_EVEN = 2 };

/* Full-scale count of the ADC the core assumes (12 bits). */
#define PORT_ADC_FULL 4096

struct port {
    /* Required operations. */

    /* Monotonic microseconds.  Wraps every 2^32 us (71.6 min); the core only
     * ever subtracts two readings, so the wrap is harmless.  Safe from any
     * context. */
    uint32_t (*now_us)(void);

    /* Sets the line: 8 data bits, parity, 1 stop bit (2 with no parity, as
     * the Modbus serial line spec asks).  Only called while no reply is
     * being sent.  A port that cannot change the rate (a pty) returns 0. */
    int (*uart_config)(uint32_t baud, enum port_parity parity);

    /* Takes one received byte without blocking.  Returns the byte (0-255)
     * and sets *t_us to when it arrived (captured at reception, not when the
     * core asks), -EIO for a byte that arrived with a parity, framing or
     * overrun error (*t_us still set), or -EAGAIN when nothing is waiting. */
    int (*uart_getc)(uint32_t *t_us);

    /* Sends a reply and returns once its last stop bit has left the line,
     * with the RS485 driver released again: the bus is half duplex, so
     * nothing can arrive meanwhile, and afterwards the caller may change the
     * line settings at once.  Returns 0 or -errno. */
    int (*uart_write)(const uint8_t *buf, size_t len);

    /* One conversion of a logical channel (PORT_ADC_*): 0..PORT_ADC_FULL-1,
     * or -errno (-ETIMEDOUT when the converter does not answer). */
    int (*adc_read)(unsigned ch);

    /* A logical input (enum port_input): 1 active, 0 inactive, or -errno. */
    int (*input_read)(enum port_input in);

    /* Optional operations: -ENOSYS when the platform has none. */

    /* Copy the saved settings block into buf (exactly len bytes).  The core
     * checks its own magic and CRC, so a blank or torn store is fine. */
    int (*nv_load)(void *buf, size_t len);
    /* Persist len bytes.  May stall the CPU for tens of ms (flash erase):
     * the core only calls it right after a reply has gone out. */
    int (*nv_save)(const void *buf, size_t len);
    /* Platform hardware check (e.g. the ADC's internal reference): 0 pass,
     * -EIO fail. */
    int (*selftest)(void);
    /* Feed the hardware watchdog.  Called once per pass of the main loop. */
    int (*watchdog_kick)(void);
    /* Status LED on (1) or off (0). */
    int (*led_set)(int on);
};

#endif
