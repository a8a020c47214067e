/*
 * cmdmsg.c - strict command payloads, recent command ids and the result
 * message (cJSON).
 */
#include "cmdmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* True when an object at any depth names a key twice.  cJSON keeps every
 * member, and its lookups return the first, so {"alarm":"a","alarm":"b"}
 * would act on "a" while another reader might take "b". */
static bool
has_duplicate_key(const cJSON *o)
{
    for (const cJSON *c = o ? o->child : NULL; c != NULL; c = c->next) {
        if (cJSON_IsObject(o) && c->string != NULL)
            for (const cJSON *d = c->next; d != NULL; d = d->next)
                if (d->string != NULL && strcmp(c->string, d->string) == 0)
                    return true;
        if (has_duplicate_key(c))
            return true;
    }
    return false;
}

cJSON *
cmdmsg_parse(const void *payload, size_t len, size_t max, char *err, size_t errlen)
{
    const char *json = payload;
    const char *end = NULL;
    cJSON *o;

    if (len > max) {
        snprintf(err, errlen, "payload larger than %zu bytes", max);
        return NULL;
    }
    o = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (o == NULL) {
        snprintf(err, errlen, "payload is not JSON");
        return NULL;
    }
    /* A raw NUL is not JSON either, but cJSON accepts one inside a string
     * and stops the string at it: {"alarm":"room-hot\0junk"} would name
     * "room-hot". */
    if (strnlen(json, len) != len) {
        snprintf(err, errlen, "payload contains a NUL byte");
        cJSON_Delete(o);
        return NULL;
    }
    /* Nothing but blanks may follow the object. */
    for (; end != NULL && end < json + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            snprintf(err, errlen, "payload has data after the JSON object");
            cJSON_Delete(o);
            return NULL;
        }
    }
    /* An escaped NUL inside a string would silently shorten a name. */
    for (size_t i = 0; i + 6 <= len; i++) {
        if (json[i] == '\\' && (json[i + 1] == 'u' || json[i + 1] == 'U') &&
            memcmp(json + i + 2, "0000", 4) == 0) {
            snprintf(err, errlen, "payload contains \\u0000");
            cJSON_Delete(o);
            return NULL;
        }
    }
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "payload must be a JSON object");
        cJSON_Delete(o);
        return NULL;
    }
    if (has_duplicate_key(o)) {
        snprintf(err, errlen, "payload names a key twice");
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int
cmdmsg_get_id(const cJSON *o, char id[CMDMSG_ID_MAX + 1], char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");
    size_t n;

    id[0] = '\0';
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) == 0 || n > CMDMSG_ID_MAX)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v->valuestring[i];
        if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
            goto bad;
    }
    memcpy(id, v->valuestring, n + 1);
    return 0;
bad:
    snprintf(err, errlen, "\"id\" must be a string of 1-%d printable characters", CMDMSG_ID_MAX);
    return -EINVAL;
}

bool
cmdmsg_recent_seen(struct cmdmsg_recent *r, const char *id)
{
    if (id == NULL || id[0] == '\0')
        return false;
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->ids[i], id) == 0)
            return true;
    snprintf(r->ids[r->next], sizeof(r->ids[0]), "%s", id);
    r->next = (r->next + 1) % CMDMSG_RECENT;
    if (r->n < CMDMSG_RECENT)
        r->n++;
    return false;
}

static void
add_opt(cJSON *o, const char *key, const char *s)
{
    if (s != NULL && s[0] != '\0')
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

char *
cmdmsg_result(int64_t now_real, const char *id, const char *cmd, bool ok, const char *error,
              const char *by)
{
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    char *out;

    if (o == NULL)
        return NULL;
    fmt_rfc3339_ms(now_real, ts, sizeof(ts));
    cJSON_AddStringToObject(o, "ts", ts);
    add_opt(o, "id", id);
    /* The topic's last level, echoed only when it is a plain name. */
    add_opt(o, "cmd", cmd != NULL && name_valid(cmd) ? cmd : NULL);
    cJSON_AddBoolToObject(o, "ok", ok);
    if (!ok)
        cJSON_AddStringToObject(o, "error", error != NULL && error[0] ? error : "failed");
    add_opt(o, "by", by);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}
