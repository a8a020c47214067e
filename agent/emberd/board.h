/*
 * board.h - board files (boards/NAME.conf): what a particular board offers.
 *
 * A board file names the GPIO chip by label (so one config works on a Pi 4,
 * "pinctrl-bcm2711", and a Pi 5, "pinctrl-rp1"), the serial ports with their
 * RS485 settings, GPIO inputs/outputs and the watchdog.  Agent configs refer
 * to these by name; every value can be overridden in the agent config.
 */
#ifndef EMBER_BOARD_H
#define EMBER_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "cfgfile.h"
#include "util.h"

enum rts_mode { RTS_NONE, RTS_UP, RTS_DOWN };

struct board_serial {
    char name[NAME_MAX_LEN + 1];
    char *device;
    bool rs485;
    int rts; /* enum rts_mode */
    int rts_delay_us;
    int line;
};

struct board_gpio {
    char name[NAME_MAX_LEN + 1];
    int offset;      /* line offset on the chip */
    bool active_low;
    bool output;
    int64_t debounce_ms;
    int line;
};

struct board {
    char name[NAME_MAX_LEN + 1];
    char *description;
    char *path;
    char *gpio_chip; /* chip label, e.g. pinctrl-bcm2711; NULL: simulated GPIO */
    char *watchdog;
    int64_t watchdog_timeout_ms;
    struct board_serial *serials;
    int nserials;
    struct board_gpio *gpios;
    int ngpios;
};

/* Loads a board file; errors are appended to err as file:line messages. */
int board_load(const char *path, struct board **out, struct cfgerr *err);
void board_free(struct board *b);
const struct board_serial *board_serial_find(const struct board *b, const char *name);
const struct board_gpio *board_gpio_find(const struct board *b, const char *name);

#endif
