/*
 * notifymsg.c - a notifier's EMBER_* environment from an event's JSON, and
 * its filters.  Pure: no I/O, no clock.
 */
#include "notifymsg.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "util.h"

/* Each variable and the JSON fields it is taken from, the first present
 * one winning: an alarm event says "state" and "message", a zone's drain
 * request "request" and "reason". */
static const struct {
    const char *var;
    const char *keys[2];
} fields[] = {
    {"EMBER_ALARM", {"alarm"}},
    {"EMBER_SENSOR", {"sensor"}},
    {"EMBER_ZONE", {"zone"}},
    {"EMBER_KIND", {"kind"}},
    {"EMBER_SEVERITY", {"severity"}},
    {"EMBER_STATE", {"state", "request"}},
    {"EMBER_VALUE", {"value"}},
    {"EMBER_SETPOINT", {"setpoint"}},
    {"EMBER_UNIT", {"unit"}},
    {"EMBER_SEQ", {"seq"}},
    {"EMBER_EPOCH", {"epoch"}},
    {"EMBER_TS", {"ts"}},
    {"EMBER_MESSAGE", {"message", "reason"}},
    {"EMBER_BY", {"by"}},
    {"EMBER_TEST", {"test"}},
    {"EMBER_ALARMS", {"alarms"}},
};

/* "NAME=value", malloc'd. */
static char *
pair(const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    char *s = xcalloc(1, n + v + 2);

    memcpy(s, name, n);
    s[n] = '=';
    memcpy(s + n + 1, value, v);
    return s;
}

/* A JSON value as a variable's value (see notifymsg.h), malloc'd. */
static char *
value_text(const cJSON *item)
{
    char *s;

    if (item == NULL || cJSON_IsNull(item))
        return xstrdup("");
    if (cJSON_IsString(item))
        return xstrdup(item->valuestring);
    if (cJSON_IsBool(item))
        return xstrdup(cJSON_IsTrue(item) ? "1" : "0");
    if (cJSON_IsArray(item)) {
        size_t len = 1;
        const cJSON *el;
        cJSON_ArrayForEach(el, item)
        {
            if (cJSON_IsString(el))
                len += strlen(el->valuestring) + 1;
        }
        s = xcalloc(1, len);
        cJSON_ArrayForEach(el, item)
        {
            if (!cJSON_IsString(el))
                continue;
            if (s[0] != '\0')
                strcat(s, ",");
            strcat(s, el->valuestring);
        }
        return s;
    }
    /* A number, as the JSON has it. */
    s = cJSON_PrintUnformatted(item);
    if (s == NULL)
        abort();
    return s;
}

char **
notify_env(int ev, const char *json, const char *site, const char *agent)
{
    cJSON *o = cJSON_Parse(json);
    char **env;
    size_t k = 0;

    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return NULL;
    }
    env = xcalloc(ARRAY_LEN(fields) + 4, sizeof(*env));
    env[k++] = pair("EMBER_EVENT", conf_notify_event_name(ev));
    env[k++] = pair("EMBER_SITE", site);
    env[k++] = pair("EMBER_AGENT", agent);
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        const cJSON *item = NULL;
        char *v;
        for (size_t j = 0; j < ARRAY_LEN(fields[i].keys) && item == NULL; j++)
            if (fields[i].keys[j] != NULL)
                item = cJSON_GetObjectItemCaseSensitive(o, fields[i].keys[j]);
        v = value_text(item);
        env[k++] = pair(fields[i].var, v);
        free(v);
    }
    cJSON_Delete(o);
    return env;
}

const char *
notify_env_get(char *const *env, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return "";
}

static bool
zone_event(int ev)
{
    return ev == NOTIFY_DRAIN || ev == NOTIFY_UNDRAIN;
}

bool
notify_wants(const struct conf_notify *nc, int ev, char *const *env)
{
    const char *alarm = notify_env_get(env, "EMBER_ALARM");
    bool listed;

    if (ev < 0 || ev >= NOTIFY_NEVENTS || !(nc->on & (1u << ev)))
        return false;
    /* A zone's events are no alarm's: `alarms` leaves them out. */
    if (zone_event(ev))
        return nc->alarms == NULL;
    if (nc->severity == SEV_CRITICAL &&
        strcmp(notify_env_get(env, "EMBER_SEVERITY"), severity_name(SEV_CRITICAL)) != 0)
        return false;
    if (nc->alarms == NULL)
        return true;
    listed = false;
    for (size_t i = 0; nc->alarms[i] != NULL && !listed; i++)
        listed = strcmp(nc->alarms[i], alarm) == 0;
    return listed;
}

int
notify_drop_choice(const bool *pending_critical, int n, bool new_critical)
{
    for (int i = 0; i < n; i++)
        if (!pending_critical[i])
            return i;
    return new_critical && n > 0 ? 0 : -1;
}

bool
notify_critical(int ev, char *const *env)
{
    if (ev == NOTIFY_DRAIN)
        return strcmp(notify_env_get(env, "EMBER_TEST"), "1") != 0;
    if (zone_event(ev))
        return false;
    return strcmp(notify_env_get(env, "EMBER_SEVERITY"), severity_name(SEV_CRITICAL)) == 0;
}
