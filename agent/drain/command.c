/*
 * command.c - parsing of ember-drain's manual commands (control socket,
 * MQTT, command line) with cJSON; an MQTT payload is parsed strictly and
 * its id read by cmdmsg.  No state is touched here.
 */
#include "command.h"

#include <cJSON.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

static int
site_verb(const char *verb)
{
    for (int c = SITE_CMD_HOLD; c <= SITE_CMD_DRAIN; c++)
        if (strcmp(verb, site_cmd_name(c)) == 0)
            return c;
    return -1;
}

bool
command_known(const char *verb)
{
    return strcmp(verb, "status") == 0 || site_verb(verb) >= 0;
}

bool
command_needs_site(const char *verb)
{
    return strcmp(verb, "status") != 0;
}

static const char *
jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
parse_ctl(const struct dconf *c, const cJSON *in, uid_t uid, struct command *out, char *err,
          size_t errlen)
{
    const char *cmd = jstr(in, "cmd"), *site = jstr(in, "site"), *by = jstr(in, "by"),
               *reason = jstr(in, "reason");

    if (!cJSON_IsObject(in) || cmd == NULL) {
        snprintf(err, errlen, "malformed request (expected {\"cmd\":...})");
        return -EINVAL;
    }
    out->status = strcmp(cmd, "status") == 0;
    if (!out->status && site == NULL) {
        snprintf(err, errlen, "%s: needs a site", cmd);
        return -EINVAL;
    }
    if (site != NULL && (out->site = dconf_site_find(c, site)) < 0) {
        snprintf(err, errlen, "no site '%s' in the configuration", site);
        return -EINVAL;
    }
    if (out->status)
        return 0;
    if ((out->cmd = site_verb(cmd)) < 0) {
        snprintf(err, errlen, "unknown command '%s'", cmd);
        return -EINVAL;
    }
    if (by != NULL && by[0]) {
        snprintf(out->by, sizeof(out->by), "%s (uid %u)", by, (unsigned)uid);
    } else {
        struct passwd *pw = getpwuid(uid);
        snprintf(out->by, sizeof(out->by), "%s (uid %u)", pw ? pw->pw_name : "?", (unsigned)uid);
    }
    snprintf(out->reason, sizeof(out->reason), "%s", reason ? reason : "");
    return 0;
}

int
command_parse_ctl(const struct dconf *c, const char *req, size_t len, uid_t uid,
                  struct command *out, char *err, size_t errlen)
{
    cJSON *in = cJSON_ParseWithLength(req, len);
    int rc;

    memset(out, 0, sizeof(*out));
    out->site = -1;
    rc = parse_ctl(c, in, uid, out, err, errlen);
    cJSON_Delete(in);
    return rc;
}

int
command_parse_mqtt(const char *verb, const void *payload, size_t len, struct command *out,
                   char *err, size_t errlen)
{
    cJSON *o;
    const char *by, *reason;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->site = -1;
    out->cmd = site_verb(verb);
    if (out->cmd != SITE_CMD_HOLD && out->cmd != SITE_CMD_RELEASE && out->cmd != SITE_CMD_UNDRAIN) {
        snprintf(err, errlen, "unknown MQTT command '%s'", verb);
        return -ENOENT;
    }
    o = len ? cmdmsg_parse(payload, len, COMMAND_MAX_PAYLOAD, err, errlen) : cJSON_CreateObject();
    if (o == NULL) {
        /* Plain non-JSON keeps its documented text; a NUL byte, a key named
         * twice or an oversized payload say so. */
        if (strcmp(err, "payload is not JSON") == 0 ||
            strcmp(err, "payload must be a JSON object") == 0)
            snprintf(err, errlen, "payload is not a JSON object");
        return -EINVAL;
    }
    by = jstr(o, "by");
    reason = jstr(o, "reason");
    if (by != NULL && name_valid(by))
        snprintf(out->by_name, sizeof(out->by_name), "%s", by);
    snprintf(out->by, sizeof(out->by), "%s (mqtt)", out->by_name[0] ? out->by_name : "unknown");
    snprintf(out->reason, sizeof(out->reason), "%s", reason ? reason : "");
    if (cmdmsg_get_id(o, out->id, err, errlen) < 0)
        rc = -EINVAL;
    cJSON_Delete(o);
    return rc;
}

char *
command_request(const char *verb, const char *site, const char *by, const char *reason)
{
    cJSON *req = cJSON_CreateObject();
    char *text;

    cJSON_AddStringToObject(req, "cmd", verb);
    if (site)
        cJSON_AddStringToObject(req, "site", site);
    cJSON_AddStringToObject(req, "by", by);
    if (reason)
        cJSON_AddStringToObject(req, "reason", reason);
    text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return text;
}
