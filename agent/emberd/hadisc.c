/*
 * hadisc.c - Home Assistant MQTT discovery messages (see hadisc.h), built
 * with cJSON from the configuration alone.  Field names and values follow
 * Home Assistant's MQTT sensor and binary sensor documentation; the tests
 * check every message against a JSON schema written from it
 * (tests/ha/discovery.schema.json).
 */
#include "hadisc.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "version.h"

enum { HA_SENSOR, HA_ALARM, HA_ZONE, HA_AGENT };

/* Home Assistant's unit and device class for an emberwatch unit; NULL
 * class: none fits. */
static void
unit_class(const char *unit, const char **ha_unit, const char **cls)
{
    static const struct {
        const char *unit, *ha_unit, *cls;
    } map[] = {
        {"C", "°C", "temperature"}, {"F", "°F", "temperature"}, {"%RH", "%", "humidity"},
        {"W", "W", "power"},        {"kW", "kW", "power"},      {"V", "V", "voltage"},
        {"A", "A", "current"},      {"Hz", "Hz", "frequency"},  {"kWh", "kWh", "energy"},
        {"ppm", "ppm", NULL},       {"%", "%", NULL},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(unit, map[i].unit) == 0) {
            *ha_unit = map[i].ha_unit;
            *cls = map[i].cls;
            return;
        }
    }
    *ha_unit = unit[0] ? unit : NULL;
    *cls = NULL;
}

static void
device(cJSON *o, const struct conf *c)
{
    char id[2 * NAME_MAX_LEN + 16], name[2 * NAME_MAX_LEN + 16];
    cJSON *d = cJSON_AddObjectToObject(o, "device"), *ids, *org;

    snprintf(id, sizeof(id), "emberwatch_%s_%s", c->agent.site, c->agent.id);
    snprintf(name, sizeof(name), "emberd %s/%s", c->agent.site, c->agent.id);
    ids = cJSON_AddArrayToObject(d, "identifiers");
    cJSON_AddItemToArray(ids, cJSON_CreateString(id));
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddStringToObject(d, "manufacturer", "emberwatch");
    cJSON_AddStringToObject(d, "model", "emberd");
    cJSON_AddStringToObject(d, "sw_version", EMBER_VERSION);
    if (c->agent.room[0])
        cJSON_AddStringToObject(d, "suggested_area", c->agent.room);
    org = cJSON_AddObjectToObject(o, "origin");
    cJSON_AddStringToObject(org, "name", "emberd");
    cJSON_AddStringToObject(org, "sw_version", EMBER_VERSION);
}

/* The agent's status as the entity's availability. */
static void
availability(cJSON *o, const char *base)
{
    char t[600];
    cJSON *arr = cJSON_AddArrayToObject(o, "availability"), *a = cJSON_CreateObject();

    snprintf(t, sizeof(t), "%s/status", base);
    cJSON_AddStringToObject(a, "topic", t);
    cJSON_AddStringToObject(a, "payload_available", "online");
    cJSON_AddStringToObject(a, "payload_not_available", "offline");
    cJSON_AddItemToArray(arr, a);
}

/* Home Assistant takes [A-Za-z0-9_-] in a discovery topic's node and
 * object ids; emberwatch names may also have dots. */
static void
topic_id(char *s)
{
    for (; *s; s++)
        if (*s == '.')
            *s = '_';
}

char *
hadisc_message(const struct conf *c, int kind, int i, char **topic)
{
    char base[512], t[1100], uid[3 * NAME_MAX_LEN + 32], node[2 * NAME_MAX_LEN + 16];
    const char *component, *object;
    cJSON *o;
    char *out;

    *topic = NULL;
    if ((kind == HA_SENSOR && (i < 0 || i >= c->nsensors)) ||
        (kind == HA_ALARM && (i < 0 || i >= c->nalarms)) || (kind == HA_ZONE && (i < 0 || i >= c->nzones)))
        return NULL;
    snprintf(base, sizeof(base), "%s/%s/%s", c->mqtt.prefix, c->agent.site, c->agent.id);
    snprintf(node, sizeof(node), "emberwatch_%s_%s", c->agent.site, c->agent.id);
    o = cJSON_CreateObject();
    switch (kind) {
    case HA_SENSOR: {
        const char *unit, *cls;
        object = c->sensors[i].name;
        component = "sensor";
        snprintf(uid, sizeof(uid), "%s_sensor_%s", node, object);
        snprintf(t, sizeof(t), "%s/sensor/%s", base, object);
        cJSON_AddStringToObject(o, "name", object);
        cJSON_AddStringToObject(o, "state_topic", t);
        cJSON_AddStringToObject(o, "value_template", "{{ value_json.value }}");
        cJSON_AddStringToObject(o, "json_attributes_topic", t);
        cJSON_AddStringToObject(o, "json_attributes_template",
                                "{{ {'quality': value_json.quality, 'ts': value_json.ts} | tojson }}");
        unit_class(c->sensors[i].unit, &unit, &cls);
        if (unit != NULL)
            cJSON_AddStringToObject(o, "unit_of_measurement", unit);
        if (cls != NULL)
            cJSON_AddStringToObject(o, "device_class", cls);
        /* Home Assistant keeps statistics of an energy meter only as a
         * total that increases. */
        cJSON_AddStringToObject(o, "state_class",
                                cls != NULL && strcmp(cls, "energy") == 0 ? "total_increasing" : "measurement");
        break;
    }
    case HA_ALARM: {
        const struct alarm_def *d = &c->alarm_defs[i];
        object = d->name;
        component = "binary_sensor";
        snprintf(uid, sizeof(uid), "%s_alarm_%s", node, object);
        snprintf(t, sizeof(t), "%s/alarm/%s", base, object);
        cJSON_AddStringToObject(o, "name", object);
        cJSON_AddStringToObject(o, "state_topic", t);
        cJSON_AddStringToObject(o, "value_template",
                                "{{ 'ON' if value_json.state == 'active' else 'OFF' }}");
        cJSON_AddStringToObject(o, "json_attributes_topic", t);
        cJSON_AddStringToObject(o, "json_attributes_template",
                                "{{ {'severity': value_json.severity, 'acked': value_json.acked, "
                                "'shelved': value_json.shelved, 'value': value_json.value, "
                                "'message': value_json.message, 'seq': value_json.seq} | tojson }}");
        cJSON_AddStringToObject(o, "device_class",
                                d->kind == AK_COMMS_LOSS || d->kind == AK_STALE ? "problem" : "safety");
        break;
    }
    case HA_ZONE:
        object = c->zone_defs[i].name;
        component = "binary_sensor";
        snprintf(uid, sizeof(uid), "%s_zone_%s", node, object);
        snprintf(t, sizeof(t), "%s/drain/%s", base, object);
        {
            char n[NAME_MAX_LEN + 32];
            snprintf(n, sizeof(n), "zone %s drain request", object);
            cJSON_AddStringToObject(o, "name", n);
        }
        cJSON_AddStringToObject(o, "state_topic", t);
        cJSON_AddStringToObject(o, "value_template",
                                "{{ 'ON' if value_json.request == 'drain' and not value_json.test else 'OFF' }}");
        cJSON_AddStringToObject(o, "json_attributes_topic", t);
        cJSON_AddStringToObject(o, "json_attributes_template",
                                "{{ {'votes': value_json.votes, 'vote': value_json.vote, 'reason': "
                                "value_json.reason, 'test': value_json.test} | tojson }}");
        cJSON_AddStringToObject(o, "device_class", "safety");
        break;
    case HA_AGENT:
        object = "status";
        component = "binary_sensor";
        snprintf(uid, sizeof(uid), "%s_status", node);
        snprintf(t, sizeof(t), "%s/status", base);
        cJSON_AddStringToObject(o, "name", "agent online");
        cJSON_AddStringToObject(o, "state_topic", t);
        cJSON_AddStringToObject(o, "payload_on", "online");
        cJSON_AddStringToObject(o, "payload_off", "offline");
        cJSON_AddStringToObject(o, "device_class", "connectivity");
        cJSON_AddStringToObject(o, "entity_category", "diagnostic");
        break;
    default:
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "unique_id", uid);
    cJSON_AddNumberToObject(o, "qos", 1);
    if (kind != HA_AGENT)
        availability(o, base);
    device(o, c);
    {
        char oid[NAME_MAX_LEN + 1];
        snprintf(oid, sizeof(oid), "%s", object);
        topic_id(oid);
        topic_id(node);
        snprintf(t, sizeof(t), "%s/%s/%s/%s/config", c->ha.prefix, component, node, oid);
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (out != NULL)
        *topic = strdup(t);
    if (out != NULL && *topic == NULL) {
        free(out);
        return NULL;
    }
    return out;
}

void
hadisc_each(const struct conf *c, hadisc_fn fn, void *arg)
{
    int n[4] = {c->nsensors, c->nalarms, c->nzones, 1};

    for (int kind = HA_SENSOR; kind <= HA_AGENT; kind++) {
        for (int i = 0; i < n[kind]; i++) {
            char *topic, *payload = hadisc_message(c, kind, i, &topic);
            if (payload == NULL)
                continue;
            fn(arg, topic, payload);
            free(topic);
            free(payload);
        }
    }
}
