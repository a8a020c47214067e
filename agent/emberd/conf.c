/*
 * conf.c - emberd configuration loader.
 *
 * Owns the directive tables (with each key's default and reload class) and
 * everything conf_load builds from a file: growing section arrays, the
 * board, the profiles, each device's sensor index and read plan and each
 * GPIO input's sensors, built once here so no caller rebuilds them.  May
 * call: cfgfile_*, board_load, profile_load_ref/profile_plan.
 */
#include "conf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#ifndef EMBER_DATADIR
#define EMBER_DATADIR "/usr/local/share/emberwatch"
#endif


static const char *const bus_types[] = {"tcp", "rtu", NULL};
static const char *const parities[] = {"none", "even", "odd", NULL};
static const char *const rts_names[] = {"none", "up", "down", NULL};
static const char *const levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const kinds[] = {"high",    "low",        "rate_of_rise", "contact",
                                    "comms_loss", "stale", NULL};
static const char *const severities[] = {"warning", "critical", NULL};
static const char *const contacts[] = {"no", "nc", NULL};
/* Stored inverted so the zeroed default means "adaptive polling on". */
static const char *const adaptive_names[] = {"yes", "no", NULL};

static const struct cfg_directive agent_keys[] = {
    CFG_ROW("site", CFG_NAME, offsetof(struct conf_agent, site), .reload = CFG_RESTART),
    CFG_ROW("room", CFG_NAME, offsetof(struct conf_agent, room)),
    CFG_ROW("id", CFG_NAME, offsetof(struct conf_agent, id), .reload = CFG_RESTART),
    CFG_ROW("board", CFG_STR, offsetof(struct conf_agent, board)),
    CFG_ROW("profile_dir", CFG_PATH, offsetof(struct conf_agent, profile_dir), .def = EMBER_DATADIR "/profiles"),
    CFG_ROW("board_dir", CFG_PATH, offsetof(struct conf_agent, board_dir), .def = EMBER_DATADIR "/boards"),
    CFG_ROW("log_level", CFG_ENUM, offsetof(struct conf_agent, log_level), .names = levels, .def = "info"),
    CFG_ROW("journal", CFG_PATH, offsetof(struct conf_agent, journal), .def = "/var/lib/emberwatch/journal.db", .reload = CFG_RESTART),
    CFG_ROW("journal_max", CFG_INT, offsetof(struct conf_agent, journal_max), .min = 100, .max = 10000000, .def = "100000"),
    CFG_ROW("history_max", CFG_INT, offsetof(struct conf_agent, history_max), .min = 0, .max = 1000000, .def = "10000"),
    CFG_ROW("history_age", CFG_DUR, offsetof(struct conf_agent, history_age_ms), .min = 60000, .max = 315360000000LL, .def = "30d"),
    CFG_ROW("control", CFG_PATH, offsetof(struct conf_agent, control), .def = "/run/emberwatch/emberd.sock", .reload = CFG_RESTART),
    CFG_ROW("control_mode", CFG_MODE, offsetof(struct conf_agent, control_mode), .min = 0, .max = 0777, .def = "0660"),
    CFG_ROW("gpio_sim", CFG_PATH, offsetof(struct conf_agent, gpio_sim), .def = "/run/emberwatch/gpio-sim", .reload = CFG_RESTART),
    CFG_ROW("alarm_outputs", CFG_STR, offsetof(struct conf_agent, alarm_outputs)),
};

static const struct cfg_directive ha_keys[] = {
    CFG_ROW("discovery", CFG_BOOL, offsetof(struct conf_ha, discovery), .def = "no", .reload = CFG_RESTART),
    CFG_ROW("prefix", CFG_STR, offsetof(struct conf_ha, prefix), .def = "homeassistant",
            .reload = CFG_RESTART),
};

static const struct cfg_directive bus_keys[] = {
    CFG_ROW("type", CFG_ENUM, offsetof(struct conf_bus, type), .names = bus_types),
    CFG_ROW("serial", CFG_STR, offsetof(struct conf_bus, serial)),
    CFG_ROW("device", CFG_STR, offsetof(struct conf_bus, device)),
    CFG_ROW("baud", CFG_INT, offsetof(struct conf_bus, baud), .min = 300, .max = 4000000, .def = "9600"),
    CFG_ROW("parity", CFG_ENUM, offsetof(struct conf_bus, parity), .names = parities),
    CFG_ROW("data_bits", CFG_INT, offsetof(struct conf_bus, data_bits), .min = 7, .max = 8, .def = "8"),
    CFG_ROW("stop_bits", CFG_INT, offsetof(struct conf_bus, stop_bits), .min = 1, .max = 2, .def = "1"),
    CFG_ROW("rs485", CFG_BOOL, offsetof(struct conf_bus, rs485)),
    CFG_ROW("rts", CFG_ENUM, offsetof(struct conf_bus, rts), .names = rts_names),
    CFG_ROW("rts_delay", CFG_INT, offsetof(struct conf_bus, rts_delay_us), .min = 0, .max = 100000),
    CFG_ROW("host", CFG_STR, offsetof(struct conf_bus, host)),
    CFG_ROW("port", CFG_INT, offsetof(struct conf_bus, port), .min = 1, .max = 65535),
    CFG_ROW("timeout", CFG_DUR, offsetof(struct conf_bus, timeout_ms), .min = 10, .max = 10000, .def = "300ms"),
    CFG_ROW("retries", CFG_INT, offsetof(struct conf_bus, retries), .min = 0, .max = 5, .def = "1"),
    CFG_ROW("gap", CFG_DUR, offsetof(struct conf_bus, gap_ms), .min = 0, .max = 1000),
    CFG_ROW("backoff_max", CFG_DUR, offsetof(struct conf_bus, backoff_max_ms), .min = 0, .max = 600000, .def = "10s"),
};

static const struct cfg_directive device_keys[] = {
    CFG_ROW("bus", CFG_STR, offsetof(struct conf_device, bus_name)),
    CFG_ROW("slave", CFG_INT, offsetof(struct conf_device, slave), .min = 0, .max = 255, .def = "1"),
    CFG_ROW("profile", CFG_STR, offsetof(struct conf_device, profile_ref)),
    CFG_ROW("interval", CFG_DUR, offsetof(struct conf_device, interval_ms), .min = 100, .max = 3600000, .def = "1s"),
    CFG_ROW("merge_gap", CFG_INT, offsetof(struct conf_device, merge_gap), .min = 0, .max = 32),
    CFG_ROW("comms_lost_after", CFG_INT, offsetof(struct conf_device, comms_lost_after), .min = 1, .max = 10, .def = "2"),
    CFG_ROW("alert_interval", CFG_DUR, offsetof(struct conf_device, alert_interval_ms), .min = 0, .max = 60000),
    CFG_ROW("adaptive", CFG_ENUM, offsetof(struct conf_device, adaptive_off), .names = adaptive_names),
};

static const struct cfg_directive sensor_keys[] = {
    CFG_ROW("device", CFG_STR, offsetof(struct conf_sensor, device_name)),
    CFG_ROW("point", CFG_STR, offsetof(struct conf_sensor, point_name)),
    CFG_ROW("zone", CFG_NAME, offsetof(struct conf_sensor, zone)),
    CFG_ROW("gpio", CFG_STR, offsetof(struct conf_sensor, gpio_name)),
};

#define AOFF(f) offsetof(struct conf_alarm, def.f)
static const struct cfg_directive alarm_keys[] = {
    CFG_ROW("sensor", CFG_STR, offsetof(struct conf_alarm, sensor_name)),
    CFG_ROW("kind", CFG_ENUM, AOFF(kind), .names = kinds),
    CFG_ROW("setpoint", CFG_FLOAT, AOFF(setpoint)),
    CFG_ROW("deadband", CFG_FLOAT, AOFF(deadband), .min = 0, .max = 1000000),
    CFG_ROW("window", CFG_DUR, AOFF(window_ms), .min = 1000, .max = 3600000, .def = "1m"),
    CFG_ROW("stale_after", CFG_DUR, AOFF(stale_ms), .min = 1000, .max = 604800000, .def = "10m"),
    CFG_ROW("on_delay", CFG_DUR, AOFF(on_delay_ms), .min = 0, .max = 3600000),
    CFG_ROW("off_delay", CFG_DUR, AOFF(off_delay_ms), .min = 0, .max = 3600000),
    CFG_ROW("severity", CFG_ENUM, AOFF(severity), .names = severities),
    CFG_ROW("latch", CFG_BOOL, AOFF(latch)),
    CFG_ROW("contact", CFG_ENUM, AOFF(nc), .names = contacts),
    CFG_ROW("message", CFG_STR, AOFF(message)),
    CFG_ROW("zone", CFG_STR, offsetof(struct conf_alarm, zone_name)),
};

#define ZOFF(f) offsetof(struct conf_zone, def.f)
static const struct cfg_directive zone_keys[] = {
    CFG_ROW("vote", CFG_INT, ZOFF(vote), .min = 1, .max = 64, .def = "2"),
    CFG_ROW("members", CFG_STR, offsetof(struct conf_zone, members_str)),
    CFG_ROW("drain", CFG_STR, ZOFF(drain)),
};

#define NOFF(f) offsetof(struct conf_notify, f)
static const struct cfg_directive notify_keys[] = {
    CFG_ROW("command", CFG_STR, NOFF(command)),
    CFG_ROW("on", CFG_STR, NOFF(on_str), .def = "activated, drain"),
    CFG_ROW("severity", CFG_ENUM, NOFF(severity), .names = severities),
    CFG_ROW("alarms", CFG_STR, NOFF(alarms_str)),
    CFG_ROW("timeout", CFG_DUR, NOFF(timeout_ms), .min = 100, .max = 3600000, .def = "10s"),
    CFG_ROW("retries", CFG_INT, NOFF(retries), .min = 0, .max = 10, .def = "2"),
    CFG_ROW("retry_delay", CFG_DUR, NOFF(retry_delay_ms), .min = 0, .max = 3600000, .def = "5s"),
    CFG_ROW("queue", CFG_INT, NOFF(queue), .min = 0, .max = 1000, .def = "100"),
};

/* enum notify_ev's names: the alarm transitions as transition_name() says
 * them, then the zone's two. */
static const char *const notify_events[] = {"activated", "cleared", "acked",    "shelved",
                                            "unshelved", "test",    "test_end", "drain",
                                            "undrain",   NULL};

#define UNKNOWN_SECTION                                                                            \
    "[%s]: unknown section (expected [agent], [mqtt], [metrics], [homeassistant], [bus NAME], "\
    "[device NAME], "      \
    "[sensor NAME], [alarm NAME], [zone NAME] or [notify NAME])"

static void
on_key(struct cfgfile *cf, const char *section, const char *key, const char *value)
{
    struct conf *c = cf->user;
    char buf[160];
    const char *kind, *name;
    void *item;
    int rc;

    if (strcmp(section, "agent") == 0) {
        c->agent_line = cf->section_line;
        if (strcmp(key, "site") == 0)
            c->site_seen = true;
        if (strcmp(key, "board") == 0)
            c->board_line = cf->line;
        rc = cfgfile_apply(cf, section, agent_keys, ARRAY_LEN(agent_keys), &c->agent, key, value);
    } else if (strcmp(section, "mqtt") == 0) {
        rc = mqttconf_key(cf, &c->mqtt, key, value);
    } else if (strcmp(section, "metrics") == 0) {
        rc = metricsconf_key(cf, &c->metrics, key, value);
    } else if (strcmp(section, "homeassistant") == 0) {
        c->ha_line = cf->section_line;
        rc = cfgfile_apply(cf, section, ha_keys, ARRAY_LEN(ha_keys), &c->ha, key, value);
        if (rc == 0 && strcmp(key, "prefix") == 0 &&
            (value[0] == '\0' || strpbrk(value, "+#") != NULL || value[0] == '/' ||
             value[strlen(value) - 1] == '/' || strstr(value, "//") != NULL)) {
            cfgfile_error(cf, "[homeassistant] prefix: '%s' must be a topic without wildcards or "
                              "leading/trailing '/'", value);
            rc = 0;
        }
    } else {
        rc = cfgfile_named_section(cf, section, buf, sizeof(buf), &kind, &name);
        if (rc == -EINVAL)
            cfgfile_error(cf, UNKNOWN_SECTION, section);
        if (rc < 0)
            return;
        if (strcmp(kind, "bus") == 0) {
            struct cfg_sections sa = {(void **)&c->buses, &c->nbuses, &c->cap_buses,
                                       CONF_MAX_BUSES, sizeof(*c->buses),
                                       offsetof(struct conf_bus, line), bus_keys,
                                       ARRAY_LEN(bus_keys)};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            rc = cfgfile_apply(cf, section, bus_keys, ARRAY_LEN(bus_keys), item, key, value);
            /* Remember the key even when its value was wrong, so it is not
             * also reported as missing. */
            for (size_t i = 0; rc != 1 && i < ARRAY_LEN(bus_keys); i++)
                if (strcmp(bus_keys[i].key, key) == 0)
                    ((struct conf_bus *)item)->seen |= 1ull << i;
        } else if (strcmp(kind, "device") == 0) {
            struct cfg_sections sa = {(void **)&c->devices, &c->ndevices, &c->cap_devices, 0,
                                       sizeof(*c->devices), offsetof(struct conf_device, line),
                                       device_keys, ARRAY_LEN(device_keys)};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            rc = cfgfile_apply(cf, section, device_keys, ARRAY_LEN(device_keys), item, key, value);
            if (strcmp(key, "slave") == 0)
                ((struct conf_device *)item)->slave_set = true;
        } else if (strcmp(kind, "sensor") == 0) {
            struct cfg_sections sa = {(void **)&c->sensors, &c->nsensors, &c->cap_sensors, 0,
                                       sizeof(*c->sensors), offsetof(struct conf_sensor, line),
                                       sensor_keys, ARRAY_LEN(sensor_keys)};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            if (strcmp(key, "unit") == 0) {
                struct conf_sensor *s = item;
                if (strlen(value) >= sizeof(s->unit))
                    cfgfile_error(cf, "[%s] unit: longer than %zu characters", section,
                                  sizeof(s->unit) - 1);
                else
                    strcpy(s->unit, value);
                return;
            }
            rc = cfgfile_apply(cf, section, sensor_keys, ARRAY_LEN(sensor_keys), item, key, value);
        } else if (strcmp(kind, "alarm") == 0) {
            struct conf_alarm *a;
            struct cfg_sections sa = {(void **)&c->alarms, &c->nalarms, &c->cap_alarms,
                                       CONF_MAX_ALARMS, sizeof(*c->alarms),
                                       offsetof(struct conf_alarm, def.line), alarm_keys,
                                       ARRAY_LEN(alarm_keys)};
            /* outbox.h's JOURNAL_ALARM: emberd's own alarm/_journal topic. */
            if (strcmp(name, "_journal") == 0) {
                cfgfile_error(cf, "[%s]: the name _journal is emberd's own journal alarm; "
                                  "choose another",
                              section);
                return;
            }
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            a = item;
            rc = cfgfile_apply(cf, section, alarm_keys, ARRAY_LEN(alarm_keys), item, key, value);
            for (size_t i = 0; rc != 1 && i < ARRAY_LEN(alarm_keys); i++)
                if (strcmp(alarm_keys[i].key, key) == 0)
                    a->seen |= 1ull << i;
        } else if (strcmp(kind, "zone") == 0) {
            struct cfg_sections sa = {(void **)&c->zones, &c->nzones, &c->cap_zones,
                                       CONF_MAX_ZONES, sizeof(*c->zones),
                                       offsetof(struct conf_zone, def.line), zone_keys,
                                       ARRAY_LEN(zone_keys)};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            rc = cfgfile_apply(cf, section, zone_keys, ARRAY_LEN(zone_keys), item, key, value);
        } else if (strcmp(kind, "notify") == 0) {
            struct conf_notify *nt;
            struct cfg_sections sa = {(void **)&c->notifiers, &c->nnotifiers, &c->cap_notifiers,
                                       CONF_MAX_NOTIFIERS, sizeof(*c->notifiers),
                                       offsetof(struct conf_notify, line), notify_keys,
                                       ARRAY_LEN(notify_keys)};
            item = cfgfile_section_item(cf, section, &sa, name);
            if (item == NULL)
                return;
            nt = item;
            rc = cfgfile_apply(cf, section, notify_keys, ARRAY_LEN(notify_keys), item, key, value);
            /* The line of each key checked after parsing, for its errors. */
            if (strcmp(key, "command") == 0)
                nt->command_line = cf->line;
            else if (strcmp(key, "on") == 0)
                nt->on_line = cf->line;
            else if (strcmp(key, "alarms") == 0)
                nt->alarms_line = cf->line;
        } else {
            cfgfile_error(cf, UNKNOWN_SECTION, section);
            return;
        }
    }
    if (rc == 1)
        cfgfile_error(cf, "[%s]: unknown key '%s'", section, key);
}

/* Defaults live in the directive tables (def); what cannot be written
 * there is computed here: the agent id is the host name. */
static void
set_defaults(struct conf *c, struct cfgerr *err)
{
    cfgfile_defaults(c->path, agent_keys, ARRAY_LEN(agent_keys), &c->agent, err);
    name_from_hostname(c->agent.id, "agent");
    mqttconf_defaults(&c->mqtt, c->path, err);
    cfgfile_defaults(c->path, ha_keys, ARRAY_LEN(ha_keys), &c->ha, err);
}

static bool
bus_seen(const struct conf_bus *b, const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(bus_keys); i++)
        if (strcmp(bus_keys[i].key, key) == 0)
            return (b->seen >> i) & 1;
    return false;
}

/* Builds, once, each device's sensor list and read plan, and each GPIO
 * input's sensor list; every device's reads must fit the bus worker's
 * plan, so a config that passes -n also starts. */
static void
build_plans(struct conf *c, struct cfgerr *err)
{
    for (int s = 0; s < c->nsensors; s++)
        if (c->sensors[s].device >= 0)
            c->devices[c->sensors[s].device].sensors.n++;
    for (int d = 0; d < c->ndevices; d++) {
        struct conf_device *dev = &c->devices[d];
        dev->sensors.v = xcalloc((size_t)dev->sensors.n + 1, sizeof(int));
        dev->pts = xcalloc((size_t)dev->sensors.n + 1, sizeof(*dev->pts));
        dev->block_of = xcalloc((size_t)dev->sensors.n + 1, sizeof(int));
        dev->offset_of = xcalloc((size_t)dev->sensors.n + 1, sizeof(int));
        dev->sensors.n = 0;
    }
    for (int s = 0; s < c->nsensors; s++) {
        struct conf_device *dev;
        if (c->sensors[s].device < 0)
            continue;
        dev = &c->devices[c->sensors[s].device];
        dev->pts[dev->sensors.n] = c->sensors[s].point;
        dev->sensors.v[dev->sensors.n++] = s;
    }
    for (int d = 0; d < c->ndevices; d++) {
        struct conf_device *dev = &c->devices[d];
        bool complete = dev->sensors.n > 0;
        int rc;
        for (int i = 0; i < dev->sensors.n; i++)
            complete &= dev->pts[i] != NULL; /* else an error is already recorded */
        if (!complete)
            continue;
        rc = profile_plan(dev->pts, (size_t)dev->sensors.n, (unsigned)dev->merge_gap,
                          dev->blocks, CONF_MAX_BLOCKS, dev->block_of, dev->offset_of);
        if (rc < 0)
            cfgerr_add(err, c->path, dev->line,
                       "[device %s]: its sensors need more than %d separate reads; raise "
                       "merge_gap or read fewer points",
                       dev->name, CONF_MAX_BLOCKS);
        else
            dev->nblocks = rc;
    }
    c->input_sensors = xcalloc((size_t)c->ninputs + 1, sizeof(*c->input_sensors));
    for (int s = 0; s < c->nsensors; s++)
        if (c->sensors[s].gpio >= 0)
            c->input_sensors[c->sensors[s].gpio].n++;
    for (int i = 0; i < c->ninputs; i++) {
        c->input_sensors[i].v = xcalloc((size_t)c->input_sensors[i].n + 1, sizeof(int));
        c->input_sensors[i].n = 0;
    }
    for (int s = 0; s < c->nsensors; s++) {
        struct conf_index *ix = c->sensors[s].gpio >= 0 ? &c->input_sensors[c->sensors[s].gpio]
                                                        : NULL;
        if (ix != NULL)
            ix->v[ix->n++] = s;
    }
}

static bool
alarm_seen(const struct conf_alarm *a, const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(alarm_keys); i++)
        if (strcmp(alarm_keys[i].key, key) == 0)
            return (a->seen >> i) & 1;
    return false;
}

/* Alarms: sensor and zone references, kind-specific keys and defaults.
 * Zones: members (listed, or every alarm naming the zone) and the vote. */
static void
validate_alarms(struct conf *c, struct cfgerr *err)
{
    const char *f = c->path;

    for (int i = 0; i < c->nalarms; i++) {
        struct conf_alarm *a = &c->alarms[i];
        struct alarm_def *d = &a->def;
        bool needs_sp = d->kind == AK_HIGH || d->kind == AK_LOW || d->kind == AK_RATE;

        d->sensor = -1;
        d->zone = -1;
        if (!alarm_seen(a, "kind"))
            cfgerr_add(err, f, d->line, "[alarm %s]: missing key 'kind'", d->name);
        if (a->sensor_name == NULL)
            cfgerr_add(err, f, d->line, "[alarm %s]: missing key 'sensor'", d->name);
        else if ((d->sensor = conf_sensor_find(c, a->sensor_name)) < 0)
            cfgerr_add(err, f, d->line, "[alarm %s] sensor: no [sensor %s] in this file",
                       d->name, a->sensor_name);
        if (needs_sp && !alarm_seen(a, "setpoint"))
            cfgerr_add(err, f, d->line, "[alarm %s]: kind %s needs a 'setpoint'", d->name,
                       alarm_kind_name(d->kind));
        if (!needs_sp && alarm_seen(a, "setpoint"))
            cfgerr_add(err, f, d->line, "[alarm %s] setpoint: not used by kind %s", d->name,
                       alarm_kind_name(d->kind));
        if (alarm_seen(a, "contact") && d->kind != AK_CONTACT)
            cfgerr_add(err, f, d->line, "[alarm %s] contact: only for kind contact", d->name);
        if (alarm_seen(a, "window") && d->kind != AK_RATE)
            cfgerr_add(err, f, d->line, "[alarm %s] window: only for kind rate_of_rise",
                       d->name);
        if (alarm_seen(a, "stale_after") && d->kind != AK_STALE)
            cfgerr_add(err, f, d->line, "[alarm %s] stale_after: only for kind stale", d->name);
        /* A detector contact that chatters should raise one alarm: hold it
         * 2 s after the contact opens unless told otherwise (ISA-18.2
         * recommends off-delay for chattering alarms).  Computed: it
         * depends on the kind. */
        if (d->kind == AK_CONTACT && !alarm_seen(a, "off_delay"))
            d->off_delay_ms = 2000;
        if (a->zone_name != NULL)
            d->zone = conf_zone_find(c, a->zone_name);
        else if (d->sensor >= 0 && c->sensors[d->sensor].zone[0] != '\0')
            d->zone = conf_zone_find(c, c->sensors[d->sensor].zone);
        if (a->zone_name != NULL && d->zone < 0)
            cfgerr_add(err, f, d->line, "[alarm %s] zone: no [zone %s] in this file", d->name,
                       a->zone_name);
    }

    /* Explicit member lists first: they take alarms away from the zone
     * their sensor names, before the implicit zones gather theirs. */
    for (int pass = 0; pass < 2; pass++)
    for (int z = 0; z < c->nzones; z++) {
        struct zone_def *zd = &c->zones[z].def;
        if ((c->zones[z].members_str != NULL) != (pass == 0))
            continue;
        zd->members = xcalloc((size_t)c->nalarms + 1, sizeof(int));
        if (c->zones[z].members_str != NULL) {
            char *list = xstrdup(c->zones[z].members_str), *save = NULL;
            for (char *tok = strtok_r(list, ", \t", &save); tok != NULL;
                 tok = strtok_r(NULL, ", \t", &save)) {
                int a = conf_alarm_find(c, tok);
                bool dup = false;
                if (a < 0) {
                    cfgerr_add(err, f, zd->line, "[zone %s] members: no [alarm %s] in this file",
                               zd->name, tok);
                    continue;
                }
                for (int k = 0; k < zd->nmembers; k++)
                    dup |= zd->members[k] == a;
                for (int y = 0; y < c->nzones && !dup; y++)
                    if (y != z && c->zones[y].members_str != NULL && c->alarms[a].def.zone == y)
                        dup = true;
                if (dup) {
                    cfgerr_add(err, f, zd->line,
                               "[zone %s] members: alarm %s is listed twice (or by two zones)",
                               zd->name, tok);
                    continue;
                }
                zd->members[zd->nmembers++] = a;
                c->alarms[a].def.zone = z;
            }
            free(list);
        } else {
            for (int a = 0; a < c->nalarms; a++)
                if (c->alarms[a].def.zone == z)
                    zd->members[zd->nmembers++] = a;
        }
        if (zd->nmembers == 0)
            cfgerr_add(err, f, zd->line, "[zone %s]: no member alarms", zd->name);
    }

    c->alarm_defs = xcalloc((size_t)c->nalarms + 1, sizeof(*c->alarm_defs));
    for (int i = 0; i < c->nalarms; i++)
        c->alarm_defs[i] = c->alarms[i].def;
    c->zone_defs = xcalloc((size_t)c->nzones + 1, sizeof(*c->zone_defs));
    for (int i = 0; i < c->nzones; i++)
        c->zone_defs[i] = c->zones[i].def;
}

/* Notifiers: the command's program exists and may be run (checked as the
 * user running emberd -n or emberd), the events and alarms they name. */
static void
validate_notifiers(struct conf *c, struct cfgerr *err)
{
    const char *f = c->path;

    for (int i = 0; i < c->nnotifiers; i++) {
        struct conf_notify *nt = &c->notifiers[i];
        int line = nt->command_line ? nt->command_line : nt->line;
        char *words, *save = NULL;
        int argc = 0;
        struct stat st;

        if (nt->command == NULL) {
            cfgerr_add(err, f, nt->line, "[notify %s]: missing key 'command' (the program to run)",
                       nt->name);
        } else {
            nt->argv = xcalloc(CONF_NOTIFY_MAX_ARGS + 1, sizeof(*nt->argv));
            words = xstrdup(nt->command);
            for (char *tok = strtok_r(words, " \t", &save); tok != NULL;
                 tok = strtok_r(NULL, " \t", &save)) {
                if (argc == CONF_NOTIFY_MAX_ARGS) {
                    cfgerr_add(err, f, line, "[notify %s] command: more than %d words", nt->name,
                               CONF_NOTIFY_MAX_ARGS);
                    break;
                }
                nt->argv[argc] = argc == 0 ? path_relative_to(f, tok) : xstrdup(tok);
                if (nt->argv[argc++] == NULL)
                    abort();
            }
            free(words);
            if (argc == 0)
                cfgerr_add(err, f, line, "[notify %s] command: no program", nt->name);
            else if (stat(nt->argv[0], &st) < 0)
                cfgerr_add(err, f, line, "[notify %s] command: %s: %s", nt->name, nt->argv[0],
                           strerror(errno));
            else if (!S_ISREG(st.st_mode) || access(nt->argv[0], X_OK) != 0)
                cfgerr_add(err, f, line, "[notify %s] command: %s is not an executable file",
                           nt->name, nt->argv[0]);
        }

        line = nt->on_line ? nt->on_line : nt->line;
        if (nt->on_str != NULL) {
            words = xstrdup(nt->on_str);
            for (char *tok = strtok_r(words, ", \t", &save); tok != NULL;
                 tok = strtok_r(NULL, ", \t", &save)) {
                int ev = conf_notify_event(tok);
                if (ev < 0)
                    cfgerr_add(err, f, line,
                               "[notify %s] on: '%s' is not one of: activated, cleared, acked, "
                               "shelved, unshelved, test, test_end, drain, undrain",
                               nt->name, tok);
                else
                    nt->on |= 1u << ev;
            }
            free(words);
            if (nt->on == 0 && strspn(nt->on_str, ", \t") == strlen(nt->on_str))
                cfgerr_add(err, f, line, "[notify %s] on: names no event", nt->name);
        }

        if (nt->alarms_str != NULL) {
            int n = 0;
            line = nt->alarms_line ? nt->alarms_line : nt->line;
            nt->alarms = xcalloc(strlen(nt->alarms_str) / 2 + 2, sizeof(*nt->alarms));
            words = xstrdup(nt->alarms_str);
            for (char *tok = strtok_r(words, ", \t", &save); tok != NULL;
                 tok = strtok_r(NULL, ", \t", &save)) {
                /* outbox.h's JOURNAL_ALARM may be named too. */
                if (conf_alarm_find(c, tok) < 0 && strcmp(tok, "_journal") != 0)
                    cfgerr_add(err, f, line,
                               "[notify %s] alarms: no [alarm %s] in this file (nor is it "
                               "_journal)",
                               nt->name, tok);
                else
                    nt->alarms[n++] = xstrdup(tok);
            }
            free(words);
            if (n == 0 && strspn(nt->alarms_str, ", \t") == strlen(nt->alarms_str))
                cfgerr_add(err, f, line, "[notify %s] alarms: names no alarm", nt->name);
            /* Zone events are no alarm's: say so rather than never run. */
            if (nt->on_line != 0 && (nt->on & (1u << NOTIFY_DRAIN | 1u << NOTIFY_UNDRAIN)))
                cfgerr_add(err, f, nt->on_line,
                           "[notify %s] on: drain and undrain are a zone's events, which a "
                           "notifier with 'alarms' never gets; use another [notify] section "
                           "for them",
                           nt->name);
        }
    }
}

/* Cross-checks after parsing: required keys, references, board defaults. */
static void
validate(void *user, struct cfgerr *err)
{
    struct conf *c = user;
    const char *f = c->path;
    char client_id[2 * NAME_MAX_LEN + 16];

    if (c->agent.site[0] == '\0' && !c->site_seen)
        cfgerr_add(err, f, c->agent_line, "[agent] site: required (the site name used in topics)");
    if (c->agent.board != NULL) {
        char *path;
        if (strchr(c->agent.board, '/') != NULL) {
            path = path_relative_to(f, c->agent.board);
        } else {
            size_t n = strlen(c->agent.board_dir) + strlen(c->agent.board) + 7;
            path = xcalloc(1, n);
            snprintf(path, n, "%s/%s.conf", c->agent.board_dir, c->agent.board);
        }
        if (board_load(path, &c->board, err) < 0)
            cfgerr_add(err, f, c->board_line, "[agent] board: cannot load '%s' (see above)",
                       c->agent.board);
        free(path);
    }

    snprintf(client_id, sizeof(client_id), "emberd-%s-%s", c->agent.site, c->agent.id);
    mqttconf_validate(&c->mqtt, f, client_id, err);

    for (int i = 0; i < c->nbuses; i++) {
        struct conf_bus *b = &c->buses[i];
        if (!bus_seen(b, "type")) {
            cfgerr_add(err, f, b->line, "[bus %s]: missing key 'type' (tcp or rtu)", b->name);
            continue;
        }
        if (b->type == BUS_TCP) {
            if (b->host == NULL)
                cfgerr_add(err, f, b->line, "[bus %s]: missing key 'host' for a tcp bus", b->name);
            /* Computed: the default port is for tcp buses only (on rtu a port
             * is an error, so the table cannot set it). */
            if (!bus_seen(b, "port"))
                b->port = 502;
            if (b->device || b->serial)
                cfgerr_add(err, f, b->line, "[bus %s]: 'device'/'serial' are for rtu buses",
                           b->name);
            continue;
        }
        if (b->host != NULL || bus_seen(b, "port"))
            cfgerr_add(err, f, b->line, "[bus %s]: 'host'/'port' are for tcp buses", b->name);
        if (b->serial != NULL) {
            const struct board_serial *s = board_serial_find(c->board, b->serial);
            if (c->board == NULL) {
                cfgerr_add(err, f, b->line, "[bus %s] serial: '%s' needs [agent] board", b->name,
                           b->serial);
            } else if (s == NULL) {
                cfgerr_add(err, f, b->line, "[bus %s] serial: board '%s' has no [serial %s]",
                           b->name, c->board->name, b->serial);
            } else {
                if (b->device == NULL)
                    b->device = xstrdup(s->device);
                if (!bus_seen(b, "rs485"))
                    b->rs485 = s->rs485;
                if (!bus_seen(b, "rts"))
                    b->rts = s->rts;
                if (!bus_seen(b, "rts_delay"))
                    b->rts_delay_us = s->rts_delay_us;
            }
        }
        if (b->device == NULL && b->serial == NULL)
            cfgerr_add(err, f, b->line, "[bus %s]: missing key 'device' (or 'serial') for an rtu bus",
                       b->name);
        if (bus_seen(b, "baud")) {
            /* libmodbus silently falls back to 9600 for a rate termios lacks. */
            static const int rates[] = {300,    600,    1200,   2400,    4800,    9600,
                                        19200,  38400,  57600,  115200,  230400,  460800,
                                        500000, 576000, 921600, 1000000, 1152000, 1500000,
                                        2000000, 2500000, 3000000, 3500000, 4000000};
            bool ok = false;
            for (size_t k = 0; k < ARRAY_LEN(rates); k++)
                ok |= rates[k] == b->baud;
            if (!ok)
                cfgerr_add(err, f, b->line,
                           "[bus %s] baud: %d is not a serial rate Linux supports (300, 600, "
                           "1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, ...)",
                           b->name, b->baud);
        }
    }

    for (int i = 0; i < c->ndevices; i++) {
        struct conf_device *d = &c->devices[i];
        if (d->bus_name == NULL) {
            cfgerr_add(err, f, d->line, "[device %s]: missing key 'bus'", d->name);
            d->bus = -1;
        } else if ((d->bus = conf_bus_find(c, d->bus_name)) < 0) {
            cfgerr_add(err, f, d->line, "[device %s] bus: no [bus %s] in this file", d->name,
                       d->bus_name);
        } else if (c->buses[d->bus].type == BUS_RTU && (d->slave < 1 || d->slave > 247)) {
            cfgerr_add(err, f, d->line, "[device %s] slave: %d is out of range (1..247) on RTU",
                       d->name, d->slave);
        } else if (c->buses[d->bus].type == BUS_TCP && d->slave > 247 && d->slave != 255) {
            /* libmodbus accepts only 0..247 and 255 as a TCP unit id. */
            cfgerr_add(err, f, d->line,
                       "[device %s] slave: %d is not a TCP unit id (0..247 or 255)", d->name,
                       d->slave);
        }
        if (d->profile_ref == NULL)
            cfgerr_add(err, f, d->line, "[device %s]: missing key 'profile'", d->name);
        else if (profile_load_ref(c->agent.profile_dir, d->profile_ref, f, &d->profile, err) < 0)
            cfgerr_add(err, f, d->line, "[device %s] profile: cannot load '%s' (see above)",
                       d->name, d->profile_ref);
    }

    /* Each sensor reads at most one input; each output name is at least one
     * character and a separator. */
    c->inputs = xcalloc((size_t)c->nsensors + 1, sizeof(*c->inputs));
    c->outputs = xcalloc(c->agent.alarm_outputs ? strlen(c->agent.alarm_outputs) / 2 + 1 : 1,
                         sizeof(*c->outputs));
    if (c->agent.alarm_outputs != NULL) {
        char *list = xstrdup(c->agent.alarm_outputs), *save = NULL;
        for (char *tok = strtok_r(list, ", \t", &save); tok != NULL;
             tok = strtok_r(NULL, ", \t", &save)) {
            const struct board_gpio *g = board_gpio_find(c->board, tok);
            if (c->board == NULL)
                cfgerr_add(err, f, c->agent_line, "[agent] alarm_outputs: '%s' needs a board",
                           tok);
            else if (g == NULL || !g->output)
                cfgerr_add(err, f, c->agent_line,
                           "[agent] alarm_outputs: board '%s' has no [output %s]", c->board->name,
                           tok);
            else
                c->outputs[c->noutputs++] = g;
        }
        free(list);
    }
    for (int i = 0; i < c->nsensors; i++) {
        struct conf_sensor *s = &c->sensors[i];
        struct conf_device *d;
        s->device = -1;
        s->gpio = -1;
        if (s->gpio_name != NULL) {
            const struct board_gpio *g = board_gpio_find(c->board, s->gpio_name);
            if (s->device_name != NULL || s->point_name != NULL)
                cfgerr_add(err, f, s->line,
                           "[sensor %s]: a gpio sensor has no 'device' or 'point'", s->name);
            if (c->board == NULL) {
                cfgerr_add(err, f, s->line, "[sensor %s] gpio: '%s' needs [agent] board",
                           s->name, s->gpio_name);
            } else if (g == NULL || g->output) {
                cfgerr_add(err, f, s->line, "[sensor %s] gpio: board '%s' has no [input %s]",
                           s->name, c->board->name, s->gpio_name);
            } else {
                for (int k = 0; k < c->ninputs && s->gpio < 0; k++)
                    if (c->inputs[k] == g)
                        s->gpio = k;
                if (s->gpio < 0) {
                    s->gpio = c->ninputs;
                    c->inputs[c->ninputs++] = g;
                }
            }
            continue;
        }
        if (s->device_name == NULL) {
            cfgerr_add(err, f, s->line, "[sensor %s]: missing key 'device' (or 'gpio')", s->name);
            continue;
        }
        if ((s->device = conf_device_find(c, s->device_name)) < 0) {
            cfgerr_add(err, f, s->line, "[sensor %s] device: no [device %s] in this file", s->name,
                       s->device_name);
            continue;
        }
        d = &c->devices[s->device];
        if (s->point_name == NULL) {
            cfgerr_add(err, f, s->line, "[sensor %s]: missing key 'point'", s->name);
            continue;
        }
        if (d->profile == NULL)
            continue;
        s->point = profile_point(d->profile, s->point_name);
        if (s->point == NULL) {
            cfgerr_add(err, f, s->line, "[sensor %s] point: profile '%s' has no point '%s'",
                       s->name, d->profile->name, s->point_name);
            continue;
        }
        if (s->unit[0] == '\0')
            strcpy(s->unit, s->point->unit);
    }
    build_plans(c, err);
    validate_alarms(c, err);
    validate_notifiers(c, err);
}

int
conf_load(const char *path, struct conf **out, struct cfgerr *err)
{
    struct conf *c = xcalloc(1, sizeof(*c));
    static const char *const singletons[] = {"agent", "mqtt", "metrics", "homeassistant", NULL};
    struct cfgfile cf = {
        .path = path, .err = err, .key = on_key, .user = c, .singletons = singletons};
    int rc;

    c->path = xstrdup(path);
    set_defaults(c, err);
    rc = cfgfile_load(&cf, validate);
    if (rc < 0) {
        conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void
conf_free(struct conf *c)
{
    if (c == NULL)
        return;
    cfgfile_free_strings(agent_keys, ARRAY_LEN(agent_keys), &c->agent);
    mqttconf_free(&c->mqtt);
    metricsconf_free(&c->metrics);
    cfgfile_free_strings(ha_keys, ARRAY_LEN(ha_keys), &c->ha);
    for (int i = 0; i < c->nbuses; i++)
        cfgfile_free_strings(bus_keys, ARRAY_LEN(bus_keys), &c->buses[i]);
    for (int i = 0; i < c->ndevices; i++) {
        cfgfile_free_strings(device_keys, ARRAY_LEN(device_keys), &c->devices[i]);
        free(c->devices[i].sensors.v);
        free(c->devices[i].pts);
        free(c->devices[i].block_of);
        free(c->devices[i].offset_of);
        profile_free(c->devices[i].profile);
    }
    for (int i = 0; i < c->nsensors; i++)
        cfgfile_free_strings(sensor_keys, ARRAY_LEN(sensor_keys), &c->sensors[i]);
    for (int i = 0; i < c->nalarms; i++)
        cfgfile_free_strings(alarm_keys, ARRAY_LEN(alarm_keys), &c->alarms[i]);
    for (int i = 0; i < c->nzones; i++) {
        cfgfile_free_strings(zone_keys, ARRAY_LEN(zone_keys), &c->zones[i]);
        free(c->zones[i].def.members);
    }
    for (int i = 0; i < c->nnotifiers; i++) {
        cfgfile_free_strings(notify_keys, ARRAY_LEN(notify_keys), &c->notifiers[i]);
        strv_free(c->notifiers[i].argv);
        strv_free(c->notifiers[i].alarms);
    }
    free(c->notifiers);
    free(c->alarms);
    free(c->zones);
    free(c->alarm_defs);
    free(c->zone_defs);
    for (int i = 0; c->input_sensors != NULL && i < c->ninputs; i++)
        free(c->input_sensors[i].v);
    free(c->input_sensors);
    free(c->inputs);
    free(c->outputs);
    board_free(c->board);
    free(c->buses);
    free(c->devices);
    free(c->sensors);
    free(c->path);
    free(c);
}

int
conf_bus_find(const struct conf *c, const char *name)
{
    return cfgfile_item_find(c->buses, c->nbuses, sizeof(*c->buses), name);
}

int
conf_device_find(const struct conf *c, const char *name)
{
    return cfgfile_item_find(c->devices, c->ndevices, sizeof(*c->devices), name);
}

int
conf_alarm_find(const struct conf *c, const char *name)
{
    return cfgfile_item_find(c->alarms, c->nalarms, sizeof(*c->alarms), name);
}

int
conf_zone_find(const struct conf *c, const char *name)
{
    return cfgfile_item_find(c->zones, c->nzones, sizeof(*c->zones), name);
}

int
conf_notify_find(const struct conf *c, const char *name)
{
    return cfgfile_item_find(c->notifiers, c->nnotifiers, sizeof(*c->notifiers), name);
}

int
conf_notify_event(const char *name)
{
    for (int i = 0; notify_events[i] != NULL; i++)
        if (strcmp(notify_events[i], name) == 0)
            return i;
    return -1;
}

const char *
conf_notify_event_name(int ev)
{
    return ev >= 0 && ev < NOTIFY_NEVENTS ? notify_events[ev] : "?";
}

int
conf_sensor_find(const struct conf *c, const char *name)
{
    return cfgfile_item_find(c->sensors, c->nsensors, sizeof(*c->sensors), name);
}

const char *
conf_agent_restart_key(const struct conf *a, const struct conf *b)
{
    return cfgfile_restart_key(agent_keys, ARRAY_LEN(agent_keys), &a->agent, &b->agent);
}

const char *
conf_alarm_zone(const struct conf *c, int a)
{
    const struct alarm_def *def = &c->alarm_defs[a];
    if (def->zone >= 0)
        return c->zone_defs[def->zone].name;
    return c->sensors[def->sensor].zone;
}

const char *
conf_ha_restart_key(const struct conf *a, const struct conf *b)
{
    return cfgfile_restart_key(ha_keys, ARRAY_LEN(ha_keys), &a->ha, &b->ha);
}

void
conf_summary(const struct conf *c, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%d %s, %d %s, %d %s, %d %s, %d %s", c->nbuses,
                     plural(c->nbuses, "bus", "buses"), c->ndevices,
                     plural(c->ndevices, "device", "devices"), c->nsensors,
                     plural(c->nsensors, "sensor", "sensors"), c->nalarms,
                     plural(c->nalarms, "alarm", "alarms"), c->nzones,
                     plural(c->nzones, "zone", "zones"));

    if (c->nnotifiers > 0 && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ", %d %s", c->nnotifiers,
                 plural(c->nnotifiers, "notifier", "notifiers"));
}
