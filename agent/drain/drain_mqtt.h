/*
 * drain_mqtt.h - ember-drain's MQTT session (libmosquitto), driven by the
 * poll loop like emberd's, with its own topics and Last Will.
 *
 * The session owns the retained {p}/_drain/{id}/status topic ("online" on
 * every connect; "offline" as the Last Will and on a clean stop) and
 * subscribes, per site, to the agents' drain requests and status, to the
 * site's own retained drain/state (to rebuild after a restart) and, when the
 * site allows it, to drain/cmd/+.  Reconnects back off exponentially between
 * reconnect_min and reconnect_max.
 */
#ifndef EMBER_DRAIN_MQTT_H
#define EMBER_DRAIN_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "dconf.h"
#include "loop.h"

struct dmqtt;

/* Called once per connect, after every subscription was acknowledged
 * (retained messages on them follow right away). */
typedef void (*dmqtt_ready_fn)(void *arg);
/* An inbound message; payload is not NUL-terminated. */
typedef void (*dmqtt_message_fn)(void *arg, const char *topic, const void *payload, size_t len,
                                 bool retained);

int dmqtt_lib_init(void);
void dmqtt_lib_fini(void);

/* Creates the client and starts connecting in the background. */
int dmqtt_init(struct dmqtt **out, const struct dconf *c, struct loop *l, dmqtt_ready_fn ready,
               dmqtt_message_fn msg, void *arg);
/* Publishes "offline", waits up to timeout_ms for its acknowledgement,
 * disconnects and frees the client. */
void dmqtt_fini(struct dmqtt *m, int timeout_ms);
/* Publishes to a full topic.  Returns 0, -ENOTCONN or -EIO. */
int dmqtt_publish(struct dmqtt *m, const char *topic, const char *payload, size_t len, int qos,
                  bool retain);
bool dmqtt_connected(const struct dmqtt *m);

#endif
