/*
 * cmd.c - command parsing and validation (cJSON; the strict payload and the
 * id are cmdmsg's).
 */
#include "cmd.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {"ack",    "shelve", "unshelve", "test",
                                    "status", "alarms", "reload", "events"};

const char *
cmd_name(enum cmd_kind k)
{
    return names[k];
}

static int
get_name(const cJSON *o, const char *key, bool required, char *dst, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (v == NULL) {
        if (required) {
            snprintf(err, errlen, "missing \"%s\"", key);
            return -EINVAL;
        }
        return 0;
    }
    if (!cJSON_IsString(v) || !name_valid(v->valuestring)) {
        snprintf(err, errlen, "\"%s\" must be a name of 1-%d characters [A-Za-z0-9_.-]", key,
                 NAME_MAX_LEN);
        return -EINVAL;
    }
    strcpy(dst, v->valuestring);
    return 0;
}

/* "duration": "1h" / "90s" / a number of seconds. */
static int
get_duration(const cJSON *o, bool required, int64_t def, int64_t max, int64_t *out, char *err,
             size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "duration");
    int64_t ms;

    if (v == NULL) {
        if (required) {
            snprintf(err, errlen, "missing \"duration\"");
            return -EINVAL;
        }
        *out = def;
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1e9) {
            snprintf(err, errlen, "\"duration\" out of range");
            return -EINVAL;
        }
        ms = (int64_t)llround(v->valuedouble * 1000.0);
    } else if (!cJSON_IsString(v) || parse_duration_ms(v->valuestring, &ms) < 0) {
        snprintf(err, errlen, "\"duration\" must be seconds or a duration like \"30m\"");
        return -EINVAL;
    }
    if (ms < 1000 || ms > max) {
        char hi[32];
        fmt_duration_ms(max, hi, sizeof(hi));
        snprintf(err, errlen, "\"duration\" must be between 1s and %s", hi);
        return -EINVAL;
    }
    *out = ms;
    return 0;
}

static int
parse_object(const char *name, const cJSON *o, bool remote, struct cmd *c, char *err,
             size_t errlen)
{
    int k = -1;

    /* by and id first: a command refused later still names them in its
     * result. */
    if (get_name(o, "by", false, c->by, err, errlen) < 0 ||
        cmdmsg_get_id(o, c->id, err, errlen) < 0)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(name, names[i]) == 0)
            k = (int)i;
    if (k < 0 || (remote && k > CMD_TEST)) {
        snprintf(err, errlen, "unknown command \"%.64s\"", name);
        return -EINVAL;
    }
    c->kind = (enum cmd_kind)k;
    switch (c->kind) {
    case CMD_ACK:
    case CMD_UNSHELVE:
        return get_name(o, "alarm", true, c->alarm, err, errlen);
    case CMD_SHELVE:
        if (get_name(o, "alarm", true, c->alarm, err, errlen) < 0)
            return -EINVAL;
        return get_duration(o, true, 0, CMD_SHELVE_MAX_MS, &c->duration_ms, err, errlen);
    case CMD_TEST:
        if (get_name(o, "zone", true, c->zone, err, errlen) < 0)
            return -EINVAL;
        return get_duration(o, false, CMD_TEST_DEFAULT_MS, CMD_TEST_MAX_MS, &c->duration_ms, err,
                            errlen);
    case CMD_EVENTS: {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "since");
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "limit");
        if (v != NULL && (!cJSON_IsString(v) || parse_duration_ms(v->valuestring, &c->since_ms) < 0 ||
                          c->since_ms <= 0)) {
            snprintf(err, errlen, "\"since\" must be a duration like \"1h\" or \"7d\"");
            return -EINVAL;
        }
        c->limit = 100;
        if (l != NULL) {
            if (!cJSON_IsNumber(l) || l->valuedouble < 1 || l->valuedouble > CMD_EVENTS_MAX ||
                l->valuedouble != (int)l->valuedouble) {
                snprintf(err, errlen, "\"limit\" must be a whole number from 1 to %d", CMD_EVENTS_MAX);
                return -EINVAL;
            }
            c->limit = (int)l->valuedouble;
        }
        if (cJSON_GetObjectItemCaseSensitive(o, "alarm") != NULL)
            return get_name(o, "alarm", true, c->alarm, err, errlen);
        return 0;
    }
    default:
        return 0;
    }
}

static cJSON *
parse_json(const char *json, size_t len, char *err, size_t errlen)
{
    return cmdmsg_parse(json, len, CMD_MAX_PAYLOAD, err, errlen);
}

int
cmd_parse(const char *name, const char *json, size_t len, bool remote, struct cmd *out,
          char *err, size_t errlen)
{
    cJSON *o;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((o = parse_json(json, len, err, errlen)) == NULL)
        return -EINVAL;
    rc = parse_object(name, o, remote, out, err, errlen);
    cJSON_Delete(o);
    return rc;
}

int
cmd_parse_request(const char *json, size_t len, struct cmd *out, char *err, size_t errlen)
{
    cJSON *o;
    const cJSON *c;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((o = parse_json(json, len, err, errlen)) == NULL)
        return -EINVAL;
    c = cJSON_GetObjectItemCaseSensitive(o, "cmd");
    if (!cJSON_IsString(c)) {
        snprintf(err, errlen, "missing \"cmd\"");
        cJSON_Delete(o);
        return -EINVAL;
    }
    rc = parse_object(c->valuestring, o, false, out, err, errlen);
    cJSON_Delete(o);
    return rc;
}
