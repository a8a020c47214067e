/*
 * cmd.h - operator commands, from MQTT ({p}/{site}/{agent}/cmd/NAME with a
 * JSON object payload) or from emberctl over the control socket (a JSON
 * object with "cmd").  Parsing and validation are pure, so they are unit
 * tested and fuzzed; a command that does not parse changes nothing.
 */
#ifndef EMBER_CMD_H
#define EMBER_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "cmdmsg.h"
#include "util.h"

enum cmd_kind { CMD_ACK, CMD_SHELVE, CMD_UNSHELVE, CMD_TEST, CMD_STATUS, CMD_ALARMS, CMD_RELOAD, CMD_EVENTS };

/* events: at most this many rows in one answer (the default: 100). */
#define CMD_EVENTS_MAX 10000

#define CMD_MAX_PAYLOAD 4096
/* The longest reason a command's refusal carries (the control socket's
 * "error", the MQTT result): room for a configuration error naming a long
 * path; a longer reason is cut and says so. */
#define CMD_ERR_MAX 4096
#define CMD_SHELVE_MAX_MS ALARM_SHELVE_MAX_MS
#define CMD_TEST_DEFAULT_MS 30000
#define CMD_TEST_MAX_MS 600000

struct cmd {
    enum cmd_kind kind;
    char alarm[NAME_MAX_LEN + 1]; /* ack, shelve, unshelve */
    char zone[NAME_MAX_LEN + 1];  /* test */
    int64_t duration_ms;          /* shelve, test */
    char by[NAME_MAX_LEN + 1];    /* who asked, for the log and events; may be empty */
    char id[CMDMSG_ID_MAX + 1];   /* the command's id (contract v1.1); may be empty */
    int64_t since_ms;             /* events: how far back (0: all kept) */
    int limit;                    /* events: newest rows at most */
};

/* Parses command `name` with arguments `json` (len bytes, not necessarily
 * NUL-terminated; a strict object, see cmdmsg_parse()).  Over MQTT (remote)
 * only ack, shelve, unshelve and test exist.  Returns 0, or -EINVAL with the
 * reason in err; out->by and out->id are filled as far as they were read,
 * for the result message. */
int cmd_parse(const char *name, const char *json, size_t len, bool remote, struct cmd *out,
              char *err, size_t errlen);

/* Parses a control-socket request: a JSON object whose "cmd" names the command. */
int cmd_parse_request(const char *json, size_t len, struct cmd *out, char *err, size_t errlen);

const char *cmd_name(enum cmd_kind k);

#endif
