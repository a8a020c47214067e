/*
 * command.h - ember-drain's manual commands (status, hold, release,
 * undrain, drain, with by and reason), parsed in one place for the three
 * ways they arrive: a control-socket request, an MQTT message on
 * {prefix}/{site}/drain/cmd/{verb}, and the command line, which builds the
 * control-socket request.  The error texts are part of the interface:
 * ember-drain(8) and the integration tests quote them.
 *
 * Parsing only: what a command does to a site is site.c's business.
 */
#ifndef EMBER_COMMAND_H
#define EMBER_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cmdmsg.h"
#include "dconf.h"
#include "site.h"

struct command {
    bool status; /* "status": no site command */
    int cmd;     /* enum site_cmd when !status */
    int site;    /* index in the configuration; -1: none (status of all sites) */
    char by[200];
    char reason[SITE_REASON_LEN];
    char by_name[NAME_MAX_LEN + 1]; /* MQTT: the payload's by when a valid name, else "" */
    char id[CMDMSG_ID_MAX + 1];     /* MQTT: the command's id (contract v1.1); may be "" */
};

/* Longest MQTT command payload. */
#define COMMAND_MAX_PAYLOAD 4096

/* True for a verb the control socket accepts ("status" or a site command). */
bool command_known(const char *verb);
/* True when the verb needs a site (every one but "status"). */
bool command_needs_site(const char *verb);

/* Parses a control-socket request {"cmd", "site", "by", "reason"} from the
 * peer with `uid`.  by becomes "NAME (uid N)", NAME being the request's by
 * or the uid's login.  Returns 0, or -EINVAL with the answer's error text
 * in err; out->status tells whether a status was asked (even on error). */
int command_parse_ctl(const struct dconf *c, const char *req, size_t len, uid_t uid,
                      struct command *out, char *err, size_t errlen);

/* Parses an MQTT command: verb from the topic, payload {"by", "reason",
 * "id"} or empty.  Only hold, release and undrain are accepted over MQTT.
 * by becomes "NAME (mqtt)" ("unknown" when by is missing or not a valid
 * name).  The payload is strict (cmdmsg_parse()): one holding a NUL byte or
 * naming a key twice is refused.  Returns 0, -ENOENT for an unknown verb or
 * -EINVAL for a payload that is not a JSON object ("payload is not a JSON
 * object"), is not strict or has a bad id, with the reason in err; by_name
 * and id are filled as far as they were read, for the result message. */
int command_parse_mqtt(const char *verb, const void *payload, size_t len, struct command *out,
                       char *err, size_t errlen);

/* The control-socket request the command line sends (malloc'd JSON text).
 * site and reason may be NULL. */
char *command_request(const char *verb, const char *site, const char *by, const char *reason);

#endif
