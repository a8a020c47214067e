/*
 * payload.c - contract payloads built with cJSON.
 */
#include "payload.h"

#include <cJSON.h>

#include "util.h"

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
