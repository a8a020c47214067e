/*
 * payload.c - contract payloads built with cJSON.
 */
#include "payload.h"

#include <cJSON.h>

#include "util.h"

#include <stdio.h>

char *
payload_sensor(const struct sensor_state *s, const char *unit)
{
    char ts[32];
    cJSON *o = cJSON_CreateObject();
    char *out;

    if (o == NULL)
        return NULL;
    fmt_rfc3339_ms(s->ts_ms, ts, sizeof(ts));
    cJSON_AddStringToObject(o, "ts", ts);
    if (s->has_value)
        cJSON_AddNumberToObject(o, "value", s->value);
    else
        cJSON_AddNullToObject(o, "value");
    cJSON_AddStringToObject(o, "unit", unit);
    cJSON_AddStringToObject(o, "quality", quality_name(s->quality));
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

static void
add_time(cJSON *o, const char *key, int64_t ms)
{
    char ts[32];
    if (ms <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    fmt_rfc3339_ms(ms, ts, sizeof(ts));
    cJSON_AddStringToObject(o, key, ts);
}

/* The fields every alarm payload ends with; prints and frees o.
 * shelved_until 0 gives null; by NULL leaves "by" out, "" makes it null. */
static char *
alarm_finish(cJSON *o, const char *message, const char *transition, int64_t shelved_until,
             const char *by)
{
    char *out;

    cJSON_AddStringToObject(o, "message", message);
    if (transition != NULL)
        cJSON_AddStringToObject(o, "transition", transition);
    add_time(o, "shelved_until", shelved_until);
    if (by != NULL) {
        if (by[0] != '\0')
            cJSON_AddStringToObject(o, "by", by);
        else
            cJSON_AddNullToObject(o, "by");
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

char *
payload_alarm(const struct alarm_def *d, const struct alarm_state *st, const char *sensor,
              const char *zone, const char *unit, const char *transition,
              const struct payload_alarm_extra *x, int64_t now_real, uint64_t epoch)
{
    cJSON *o = cJSON_CreateObject();
    bool shown = alarm_shown_active(st);
    char msg[256];

    if (o == NULL)
        return NULL;
    add_time(o, "ts", now_real);
    cJSON_AddStringToObject(o, "alarm", d->name);
    cJSON_AddStringToObject(o, "sensor", sensor);
    if (zone != NULL && zone[0] != '\0')
        cJSON_AddStringToObject(o, "zone", zone);
    else
        cJSON_AddNullToObject(o, "zone");
    cJSON_AddStringToObject(o, "kind", alarm_kind_name(d->kind));
    cJSON_AddStringToObject(o, "severity", severity_name(d->severity));
    cJSON_AddStringToObject(o, "state", shown ? "active" : "cleared");
    cJSON_AddBoolToObject(o, "acked", st->test_until != 0 && !st->active ? false : st->acked);
    cJSON_AddBoolToObject(o, "shelved", alarm_shelved(st));
    if (st->has_value)
        cJSON_AddNumberToObject(o, "value", st->value);
    else
        cJSON_AddNullToObject(o, "value");
    if (d->kind == AK_HIGH || d->kind == AK_LOW || d->kind == AK_RATE)
        cJSON_AddNumberToObject(o, "setpoint", d->setpoint);
    else
        cJSON_AddNullToObject(o, "setpoint");
    cJSON_AddStringToObject(o, "unit", d->kind == AK_RATE ? "/min" : unit ? unit : "");
    add_time(o, "since", st->since_ms);
    cJSON_AddNumberToObject(o, "seq", (double)st->seq);
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    cJSON_AddBoolToObject(o, "test", st->test_until != 0 && !st->active);
    if (d->message != NULL) {
        snprintf(msg, sizeof(msg), "%s", d->message);
    } else {
        switch (d->kind) {
        case AK_HIGH:
            snprintf(msg, sizeof(msg), "%s at or above %g %s", sensor, d->setpoint, unit);
            break;
        case AK_LOW:
            snprintf(msg, sizeof(msg), "%s at or below %g %s", sensor, d->setpoint, unit);
            break;
        case AK_RATE:
            snprintf(msg, sizeof(msg), "%s rising %g %s/min or faster", sensor, d->setpoint,
                     unit);
            break;
        case AK_CONTACT:
            snprintf(msg, sizeof(msg), "%s contact %s", sensor, d->nc ? "opened" : "closed");
            break;
        case AK_COMMS_LOSS:
            snprintf(msg, sizeof(msg), "%s not answering", sensor);
            break;
        default:
            snprintf(msg, sizeof(msg), "%s value unchanged too long", sensor);
            break;
        }
    }
    return alarm_finish(o, msg, transition,
                        x != NULL && alarm_shelved(st) ? x->shelved_until : 0,
                        x != NULL ? x->by : NULL);
}

char *
payload_journal_alarm(bool active, int64_t since_ms, uint64_t seq, uint64_t epoch,
                      const char *message, const char *transition, int64_t now_real)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    add_time(o, "ts", now_real);
    cJSON_AddStringToObject(o, "alarm", "_journal");
    cJSON_AddNullToObject(o, "sensor");
    cJSON_AddNullToObject(o, "zone");
    cJSON_AddStringToObject(o, "kind", "journal");
    cJSON_AddStringToObject(o, "severity", "warning");
    cJSON_AddStringToObject(o, "state", active ? "active" : "cleared");
    cJSON_AddBoolToObject(o, "acked", !active);
    cJSON_AddBoolToObject(o, "shelved", false);
    cJSON_AddNullToObject(o, "value");
    cJSON_AddNullToObject(o, "setpoint");
    cJSON_AddStringToObject(o, "unit", "");
    add_time(o, "since", since_ms);
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    cJSON_AddBoolToObject(o, "test", false);
    return alarm_finish(o, message, transition, 0, NULL);
}

char *
payload_drain(const struct zone_def *z, const struct zone_state *zs, const char *const *alarms,
              int nalarms, int64_t now_real, uint64_t epoch)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *list;
    char reason[160];
    char *out;

    if (o == NULL)
        return NULL;
    add_time(o, "ts", now_real);
    cJSON_AddStringToObject(o, "zone", z->name);
    cJSON_AddStringToObject(o, "request", zs->request || zs->test ? "drain" : "none");
    if (zs->request)
        snprintf(reason, sizeof(reason), "%d of %d required sensors in critical alarm", zs->votes,
                 z->vote);
    else if (zs->test)
        snprintf(reason, sizeof(reason), "test of zone %s: not a real request", z->name);
    else
        snprintf(reason, sizeof(reason), "%d of %d required sensors in critical alarm", zs->votes,
                 z->vote);
    cJSON_AddStringToObject(o, "reason", reason);
    list = cJSON_AddArrayToObject(o, "alarms");
    for (int i = 0; list != NULL && i < nalarms; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(alarms[i]));
    cJSON_AddNumberToObject(o, "votes", zs->votes);
    cJSON_AddNumberToObject(o, "vote", z->vote);
    cJSON_AddNumberToObject(o, "seq", (double)zs->seq);
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    cJSON_AddBoolToObject(o, "test", zs->test && !zs->request);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}
