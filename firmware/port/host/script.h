/*
 * script.h - scripted inputs for the host node: commands that set ADC
 * counts, resistances, temperatures, the contact and the gas loop, applied
 * at once (control FIFO) or at a time (script file).
 *
 *   raw CH COUNT        ADC count, CH = 1-4 (modules) or gas
 *   ohm CH OHMS         thermistor resistance of module CH
 *   temp CH CELSIUS     module CH's thermistor at that temperature
 *   ramp CH FROM TO SECONDS
 *                       temperature ramp on module CH, updated every 50 ms
 *   open CH | short CH  thermistor disconnected / shorted
 *   ma MILLIAMPS        gas loop current
 *   gas PPM             gas reading (through the 4-20 mA scaling)
 *   contact 0|1         smoke/heat contact: 1 = alarm
 *   adc-fail CH         conversions of CH fail (until set again)
 *   selftest pass|fail  what the platform self-test returns
 *
 * A script file has one "SECONDS COMMAND" per line, seconds from the start,
 * not decreasing; '#' starts a comment.  Resistances come from the board's
 * thermistor data, so "temp 2 75" reads back as 75 C within the ADC's
 * resolution.
 */
#ifndef EMBER_SCRIPT_H
#define EMBER_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sampling.h"

struct script_ramp {
    bool on;
    double from, to, t0, secs;
};

struct script {
    struct sampling_config cfg;
    FILE *f;
    char path[256];
    double start;
    unsigned line;
    bool have_next;
    enum { SCRIPT_OK, SCRIPT_NO_TIME, SCRIPT_BACKWARDS } next_bad;
    double next_at;
    char next[256];
    unsigned next_line;
    struct script_ramp ramp[SAMPLING_MODULES];
};

/* Sets up an empty script for the board's front end. */
void script_init(struct script *s, const struct sampling_config *cfg);

/* Opens a script file whose times count from start_s (script_run's clock). */
int script_open(struct script *s, const char *path, double start_s, char *err, size_t errlen);

/* Closes the file. */
void script_fini(struct script *s);

/* Applies one command now.  Returns 0, or -EINVAL with a message in err. */
int script_command(struct script *s, const char *cmd, double now_s, char *err, size_t errlen);

/* Applies the file's due lines and the running ramps at now_s seconds.
 * Returns 0, or -EINVAL with "file:line: message" in err (the line is
 * skipped, the script goes on). */
int script_run(struct script *s, double now_s, char *err, size_t errlen);

/* Seconds until script_run() has work; a negative value when none. */
double script_wait_s(const struct script *s, double now_s);

/* True while the file has lines left. */
bool script_pending(const struct script *s);

/* ADC count for a thermistor resistance and for a temperature, from the
 * board data (exposed for tests). */
int script_count_for_ohms(const struct sampling_config *cfg, double ohms);
double script_ohms_for_celsius(const struct sampling_config *cfg, double celsius);

#endif
