/*
 * scenario.h - what ember-sim serves: devices, signal timelines and faults.
 *
 * A scenario file (INI, see ember-sim(1)) names listeners, devices (a profile
 * on a listener at a slave id), signal timelines (initial value, noise, step,
 * ramp and thermal-runaway events), fault windows (dropout, slow,
 * exception, garbage) and the levels of emberd's simulated GPIO inputs
 * ([gpio NAME]: an initial level and steps).  This module is pure logic: it reads the scenario and
 * its profiles at start-up and afterwards only computes, for an injected time
 * t in seconds since the start, the value of every signal and the fault of
 * every device.  It does no other I/O and never prints; errors are collected
 * as "file:line: ..." in a struct cfgerr.
 *
 * Every point of every device's profile is a signal, whether or not the file
 * has a [signal] section for it; signals of device d are the indices
 * devices[d].first_signal .. + profile->npoints - 1, in profile order.
 *
 * The module is four files behind this one header: scenario_load.c (loading,
 * listeners, checks, lookups of devices), scenario_model.c (signal values,
 * faults and holds at t), scenario_gpio.c ([gpio] timelines) and
 * scenario_command.c (the control language).  scenario_priv.h holds what
 * they share with each other only.
 */
#ifndef EMBER_SCENARIO_H
#define EMBER_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfgfile.h"
#include "profile.h"

enum scn_listen_kind { SCN_TCP, SCN_RTU };

struct scn_listener {
    char name[NAME_MAX_LEN + 1];
    enum scn_listen_kind kind;
    char host[16]; /* dotted IPv4 address (libmodbus binds IPv4 literals only) */
    int port;
    char *device; /* serial device or pty (RTU) */
    int baud;
    char parity; /* 'N', 'E' or 'O', as modbus_new_rtu() wants it */
    int line;
    int baud_line, parity_line; /* where baud/parity were set, 0 when not */
};

enum scn_event_kind { SCN_STEP, SCN_RAMP, SCN_RUNAWAY };

struct scn_event {
    enum scn_event_kind kind;
    double start, end; /* seconds on the timeline; a step has end == start */
    double from, to;   /* runaway: T0 and T1; step and ramp: target in `to` */
    double base;       /* the signal's value when the event starts (computed at load) */
    int line;
};

struct scn_signal {
    size_t device;
    const struct point *point; /* owned by the device's profile */
    double initial;
    double noise;             /* half-width of the uniform noise added per read */
    struct scn_event *events; /* sorted by start time, then file order */
    size_t nevents;
    bool held; /* overridden by a control command or a peer's write */
    double held_value;
    int line; /* its [signal] section, 0 when the file does not mention it */
};

enum scn_fault {
    SCN_FAULT_NONE,
    SCN_FAULT_DROPOUT,
    SCN_FAULT_SLOW,
    SCN_FAULT_EXCEPTION,
    SCN_FAULT_GARBAGE
};

struct scn_fault_window {
    enum scn_fault kind;
    double start, length; /* seconds */
    int64_t delay_ms;     /* SCN_FAULT_SLOW only */
    int line;
};

struct scn_device {
    char name[NAME_MAX_LEN + 1];
    size_t listener;
    int slave;
    struct profile *profile;
    size_t first_signal;
    struct scn_fault_window *faults;
    size_t nfaults;
    bool fault_held; /* fault set by a control command, replaces the timeline */
    enum scn_fault held_fault;
    int64_t held_delay_ms;
    int line;
};

/* One step of a [gpio] timeline. */
struct scn_gpio_step {
    int64_t t_ms; /* on the timeline */
    int value;    /* 0 or 1: emberd's logical level (1 = active) */
    int line;
};

/* [gpio NAME]: a simulated GPIO input of emberd, driven through its FIFO. */
struct scn_gpio {
    char name[NAME_MAX_LEN + 1];
    int initial;
    struct scn_gpio_step *steps; /* sorted by time, then file order */
    size_t nsteps;
    int line;
};

struct scenario {
    char *path;
    uint64_t seed;
    double loop; /* seconds; 0 = play once and hold the final values */
    struct scn_listener *listeners;
    size_t nlisteners;
    struct scn_device *devices;
    size_t ndevices;
    struct scn_signal *signals;
    size_t nsignals;
    struct scn_gpio *gpios;
    size_t ngpios;
};

/* ---- loading (scenario_load.c): start-up only ---- */

/* Loads a scenario file and the profiles it names.  Profiles are looked up in
 * `profile_dir` when it is not NULL (the command line), else in the file's
 * [sim] profile_dir, else in `default_dir`.  Every mistake is appended to err
 * as "file:line: ..."; returns 0 or -EINVAL (or -errno when unreadable).
 * Checks that depend on listener kinds are left to scenario_check(), so
 * listener overrides can be applied first. */
int scenario_load(const char *path, const char *profile_dir, const char *default_dir,
                  struct scenario **out, struct cfgerr *err);

/* Builds a one-device scenario (ember-sim --profile): `profile` served as
 * `slave` on listener "quick" at `addr` ("tcp:HOST:PORT" or "rtu:DEVICE"). */
int scenario_quick(const char *profile_dir, const char *profile, int slave, const char *addr,
                   struct scenario **out, struct cfgerr *err);

void scenario_free(struct scenario *sc);

/* Replaces listener `name`'s address with `addr` ("tcp:HOST:PORT" or
 * "rtu:DEVICE").  Returns 0, -ENOENT (no such listener) or -EINVAL. */
int scenario_set_listen(struct scenario *sc, const char *name, const char *addr);

/* Sets baud and parity of every RTU listener (command-line override).  A
 * `baud` of 0 or a `parity` of 0 leaves that setting alone. */
void scenario_set_serial(struct scenario *sc, int baud, char parity);

/* Checks what depends on listener kinds: one device per RTU listener, slave
 * ids 1..247 on RTU, unique slave ids per TCP listener.  Returns 0 or -EINVAL
 * with messages in err. */
int scenario_check(const struct scenario *sc, struct cfgerr *err);

/* "none", "even", "odd" -> 'N', 'E', 'O'; 0 when unknown. */
char scenario_parse_parity(const char *s);
/* True for the baud rates termios (and so libmodbus) supports. */
bool scenario_baud_valid(long baud);

/* Index of device `name`, or -ENOENT. */
int scenario_device_find(const struct scenario *sc, const char *name);

/* ---- the signal model (scenario_model.c): pure in t ---- */

/* Index of signal "DEVICE.POINT", or -ENOENT. */
int scenario_signal_find(const struct scenario *sc, const char *name);
/* Writes "DEVICE.POINT" into buf. */
void scenario_signal_name(const struct scenario *sc, size_t sig, char *buf, size_t len);

/* The timeline's value of signal `sig` at t seconds since the start, without
 * noise or overrides (loop applied). */
double scenario_timeline(const struct scenario *sc, size_t sig, double t);

/* What a read at t sees: the held value when overridden, else the timeline
 * plus noise.  Noise is a pure function of (seed, signal, t in ms), so the
 * same seed gives the same values at the same instants. */
double scenario_value(const struct scenario *sc, size_t sig, double t);

/* The fault of device `dev` at t: the held fault when set by a command, else
 * the latest-starting window containing t (loop applied).  *delay_ms gets the
 * delay of a SCN_FAULT_SLOW, 0 otherwise. */
enum scn_fault scenario_fault(const struct scenario *sc, size_t dev, double t, int64_t *delay_ms);

const char *scenario_fault_name(enum scn_fault f);

/* Holds signal `sig` at `value` until scenario_release(). */
void scenario_hold(struct scenario *sc, size_t sig, double value);
void scenario_release(struct scenario *sc, size_t sig);

/* ---- [gpio] timelines (scenario_gpio.c): pure in t_ms ---- */

/* Index of [gpio name], or -ENOENT. */
int scenario_gpio_find(const struct scenario *sc, const char *name);

/* The level of [gpio] `i` at t_ms milliseconds since the start (loop
 * applied): the latest step at or before that instant, else `initial`. */
int scenario_gpio_value(const struct scenario *sc, size_t i, int64_t t_ms);

/* The first instant after t_ms (ms since the start) at which a [gpio] level
 * may change: the next step of any of them, or the start of the next loop.
 * -1 when no [gpio] has steps, or when all steps are over and nothing
 * loops.  Integer milliseconds, so a player that wakes at the returned
 * instant always finds the step due. */
int64_t scenario_gpio_next(const struct scenario *sc, int64_t t_ms);

/* ---- the control language (scenario_command.c) ---- */

/* Parses the control command "gpio NAME 0|1" (NAME need not be a [gpio]
 * section: emberd's inputs come from its board file).  Returns 0 with the
 * name and value, -ENOENT when the line is not a gpio command, or -EINVAL
 * with the reason in msg. */
int scenario_gpio_command(const char *line, char *name, size_t namelen, int *value, char *msg,
                          size_t len);

/* Applies one control command line:
 *   set DEVICE.POINT VALUE | release DEVICE.POINT
 *   fault DEVICE none|dropout|slow MS|exception|garbage|scenario
 * Returns 0 with a description of what changed in msg, -ENODATA for a blank
 * or comment line, or -EINVAL with the reason in msg. */
int scenario_command(struct scenario *sc, const char *line, char *msg, size_t len);

#endif
