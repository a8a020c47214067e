/*
 * node.h - the sensor node: settings, the RTU slave, sampling, self-test
 * and the input registers, driven by one poll function.
 *
 * A port's main calls node_init() once and then node_poll() whenever
 * something may have happened (a byte arrived, a timer ran out).  Every
 * piece of memory is inside struct node: no malloc, no globals.
 */
#ifndef EMBER_NODE_H
#define EMBER_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "mb_rtu.h"
#include "port.h"
#include "regmap.h"
#include "sampling.h"
#include "settings.h"

struct node_config {
    struct sampling_config sampling;
    struct settings factory; /* used when nothing valid is saved, or the jumper is fitted */
    uint32_t min_t35_us;     /* 0 for the Modbus timing, more for coarse clocks */
    bool strict_t15;         /* drop frames with t1.5 gaps inside (mb_rtu.h) */
};

struct node {
    const struct port *port;
    struct node_config cfg;
    uint32_t now;     /* port time of the current pass */
    uint32_t last_us; /* for the uptime */
    uint32_t frac_us; /* uptime microseconds not yet a whole second */
    uint32_t uptime_s;
    uint32_t next_sample; /* port time of the next sample */
    uint32_t next_led;
    bool led_on;
    bool factory_reset; /* the jumper was fitted at reset */
    int settings_rc;    /* what loading the saved settings returned */
    struct regmap map;
    struct sampling smp;
    struct mb_rtu rtu;
};

/* Loads the settings (factory ones when the jumper is fitted, saving them),
 * sets the line, runs the self-test and takes the first sample so the
 * registers hold readings before the first request.  Returns 0, or the
 * port's -errno when the line cannot be set (the only fatal case). */
int node_init(struct node *n, const struct port *port, const struct node_config *cfg);

/* Does whatever is due: takes received bytes, answers a finished frame,
 * commits settings once the reply is out, samples, refreshes the input
 * registers, blinks the LED, feeds the watchdog.  Never blocks, except in
 * the port's uart_write. */
void node_poll(struct node *n);

/* Microseconds until node_poll() has timed work (frame end, sample, LED);
 * a port's main may sleep that long unless a byte arrives first. */
uint32_t node_wait_us(const struct node *n);

/* The settings in force (slave address, line, gas setpoint). */
const struct settings *node_settings(const struct node *n);

#endif
