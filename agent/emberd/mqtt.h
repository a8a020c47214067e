/*
 * mqtt.h - the daemon's MQTT session (libmosquitto), driven by our loop.
 *
 * The session owns the retained {p}/{site}/{agent}/status topic: "offline"
 * is registered as the Last Will, "online" is published on every connect
 * and "offline" again on a clean stop.  Reconnects back off exponentially
 * between reconnect_min and reconnect_max.
 */
#ifndef EMBER_MQTT_H
#define EMBER_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "loop.h"

struct mqtt;

/* Called once per successful connect (after "online" is queued). */
typedef void (*mqtt_connect_fn)(void *arg);
/* An inbound message on {prefix}/{site}/{agent}/cmd/+; suffix is the topic
 * after the agent's base ("cmd/ack"), payload is not NUL-terminated. */
typedef void (*mqtt_message_fn)(void *arg, const char *suffix, const void *payload, size_t len);

int mqtt_lib_init(void);
void mqtt_lib_fini(void);

/* Creates the client and starts connecting in the background. */
int mqtt_init(struct mqtt **out, const struct conf *c, struct loop *l, mqtt_connect_fn on_connect,
              mqtt_message_fn on_message, void *arg);
/* Publishes "offline" (retained), waits up to timeout_ms for the broker's
 * acknowledgement, disconnects cleanly and frees the client. */
void mqtt_fini(struct mqtt *m, int timeout_ms);

/* Publishes to "{prefix}/{site}/{agent}/{suffix}".  Returns 0, -ENOTCONN
 * when offline (QoS 0 telemetry is then dropped and counted) or -EIO. */
int mqtt_publish(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
                 bool retain);
/* Like mqtt_publish, returning the message id in *mid (for QoS 1, the id
 * the acknowledgement callback will report). */
int mqtt_publish_mid(struct mqtt *m, const char *suffix, const char *payload, size_t len, int qos,
                     bool retain, int *mid);
/* Called when the broker has acknowledged (PUBACK) the message with `mid`. */
typedef void (*mqtt_acked_fn)(void *arg, int mid);
void mqtt_set_acked_cb(struct mqtt *m, mqtt_acked_fn fn);
bool mqtt_connected(const struct mqtt *m);
/* Points the session at a reloaded configuration with the same [mqtt] and
 * agent identity (the caller checks). */
void mqtt_set_conf(struct mqtt *m, const struct conf *c);
/* Messages not sent because the broker was unreachable. */
unsigned long mqtt_dropped(const struct mqtt *m);

#endif
