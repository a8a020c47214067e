/*
 * conf.h - emberd configuration: [agent], [mqtt], [metrics], [bus NAME],
 * [device NAME], [sensor NAME], [alarm NAME], [zone NAME], [notify NAME].
 * The format is documented in emberd.conf(5) and the README.
 *
 * conf_load() parses, range-checks and cross-checks everything (buses exist,
 * profiles load, points exist) so that a config that loads is one emberd can
 * run; every problem is reported as "file:line: [section] key: ...".
 */
#ifndef EMBER_CONF_H
#define EMBER_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "alarm.h"
#include "board.h"
#include "cfgfile.h"
#include "httpd.h"
#include "mqttconf.h"
#include "profile.h"
#include "util.h"

enum bus_type { BUS_TCP, BUS_RTU };

/* Sections a config may hold at most of each kind that has a bound (each
 * bus is a thread; each alarm carries a rate-of-rise history); devices and
 * sensors are unbounded.  Documented in emberd.conf(5). */
#define CONF_MAX_BUSES 32
#define CONF_MAX_ALARMS 2048
#define CONF_MAX_ZONES 64
/* Each notifier may run one program at a time, with three pipes or pidfds
 * in the poll loop. */
#define CONF_MAX_NOTIFIERS 8
/* Words of a [notify] command, the program included. */
#define CONF_NOTIFY_MAX_ARGS 32

/* A list of sensor indices (into conf.sensors), built once at load. */
struct conf_index {
    int *v;
    int n;
};

/* Separate Modbus requests one device poll may need. */
#define CONF_MAX_BLOCKS 32
enum parity { PARITY_NONE, PARITY_EVEN, PARITY_ODD };

struct conf_agent {
    char site[NAME_MAX_LEN + 1];
    char room[NAME_MAX_LEN + 1];
    char id[NAME_MAX_LEN + 1];
    char *board;       /* board name or path */
    char *profile_dir; /* where NAME.ini profiles live */
    char *board_dir;
    char *journal;  /* SQLite: seq, alarm states, events until acknowledged */
    int journal_max; /* rows; past it the oldest non-critical are dropped */
    int history_max;        /* acknowledged events kept for emberctl events; 0: none */
    int64_t history_age_ms; /* and for how long */
    char *control;  /* emberctl unix socket */
    int control_mode;
    char *gpio_sim; /* FIFO of the simulated GPIO backend */
    char *alarm_outputs; /* board outputs on while a critical alarm is unacknowledged */
    int log_level;
};

/* [homeassistant]: Home Assistant MQTT discovery (hadisc.h). */
struct conf_ha {
    bool discovery;
    char *prefix; /* Home Assistant's discovery prefix */
};

struct conf_bus {
    char name[NAME_MAX_LEN + 1];
    int type; /* enum bus_type */
    /* rtu */
    char *serial; /* board serial port name */
    char *device;
    int baud;
    int parity; /* enum parity */
    int data_bits;
    int stop_bits;
    bool rs485;
    int rts; /* enum rts_mode */
    int rts_delay_us;
    /* tcp */
    char *host;
    int port;
    /* both */
    int64_t timeout_ms;
    int retries;
    int64_t gap_ms; /* silence between requests (APC asks 35 ms on serial) */
    int64_t backoff_max_ms;
    int line;
    unsigned long long seen;
};

struct conf_device {
    char name[NAME_MAX_LEN + 1];
    char *bus_name;
    int bus; /* index into conf.buses */
    int slave;
    bool slave_set;
    char *profile_ref;
    struct profile *profile;
    int64_t interval_ms;
    int merge_gap;
    int comms_lost_after; /* failed polls before comms_lost */
    int64_t alert_interval_ms; /* fast polling near a setpoint; 0: automatic */
    int adaptive_off;          /* adaptive = no: always the base interval */
    int line;
    /* Built at load: the device's sensors, and the Modbus reads that fetch
     * them (pts[i] of sensors.v[i] lives in blocks[block_of[i]] at word
     * offset_of[i]). */
    struct conf_index sensors;
    const struct point **pts;
    int *block_of, *offset_of;
    struct read_block blocks[CONF_MAX_BLOCKS];
    int nblocks;
};

struct conf_sensor {
    char name[NAME_MAX_LEN + 1];
    char *device_name;
    int device; /* index into conf.devices; -1 for a GPIO contact */
    char *gpio_name;
    int gpio; /* index of the input among the board's inputs; -1 for Modbus */
    char *point_name;
    const struct point *point;
    char zone[NAME_MAX_LEN + 1];
    char unit[17];
    int line;
};

struct conf_alarm {
    struct alarm_def def; /* name first, as cfgfile_section_item() expects */
    char *sensor_name;
    char *zone_name;
    unsigned long long seen;
};

struct conf_zone {
    struct zone_def def;
    char *members_str;
};

/* What a [notify] section may name in `on`: every alarm transition, by
 * its name (the first seven are enum transition's, in its order), a zone's
 * request turning to drain, and a drain request back to none. */
enum notify_ev {
    NOTIFY_ACTIVATED,
    NOTIFY_CLEARED,
    NOTIFY_ACKED,
    NOTIFY_SHELVED,
    NOTIFY_UNSHELVED,
    NOTIFY_TEST,
    NOTIFY_TEST_END,
    NOTIFY_DRAIN,
    NOTIFY_UNDRAIN,
    NOTIFY_NEVENTS
};

/* [notify NAME]: a program run on chosen events (notify.c). */
struct conf_notify {
    char name[NAME_MAX_LEN + 1];
    char *command;  /* as written: the program and its arguments */
    char *on_str;   /* as written */
    int severity;   /* enum severity: the lowest notified */
    char *alarms_str;
    int64_t timeout_ms; /* per attempt */
    int retries;
    int64_t retry_delay_ms;
    int queue; /* pending notifications kept while one runs */
    int line, command_line, on_line, alarms_line;
    /* Built at load. */
    char **argv;   /* the command's words; argv[0] resolved like a path key */
    unsigned on;   /* bit (1u << enum notify_ev) per event taken */
    char **alarms; /* only these alarms; NULL: every alarm */
};

/* GPIO inputs and outputs used by this config, in board order. */
struct conf_gpio {
    const struct board_gpio *bg;
};

struct conf {
    char *path;
    int agent_line; /* section header, for messages */
    int board_line;
    bool site_seen;
    struct conf_agent agent;
    struct mqtt_conf mqtt; /* [mqtt]: agent/lib/mqttconf.h */
    struct metrics_conf metrics; /* [metrics]: agent/lib/httpd.h */
    struct conf_ha ha;           /* [homeassistant] */
    int ha_line;
    struct board *board;
    /* Section arrays grow while parsing (cap_*: allocated length). */
    struct conf_bus *buses;
    int nbuses, cap_buses;
    struct conf_device *devices;
    int ndevices, cap_devices;
    struct conf_sensor *sensors;
    int nsensors, cap_sensors;
    struct conf_alarm *alarms;
    int nalarms, cap_alarms;
    struct conf_zone *zones;
    int nzones, cap_zones;
    struct conf_notify *notifiers;
    int nnotifiers, cap_notifiers;
    /* Built after validation, in the layout the alarm engine takes. */
    struct alarm_def *alarm_defs;
    struct zone_def *zone_defs;
    /* Board inputs used by [sensor] gpio, and the outputs of alarm_outputs. */
    const struct board_gpio **inputs;
    int ninputs;
    struct conf_index *input_sensors; /* per input: the sensors reading it */
    const struct board_gpio **outputs;
    int noutputs;
};

/* Loads and checks `path`.  On failure returns -EINVAL (or -errno when the
 * file cannot be read) with every problem appended to err. */
int conf_load(const char *path, struct conf **out, struct cfgerr *err);
void conf_free(struct conf *c);
/* "3 buses, 4 devices, 7 sensors, 5 alarms, 1 zone" (each noun as its count
 * needs; ", 2 notifiers" when there are any), for emberd -n, the start and a
 * reload. */
void conf_summary(const struct conf *c, char *buf, size_t len);

/* The zone alarm a is in: its own, or else its sensor's ("" for none). */
const char *conf_alarm_zone(const struct conf *c, int a);
/* The first [homeassistant] key whose change needs a restart, or NULL. */
const char *conf_ha_restart_key(const struct conf *a, const struct conf *b);
int conf_bus_find(const struct conf *c, const char *name);
int conf_device_find(const struct conf *c, const char *name);
int conf_sensor_find(const struct conf *c, const char *name);
int conf_alarm_find(const struct conf *c, const char *name);
int conf_zone_find(const struct conf *c, const char *name);
int conf_notify_find(const struct conf *c, const char *name);

/* The event `on` names "activated" ... "test_end" (transition_name()),
 * "drain" and "undrain" stand for, or -1. */
int conf_notify_event(const char *name);
const char *conf_notify_event_name(int ev);

/* The first [agent] key of reload class CFG_RESTART whose value differs
 * between a and b ("gpio_sim"), or NULL. */
const char *conf_agent_restart_key(const struct conf *a, const struct conf *b);

#endif
