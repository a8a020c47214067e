/*
 * notifymsg.h - what a notifier is told about an event, and whether it
 * wants it: pure functions of the event's JSON (as published on MQTT) and
 * a [notify] section, so every rule is unit tested without a process.
 *
 * The environment is the EMBER_* variables emberd.conf(5) lists, each
 * taken from a field of the JSON: a string as it is, a number as the JSON
 * writes it, a boolean as 1 or 0, a list of strings joined with commas,
 * null or an absent field as the empty string.  Every variable is always
 * set, so a script run with `set -u` can read any of them.
 */
#ifndef EMBER_NOTIFYMSG_H
#define EMBER_NOTIFYMSG_H

#include <stdbool.h>

#include "conf.h"

/* Every EMBER_* variable of the event but EMBER_NOTIFIER: a malloc'd,
 * NULL-terminated "NAME=value" vector (strv_free()), or NULL when json is
 * not a JSON object.  ev is enum notify_ev; site and agent are [agent]
 * site and id. */
char **notify_env(int ev, const char *json, const char *site, const char *agent);
/* The value of variable `name` in env, or "" when it is not there. */
const char *notify_env_get(char *const *env, const char *name);
/* Whether notifier nc takes event ev described by env: ev is in its `on`;
 * an alarm event's severity is at least its `severity`, and its alarm is
 * in its `alarms` when it lists any.  A zone's events (drain, undrain) are
 * taken by a notifier that lists no `alarms` (whatever its `severity`). */
bool notify_wants(const struct conf_notify *nc, int ev, char *const *env);
/* Whether a full queue keeps the event before others, as the journal does
 * (journal_max): every event of a critical alarm, and a real (not test)
 * drain request. */
bool notify_critical(int ev, char *const *env);
/* Which notification a full queue drops to take a new one: the oldest
 * pending one that is not critical; when every pending one is, the new
 * one unless it is critical too, and then the oldest.  pending_critical[i]
 * says whether the i-th pending one (oldest first, n of them) is critical.
 * Returns the index of the pending one to drop, or -1 for the new one. */
int notify_drop_choice(const bool *pending_critical, int n, bool new_critical);

#endif
