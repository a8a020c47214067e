/*
 * mqttconf.h - the [mqtt] section shared by emberd and ember-drain: its one
 * directive table (with defaults and reload classes) and its checks.
 *
 * Owns struct mqtt_conf and everything said about [mqtt] in a file: range
 * checks, the prefix rule, TLS and login cross-checks, reading the password
 * file (which must be private).  A program's loader hands it the keys of its
 * [mqtt] section and, after parsing, calls mqttconf_validate() with what
 * differs per program (the default client id).  Every [mqtt] key needs a
 * restart to change: a reload names the first changed one.
 *
 * May call: cfgfile, util.  Never prints; problems go to the cfgerr.
 */
#ifndef EMBER_MQTTCONF_H
#define EMBER_MQTTCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfgfile.h"

/* Rows the [mqtt] table may have (for the per-key line numbers). */
#define MQTTCONF_MAX_KEYS 24

/* Brokers [mqtt] host may list. */
#define MQTT_MAX_BROKERS 8
#define MQTT_HOST_MAX 255

struct mqtt_broker {
    char host[MQTT_HOST_MAX + 1]; /* a name, or an address (IPv6 without brackets) */
    int port;
};

struct mqtt_conf {
    char *host; /* as written: "a, b:1884, [::1]:1885" */
    int port;   /* the port of a host that names none */
    /* host split by mqttconf_validate(), in the file's order. */
    struct mqtt_broker brokers[MQTT_MAX_BROKERS];
    int nbrokers;
    char *client_id; /* set by mqttconf_validate() when the file has none */
    char *prefix;
    int keepalive_s;
    int protocol; /* 0: 3.1.1, 1: 5 */
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    /* TLS: on when cafile or capath is set. */
    char *cafile;
    char *capath;
    char *certfile;
    char *keyfile;
    char *username;
    char *password_file; /* first line is the password; mode 0600/0400 */
    char *password;      /* read from password_file by mqttconf_validate() */
    /* Subscribe to our own {base}/status and answer a stale "offline" (a
     * Last Will of an earlier connection) with "online". */
    bool answer_stale_will;
    /* Where things were said, for messages: the [mqtt] header and each key
     * (in table order; 0 when the key is not in the file). */
    int line;
    int key_line[MQTTCONF_MAX_KEYS];
};

/* The [mqtt] directive table: every row has its default and is CFG_RESTART. */
extern const struct cfg_directive mqttconf_keys[];
extern const size_t mqttconf_nkeys;

/* Stores the table's defaults into m (zeroed by the caller), before the file
 * is parsed.  Returns 0, or -EINVAL for a default that does not parse (a
 * table bug, recorded in err). */
int mqttconf_defaults(struct mqtt_conf *m, const char *path, struct cfgerr *err);

/* Handles one key of the [mqtt] section (the loader's cfgfile key callback
 * calls it).  Returns 0 when stored, 1 when `key` is not an [mqtt] key (the
 * caller reports it with its other unknown keys), -EINVAL after recording an
 * error. */
int mqttconf_key(struct cfgfile *cf, struct mqtt_conf *m, const char *key, const char *value);

/* After parsing: sets client_id to default_client_id when the file has none,
 * cross-checks the keys, checks that TLS files are readable and reads the
 * password file (so `-n` checks it too).  Problems are appended to err as
 * "path:line: [mqtt] key: ...". */
void mqttconf_validate(struct mqtt_conf *m, const char *path, const char *default_client_id,
                       struct cfgerr *err);

/* Splits an [mqtt] host list: brokers separated by commas (spaces around
 * them ignored), each HOST, HOST:PORT, [IPV6] or [IPV6]:PORT; a broker with
 * no port takes default_port.  Returns the number of brokers (1 to max), or
 * -EINVAL with the reason in err (an empty entry, a bad port, an IPv6
 * address without brackets, more than max brokers, the same broker twice). */
int mqttconf_parse_hosts(const char *list, int default_port, struct mqtt_broker *out, int max,
                         char *err, size_t errlen);

/* The first key whose value differs between a and b and needs a restart
 * (every [mqtt] key; password_file also when only the password in it
 * changed), as written in the file ("host"), or NULL. */
const char *mqttconf_restart_key(const struct mqtt_conf *a, const struct mqtt_conf *b);

/* Frees the strings (wiping the password); m itself is the caller's. */
void mqttconf_free(struct mqtt_conf *m);

#endif
