/*
 * cmdmsg.h - what every MQTT command of emberd and ember-drain shares
 * (MQTT contract v1.1): the payload is one strict JSON object (no NUL
 * byte, no key given twice), it may carry an "id" so that it runs at most
 * once, and its outcome is published as a result message on the agent's
 * cmd/result topic.
 *
 * Pure: no I/O and no clock (the result's ts is passed in), so the parsing
 * and the memory of recent ids are unit tested.  May call: cJSON, util.
 */
#ifndef EMBER_CMDMSG_H
#define EMBER_CMDMSG_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest command id, in characters. */
#define CMDMSG_ID_MAX 64
/* Ids remembered per agent: a command whose id is among the last
 * CMDMSG_RECENT ids seen is not run again. */
#define CMDMSG_RECENT 256
/* The last topic level of the result; never a command of its own. */
#define CMDMSG_RESULT "result"

/* The ids seen most recently, oldest overwritten first.  Zeroed is empty. */
struct cmdmsg_recent {
    char ids[CMDMSG_RECENT][CMDMSG_ID_MAX + 1];
    unsigned next; /* slot the next id goes to */
    unsigned n;    /* slots in use */
};

/* Parses a command payload of len bytes (not necessarily NUL-terminated,
 * at most max) as one JSON object.  Refused, with the reason in err: a
 * payload over max, one that is not JSON, one containing a NUL byte (raw,
 * or escaped as \u0000), one with data after the object, one that is not
 * an object, and one naming a key twice in any object.  Returns the object
 * (cJSON_Delete() it) or NULL. */
cJSON *cmdmsg_parse(const void *payload, size_t len, size_t max, char *err, size_t errlen);

/* Reads the optional "id" of a parsed command into id ("" when there is
 * none).  An id is a string of 1-CMDMSG_ID_MAX printable ASCII characters
 * other than '"' and '\\'.  Returns 0, or -EINVAL with the reason in err. */
int cmdmsg_get_id(const cJSON *o, char id[CMDMSG_ID_MAX + 1], char *err, size_t errlen);

/* Returns true when id is among the ids remembered; otherwise remembers it
 * (forgetting the oldest when CMDMSG_RECENT are held) and returns false.
 * An empty id is never remembered and never seen. */
bool cmdmsg_recent_seen(struct cmdmsg_recent *r, const char *id);

/* The result message: {"ts","id","cmd","ok","error"?,"by"}.  id and by are
 * null when NULL or empty, cmd when it is not a name (name_valid()); error is present only when
 * !ok.  ts is now_real (wall-clock ms).  Returns malloc'd JSON text, or NULL without memory. */
char *cmdmsg_result(int64_t now_real, const char *id, const char *cmd, bool ok, const char *error,
                    const char *by);

#endif
